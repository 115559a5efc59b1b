/** Figure 1: zero-shot CE of each base model per task and language (grouped bars). */
import type { MetricRow } from "../../experiments/rows";
import { groupedBarLayers } from "./marks";
import {
  LANGUAGE_ORDER,
  SPREAD_NOTE,
  TASK_ORDER,
  THEME,
  VEGA_LITE_SCHEMA,
  ceTitle,
  compareText,
  languageName,
  sortByOrders,
  summariseCe,
  type Figure,
} from "./style";
import { TASK_NAMES } from "../../data/example";

/** Fig. 1 from the baselines experiment's metric rows (untrained trials on the given split). */
export function baselinesFigure(
  metrics: readonly MetricRow[],
  split: MetricRow["split"] = "val",
): Figure {
  const rows = metrics.filter((r) => r.split === split && r.trainedOn === "base");
  const models = [...new Set(rows.map((r) => r.model))].sort(compareText);
  const values = sortByOrders(
    summariseCe(rows, (r) => ({
      task: TASK_NAMES[r.task],
      language: languageName(r.language),
      model: r.model,
    })),
    [
      ["task", TASK_ORDER],
      ["language", LANGUAGE_ORDER],
      ["model", models],
    ],
  );
  return {
    id: "fig1-baselines",
    caption: `Figure 1. Zero-shot ${ceTitle(split)} of each base model, per task and language; lower is better. ${SPREAD_NOTE}`,
    spec: {
      $schema: VEGA_LITE_SCHEMA,
      title: {
        text: "Figure 1 · Base models before fine-tuning",
        subtitle: `zero-shot ${ceTitle(split)} per task and language`,
      },
      data: { values },
      facet: {
        column: { field: "task", type: "nominal", sort: [...TASK_ORDER], title: null },
      },
      spec: {
        width: 420,
        height: 260,
        layer: groupedBarLayers(
          { field: "language", title: "language", order: LANGUAGE_ORDER },
          { field: "model", title: "base model", order: models },
          ceTitle(split),
        ),
      },
      config: THEME,
    },
  };
}
