// Times from the API (RFC 3339, UTC), written one way everywhere.
import { dayText } from "./publication";

/** The date alone: "Mar 14, 2025". */
export const day = (t: string) => dayText(t);

/** The date and the time, in the reader's time zone: "Mar 14, 2025, 9:26 AM". */
export const when = (t: string) =>
  new Date(t).toLocaleString("en-US", { month: "short", day: "numeric", year: "numeric", hour: "numeric", minute: "2-digit" });

// A day as the API's insights and a date input write it: "2026-11-21", UTC.
const DAY_MS = 86_400_000;

/** Today in UTC: "2026-11-21". */
export const utcToday = () => new Date().toISOString().slice(0, 10);

/** The UTC date `n` days before `date`: daysBefore("2026-11-21", 29) is "2026-10-23". */
export const daysBefore = (date: string, n: number) => new Date(Date.parse(date) - n * DAY_MS).toISOString().slice(0, 10);
