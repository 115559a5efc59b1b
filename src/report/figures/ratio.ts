/** The cocktail-ratio curve: CE on each task against the CodeSearchNet share of the training mix. */
import type { MetricRow } from "../../experiments/rows";
import { ceAxis, taskColor, taskErrorBars } from "./marks";
import {
  ERROR_BAR_NOTE,
  TASK_ORDER,
  THEME,
  VEGA_LITE_SCHEMA,
  ceTitle,
  sortByOrders,
  summariseCe,
  summaryTooltip,
  type Figure,
} from "./style";
import { TASK_NAMES } from "../../data/example";

/** The mix setting of a metric row (share of CodeSearchNet examples, 0..1); errors name the trial. */
function mixOf(row: MetricRow): number {
  const mix = row.mix;
  if (typeof mix !== "number" || !(mix >= 0 && mix <= 1))
    throw new Error(
      `cocktail-ratios trial ${row.key}: setting "mix" must be a number in [0, 1], got ${JSON.stringify(mix)}`,
    );
  return mix;
}

/** CE (all languages together) per evaluated task against the mix's CodeSearchNet share. */
export function ratioFigure(
  metrics: readonly MetricRow[],
  split: MetricRow["split"] = "val",
): Figure {
  const rows = metrics.filter((r) => r.split === split && r.language === "all");
  const values = sortByOrders(
    summariseCe(rows, (r) => ({ task: TASK_NAMES[r.task], mix: mixOf(r) })).sort(
      (a, b) => a.mix - b.mix,
    ),
    [["task", TASK_ORDER]],
  );
  const x = {
    field: "mix",
    type: "quantitative",
    title: "CodeSearchNet share of the training mix",
    axis: { format: ".0%" },
    scale: { domain: [0, 1] as number[] },
  } as const;
  const color = taskColor();
  const y = ceAxis(split);
  return {
    id: "cocktail-ratio-curve",
    caption: `Cocktail ratios: ${ceTitle(split)} on each task, all languages together, against the share of CodeSearchNet examples in the cocktail's training mix (the rest are CommitPackFT); lower is better. ${ERROR_BAR_NOTE}`,
    spec: {
      $schema: VEGA_LITE_SCHEMA,
      title: {
        text: "Cocktail ratios · CE against the mix",
        subtitle: `${ceTitle(split)} per evaluated task against the CodeSearchNet share`,
      },
      data: { values },
      width: 640,
      height: 300,
      layer: [
        {
          mark: { type: "line", strokeWidth: 2 },
          encoding: { x, y: { ...y, field: "mean" }, color },
        },
        taskErrorBars({ x }, split, color),
        {
          mark: { type: "point", filled: true, size: 70 },
          encoding: {
            x,
            y: { ...y, field: "mean" },
            color,
            tooltip: summaryTooltip([
              { field: "task", title: "evaluated task" },
              { field: "mix", type: "quantitative", format: ".0%", title: "CodeSearchNet share" },
            ]),
          },
        },
      ],
      config: THEME,
    },
  };
}
