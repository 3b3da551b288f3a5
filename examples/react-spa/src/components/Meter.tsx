import type { Meter as MeterData } from "../api/client";
import { meterText, resetsText } from "../meter";

export default function Meter({ meter, testid }: { meter: MeterData; testid: string }) {
  return (
    <p className={meter ? "meter" : "meter premium"} title={resetsText(meter)} data-testid={testid}>
      {meterText(meter)}
    </p>
  );
}
