/**
 * What every figure shares: the Figure record, the theme (fonts, sizes, a colour-blind-safe
 * palette), display names and fixed orders of tasks, languages and adapters, axis titles with
 * units, and the per-group summary rows that figures encode.
 */
import type { Config, TopLevelSpec } from "vega-lite";
import { LANGS, LANG_NAMES, type Lang } from "../../data/langs";
import { TASK_NAMES, TASKS } from "../../data/example";
import type { MetricRow, SettingValue, TrialRow } from "../../experiments/rows";
import { groupBy, spread, type Spread } from "../stats";

/** A figure: a stable id (used as the HTML element id), a caption, and its Vega-Lite spec. */
export interface Figure {
  id: string;
  caption: string;
  spec: TopLevelSpec;
}

export const VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";

/** Okabe-Ito: distinguishable under the common colour-vision deficiencies (yellow last: low contrast on white). */
export const PALETTE = [
  "#0072B2",
  "#E69F00",
  "#009E73",
  "#CC79A7",
  "#56B4E9",
  "#D55E00",
  "#000000",
  "#F0E442",
] as const;

/** The theme of every figure: one font (DejaVu Sans, installed for rsvg-convert), readable sizes. */
export const THEME: Config = {
  font: "DejaVu Sans",
  background: "white",
  padding: 8,
  title: { fontSize: 15, subtitleFontSize: 12, anchor: "start", offset: 12, subtitleColor: "#444" },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: "#e6e6e6", titleFontWeight: "normal" },
  header: { labelFontSize: 13, titleFontSize: 13 },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 260 },
  view: { stroke: "#ccc" },
};

/** Row-facet headers above each panel (not rotated beside the y axis title). */
export const ROW_HEADER = {
  labelAngle: 0,
  labelOrient: "top",
  labelAnchor: "start",
  labelFontWeight: "bold",
} as const;

/** A colour scale over an explicit domain, colours assigned in domain order. */
export function colorScale(domain: readonly string[]): { domain: string[]; range: string[] } {
  return { domain: [...domain], range: domain.map((_, i) => PALETTE[i % PALETTE.length]) };
}

/** Axis title of a cross-entropy axis, with the split and the unit. */
export function ceTitle(split: MetricRow["split"]): string {
  return `${splitName(split)} cross-entropy (nats/token)`;
}

/** How a split is named in titles and captions. */
export function splitName(split: MetricRow["split"]): string {
  return split === "val" ? "validation" : split === "test" ? "test" : "held-out test";
}

/** Task display names in task order. */
export const TASK_ORDER: readonly string[] = TASKS.map((t) => TASK_NAMES[t]);

/** What a trial trained on, for legends; in the order figures list them. */
export const TRAINED_ON_NAMES: Readonly<Record<TrialRow["trainedOn"], string>> = {
  base: "base model (zero-shot)",
  codesearchnet: "CodeSearchNet adapter",
  commitpackft: "CommitPackFT adapter",
  cocktail: "cocktail adapter",
};
export const TRAINED_ON_ORDER: readonly string[] = Object.values(TRAINED_ON_NAMES);

/** Language display name; "all" is the token-weighted aggregate over the languages. */
export function languageName(language: Lang | "all"): string {
  return language === "all" ? "all" : LANG_NAMES[language];
}
export const LANGUAGE_ORDER: readonly string[] = [...LANGS, "all" as const].map(languageName);

/** Whether a metric row judges its trial: on the task it trained on, or on every task for a cocktail. */
export function judges(row: Pick<MetricRow, "trainedOn" | "task">): boolean {
  return row.trainedOn === "cocktail" || row.trainedOn === row.task;
}

/** Compare text by code points (locale-independent, so orders never depend on the machine). */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareValue(a: SettingValue | undefined, b: SettingValue | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  return compareText(String(a), String(b));
}

/** Compare two trials' settings key by key (keys sorted): numbers numerically, the rest as text. */
export function compareSettings(
  a: Readonly<Record<string, SettingValue>>,
  b: Readonly<Record<string, SettingValue>>,
): number {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort(compareText);
  for (const k of keys) {
    const c = compareValue(a[k], b[k]);
    if (c !== 0) return c;
  }
  return 0;
}

