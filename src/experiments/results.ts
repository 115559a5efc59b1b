/**
 * The Results API: an experiment's trials as long tables (src/experiments/rows.ts), for notebooks,
 * figures and reports. `loadResults` expands the experiment in a profile, finds each trial in the
 * run store and reads what it left; `buildRows` turns that into rows and is pure.
 *
 * A trial is found by its key (spec, data, models and code version) when the data and models are
 * here to compute it; otherwise, or when the sources have changed since it ran, by its spec id: the
 * latest completed run of the same spec, listed in `outdated`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Task } from "../data/example";
import { LANGS, type Lang } from "../data/langs";
import { resolveDataDir } from "../data/sources";
import type { CeReport } from "../train/evaluate";
import { loadDefinition, type ExperimentDefinition } from "./definition";
import { EXPERIMENTS_DIR } from "./paths";
import { specId } from "./key";
import { keyTrials } from "./plan";
import { loadProfile, type Profile } from "./profile";
import type {
  CurveRow,
  EvalSplit,
  ExampleRow,
  MetricRow,
  SampleRow,
  TrialRow,
  TrialStatus,
} from "./rows";
import { defaultStoreDir, RunStore, type ResultRecord } from "./store";
import { pickWinner, STUDY_HYPERPARAMETERS, TRANSFER_SWEEPS, type Transfer } from "./transfer";
import { expandTrials, type Hyperparameters, type TrialSpec } from "./trials";

/** A metrics.jsonl line as curves read it. */
export type MetricsLine =
  | { type: "step"; step: number; epoch: number; lr: number; loss: number | null }
  | { type: "eval"; step: number; epoch: number; overall: { ce: number } };

/** What the store holds of one trial. */
export interface StoredTrial {
  key: string;
  status: TrialStatus;
  result: ResultRecord | null;
  error: string | null;
  /** The trainer's metrics.jsonl lines (empty when it did not train or has not started). */
  metrics: MetricsLine[];
}

/** An expanded trial and what was found of it (null: never run here). */
export interface FoundTrial {
  spec: TrialSpec;
  /** The trial's current key, when the data and models were here to compute it. */
  key: string | null;
  stored: StoredTrial | null;
}

/** The rows of an experiment. */
export interface Rows {
  trials: TrialRow[];
  metrics: MetricRow[];
  curves: CurveRow[];
  samples: SampleRow[];
  /** Per-example CE terms of completed trials (absent for results stored without them). */
  examples: ExampleRow[];
}

/** An experiment's results: its definition and profile, the transfer it used, its rows. */
export interface ExperimentResults extends Rows {
  definition: ExperimentDefinition;
  profile: Profile;
  store: string;
  /** The transferred hyperparameters (transfer experiments), null otherwise. */
  transfer: Transfer | null;
  /** Keys of results that ran with other sources, data or models than the current ones. */
  outdated: string[];
}

/** Where to look. */
export interface LoadOptions {
  /** Profile name or object (default mini). */
  profile?: string | Profile;
  /** Run store (default runs/<profile>). */
  store?: string;
  /** Where definitions and profiles are (default the project's experiments/). */
  experimentsDir?: string;
  /** Data directory (default NARRATOR_DATA, else data/); only for computing current keys. */
  data?: string;
  /** Code version of current keys (default: the hash of src/; tests pin it). */
  codeVersion?: string;
}

/** The columns every row of a trial starts with. */
function identity(spec: TrialSpec, key: string) {
  return {
    experiment: spec.experiment,
    key,
    model: spec.model,
    trainedOn: spec.trainedOn,
    seed: spec.seed,
    label: spec.label,
  };
}

/** The evaluations of a result: its own split, and the held-out dataset's when it has one. */
function evaluations(
  r: ResultRecord,
): { split: EvalSplit; ce: CeReport; generation: ResultRecord["evaluation"]["generation"] }[] {
  const { split, ce, generation, heldOut } = r.evaluation;
  return [
    { split, ce, generation },
    ...(heldOut ? [{ split: "held-out" as const, ce: heldOut.ce, generation: null }] : []),
  ];
}

