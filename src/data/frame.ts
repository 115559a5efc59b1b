/**
 * Length statistics as a data frame: one row per example, field and unit holds the raw lengths, and
 * summaries group them by any of dataset, language and split. Exportable as CSV or JSON.
 *
 * The frame library is arquero, not danfojs. Measured in one process with this project's tfjs 4.22
 * wasm training: danfojs 1.2.0 brings its own tfjs 3.21 (377 MB installed, 1.7-3.6 s to require on
 * this 2-core machine) that shares tfjs's global engine and kernel registry; loaded after tfjs 4.22
 * it replaces all 167 cpu kernels with 3.21's (335 "already registered" warnings). Five AdamW steps
 * gave bit-identical losses on wasm and cpu before and after, but which tfjs version the cpu backend
 * runs would depend on load order. arquero 8.0.3 needs no tfjs (3 packages, 6 MB), and statistics
 * need no tensors.
 */
import * as aq from "arquero";
import type { ColumnTable } from "arquero";
import type { Example } from "./example";
import { SPLITS, TASKS } from "./example";
import { LANGS } from "./langs";
import { codePoints } from "./stats";
import type { CountTokens } from "./tokens";

/** The columns a summary may group by; field and unit are always grouped as well (lengths of different kinds never pool). */
export const GROUP_KEYS = ["dataset", "language", "split"] as const;
export type GroupKey = (typeof GROUP_KEYS)[number];

const FIELDS = ["input", "target"] as const;
const UNITS = ["chars", "tokens"] as const;

/** Order of each key column's values: summaries list groups in this order, as lengthStats does. */
const ORDER: Record<GroupKey | "field" | "unit", readonly string[]> = {
  dataset: TASKS,
  language: LANGS,
  split: SPLITS,
  field: FIELDS,
  unit: UNITS,
};

/** One row per example, field (input, target) and unit (chars = code points, tokens): the lengths every summary is computed from. */
export function lengthsFrame(examples: Iterable<Example>, countTokens: CountTokens): ColumnTable {
  const cols = {
    dataset: [] as string[],
    language: [] as string[],
    split: [] as string[],
    field: [] as string[],
    unit: [] as string[],
    length: [] as number[],
  };
  const push = (e: Example, field: string, unit: string, length: number): void => {
    cols.dataset.push(e.task);
    cols.language.push(e.language);
    cols.split.push(e.split);
    cols.field.push(field);
    cols.unit.push(unit);
    cols.length.push(length);
  };
  for (const e of examples)
    for (const field of FIELDS) {
      push(e, field, "chars", codePoints(e[field]));
      push(e, field, "tokens", countTokens(e[field]));
    }
  return aq.table(cols);
}

/**
 * count, mean, population std, min, median (mean of the middle two for even counts) and max of the
 * lengths per group of `by` plus field and unit; groups in TASKS, LANGS, SPLITS order, empty ones absent.
 */
export function summarise(lengths: ColumnTable, by: readonly GroupKey[]): ColumnTable {
  for (const k of by)
    if (!GROUP_KEYS.includes(k))
      throw new Error(
        `summarise: cannot group by '${k}'; expected some of ${GROUP_KEYS.join(", ")}`,
      );
  const keys = [...GROUP_KEYS.filter((k) => by.includes(k)), "field", "unit"] as const;
  // Mixed-radix rank of a row's key values, so that one comparison sorts by every key in turn.
  const rank = (d: Record<string, string>): number =>
    keys.reduce((r, k) => r * ORDER[k].length + ORDER[k].indexOf(d[k]), 0);
  return lengths
    .groupby(...keys)
    .rollup({
      count: aq.op.count(),
      mean: aq.op.mean("length"),
      std: aq.op.stdevp("length"),
      min: aq.op.min("length"),
      median: aq.op.median("length"),
      max: aq.op.max("length"),
    })
    .derive({ std: aq.escape((d: { std?: number }) => d.std ?? 0) }) // arquero: undefined for one value
    .orderby(aq.escape(rank))
    .reify();
}

/** The statistics table per dataset, language, split, field and unit (the rows lengthStats gives, columns as STATS_COLUMNS). */
export function statsFrame(examples: Iterable<Example>, countTokens: CountTokens): ColumnTable {
  return summarise(lengthsFrame(examples, countTokens), GROUP_KEYS);
}

/** A frame as CSV: header first, RFC 4180 quoting, one line per row, each ending in a newline. */
export function frameToCsv(frame: ColumnTable): string {
  return frame.toCSV();
}

/** A frame as an array of plain row objects (what JSON reports hold), in the frame's row order. */
export function frameToJson<Row extends object = Record<string, unknown>>(
  frame: ColumnTable,
): Row[] {
  return frame.objects() as Row[];
}
