/**
 * Cross-language transfer: per task, a heat map of adapters trained on one language (rows)
 * evaluated on every language (columns), coloured by the relative change of CE against the base
 * model on that language: below zero, the adapter helps there.
 */
import type { MetricRow } from "../../experiments/rows";
import { TASK_NAMES, TASKS } from "../../data/example";
import { LANGS, type Lang } from "../../data/langs";
import { mean } from "../stats";
import { rowFacet } from "./marks";
import { THEME, VEGA_LITE_SCHEMA, TASK_ORDER, languageName, splitName, type Figure } from "./style";

/** One cell: trained on `trained`, evaluated on `evaluated`, the mean CEs and their change. */
export interface TransferCell {
  task: string;
  trained: string;
  evaluated: string;
  /** Mean CE over seeds of the adapters, and of the base model. */
  ce: number;
  base: number;
  /** ce / base − 1, in percent. */
  change: number;
  seeds: number;
}

/**
 * The cells of the heat map (pure): per task, each adapter trained on that task and one language
 * against the base model, on each evaluated language (language rows, not "all").
 */
export function transferCells(
  metrics: readonly MetricRow[],
  split: MetricRow["split"],
): TransferCell[] {
  const rows = metrics.filter((r) => r.split === split && r.language !== "all");
  const cells: TransferCell[] = [];
  for (const task of TASKS)
    for (const evaluated of LANGS) {
      const here = rows.filter((r) => r.task === task && r.language === evaluated);
      // The base model's trials share one run whatever their trainLanguage: one CE per seed.
      const baseBySeed = new Map(
        here.filter((r) => r.trainedOn === "base").map((r) => [r.seed, r.ce]),
      );
      if (baseBySeed.size === 0) continue;
      const base = mean([...baseBySeed.values()]);
      for (const trained of LANGS) {
        const ces = here
          .filter((r) => r.trainedOn === task && r.trainLanguage === trained)
          .map((r) => r.ce);
        if (ces.length === 0) continue;
        const ce = mean(ces);
        cells.push({
          task: TASK_NAMES[task],
          trained: languageName(trained as Lang),
          evaluated: languageName(evaluated),
          ce,
          base,
          change: 100 * (ce / base - 1),
          seeds: ces.length,
        });
      }
    }
  return cells;
}

/** The heat map of transferCells, one panel per task. */
export function crossLanguageFigure(
  metrics: readonly MetricRow[],
  split: MetricRow["split"],
): Figure {
  const values = transferCells(metrics, split);
  const order = LANGS.map((l) => languageName(l));
  const limit = Math.max(1, ...values.map((v) => Math.abs(v.change)));
  return {
    id: "cross-language-heatmap",
    caption: `Cross-language transfer: each row is an adapter trained on one language of a task alone, each column a language it was evaluated on (${splitName(split)} split); the colour and the number are the relative change of CE against the base model on that language, mean over seeds. Blue (below zero): the adapter lowers CE there; the diagonal is in-language.`,
    spec: {
      $schema: VEGA_LITE_SCHEMA,
      title: {
        text: "Cross-language transfer",
        subtitle: "relative change of CE against the base model, % (trained on → evaluated on)",
      },
      data: { values },
      facet: rowFacet("task", TASK_ORDER),
      spec: {
        width: { step: 56 },
        height: { step: 30 },
        encoding: {
          x: { field: "evaluated", type: "nominal", sort: order, title: "evaluated on" },
          y: { field: "trained", type: "nominal", sort: order, title: "trained on" },
        },
        layer: [
          {
            mark: { type: "rect" },
            encoding: {
              color: {
                field: "change",
                type: "quantitative",
                title: "CE change, %",
                scale: { scheme: "blueorange", domain: [-limit, limit], domainMid: 0 },
              },
              tooltip: [
                { field: "trained", type: "nominal", title: "trained on" },
                { field: "evaluated", type: "nominal", title: "evaluated on" },
                { field: "change", type: "quantitative", format: "+.2f", title: "change, %" },
                { field: "ce", type: "quantitative", format: ".3f", title: "CE (adapter)" },
                { field: "base", type: "quantitative", format: ".3f", title: "CE (base)" },
                { field: "seeds", type: "quantitative" },
              ],
            },
          },
          {
            mark: { type: "text", fontSize: 10 },
            encoding: { text: { field: "change", type: "quantitative", format: "+.1f" } },
          },
        ],
      },
      resolve: { scale: { color: "shared" } },
      config: THEME,
    },
  };
}
