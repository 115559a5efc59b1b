/**
 * Figures 2-6 and the follow-up sweeps: validation CE per setting (mean and spread over seeds),
 * the same per language, and training curves per setting with a band across seeds.
 */
import type { CurveRow, MetricRow } from "../../experiments/rows";
import { groupBy, spread } from "../stats";
import { LANGUAGE, columnFacet, meanPointLayers, rowFacet } from "./marks";
import {
  SPREAD_NOTE,
  TASK_ORDER,
  THEME,
  VEGA_LITE_SCHEMA,
  ceTitle,
  colorScale,
  sortByOrders,
  summariseCeByTask,
  type Figure,
} from "./style";

/** Which sweep a figure shows: ids, titles and the swept setting's name and label order. */
export interface SweepView {
  /** Figure id prefix, e.g. "fig2-optimizers". */
  id: string;
  /** Title, e.g. "Figure 2 · Optimizers". */
  title: string;
  /** The swept setting, for axis titles (e.g. "optimizer"). */
  setting: string;
  /** Setting labels in display order (see settingOrder). */
  order: readonly string[];
}

/** The swept setting as a summary category: each row's label, in the view's order. */
function settingOf(view: SweepView) {
  return { field: "setting", order: view.order, value: (r: MetricRow) => r.label };
}

/** Validation CE (all languages together) per setting, one panel per evaluated task. */
export function sweepCeFigure(
  metrics: readonly MetricRow[],
  view: SweepView,
  split: MetricRow["split"] = "val",
): Figure {
  const rows = metrics.filter((r) => r.split === split && r.language === "all");
  const values = summariseCeByTask(rows, settingOf(view), false);
  return {
    id: view.id,
    caption: `${view.title}: ${ceTitle(split)} per ${view.setting}, all languages together; lower is better. ${SPREAD_NOTE}`,
    spec: {
      $schema: VEGA_LITE_SCHEMA,
      title: { text: view.title, subtitle: `${ceTitle(split)} per ${view.setting}` },
      data: { values },
      facet: columnFacet("task", TASK_ORDER),
      spec: {
        width: Math.max(220, 70 * view.order.length),
        height: 240,
        layer: meanPointLayers(
          { field: "setting", title: view.setting, order: view.order },
          null,
          ceTitle(split),
        ),
      },
      resolve: { scale: { y: "independent" } },
      config: THEME,
    },
  };
}

/** Validation CE per language and setting, one panel per evaluated task. */
export function sweepLanguagesFigure(
  metrics: readonly MetricRow[],
  view: SweepView,
  split: MetricRow["split"] = "val",
): Figure {
  const rows = metrics.filter((r) => r.split === split && r.language !== "all");
  const values = summariseCeByTask(rows, settingOf(view), true);
  return {
    id: `${view.id}-languages`,
    caption: `${view.title}, per language: ${ceTitle(split)} per language and ${view.setting}. ${SPREAD_NOTE}`,
    spec: {
      $schema: VEGA_LITE_SCHEMA,
      title: {
        text: `${view.title} · per language`,
        subtitle: `${ceTitle(split)} per language and ${view.setting}`,
      },
      data: { values },
      facet: rowFacet("task", TASK_ORDER),
      spec: {
        width: 760,
        height: 220,
        layer: meanPointLayers(
          LANGUAGE,
          { field: "setting", title: view.setting, order: view.order },
          ceTitle(split),
        ),
      },
      resolve: { scale: { y: "independent" } },
      config: THEME,
    },
  };
}

/** The two curve panels. */
const LOSS_PANEL = "training loss";
const VAL_PANEL = "validation CE";

/** Curves are averaged over windows of steps so that a page holds at most this many points per line. */
export const MAX_CURVE_POINTS = 200;

/**
 * Training loss and validation CE against the optimizer step, one line per setting (mean over
 * seeds) with a band of ± one sd across seeds. Steps are grouped into windows of
 * ceil((max step + 1) / MAX_CURVE_POINTS) steps: each seed's values are averaged within a window
 * first, then summarised across seeds.
 */
