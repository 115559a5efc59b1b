/**
 * Hand-made report inputs: every experiment with a few settings and seeds, CE values from simple
 * formulas (no real data), one failed and one pending trial, and samples holding markup and URLs
 * that pages must escape.
 */
import type {
  CurveRow,
  ExampleRow,
  MetricRow,
  SampleRow,
  SettingValue,
  TrialRow,
} from "../../src/experiments/rows";
import type { ExperimentName, ExperimentResults, ReportInput } from "../../src/report/inputs";
import type { FunnelRecord } from "../../src/data/example";
import { LANGS, type Lang } from "../../src/data/langs";
import type { Task } from "../../src/data/example";
import { loadDefinition } from "../../src/experiments/definition";

export const MALICIOUS = `<script>alert("x")</script> & 'quotes' <img src=https://evil.example/x.png onerror=alert(1)>`;

interface TrialPlan {
  label: string;
  settings: Record<string, SettingValue>;
  trainedOn: TrialRow["trainedOn"];
  model?: string;
  /** CE offset of this setting. */
  offset: number;
}

const SEEDS = [1, 2, 3];

/** One experiment's rows: each plan x seed is a trial evaluated on `tasks`, with a short curve. */
function experiment(
  name: string,
  plans: readonly TrialPlan[],
  tasks: readonly Task[],
  opts: { seeds?: readonly number[]; curves?: boolean; generate?: boolean; heldOut?: boolean } = {},
): ExperimentResults {
  const trials: TrialRow[] = [];
  const metrics: MetricRow[] = [];
  const curves: CurveRow[] = [];
  const samples: SampleRow[] = [];
  const examples: ExampleRow[] = [];
  for (const plan of plans)
    for (const seed of opts.seeds ?? SEEDS) {
      const key = `${name}-${plan.label}-${seed}`.replace(/[^a-z0-9-]/gi, "_").padEnd(16, "0");
      const model = plan.model ?? "narrator-2m";
      const id = {
        experiment: name,
        key,
        model,
        trainedOn: plan.trainedOn,
        seed,
        label: plan.label,
      };
      trials.push({
        ...id,
        status: "completed",
        settings: plan.settings,
        wallTimeS: 10 + seed,
        error: null,
      });
      for (const task of tasks)
        for (const language of [...LANGS, "all"] as (Lang | "all")[]) {
          const li = language === "all" ? 2.5 : LANGS.indexOf(language);
          const ce =
            3 + plan.offset + (task === "commitpackft" ? 0.25 : 0) + 0.04 * li + 0.01 * seed;
          metrics.push({
            ...plan.settings,
            ...id,
            task,
            language,
            split: "val",
            ce,
            ppl: Math.exp(ce),
            tokens: 1000,
            examples: 10,
            bleu: opts.generate ? 10 + 2 * li - plan.offset * 10 + seed : null,
            rougeL: opts.generate ? 20 + li - plan.offset * 10 + seed : null,
          });
        }
      // Four examples per language on python and go, the same for every setting; their CE is the
      // setting's CE plus a per-example deviation.
      // On held-out repositories (when evaluated) every CE is 0.5 higher and offsets are halved.
      const splits = opts.heldOut ? (["val", "held-out"] as const) : (["val"] as const);
      for (const split of splits)
        if (split === "held-out")
          for (const task of tasks)
            for (const language of [...LANGS, "all"] as (Lang | "all")[]) {
              const li = language === "all" ? 2.5 : LANGS.indexOf(language);
              const ce = 3.5 + plan.offset / 2 + (task === "commitpackft" ? 0.25 : 0) + 0.04 * li;
              metrics.push({
                ...plan.settings,
                ...id,
                task,
                language,
                split,
                ce,
                ppl: Math.exp(ce),
                tokens: 1000,
                examples: 10,
                bleu: null,
                rougeL: null,
              });
            }
      for (const split of splits)
        for (const task of tasks)
          for (const language of ["python", "go"] as const) {
            const li = LANGS.indexOf(language);
            const ce =
              split === "held-out"
                ? 3.5 + plan.offset / 2 + (task === "commitpackft" ? 0.25 : 0) + 0.04 * li
                : 3 + plan.offset + (task === "commitpackft" ? 0.25 : 0) + 0.04 * li + 0.01 * seed;
            const tokens = [10, 12, 8, 10];
            const deviation = [0.05, -0.03, 0.02, -0.04];
            examples.push({
              experiment: name,
              key,
              seed,
              label: plan.label,
              task,
              language,
              split,
              idsHash: `${split}-${task}-${language}`,
              nll: tokens.map((t, i) => t * (ce + deviation[i])),
              tokens,
            });
          }
      if (opts.curves !== false && plan.trainedOn !== "base")
        for (let step = 1; step <= 20; step++)
          curves.push({
            ...plan.settings,
            ...id,
            step,
            epoch: 0,
            lr: 2e-4,
            loss: 4 + plan.offset - Math.log(step) * 0.3 + 0.02 * seed,
            valCe: step % 5 === 0 ? 3.8 + plan.offset - Math.log(step) * 0.25 : null,
          });
      if (opts.generate)
        for (const task of tasks)
          samples.push({
            experiment: name,
            key,
            trainedOn: plan.trainedOn,
            seed,
            task,
            language: "python",
            input: `def f(x):\n    return "<b>" + x  # ${MALICIOUS}`,
            reference: `Wraps x in bold & returns it (see https://example.org/docs)`,
            generated: `Returns <b>x</b> ${MALICIOUS}`,
          });
    }
  // The shipped definition's claims and fixed settings, so the claims page judges the real claims.
  const { claims, fixed } = loadDefinition(name);
  return {
    definition: { name, question: `What does ${name} change?`, claims, fixed },
    profile: { baseModel: "narrator-2m" },
    trials,
    metrics,
    curves,
    samples,
    examples,
  };
}

