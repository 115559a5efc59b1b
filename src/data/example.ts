/** The unified record every dataset is turned into before training, and the bookkeeping records around it. */
import type { Lang } from "./langs";

/** The two tasks of the study. */
export const TASKS = ["codesearchnet", "commitpackft"] as const;
export type Task = (typeof TASKS)[number];

/** Display names of the tasks. */
export const TASK_NAMES: Readonly<Record<Task, string>> = {
  codesearchnet: "CodeSearchNet",
  commitpackft: "CommitPackFT",
};

/** Splits, in the order they are reported. CodeSearchNet's "valid" partition becomes "val". */
export const SPLITS = ["train", "val", "test"] as const;
export type Split = (typeof SPLITS)[number];

/** One training or evaluation example: the model reads `input` and learns to write `target`. */
export interface Example {
  id: string;
  task: Task;
  language: Lang;
  split: Split;
  input: string;
  target: string;
  meta?: Record<string, string>;
}

/**
 * One stage of the preparation funnel for one dataset and language: rows in, rows out, rows removed
 * (in - removed = out). Stages before the split have no `split`; the subset stage has one record per split.
 */
export interface FunnelRecord {
  dataset: Task;
  language: Lang;
  stage: string;
  split?: Split;
  in: number;
  out: number;
  removed: number;
}

/** Something the user must know about the prepared data (a shortfall, skipped rows), returned with the result. */
export interface DataWarning {
  dataset: Task;
  language?: Lang;
  split?: Split;
  kind: "subset_shortfall" | "skipped_rows" | "cocktail_shortfall";
  message: string;
}
