/** Figure 7: CE per task of the base model, each single-task adapter and the cocktail adapter. */
import type { MetricRow } from "../../experiments/rows";
import { LANGUAGE, groupedBarLayers, rowFacet } from "./marks";
import {
  SPREAD_NOTE,
  TASK_ORDER,
  THEME,
  TRAINED_ON_NAMES,
  TRAINED_ON_ORDER,
  VEGA_LITE_SCHEMA,
  ceTitle,
  summariseCeByTask,
  type Figure,
} from "./style";

/** The adapter category: what a trial trained on, by its display name. */
const ADAPTER = {
  field: "trainedOn",
  title: "model",
  order: TRAINED_ON_ORDER,
  value: (r: MetricRow) => TRAINED_ON_NAMES[r.trainedOn],
} as const;

/** Fig. 7: CE on each task (all languages together) per base model and adapter. */
export function cocktailFigure(metrics: readonly MetricRow[], split: MetricRow["split"]): Figure {
  const rows = metrics.filter((r) => r.split === split && r.language === "all");
  const values = summariseCeByTask(rows, ADAPTER, false);
  return {
    id: split === "held-out" ? "fig7-cocktail-held-out" : "fig7-cocktail",
    caption: `Figure 7${split === "held-out" ? ", held-out repositories" : ""}. ${ceTitle(split)} on each task, all languages together, for the base model, the adapter trained on each task alone and the cocktail adapter trained on both; lower is better. ${SPREAD_NOTE}`,
    spec: {
      $schema: VEGA_LITE_SCHEMA,
      title: {
        text: `Figure 7 · Cocktail fine-tuning${split === "held-out" ? " · held-out repositories" : ""}`,
        subtitle: `${ceTitle(split)} per evaluated task: base model, single-task adapters, cocktail`,
      },
      data: { values },
      width: 640,
      height: 280,
      layer: groupedBarLayers(
        { field: "task", title: "evaluated task", order: TASK_ORDER },
        ADAPTER,
        ceTitle(split),
      ),
      config: THEME,
    },
  };
}

/** Fig. 7 per language: one panel per evaluated task. */
export function cocktailLanguagesFigure(
  metrics: readonly MetricRow[],
  split: MetricRow["split"],
): Figure {
  const rows = metrics.filter((r) => r.split === split && r.language !== "all");
  const values = summariseCeByTask(rows, ADAPTER, true);
  return {
    id: "cocktail-languages",
    caption: `Figure 7 per language: ${ceTitle(split)} per language of each evaluated task. ${SPREAD_NOTE}`,
    spec: {
      $schema: VEGA_LITE_SCHEMA,
      title: {
        text: "Figure 7 · per language",
        subtitle: `${ceTitle(split)} per language: base model, single-task adapters, cocktail`,
      },
      data: { values },
      facet: rowFacet("task", TASK_ORDER),
      spec: {
        width: 760,
        height: 220,
        layer: groupedBarLayers(LANGUAGE, ADAPTER, ceTitle(split)),
      },
      config: THEME,
    },
  };
}