export function curvesFigure(curves: readonly CurveRow[], view: SweepView): Figure {
  const maxStep = curves.reduce((m, r) => Math.max(m, r.step), 0);
  const window = Math.max(1, Math.ceil((maxStep + 1) / MAX_CURVE_POINTS));
  const points: { setting: string; panel: string; step: number; seed: number; value: number }[] =
    [];
  for (const r of curves) {
    const step = Math.floor(r.step / window) * window;
    if (r.loss !== null)
      points.push({ setting: r.label, panel: LOSS_PANEL, step, seed: r.seed, value: r.loss });
    if (r.valCe !== null)
      points.push({ setting: r.label, panel: VAL_PANEL, step, seed: r.seed, value: r.valCe });
  }
  const perSeed = [
    ...groupBy(
      points,
      (p) => `${p.setting}\u0000${p.panel}\u0000${p.step}\u0000${p.seed}`,
    ).values(),
  ].map((g) => ({ ...g[0], value: g.reduce((s, p) => s + p.value, 0) / g.length }));
  const values = [
    ...groupBy(perSeed, (p) => `${p.setting}\u0000${p.panel}\u0000${p.step}`).values(),
  ]
    .map((g) => {
      const { mean, sd, n, lo, hi } = spread(g.map((p) => p.value));
      return { setting: g[0].setting, panel: g[0].panel, step: g[0].step, mean, sd, n, lo, hi };
    })
    .sort((a, b) => a.step - b.step);
  const ordered = sortByOrders(values, [
    ["panel", [LOSS_PANEL, VAL_PANEL]],
    ["setting", view.order],
  ]);
  const color = {
    field: "setting",
    type: "nominal",
    title: view.setting,
    scale: colorScale(view.order),
    sort: [...view.order],
    // The band's opacity would otherwise make the legend's symbols pale.
    legend: { symbolOpacity: 1, symbolType: "stroke", symbolStrokeWidth: 3 },
  } as const;
  const x = {
    field: "step",
    type: "quantitative",
    title: "optimizer step",
    // Short runs (smoke) would get ticks at half steps: list the steps instead.
    axis:
      maxStep < 10 ? { values: Array.from({ length: maxStep + 1 }, (_, i) => i), format: "d" } : {},
  } as const;
  const windowNote = window > 1 ? ` Values are averaged over windows of ${window} steps.` : "";
  return {
    id: `${view.id}-curves`,
    caption: `${view.title}, training curves: training loss and ${VAL_PANEL} (nats/token) against the optimizer step, mean over seeds per ${view.setting}; bands: ± one sample standard deviation across seeds.${windowNote}`,
    spec: {
      $schema: VEGA_LITE_SCHEMA,
      title: {
        text: `${view.title} · training curves`,
        subtitle: `training loss and ${VAL_PANEL} (nats/token) per ${view.setting}, mean over seeds`,
      },
      data: { values: ordered },
      facet: rowFacet("panel", [LOSS_PANEL, VAL_PANEL]),
      spec: {
        width: 760,
        height: 200,
        layer: [
          {
            mark: { type: "line", strokeWidth: 1.8 },
            encoding: {
              x,
              y: {
                field: "mean",
                type: "quantitative",
                title: "nats/token",
                scale: { zero: false },
              },
              color,
              tooltip: [
                { field: "setting", type: "nominal", title: view.setting },
                { field: "step", type: "quantitative" },
                { field: "mean", type: "quantitative", format: ".3f" },
                { field: "sd", type: "quantitative", format: ".3f" },
                { field: "n", type: "quantitative", title: "seeds" },
              ],
            },
          },
          {
            mark: { type: "area", opacity: 0.18 },
            encoding: {
              x,
              y: { field: "lo", type: "quantitative", title: "nats/token", scale: { zero: false } },
              y2: { field: "hi" },
              color,
            },
          },
          {
            transform: [{ filter: `datum.panel === "${VAL_PANEL}"` }],
            mark: { type: "point", filled: true, size: 30 },
            encoding: { x, y: { field: "mean", type: "quantitative" }, color },
          },
        ],
      },
      resolve: { scale: { y: "independent" } },
      config: THEME,
    },
  };
}
