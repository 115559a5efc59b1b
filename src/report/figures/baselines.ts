/** Figure 1: zero-shot CE of each base model per task and language (grouped bars). */
import type { MetricRow } from "../../experiments/rows";
import { LANGUAGE, columnFacet, groupedBarLayers } from "./marks";
import {
  SPREAD_NOTE,
  TASK_ORDER,
  THEME,
  VEGA_LITE_SCHEMA,
  ceTitle,
  compareText,
  summariseCeByTask,
  type Figure,
} from "./style";

/** Fig. 1 from the baselines experiment's metric rows (untrained trials on the given split). */
export function baselinesFigure(
  metrics: readonly MetricRow[],
  split: MetricRow["split"] = "val",
): Figure {
  const rows = metrics.filter((r) => r.split === split && r.trainedOn === "base");
  const models = [...new Set(rows.map((r) => r.model))].sort(compareText);
  const model = { field: "model", title: "base model", order: models };
  const values = summariseCeByTask(rows, { ...model, value: (r) => r.model }, true);
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
      facet: columnFacet("task", TASK_ORDER),
      spec: {
        width: 420,
        height: 260,
        layer: groupedBarLayers(LANGUAGE, model, ceTitle(split)),
      },
      config: THEME,
    },
  };
}
