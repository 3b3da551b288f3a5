import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { dayText } from "../publication";

/** One line (or one bar per day) of a chart. */
export interface Line {
  label: string;
  color: string;
  values: number[];
}

const HEIGHT = 220;
const HALF_DAY = 43_200;

/** Whole-number steps for the count axis: never "0.5 readers". */
const COUNT_STEPS = [1, 2, 5].flatMap((n) => [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000].map((p) => n * p)).sort((a, b) => a - b);

/** The axis top: the largest value with a little room above, at least 1 (an empty period still has an axis). */
function countRange(_plot: uPlot, _min: number | null, max: number | null): uPlot.Range.MinMax {
  const top = Math.max(1, max ?? 0);
  return [0, top + Math.max(1, Math.ceil(top * 0.05))];
}

/**
 * A chart of counts by UTC day, drawn by uPlot on a canvas: lines, or bars
 * side by side for each day. `label` names it for screen readers (the
 * figure's aria-label); its numbers are also in a table for them, since a
 * canvas says nothing. Drawn again when `days` or `lines` change, and
 * resized with its box, so it fits a phone's width as well as a desktop's.
 */
/** A tick on the date axis: "Nov 29", as the rest of the app writes days (without the year). */
const tickText = (seconds: number) =>
  new Date(seconds * 1000).toLocaleDateString("en-US", { month: "short", day: "numeric", timeZone: "UTC" });

export default function Chart({ label, caption, testid, days, lines, kind, unit }: {
  /** What the chart shows, for screen readers and tests: "Members and premium members at the end of each day". */
  label: string;
  /** Its visible title. */
  caption: string;
  testid: string;
  /** The x axis: UTC dates ("2026-11-21"), oldest first, one per value of each line. */
  days: string[];
  lines: Line[];
  kind: "line" | "bars";
  /** What the count axis counts, its title: "members", "readers a day". */
  unit: string;
}) {
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    // Date.parse reads "YYYY-MM-DD" as UTC midnight; uPlot counts seconds.
    const x = days.map((d) => Date.parse(d) / 1000);
    const bars = uPlot.paths.bars;
    let resetting = false;
    const series: uPlot.Series[] = [
      // The legend names the day under the cursor as the rest of the app writes days.
      { label: "Day", value: (_plot, seconds) => (seconds == null ? "--" : dayText(new Date(seconds * 1000))) },
      ...lines.map((line, i): uPlot.Series => ({
        label: line.label,
        stroke: line.color,
        width: kind === "line" ? 2 : 1,
        ...(kind === "bars" && bars
          ? {
            fill: line.color,
            // Two bars a day, side by side: the first left of the day's mark, the second right of it.
            paths: bars({ size: [0.8 / lines.length, 24], align: lines.length === 1 ? 0 : i === 0 ? -1 : 1 }),
            points: { show: false },
          }
          : { points: { show: days.length <= 31 } }),
      })),
    ];
    const plot = new uPlot(
      {
        width: el.clientWidth,
        height: HEIGHT,
        // The days are UTC days: the axis and the legend say them in UTC, not in the reader's zone.
        tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), "Etc/UTC"),
        scales: {
          // Bars need half a day of room at each end, or the first and last are cut in half.
          x: kind === "bars" ? { time: true, range: (_u, min, max) => [min - HALF_DAY, max + HALF_DAY] } : { time: true },
          y: { range: countRange },
        },
        axes: [
          { label: "Day (UTC)", labelSize: 20, values: (_plot, ticks) => ticks.map(tickText) },
          { label: unit, labelSize: 20, incrs: COUNT_STEPS, size: 48 },
        ],
        series,
        hooks: {
          // The pointer gone: back to the last day's figures.
          setLegend: [(u) => {
            if (u.cursor.idx == null && days.length && !resetting) {
              resetting = true;
              u.setLegend({ idx: days.length - 1 });
              resetting = false;
            }
          }],
        },
      },
      [x, ...lines.map((line) => line.values)],
      el,
    );
    // Until the pointer is over a day, the legend shows the last day's figures, not dashes.
    if (days.length) plot.setLegend({ idx: days.length - 1 });
    const resize = new ResizeObserver(() => {
      if (el.clientWidth !== plot.width) plot.setSize({ width: el.clientWidth, height: HEIGHT });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [days, lines, kind, unit]);

  return (
    <figure className="chart" aria-label={label} data-testid={testid}>
      <figcaption>{caption}</figcaption>
      <div className="plot" ref={box} />
    </figure>
  );
}