/** A failed and a pending trial appended to an experiment (no metrics: they did not finish). */
function withUnfinished(
  r: ExperimentResults,
  label: string,
  settings: Record<string, SettingValue>,
): ExperimentResults {
  const base = {
    experiment: r.trials[0].experiment,
    model: "narrator-2m",
    trainedOn: "codesearchnet" as const,
    label,
    settings,
  };
  return {
    ...r,
    trials: [
      ...r.trials,
      {
        ...base,
        key: "failedkey0000000",
        seed: 4,
        status: "failed",
        wallTimeS: 1.5,
        error: `NaN loss at step 3 ${MALICIOUS}`,
      },
      {
        ...base,
        key: "pendingkey000000",
        seed: 5,
        status: "pending",
        wallTimeS: null,
        error: null,
      },
    ],
  };
}

const csn = "codesearchnet" as const;

/** A whole report input. */
export function reportInput(): ReportInput {
  const experiments: Partial<Record<ExperimentName, ExperimentResults>> = {
    baselines: experiment(
      "baselines",
      [
        {
          label: "narrator-2m",
          settings: { model: "narrator-2m" },
          trainedOn: "base",
          model: "narrator-2m",
          offset: 0.6,
        },
        {
          label: "narrator-8m",
          settings: { model: "narrator-8m" },
          trainedOn: "base",
          model: "narrator-8m",
          offset: 0.3,
        },
      ],
      ["codesearchnet", "commitpackft"],
      { seeds: [1] },
    ),
    optimizers: withUnfinished(
      experiment(
        "optimizers",
        [
          { label: "adamw", settings: { optimizer: "adamw" }, trainedOn: csn, offset: 0.05 },
          { label: "adagrad", settings: { optimizer: "adagrad" }, trainedOn: csn, offset: 0 },
          { label: "sgd", settings: { optimizer: "sgd" }, trainedOn: csn, offset: 0.4 },
        ],
        [csn],
      ),
      "sgd",
      { optimizer: "sgd" },
    ),
    schedulers: experiment(
      "schedulers",
      ["linear", "cosine", "constant_with_warmup", "polynomial"].map((s, i) => ({
        label: s,
        settings: { scheduler: s },
        trainedOn: csn,
        offset: 0.03 * ((i * 7) % 4),
      })),
      [csn],
    ),
    epochs: experiment(
      "epochs",
      [1, 2, 3].map((e) => ({
        label: `epochs=${e}`,
        settings: { epochs: e },
        trainedOn: csn,
        offset: -0.05 * e,
      })),
      [csn],
    ),
    "batch-size": experiment(
      "batch-size",
      [1, 2, 4].map((b) => ({
        label: `batch=${b}`,
        settings: { batchSize: b },
        trainedOn: csn,
        offset: 0.02 * b,
      })),
      [csn],
    ),
    "learning-rate": experiment(
      "learning-rate",
      [1e-4, 2e-4, 3e-4, 4e-4, 5e-4].map((lr, i) => ({
        label: `lr=${lr.toExponential()}`,
        settings: { lr },
        trainedOn: csn,
        offset: 0.02 * (i - 1) ** 2,
      })),
      [csn],
    ),
    cocktail: experiment(
      "cocktail",
      [
        { label: "base", settings: { trainedOn: "base" }, trainedOn: "base", offset: 0.3 },
        {
          label: "codesearchnet",
          settings: { trainedOn: "codesearchnet" },
          trainedOn: "codesearchnet",
          offset: 0.05,
        },
        {
          label: "commitpackft",
          settings: { trainedOn: "commitpackft" },
          trainedOn: "commitpackft",
          offset: 0.08,
        },
        {
          label: "cocktail",
          settings: { trainedOn: "cocktail" },
          trainedOn: "cocktail",
          offset: 0,
        },
      ],
      ["codesearchnet", "commitpackft"],
      { generate: true, heldOut: true },
    ),
    "cocktail-ratios": experiment(
      "cocktail-ratios",
      [0.3, 0.5, 0.7].map((mix) => ({
        label: `mix=${mix}`,
        settings: { mix },
        trainedOn: "cocktail",
        offset: 0.1 * (mix - 0.5) ** 2,
      })),
      ["codesearchnet", "commitpackft"],
    ),
    "diff-vs-files": experiment(
      "diff-vs-files",
      ["diff", "files", "both"].map((c, i) => ({
        label: c,
        settings: { commitInput: c },
        trainedOn: "commitpackft",
        offset: 0.05 * i,
      })),
      ["commitpackft"],
    ),
    "cross-language": experiment(
      "cross-language",
      (["base", "codesearchnet", "commitpackft"] as const).flatMap((trainedOn) =>
        LANGS.map((language, i) => ({
          label: `${trainedOn}, ${language}`,
          settings: { trainedOn, trainLanguage: language },
          trainedOn,
          offset: trainedOn === "base" ? 0.3 : 0.01 * i,
        })),
      ),
      ["codesearchnet", "commitpackft"],
      { seeds: [1, 2] },
    ),
  };
  const funnel: FunnelRecord[] = [];
  for (const dataset of ["codesearchnet", "commitpackft"] as const)
    for (const [li, language] of LANGS.entries()) {
      let n = 10000 + 1000 * li;
      for (const stage of ["read", "dedup", "clean", "length"]) {
        const out = Math.round(n * 0.8);
        funnel.push({ dataset, language, stage, in: n, out, removed: n - out });
        n = out;
      }
      for (const [split, size] of [
        ["train", 70],
        ["val", 10],
        ["test", 20],
      ] as const)
        funnel.push({
          dataset,
          language,
          stage: "subset",
          split,
          in: Math.round((n * size) / 100),
          out: size,
          removed: Math.round((n * size) / 100) - size,
        });
    }
  return {
    profile: "fixture",
    transfer: "study",
    experiments,
    runs: {
      optimizers: {
        dataHashes: ["d1"],
        modelHashes: ["m1"],
        codeVersions: ["c1"],
        backends: ["wasm"],
      },
    },
    data: { dataHash: "datahash0", funnel, warnings: [{ message: `short subset ${MALICIOUS}` }] },
    provenance: {
      gitCommit: "0123456789abcdef",
      gitDirty: false,
      node: "v20.0.0",
      packages: { vega: "5.0.0" },
    },
  };
}
