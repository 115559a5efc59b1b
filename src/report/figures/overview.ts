/** One view of every sweep: validation CE per setting, a panel per sweep, winners ringed. */
import type { MetricRow } from "../../experiments/rows";
import { ceAxis, taskColor, taskErrorBars } from "./marks";
import {
  ERROR_BAR_NOTE,
  TASK_ORDER,
  THEME,
  VEGA_LITE_SCHEMA,
  ceTitle,
  judges,
  sortByOrders,
  summariseCe,
  summaryTooltip,
  type Figure,
} from "./style";
import { TASK_NAMES } from "../../data/example";

/** One sweep's part of the overview. */
export interface OverviewSweep {
  /** Panel title, e.g. "Fig. 2 · optimizer". */
  title: string;
  metrics: readonly MetricRow[];
  /** Setting labels in display order. */
  order: readonly string[];
}

/**
 * Every sweep's settings against CE (all languages together) on the task(s) its trials trained on;
 * shared y scale so effects compare across sweeps; the lowest mean per sweep and task is ringed.
 */
export function overviewFigure(
  sweeps: readonly OverviewSweep[],
  split: MetricRow["split"] = "val",
): Figure {
  const values = sweeps.flatMap((s) => {
    const rows = s.metrics.filter((r) => r.split === split && r.language === "all" && judges(r));
    const summary = summariseCe(rows, (r) => ({
      sweep: s.title,
      task: TASK_NAMES[r.task],
      setting: r.label,
    }));
    const best = new Map<string, number>();
    for (const v of summary) best.set(v.task, Math.min(best.get(v.task) ?? Infinity, v.mean));
    return sortByOrders(
      summary.map((v) => ({ ...v, best: v.mean === best.get(v.task) })),
      [
        ["task", TASK_ORDER],
        ["setting", s.order],
      ],
    );
  });
  const titles = sweeps.map((s) => s.title);
  const settings = [...new Set(sweeps.flatMap((s) => s.order))];
  const x = {
    field: "setting",
    type: "nominal",
    sort: settings,
    title: null,
    axis: { labelAngle: -35 },
  } as const;
  const xOffset = { field: "task", type: "nominal", sort: [...TASK_ORDER] } as const;
  const y = ceAxis(split);
  const color = taskColor({ orient: "top" });
  return {
    id: "overview",
    caption: `Every sweep at a glance: ${ceTitle(split)} per setting on the task its trials trained on (both tasks for cocktail mixes), all languages together; one shared CE scale. Ringed: the lowest mean of each sweep and task. ${ERROR_BAR_NOTE}`,
    spec: {
      $schema: VEGA_LITE_SCHEMA,
      title: {
        text: "All sweeps · CE per setting",
        subtitle: `${ceTitle(split)}, all languages together; ringed: lowest mean`,
      },
      data: { values },
      facet: { field: "sweep", type: "nominal", sort: titles, title: null },
      columns: 4,
      spec: {
        width: 200,
        height: 180,
        layer: [
          taskErrorBars({ x, xOffset }, split, color),
          {
            transform: [{ filter: "datum.best" }],
            mark: { type: "point", size: 260, filled: false, strokeWidth: 1.5, color: "#000" },
            encoding: { x, xOffset, y: { ...y, field: "mean" } },
          },
          {
            mark: { type: "point", filled: true, size: 60 },
            encoding: {
              x,
              xOffset,
              y: { ...y, field: "mean" },
              color,
              tooltip: summaryTooltip([
                { field: "sweep", title: "sweep" },
                { field: "setting", title: "setting" },
                { field: "task", title: "evaluated task" },
              ]),
            },
          },
        ],
      },
      resolve: { scale: { x: "independent" } },
      config: THEME,
    },
  };
}
