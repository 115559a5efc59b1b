/**
 * Layer builders shared by the figures, over summary rows (fields mean, lo, hi, n, ces): bars or
 * points for the mean, error bars for mean ± sd, and one dot per seed; and the row facet of
 * figures with one panel per task or curve.
 */
import type { UnitSpec } from "vega-lite/build/src/spec";
import type { Field } from "vega-lite/build/src/channeldef";
import type { FacetMapping } from "vega-lite/build/src/spec/facet";
import type { MetricRow } from "../../experiments/rows";
import {
  LANGUAGE_ORDER,
  ROW_HEADER,
  TASK_ORDER,
  ceTitle,
  colorScale,
  summaryTooltip,
} from "./style";

/** A categorical channel: which field, its axis or legend title, and its fixed order. */
export interface Category {
  field: string;
  title: string;
  order: readonly string[];
}

const ERROR_COLOR = "#222";

/** One panel per value of `field`, stacked in `order`, each titled above it. */
export function rowFacet(field: string, order: readonly string[]): FacetMapping<Field> {
  return { row: { field, type: "nominal", sort: [...order], title: null, header: ROW_HEADER } };
}

/** The language category: display names in language order, the "all" aggregate last. */
export const LANGUAGE: Category = { field: "language", title: "language", order: LANGUAGE_ORDER };

/** One panel per value of `field`, side by side in `order`, without a facet title. */
export function columnFacet(field: string, order: readonly string[]): FacetMapping<Field> {
  return { column: { field, type: "nominal", sort: [...order], title: null } };
}

/** The colour channel of the evaluated task, palette colours in task order (legend on top when asked). */
export function taskColor(legend?: { orient: "top" }) {
  return {
    field: "task",
    type: "nominal",
    title: "evaluated task",
    ...(legend === undefined ? {} : { legend }),
    scale: colorScale(TASK_ORDER),
    sort: [...TASK_ORDER],
  } as const;
}

/** A CE y channel (not from zero) without its field: "mean", "lo" or "hi" are added per layer. */
export function ceAxis(split: MetricRow["split"]) {
  return { type: "quantitative", title: ceTitle(split), scale: { zero: false } } as const;
}

/** Error bars (mean ± sd) coloured by evaluated task, for summary rows with n >= 2. */
export function taskErrorBars(
  position: UnitSpec<Field>["encoding"],
  split: MetricRow["split"],
  color: ReturnType<typeof taskColor>,
): UnitSpec<Field> {
  return {
    transform: [{ filter: "datum.n > 1" }],
    mark: { type: "errorbar", ticks: true },
    encoding: { ...position, y: { ...ceAxis(split), field: "lo" }, y2: { field: "hi" }, color },
  };
}

/** The x channel of a category, labels tilted by `labelAngle` degrees. */
function categoryX(x: Category, labelAngle: number) {
  return {
    field: x.field,
    type: "nominal",
    sort: [...x.order],
    title: x.title,
    axis: { labelAngle },
  } as const;
}

/** Side-by-side positions within an x band, one per value of the category. */
function categoryOffset(group: Category) {
  return { field: group.field, type: "nominal", sort: [...group.order] } as const;
}

/** The colour channel of a category: palette colours in its order, with a legend. */
function categoryColor(group: Category) {
  return {
    field: group.field,
    type: "nominal",
    title: group.title,
    scale: colorScale(group.order),
    sort: [...group.order],
  } as const;
}

/** Error bars (mean ± sd) and seed dots at positions given by `position`, for groups with n >= 2. */
function spreadLayers(
  position: UnitSpec<Field>["encoding"],
  yTitle: string,
  y: { scaleZero: boolean },
): UnitSpec<Field>[] {
  return [
    {
      transform: [{ filter: "datum.n > 1" }],
      mark: { type: "errorbar", ticks: true, color: ERROR_COLOR },
      encoding: {
        ...position,
        y: { field: "lo", type: "quantitative", title: yTitle, scale: { zero: y.scaleZero } },
        y2: { field: "hi" },
      },
    },
    {
      transform: [{ filter: "datum.n > 1" }, { flatten: ["ces", "seeds"], as: ["ce", "seed"] }],
      mark: { type: "point", filled: false, size: 22, color: ERROR_COLOR, opacity: 0.7 },
      encoding: {
        ...position,
        y: { field: "ce", type: "quantitative", title: yTitle },
        tooltip: [
          { field: "seed", type: "quantitative", title: "seed" },
          { field: "ce", type: "quantitative", format: ".3f", title: "CE" },
        ],
      },
    },
  ];
}

/** Bars of the mean per (x, group), grouped side by side, coloured by group, with spread layers. */
export function groupedBarLayers(x: Category, group: Category, yTitle: string): UnitSpec<Field>[] {
  const position: UnitSpec<Field>["encoding"] = {
    x: categoryX(x, 0),
    xOffset: categoryOffset(group),
  };
  return [
    {
      mark: { type: "bar" },
      encoding: {
        ...position,
        y: { field: "mean", type: "quantitative", title: yTitle },
        color: categoryColor(group),
        tooltip: summaryTooltip([x, group]),
      },
    },
    ...spreadLayers(position, yTitle, { scaleZero: true }),
  ];
}

/** A point for the mean per x (coloured by `color` when given), with spread layers; y not from zero. */
export function meanPointLayers(
  x: Category,
  color: Category | null,
  yTitle: string,
): UnitSpec<Field>[] {
  const position: UnitSpec<Field>["encoding"] = {
    x: categoryX(x, -30),
    ...(color ? { xOffset: categoryOffset(color) } : {}),
  };
  return [
    ...spreadLayers(position, yTitle, { scaleZero: false }),
    {
      mark: { type: "point", filled: true, size: 90 },
      encoding: {
        ...position,
        y: { field: "mean", type: "quantitative", title: yTitle, scale: { zero: false } },
        color: color ? categoryColor(color) : { value: "#0072B2" },
        tooltip: summaryTooltip(color ? [x, color] : [x]),
      },
    },
  ];
}
