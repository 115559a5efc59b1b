/**
 * The shape of an experiment's results as tables (long format, one row per measurement), the
 * contract between the run store (which writes trials), the Results API (which reads them), and
 * the figures, reports and notebooks (which draw them). Long rows map directly onto Vega-Lite
 * encodings: a figure filters and encodes columns, it never reshapes.
 */
import type { Lang } from "../data/langs";
import type { Task } from "../data/example";

/** A setting's value as it appears in a table (numbers stay numbers, for quantitative axes). */
export type SettingValue = string | number | boolean;

/** Trial status in the run store. */
export type TrialStatus = "completed" | "failed" | "running" | "pending";

/** One trial of an experiment: the settings it varies, and how it ended. */
export interface TrialRow {
  experiment: string;
  /** Run-store key: sha256 of the resolved config, the data hash and the code version. */
  key: string;
  status: TrialStatus;
  /** Base model name (profile's name for it, e.g. "narrator-2m"). */
  model: string;
  /** Training task of the adapter, or "base" for a zero-shot (untrained) trial. */
  trainedOn: "base" | "codesearchnet" | "commitpackft" | "cocktail";
  seed: number;
  /** The swept settings of this trial, by setting name (e.g. { optimizer: "adagrad" }). */
  settings: Record<string, SettingValue>;
  /** Human label of the swept settings, stable across seeds (e.g. "adagrad", "lr=2e-4"). */
  label: string;
  wallTimeS: number | null;
  /** The error message of a failed trial. */
  error: string | null;
}

/**
 * Where an evaluation's examples come from: the validation or test split of the data directory, or
 * the test split of the held-out dataset (repositories no training data came from).
 */
export type EvalSplit = "val" | "test" | "held-out";

/** The columns that say which trial a measurement belongs to, first in metric and curve rows. */
export interface TrialColumns {
  experiment: string;
  key: string;
  model: string;
  trainedOn: TrialRow["trainedOn"];
  seed: number;
  label: string;
  /** The swept settings, flattened into columns named after them. */
  [setting: string]: SettingValue | null;
}

/**
 * One evaluation measurement: a trial's CE (and generation scores when it generated) on one task
 * and language of one split; language "all" is the token-weighted aggregate over the languages.
 */
export interface MetricRow extends TrialColumns {
  /** Evaluated task. */
  task: Task;
  language: Lang | "all";
  split: EvalSplit;
  /** Mean NLL per target token (nats) and its exp. */
  ce: number;
  ppl: number;
  tokens: number;
  examples: number;
  /** Smoothed BLEU-4 (CodeXGLUE variant, 0-100) and ROUGE-L F (COCO beta 1.2, 0-100) of greedy generations; null when not generated. */
  bleu: number | null;
  rougeL: number | null;
}

/** One point of a training curve: a step's training loss, and validation CE where evaluated. */
export interface CurveRow extends TrialColumns {
  step: number;
  epoch: number;
  lr: number;
  /** Training loss of the step; null at evaluation-only points. */
  loss: number | null;
  /** Validation CE (overall) at this step; null where not evaluated. */
  valCe: number | null;
}

/** A generated example kept for reports (escaped by whoever renders it). */
export interface SampleRow {
  experiment: string;
  key: string;
  trainedOn: TrialRow["trainedOn"];
  seed: number;
  task: Task;
  language: Lang;
  /** The model input (code or diff), possibly shortened. */
  input: string;
  reference: string;
  generated: string;
}

/**
 * The CE terms of each example of one trial on one task and language (examples in a stable order):
 * what paired bootstrap intervals resample. Rows with equal `idsHash` hold the same examples in the
 * same order, so settings are compared example by example. The CE of a set of examples is the sum
 * of their `nll` over the sum of their `tokens`.
 */
export interface ExampleRow {
  experiment: string;
  /** The trial's key (joins TrialRow for settings and status). */
  key: string;
  seed: number;
  label: string;
  task: Task;
  language: Lang;
  split: EvalSplit;
  idsHash: string;
  /** Summed NLL of each example's target tokens (nats), and its target token count. */
  nll: readonly number[];
  tokens: readonly number[];
}
