// Times from the API (RFC 3339, UTC), written one way everywhere.
import { dayText } from "./publication";

/** The date alone: "Mar 14, 2025". */
export const day = (t: string) => dayText(t);

/** The date and the time, in the reader's time zone: "Mar 14, 2025, 9:26 AM". */
export const when = (t: string) =>
  new Date(t).toLocaleString("en-US", { month: "short", day: "numeric", year: "numeric", hour: "numeric", minute: "2-digit" });
