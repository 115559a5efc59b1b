/** Length statistics per dataset, language and split, as a plain table (array of rows) exportable as CSV or JSON. */
import type { Example, Split, Task } from "./example";
import { SPLITS, TASKS } from "./example";
import type { Lang } from "./langs";
import { LANGS } from "./langs";
import type { CountTokens } from "./tokens";

/** Summary of a list of numbers; std is the population standard deviation, median the mean of the middle two for even counts. */
export interface Distribution {
  count: number;
  mean: number;
  std: number;
  min: number;
  median: number;
  max: number;
}

/** Describe a non-empty list of numbers; an error for an empty one. */
export function describeNumbers(values: readonly number[]): Distribution {
  const n = values.length;
  if (n === 0) throw new Error("describeNumbers: no values");
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sorted.reduce((s, v) => s + v, 0) / n;
  const variance = sorted.reduce((s, v) => s + (v - mean) * (v - mean), 0) / n;
  const mid = n >> 1;
  const median = n % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { count: n, mean, std: Math.sqrt(variance), min: sorted[0], median, max: sorted[n - 1] };
}

/** One row of the statistics table. */
export interface StatsRow extends Distribution {
  dataset: Task;
  language: Lang;
  split: Split;
  field: "input" | "target";
  unit: "chars" | "tokens";
}

/** Column order of the statistics table. */
export const STATS_COLUMNS = [
  "dataset",
  "language",
  "split",
  "field",
  "unit",
  "count",
  "mean",
  "std",
  "min",
  "median",
  "max",
] as const;

/** Lengths of inputs and targets in characters (Unicode code points) and tokens, per dataset, language and split (empty groups omitted). */
export function lengthStats(examples: Iterable<Example>, countTokens: CountTokens): StatsRow[] {
  const groups = new Map<string, Example[]>();
  for (const e of examples) {
    const key = `${e.task}/${e.language}/${e.split}`;
    const g = groups.get(key);
    if (g) g.push(e);
    else groups.set(key, [e]);
  }
  const rows: StatsRow[] = [];
  for (const dataset of TASKS)
    for (const language of LANGS)
      for (const split of SPLITS) {
        const g = groups.get(`${dataset}/${language}/${split}`);
        if (!g) continue;
        for (const field of ["input", "target"] as const) {
          const texts = g.map((e) => e[field]);
          rows.push({
            dataset,
            language,
            split,
            field,
            unit: "chars",
            ...describeNumbers(texts.map(codePoints)),
          });
          rows.push({
            dataset,
            language,
            split,
            field,
            unit: "tokens",
            ...describeNumbers(texts.map(countTokens)),
          });
        }
      }
  return rows;
}

/** Length of a text in Unicode code points (what the tables call characters). */
export function codePoints(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

function csvField(value: unknown): string {
  const s = value === null || value === undefined ? "" : String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Render rows as CSV (RFC 4180: comma-separated, fields with commas, quotes or newlines quoted), header first. */
export function toCsv<R extends object>(
  rows: readonly R[],
  columns: readonly string[] = rows.length ? Object.keys(rows[0]) : [],
): string {
  const lines = [columns.map(csvField).join(",")];
  for (const row of rows)
    lines.push(columns.map((c) => csvField((row as Record<string, unknown>)[c])).join(","));
  return lines.join("\n") + "\n";
}
