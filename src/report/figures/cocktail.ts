/** Figure 7: CE per task of the base model, each single-task adapter and the cocktail adapter. */
import type { MetricRow } from "../../experiments/rows";
import { groupedBarLayers, rowFacet } from "./marks";
import {
  LANGUAGE_ORDER,
  SPREAD_NOTE,
  TASK_ORDER,
  THEME,
  TRAINED_ON_NAMES,
  TRAINED_ON_ORDER,
  VEGA_LITE_SCHEMA,
  ceTitle,
  languageName,
  sortByOrders,
  summariseCe,
  type Figure,
} from "./style";
import { TASK_NAMES } from "../../data/example";

const ADAPTER = { field: "trainedOn", title: "model", order: TRAINED_ON_ORDER } as const;

/** Fig. 7: CE on each task (all languages together) per base model and adapter. */
export function cocktailFigure(metrics: readonly MetricRow[], split: MetricRow["split"]): Figure {
  const rows = metrics.filter((r) => r.split === split && r.language === "all");
  const values = sortByOrders(
    summariseCe(rows, (r) => ({
      task: TASK_NAMES[r.task],
      trainedOn: TRAINED_ON_NAMES[r.trainedOn],
    })),
    [
      ["task", TASK_ORDER],
      ["trainedOn", TRAINED_ON_ORDER],
    ],
  );
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
  const values = sortByOrders(
    summariseCe(rows, (r) => ({
      task: TASK_NAMES[r.task],
      language: languageName(r.language),
      trainedOn: TRAINED_ON_NAMES[r.trainedOn],
    })),
    [
      ["task", TASK_ORDER],
      ["language", LANGUAGE_ORDER],
      ["trainedOn", TRAINED_ON_ORDER],
    ],
  );
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
        layer: groupedBarLayers(
          { field: "language", title: "language", order: LANGUAGE_ORDER },
          ADAPTER,
          ceTitle(split),
        ),
      },
      config: THEME,
    },
  };
}
