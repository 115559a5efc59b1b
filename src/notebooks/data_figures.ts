/**
 * Figures of the data notebook that the reports do not draw: example lengths per language, from
 * the length-statistics table (statsFrame), in the reports' theme, names and orders.
 */
import type { Split } from "../data/example";
import type { StatsRow } from "../data/stats";
import {
  colorScale,
  LANGUAGE_ORDER,
  languageName,
  TASK_ORDER,
  THEME,
  VEGA_LITE_SCHEMA,
  type Figure,
} from "../report/figures/style";
import { TASK_NAMES } from "../data/example";

/** Panel titles of the two fields. */
const FIELD_NAMES: Readonly<Record<StatsRow["field"], string>> = {
  input: "input (code or diff)",
  target: "target (summary or commit subject)",
};

/**
 * Lengths of inputs and targets per language in one split: a rule from the shortest to the
 * longest example, a tick at the median and a dot at the mean, on a log axis; one panel per
 * dataset (rows) and field (columns). Summaries, not examples, so the spec stays small.
 */
export function lengthsFigure(
  stats: readonly StatsRow[],
  options: { split?: Split; unit?: StatsRow["unit"] } = {},
): Figure {
  const split = options.split ?? "train";
  const unit = options.unit ?? "tokens";
  const rows = stats
    .filter((r) => r.split === split && r.unit === unit)
    .map((r) => ({
      ...r,
      dataset: TASK_NAMES[r.dataset],
      language: languageName(r.language),
      field: FIELD_NAMES[r.field],
    }));
  const languages = LANGUAGE_ORDER.filter((l) => rows.some((r) => r.language === l));
  const unitTitle = unit === "tokens" ? "tokens" : "characters";
  const x = (field: string) =>
    ({
      field,
      type: "quantitative",
      scale: { type: "log" },
      title: `length (${unitTitle}, log scale)`,
    }) as const;
  const tooltip = [
    { field: "dataset", type: "nominal" },
    { field: "language", type: "nominal" },
    { field: "field", type: "nominal" },
    { field: "count", type: "quantitative", title: "examples" },
    { field: "min", type: "quantitative" },
    { field: "median", type: "quantitative" },
    { field: "mean", type: "quantitative", format: ".1f" },
    { field: "max", type: "quantitative" },
  ] as const;
  return {
    id: `data-lengths-${split}-${unit}`,
    caption: `Lengths of inputs (code or diff) and targets (summary or commit subject) in the ${split} split, in ${unitTitle}: the line spans the shortest to the longest example, the tick marks the median, the dot the mean.`,
    spec: {
      $schema: VEGA_LITE_SCHEMA,
      title: {
        text: "Input and target lengths",
        subtitle: `${split} split, ${unitTitle} per example, per language`,
      },
      data: { values: rows },
      facet: {
        row: {
          field: "dataset",
          type: "nominal",
          sort: [...TASK_ORDER],
          title: null,
          // Dataset names are long: above each panel, not rotated beside it.
          header: {
            labelAngle: 0,
            labelOrient: "top",
            labelAnchor: "start",
            labelFontWeight: "bold",
          },
        },
        column: { field: "field", type: "nominal", sort: Object.values(FIELD_NAMES), title: null },
      },
      spec: {
        width: 320,
        height: 150,
        encoding: {
          y: { field: "language", type: "nominal", sort: languages, title: null },
          color: { field: "language", type: "nominal", scale: colorScale(languages), legend: null },
          tooltip: [...tooltip],
        },
        layer: [
          {
            mark: { type: "rule", strokeWidth: 2 },
            encoding: { x: x("min"), x2: { field: "max" } },
          },
          { mark: { type: "tick", thickness: 2, size: 14 }, encoding: { x: x("median") } },
          { mark: { type: "point", filled: true, size: 50 }, encoding: { x: x("mean") } },
        ],
      },
      config: THEME,
    },
  };
}
