/**
 * Layer builders shared by the figures, over summary rows (fields mean, lo, hi, n, ces): bars or
 * points for the mean, error bars for mean ± sd, and one dot per seed.
 */
import type { UnitSpec } from "vega-lite/build/src/spec";
import type { Field } from "vega-lite/build/src/channeldef";
import { colorScale, summaryTooltip } from "./style";

/** A categorical channel: which field, its axis or legend title, and its fixed order. */
export interface Category {
  field: string;
  title: string;
  order: readonly string[];
}

const ERROR_COLOR = "#222";

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
    x: {
      field: x.field,
      type: "nominal",
      sort: [...x.order],
      title: x.title,
      axis: { labelAngle: 0 },
    },
    xOffset: { field: group.field, type: "nominal", sort: [...group.order] },
  };
  return [
    {
      mark: { type: "bar" },
      encoding: {
        ...position,
        y: { field: "mean", type: "quantitative", title: yTitle },
        color: {
          field: group.field,
          type: "nominal",
          title: group.title,
          scale: colorScale(group.order),
          sort: [...group.order],
        },
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
    x: {
      field: x.field,
      type: "nominal",
      sort: [...x.order],
      title: x.title,
      axis: { labelAngle: -30 },
    },
    ...(color ? { xOffset: { field: color.field, type: "nominal", sort: [...color.order] } } : {}),
  };
  return [
    ...spreadLayers(position, yTitle, { scaleZero: false }),
    {
      mark: { type: "point", filled: true, size: 90 },
      encoding: {
        ...position,
        y: { field: "mean", type: "quantitative", title: yTitle, scale: { zero: false } },
        ...(color
          ? {
              color: {
                field: color.field,
                type: "nominal",
                title: color.title,
                scale: colorScale(color.order),
                sort: [...color.order],
              },
            }
          : { color: { value: "#0072B2" } }),
        tooltip: summaryTooltip(color ? [x, color] : [x]),
      },
    },
  ];
}