function metricRows(spec: TrialSpec, key: string, r: ResultRecord): MetricRow[] {
  return evaluations(r).flatMap((e) => evaluationRows(spec, key, e));
}

function evaluationRows(
  spec: TrialSpec,
  key: string,
  { split, ce, generation: gen }: ReturnType<typeof evaluations>[number],
): MetricRow[] {
  const rows: MetricRow[] = [];
  for (const task of spec.evaluate.tasks) {
    const byLang = ce.byTaskLanguage[task] ?? {};
    const langs: (Lang | "all")[] = [...LANGS.filter((l) => byLang[l]), "all"];
    for (const language of langs) {
      const stat = language === "all" ? ce.byTask[task] : byLang[language];
      if (!stat) continue;
      const g = language === "all" ? gen?.byTask[task] : gen?.byTaskLanguage[task]?.[language];
      rows.push({
        ...spec.settings,
        ...identity(spec, key),
        task: task as Task,
        language,
        split,
        ce: stat.ce,
        ppl: stat.ppl,
        tokens: stat.tokens,
        examples: stat.examples,
        bleu: g ? g.bleu4 : null,
        rougeL: g ? g.rougeL : null,
      });
    }
  }
  return rows;
}

/** The per-example CE terms of a trial's evaluated tasks, per language (none when not stored). */
function exampleRows(spec: TrialSpec, key: string, r: ResultRecord): ExampleRow[] {
  return evaluations(r).flatMap(({ split, ce }) => {
    const per = ce.perExample;
    if (!per) return [];
    return spec.evaluate.tasks.flatMap((task) =>
      LANGS.flatMap((language): ExampleRow[] => {
        const t = per[task]?.[language];
        if (!t) return [];
        return [
          {
            experiment: spec.experiment,
            key,
            seed: spec.seed,
            label: spec.label,
            task,
            language,
            split,
            idsHash: t.idsHash,
            nll: t.nll,
            tokens: t.tokens,
          },
        ];
      }),
    );
  });
}

/** One row per step; evaluations join their step's row (or stand alone, e.g. at step 0). */
function curveRows(spec: TrialSpec, key: string, lines: readonly MetricsLine[]): CurveRow[] {
  const steps = new Map<number, CurveRow>();
  const row = (step: number, epoch: number, lr: number): CurveRow => ({
    ...spec.settings,
    ...identity(spec, key),
    step,
    epoch,
    lr,
    loss: null,
    valCe: null,
  });
  for (const l of lines) {
    if (l.type !== "step") continue;
    steps.set(l.step, { ...row(l.step, l.epoch, l.lr), loss: l.loss });
  }
  // An evaluation-only point takes the learning rate of the next step (what is in force there).
  const lrAfter = (step: number) =>
    [...steps.values()].filter((s) => s.step > step).sort((a, b) => a.step - b.step)[0]?.lr ?? 0;
  for (const l of lines) {
    if (l.type !== "eval") continue;
    const existing = steps.get(l.step) ?? row(l.step, l.epoch, lrAfter(l.step));
    steps.set(l.step, { ...existing, valCe: l.overall.ce });
  }
  return [...steps.values()].sort((a, b) => a.step - b.step);
}

/** Rows of found trials (pure). */
export function buildRows(found: readonly FoundTrial[]): Rows {
  const rows: Rows = { trials: [], metrics: [], curves: [], samples: [], examples: [] };
  for (const { spec, key: current, stored } of found) {
    const key = stored?.key ?? current ?? specId(spec);
    const r = stored?.result ?? null;
    rows.trials.push({
      ...identity(spec, key),
      status: stored?.status ?? "pending",
      settings: spec.settings,
      wallTimeS: r ? r.wallTimeS : null,
      error: stored?.error ?? null,
    });
    if (stored) rows.curves.push(...curveRows(spec, key, stored.metrics));
    if (!r || stored?.status !== "completed") continue;
    rows.metrics.push(...metricRows(spec, key, r));
    rows.examples.push(...exampleRows(spec, key, r));
    for (const s of r.samples) {
      rows.samples.push({
        experiment: spec.experiment,
        key,
        trainedOn: spec.trainedOn,
        seed: spec.seed,
        task: s.task,
        language: s.language,
        input: s.input,
        reference: s.reference,
        generated: s.generated,
      });
    }
  }
  return rows;
}

