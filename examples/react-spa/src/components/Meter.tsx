import type { Meter as MeterData } from "../api/client";
import { meterText, readerMeterText, resetsText } from "../meter";

/**
 * The meter, or (`null`) what an unmetered reader is: premium, or staff.
 * `signedOut`: the browser's own meter, before it has an account ("2 of 3
 * free posts this month"). The figures are on the element too, for tests
 * and styles.
 */
export default function Meter({ meter, testid, staff = false, signedOut = false }: {
  meter: MeterData;
  testid: string;
  staff?: boolean;
  signedOut?: boolean;
}) {
  const text = meter === null && staff ? "Staff: every post, unmetered" : meter && signedOut ? readerMeterText(meter) : meterText(meter);
  return (
    <p className={meter ? "meter" : "meter premium"} title={resetsText(meter)} data-testid={testid}
      data-used={meter?.used} data-limit={meter?.limit}>
      {text}
    </p>
  );
}
