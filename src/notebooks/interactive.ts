/**
 * The interactive version of a figure, for the notebook views that draw Vega-Lite (vega-embed in
 * the browser; tooltips come from the specs' own tooltip encodings): where a figure colours its
 * marks by a category with a legend (the swept setting, the adapter, the language), clicking a
 * legend entry highlights that category's marks and fades the others; shift-click adds more.
 * The static SVG of the same figure is rendered from the spec unchanged.
 */
import type { TopLevelSpec } from "vega-lite";

/** Name of the legend selection added to a figure. */
export const PICK_PARAM = "pick";
/** Opacity of the marks outside the selection, relative to their own. */
const FADED = 0.15;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Every unit spec (one with a mark) inside a spec: through layers, facets, repeats and concats. */
function unitSpecs(spec: Json): Json[] {
  if ("mark" in spec) return [spec];
  const children: unknown[] = [];
  for (const key of ["layer", "concat", "hconcat", "vconcat"])
    if (Array.isArray(spec[key])) children.push(...(spec[key] as unknown[]));
  if (isObject(spec.spec)) children.push(spec.spec);
  return children.filter(isObject).flatMap(unitSpecs);
}

/** The field a unit colours by, when it is a category shown in a legend. */
function legendField(unit: Json): string | null {
  const color = isObject(unit.encoding) ? unit.encoding.color : undefined;
  if (!isObject(color) || typeof color.field !== "string") return null;
  if (color.type !== "nominal" && color.type !== "ordinal") return null;
  return color.legend === null ? null : color.field;
}

/** The opacity a unit draws with before any selection (its mark's, else 1). */
function markOpacity(unit: Json): number {
  return isObject(unit.mark) && typeof unit.mark.opacity === "number" ? unit.mark.opacity : 1;
}

/**
 * `spec` with a legend selection on its colour category, or `spec` itself when it has no
 * category legend, already has parameters, or is not a plain object.
 */
export function interactiveSpec(spec: TopLevelSpec): TopLevelSpec {
  if (!isObject(spec) || "params" in spec) return spec;
  const copy = structuredClone(spec) as Json;
  const units = unitSpecs(copy);
  if (units.some((u) => "params" in u)) return spec;
  const field = units.map(legendField).find((f) => f !== null);
  if (!field) return spec;
  const coloured = units.filter((u) => legendField(u) === field);
  coloured[0].params = [
    { name: PICK_PARAM, select: { type: "point", fields: [field] }, bind: "legend" },
  ];
  for (const unit of coloured) {
    const encoding = unit.encoding as Json;
    if ("opacity" in encoding) continue;
    const base = markOpacity(unit);
    encoding.opacity = { condition: { param: PICK_PARAM, value: base }, value: base * FADED };
  }
  return copy as unknown as TopLevelSpec;
}