function readMetricsLines(file: string): MetricsLine[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as MetricsLine);
}

/** What the store holds of a key. */
export function readStored(store: RunStore, key: string): StoredTrial {
  const status = store.status(key);
  const result = status === "completed" ? store.readResult(key) : null;
  const run = store.file(key, "run");
  return {
    key,
    status,
    result,
    error: status === "failed" ? (store.readError(key)?.message ?? null) : null,
    metrics: readMetricsLines(path.join(run, "metrics.jsonl")),
  };
}

/** Keys of the store by spec id, newest first (by spec.json time). */
function keysBySpecId(store: RunStore): Map<string, string[]> {
  const index = new Map<string, { key: string; at: string }[]>();
  for (const key of store.keys()) {
    const rec = store.readSpec(key);
    if (!rec) continue;
    if (!index.has(rec.specId)) index.set(rec.specId, []);
    index.get(rec.specId)!.push({ key, at: rec.createdAt });
  }
  return new Map(
    [...index].map(([id, ks]) => [
      id,
      ks.sort((a, b) => b.at.localeCompare(a.at)).map((k) => k.key),
    ]),
  );
}

/** The transferred hyperparameters of a profile: the study's, or the winners of its store's sweeps. */
export async function resolveTransfer(profile: Profile, opts: LoadOptions = {}): Promise<Transfer> {
  if (profile.transfer === "study")
    return { mode: "study", hyperparameters: STUDY_HYPERPARAMETERS };
  const hyperparameters = { ...STUDY_HYPERPARAMETERS } as Record<string, unknown>;
  for (const [field, sweep] of Object.entries(TRANSFER_SWEEPS)) {
    const r = await loadResults(sweep, { ...opts, profile });
    hyperparameters[field] = pickWinner(field as keyof Hyperparameters, sweep, r.trials, r.metrics);
  }
  return { mode: "winners", hyperparameters: hyperparameters as unknown as Hyperparameters };
}

/** An experiment's results in a profile's store (see the module comment). */
export async function loadResults(
  experiment: string | ExperimentDefinition,
  opts: LoadOptions = {},
): Promise<ExperimentResults> {
  const dir = opts.experimentsDir ?? EXPERIMENTS_DIR;
  const definition = typeof experiment === "string" ? loadDefinition(experiment, dir) : experiment;
  const profile = typeof opts.profile === "object" ? opts.profile : loadProfile(opts.profile, dir);
  const store = new RunStore(opts.store ?? defaultStoreDir(profile.name));
  const transfer = definition.transfer ? await resolveTransfer(profile, opts) : null;
  const specs = expandTrials(definition, profile, transfer?.hyperparameters ?? null);
  let current: (string | null)[];
  try {
    const records = await keyTrials(specs, {
      store,
      dataDir: resolveDataDir(opts.data),
      code: opts.codeVersion,
    });
    current = records.map((r) => r.key);
  } catch {
    // No data or models here: find trials by their spec alone.
    current = specs.map(() => null);
  }
  const bySpec = keysBySpecId(store);
  const outdated: string[] = [];
  const found = specs.map((spec, i): FoundTrial => {
    const key = current[i];
    if (key !== null && store.readSpec(key)) return { spec, key, stored: readStored(store, key) };
    const candidates = (bySpec.get(specId(spec)) ?? []).map((k) => readStored(store, k));
    const best =
      candidates.find((c) => c.status === "completed") ??
      candidates.find((c) => c.status === "running") ??
      candidates[0] ??
      null;
    if (best && best.status === "completed") outdated.push(best.key);
    return { spec, key, stored: best };
  });
  return {
    definition,
    profile,
    store: store.root,
    transfer,
    outdated: [...new Set(outdated)],
    ...buildRows(found),
  };
}
