import type { Meter } from "./api/client";
import { dayText } from "./publication";

// Human text for a Meter ({limit, used, remaining, resets_at}) or null (premium).

export function meterText(meter: Meter): string {
  if (meter == null) return "Premium: unlimited";
  const n = meter.remaining;
  if (n === 0) return "No free posts left this month";
  return `${n} free post${n === 1 ? "" : "s"} left this month`;
}

export function resetsText(meter: Meter): string {
  if (meter == null) return "";
  return `Resets ${dayText(meter.resets_at)}`;
}

/** A browser's meter before it has an account: "2 of 3 free posts this month". */
export function readerMeterText(meter: NonNullable<Meter>): string {
  return `${meter.used} of ${meter.limit} free post${meter.limit === 1 ? "" : "s"} this month`;
}
