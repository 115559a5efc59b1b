/**
 * What a report is built from: each experiment's results as long rows (the Results API's output
 * satisfies `ExperimentResults` structurally), the data preparation summary, and provenance.
 */
import type {
  CurveRow,
  ExampleRow,
  MetricRow,
  SampleRow,
  SettingValue,
  TrialRow,
} from "../experiments/rows";
import type { Claim } from "../experiments/claims";
import type { FunnelRecord } from "../data/example";

/** The experiments a report covers, in the order pages list them. */
export const EXPERIMENTS = [
  "baselines",
  "optimizers",
  "schedulers",
  "epochs",
  "batch-size",
  "learning-rate",
  "cocktail",
  "cocktail-ratios",
  "diff-vs-files",
  "cross-language",
] as const;
export type ExperimentName = (typeof EXPERIMENTS)[number];

/** The hyperparameter sweeps among them (one swept setting each, compared by validation CE). */
export const SWEEPS = [
  "optimizers",
  "schedulers",
  "epochs",
  "batch-size",
  "learning-rate",
  "cocktail-ratios",
  "diff-vs-files",
] as const satisfies readonly ExperimentName[];
export type SweepName = (typeof SWEEPS)[number];

/** One experiment's results: trials (every status), metrics, curves and kept generations. */
export interface ExperimentResults {
  /**
   * The experiment's definition and profile as resolved (shown as the page's configuration); the
   * claims it tests, the settings it fixes and the profile's base model are read by the claims page.
   */
  definition?: Readonly<Record<string, unknown>> & {
    readonly claims?: readonly Claim[];
    readonly fixed?: Readonly<Record<string, unknown>>;
  };
  profile?: Readonly<Record<string, unknown>> & { readonly baseModel?: string };
  /** The hyperparameters a transfer experiment trained with, and where they came from. */
  transfer?: { mode: Transfer; hyperparameters: Readonly<Record<string, SettingValue>> } | null;
  /** Keys of results that ran with other sources, data or models than the current ones. */
  outdated?: readonly string[];
  trials: readonly TrialRow[];
  metrics: readonly MetricRow[];
  curves: readonly CurveRow[];
  samples: readonly SampleRow[];
  /** Per-example CE terms of completed trials, for the claims' bootstrap intervals. */
  examples?: readonly ExampleRow[];
}

/** The data preparation summary (the output of `narrator data stats --json` fits it). */
export interface DataSummary {
  dataHash: string;
  funnel: readonly FunnelRecord[];
  warnings: readonly { message: string }[];
}

/** What the run store recorded of an experiment's trials: the distinct values, sorted. */
export interface RunProvenance {
  dataHashes: readonly string[];
  modelHashes: readonly string[];
  /** sha256 of the sources the trials ran with. */
  codeVersions: readonly string[];
  backends: readonly string[];
}

/** The checkout and packages that built the report; shown in every page's provenance block. */
export interface ReportProvenance {
  gitCommit: string | null;
  gitDirty: boolean | null;
  node: string | null;
  /** Package name -> version (training and report packages). */
  packages: Readonly<Record<string, string>>;
}

/** Which hyperparameters were transferred to CommitPackFT and the cocktail. */
export type Transfer = "study" | "winners";

/** Everything one profile's reports are built from. */
export interface ReportInput {
  profile: string;
  transfer: Transfer;
  experiments: Partial<Record<ExperimentName, ExperimentResults>>;
  /** Experiments whose results could not be loaded, with the reason. */
  unavailable?: Partial<Record<ExperimentName, string>>;
  /** Per experiment, what its trials' run records say (absent: unknown). */
  runs?: Partial<Record<ExperimentName, RunProvenance>>;
  data?: DataSummary;
  /** Why there is no data summary, when there is none. */
  dataError?: string;
  provenance: ReportProvenance;
}
