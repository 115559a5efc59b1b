/** The data funnel: rows kept after each preparation stage, per dataset and language. */
import type { FunnelRecord } from "../../data/example";
import {
  LANGUAGE_ORDER,
  TASK_ORDER,
  THEME,
  VEGA_LITE_SCHEMA,
  colorScale,
  languageName,
  sortByOrders,
  type Figure,
} from "./style";
import { TASK_NAMES } from "../../data/example";
import { groupBy } from "../stats";
import { columnFacet } from "./marks";

/** One point of the funnel: rows in and kept by a stage (per-split records of a stage summed). */
export interface FunnelPoint {
  dataset: string;
  language: string;
  stage: string;
  /** Position of the stage in its dataset's pipeline (datasets have different stages). */
  stageIndex: number;
  rowsIn: number;
  rowsOut: number;
}

/** Sum each stage's records over splits; each dataset's stages keep their pipeline order (first appearance). */
export function funnelPoints(funnel: readonly FunnelRecord[]): FunnelPoint[] {
  const stages = new Map<string, string[]>();
  for (const r of funnel) {
    const list = stages.get(r.dataset) ?? [];
    if (!list.includes(r.stage)) list.push(r.stage);
    stages.set(r.dataset, list);
  }
  const groups = groupBy(funnel, (r) => `${r.dataset}\u0000${r.language}\u0000${r.stage}`);
  const points = [...groups.values()].map((g) => ({
    dataset: TASK_NAMES[g[0].dataset],
    language: languageName(g[0].language),
    stage: g[0].stage,
    stageIndex: stages.get(g[0].dataset)!.indexOf(g[0].stage),
    rowsIn: g.reduce((s, r) => s + r.in, 0),
    rowsOut: g.reduce((s, r) => s + r.out, 0),
  }));
  return sortByOrders(
    [...points].sort((a, b) => a.stageIndex - b.stageIndex),
    [
      ["dataset", TASK_ORDER],
      ["language", LANGUAGE_ORDER],
    ],
  );
}

/** Rows kept after each stage (log scale), one line per language, one panel per dataset. */
export function funnelFigure(funnel: readonly FunnelRecord[]): Figure {
  const points = funnelPoints(funnel);
  const languages = LANGUAGE_ORDER.filter((l) => points.some((p) => p.language === l));
  const x = {
    field: "stage",
    type: "nominal",
    sort: { field: "stageIndex", op: "min" },
    title: "preparation stage",
    axis: { labelAngle: -35 },
  } as const;
  const y = {
    field: "rowsOut",
    type: "quantitative",
    title: "rows kept (log scale)",
    scale: { type: "log" },
  } as const;
  const color = {
    field: "language",
    type: "nominal",
    title: "language",
    scale: colorScale(languages),
    sort: languages,
  } as const;
  return {
    id: "data-funnel",
    caption:
      "Data funnel: rows kept after each preparation stage, per dataset and language (the subset stage's splits summed; stages that kept no rows cannot be drawn on the log scale and appear in the tables only).",
    spec: {
      $schema: VEGA_LITE_SCHEMA,
      title: {
        text: "Data funnel",
        subtitle: "rows kept after each preparation stage, per dataset and language",
      },
      data: { values: points },
      transform: [{ filter: "datum.rowsOut > 0" }],
      facet: columnFacet("dataset", TASK_ORDER),
      spec: {
        width: 400,
        height: 280,
        layer: [
          { mark: { type: "line", strokeWidth: 1.8 }, encoding: { x, y, color } },
          {
            mark: { type: "point", filled: true, size: 40 },
            encoding: {
              x,
              y,
              color,
              tooltip: [
                { field: "dataset", type: "nominal" },
                { field: "language", type: "nominal" },
                { field: "stage", type: "nominal" },
                { field: "rowsIn", type: "quantitative", title: "rows in", format: "," },
                { field: "rowsOut", type: "quantitative", title: "rows kept", format: "," },
              ],
            },
          },
        ],
      },
      resolve: { scale: { x: "independent" } },
      config: THEME,
    },
  };
}
