/**
 * Transferred hyperparameters: the experiments after the CodeSearchNet sweeps (CommitPackFT, the
 * cocktail, its ratios, the commit input) train with either the study's choice or the winners of
 * this store's own sweeps (the value with the lowest mean validation CE, over seeds, in each sweep).
 */
import type { MetricRow, SettingValue, TrialRow } from "./rows";
import type { Hyperparameters } from "./trials";

/** The study's chosen hyperparameters (its README, section 6.2). */
export const STUDY_HYPERPARAMETERS: Hyperparameters = {
  optimizer: "adagrad",
  scheduler: "constant_with_warmup",
  epochs: 1,
  batchSize: 4,
  lr: 2e-4,
};

/** The sweep that chooses each transferred hyperparameter. */
export const TRANSFER_SWEEPS: Readonly<Record<keyof Hyperparameters, string>> = {
  optimizer: "optimizers",
  scheduler: "schedulers",
  epochs: "epochs",
  batchSize: "batch-size",
  lr: "learning-rate",
};

/** Which hyperparameters a transfer experiment used, for reports to state. */
export interface Transfer {
  mode: "study" | "winners";
  hyperparameters: Hyperparameters;
}

/**
 * The value of `field` whose trials have the lowest mean CE (rows of language "all", over seeds
 * and evaluated tasks); ties go to the value listed first. Every trial of the sweep must be
 * completed: a winner over part of a sweep would silently change when the rest finishes.
 */
export function pickWinner(
  field: keyof Hyperparameters,
  experiment: string,
  trials: readonly TrialRow[],
  metrics: readonly MetricRow[],
): SettingValue {
  const unfinished = trials.filter((t) => t.status !== "completed");
  if (unfinished.length > 0 || trials.length === 0)
    throw new Error(
      `transfer "winners" needs the finished sweep ${experiment}: ${unfinished.length} of ${trials.length} trials are not completed ` +
        `(${[...new Set(unfinished.map((t) => t.status))].join(", ") || "none run"}); run \`narrator sweep ${experiment}\` with this profile and store first`,
    );
  const sums = new Map<SettingValue, { sum: number; n: number }>();
  for (const t of trials) {
    const v = t.settings[field];
    if (v === undefined) throw new Error(`${experiment}: trial ${t.label} does not vary ${field}`);
    if (!sums.has(v)) sums.set(v, { sum: 0, n: 0 });
  }
  for (const m of metrics) {
    if (m.language !== "all") continue;
    const s = sums.get(m[field] as SettingValue);
    if (s) {
      s.sum += m.ce;
      s.n++;
    }
  }
  let best: SettingValue | null = null;
  let bestCe = Infinity;
  for (const [v, s] of sums) {
    const mean = s.sum / s.n;
    if (mean < bestCe) {
      best = v;
      bestCe = mean;
    }
  }
  if (best === null) throw new Error(`${experiment}: no finite CE to choose ${field} by`);
  return best;
}
