import { meterText, resetsText } from "../meter.js";

export default function Meter({ meter, testid }) {
  return (
    <p className={meter ? "meter" : "meter premium"} title={resetsText(meter)} data-testid={testid}>
      {meterText(meter)}
    </p>
  );
}