/** The settings' labels in a fixed order: by setting values, then by label. */
export function settingOrder(trials: readonly Pick<TrialRow, "label" | "settings">[]): string[] {
  const byLabel = new Map<string, Readonly<Record<string, SettingValue>>>();
  for (const t of trials) if (!byLabel.has(t.label)) byLabel.set(t.label, t.settings);
  return [...byLabel]
    .sort(([la, a], [lb, b]) => compareSettings(a, b) || compareText(la, lb))
    .map(([label]) => label);
}

/** Sort rows by a list of (field, order) keys; values missing from an order go last, by text. */
export function sortByOrders<T extends object>(
  rows: readonly T[],
  keys: readonly (readonly [keyof T & string, readonly string[]])[],
): T[] {
  const rank = (order: readonly string[], v: string) => {
    const i = order.indexOf(v);
    return i < 0 ? order.length : i;
  };
  return [...rows].sort((a, b) => {
    for (const [field, order] of keys) {
      const [va, vb] = [String(a[field]), String(b[field])];
      const c = rank(order, va) - rank(order, vb) || compareText(va, vb);
      if (c !== 0) return c;
    }
    return 0;
  });
}

/** A group's CE over seeds: the spread, and each seed's value (seeds ascending) for the seed dots. */
export type CeSummary = Spread & { seeds: number[]; ces: number[] };

/**
 * Summarise metric rows per group: `group` names each row's group fields (display values);
 * returns one row per group with those fields and the CE spread over the group's rows.
 */
export function summariseCe<G extends Record<string, string | number>>(
  rows: readonly MetricRow[],
  group: (row: MetricRow) => G,
): (G & CeSummary)[] {
  const groups = groupBy(rows, (r) => JSON.stringify(group(r)));
  return [...groups.values()].map((members) => {
    const sorted = [...members].sort((a, b) => a.seed - b.seed || compareText(a.key, b.key));
    const ces = sorted.map((r) => r.ce);
    return { ...group(sorted[0]), ...spread(ces), seeds: sorted.map((r) => r.seed), ces };
  });
}

/**
 * Summarise metric rows per evaluated task, per language when `perLanguage`, and per one more
 * category (`by.value` gives a row's display value), sorted by task, language, then `by.order`.
 */
export function summariseCeByTask(
  rows: readonly MetricRow[],
  by: { field: string; order: readonly string[]; value: (row: MetricRow) => string },
  perLanguage: boolean,
): (Record<string, string> & CeSummary)[] {
  const summary = summariseCe<Record<string, string>>(rows, (r) => ({
    task: TASK_NAMES[r.task],
    ...(perLanguage ? { language: languageName(r.language) } : {}),
    [by.field]: by.value(r),
  }));
  return sortByOrders(summary, [
    ["task", TASK_ORDER],
    ...(perLanguage ? [["language", LANGUAGE_ORDER] as const] : []),
    [by.field, by.order],
  ]);
}

/** A tooltip field of a summary row: nominal unless given a type (and a number format). */
export interface TooltipField {
  field: string;
  title: string;
  type?: "nominal" | "quantitative";
  format?: string;
}

/** Tooltip fields of a summary row (the group fields first). */
export function summaryTooltip(fields: readonly TooltipField[]) {
  return [
    ...fields.map((f) => ({
      field: f.field,
      type: f.type ?? ("nominal" as const),
      ...(f.format === undefined ? {} : { format: f.format }),
      title: f.title,
    })),
    { field: "mean", type: "quantitative" as const, format: ".3f", title: "mean CE" },
    { field: "sd", type: "quantitative" as const, format: ".3f", title: "sd over seeds" },
    { field: "n", type: "quantitative" as const, title: "seeds" },
  ];
}

/** Caption sentences that explain error bars, seed dots and the "all" language. */
export const ERROR_BAR_NOTE =
  "Error bars: mean ± one sample standard deviation over seeds (drawn where there are at least two).";
export const SPREAD_NOTE = `${ERROR_BAR_NOTE} Hollow dots: single seeds. Language "all": CE over every language's target tokens together.`;
