/** The shape of the length-statistics table (computed as a data frame in frame.ts). */
import type { Split, Task } from "./example";
import type { Lang } from "./langs";

/** Summary of a list of numbers; std is the population standard deviation, median the mean of the middle two for even counts. */
export interface Distribution {
  count: number;
  mean: number;
  std: number;
  min: number;
  median: number;
  max: number;
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

/** Length of a text in Unicode code points (what the tables call characters). */
export function codePoints(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}
