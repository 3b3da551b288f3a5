import type { Meter as MeterData } from "../api/client";
import { meterText, resetsText } from "../meter";

/** The meter, or (`null`) what an unmetered reader is: premium, or staff. */
export default function Meter({ meter, testid, staff = false }: { meter: MeterData; testid: string; staff?: boolean }) {
  return (
    <p className={meter ? "meter" : "meter premium"} title={resetsText(meter)} data-testid={testid}>
      {meter === null && staff ? "Staff: every post, unmetered" : meterText(meter)}
    </p>
  );
}
