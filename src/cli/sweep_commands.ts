/** `narrator sweep` and `narrator runs list|show|diff`: run experiments, and look at their trials. */
import * as os from "node:os";
import * as path from "node:path";
import { canonicalJson } from "../util/canonical_json";
import { renderTable } from "../util/text_table";
import { resolveDataDir } from "../data/sources";
import { formatEvaluation } from "../train/evaluate";
import { formatDuration } from "../train/progress";
import { listExperiments } from "../experiments/definition";
import { checkProfileModels, estimateDryRun, formatDryRun } from "../experiments/dry_run";
import { parseShard } from "../experiments/plan";
import type { PoolEvent } from "../experiments/pool";
import { DEFAULT_PROFILE, loadProfile, withEvalData } from "../experiments/profile";
import { defaultStoreDir, RunStore, type SpecRecord } from "../experiments/store";
import { runSweep, type SweepEvent, type SweepPhase } from "../experiments/sweep";
import { numberOpt, UsageError, type Command, type Values } from "./args";

const short = (key: string) => key.slice(0, 12);

function storeOf(v: Values): RunStore {
  const profile = typeof v.profile === "string" ? v.profile : DEFAULT_PROFILE;
  return new RunStore(
    typeof v.store === "string" ? path.resolve(v.store) : defaultStoreDir(profile),
  );
}

function describeTrial(r: SpecRecord): string {
  const s = r.spec;
  return `${short(r.key)} ${s.experiment} ${s.label} seed ${s.seed}`;
}

/** Sweep events as lines on stderr: phases, trial starts and ends, and the counts with an ETA. */
function sweepPrinter(): (e: SweepEvent) => void {
  let lastCounts = 0;
  return (e) => {
    const say = (line: string) => process.stderr.write(line + "\n");
    if (e.type === "phase") {
      const p = e.phase;
      if (p.blocked) return say(`phase ${p.experiments.join(", ")}: waits: ${p.blocked}`);
      return say(
        `phase ${p.experiments.join(", ")}: ${p.expanded} trials, ${new Set(p.trials.map((t) => t.record.key)).size} here after sharing and sharding`,
      );
    }
    const pe = e as PoolEvent;
    if (pe.type === "start") return say(`start  ${describeTrial(pe.record)} (worker ${pe.worker})`);
    if (pe.type === "step") return;
    if (pe.type === "end") {
      if (pe.end === "done-before" || pe.end === "failed-before" || pe.end === "busy") return;
      const time = pe.wallTimeS === null ? "" : ` in ${pe.wallTimeS.toFixed(1)} s`;
      const why = pe.error ? `: ${pe.error}` : "";
      return say(`${pe.end.padEnd(6)} ${describeTrial(pe.record)}${time}${why}`);
    }
    // Counts at most every 10 s, and at the end.
    const c = pe.counts;
    const now = Date.now();
    if (now - lastCounts < 10_000 && c.pending + c.running > 0) return;
    lastCounts = now;
    say(
      `[sweep] ${c.done}/${c.total} done, ${c.running} running, ${c.failed} failed, ${c.unfinished} unfinished, ${c.pending} pending` +
        (c.pending + c.running > 0
          ? `, ETA ${pe.etaS === null ? "?" : formatDuration(pe.etaS)}`
          : ""),
    );
  };
}

/** Per experiment: trials, how they stand, and the summed trial time (a trial shared is counted in each). */
function phaseTable(store: RunStore, phases: readonly SweepPhase[]): string {
  const byExp = new Map<
    string,
    { trials: number; done: number; failed: number; seconds: number }
  >();
  for (const p of phases) {
    for (const name of p.experiments)
      byExp.set(name, { trials: 0, done: 0, failed: 0, seconds: 0 });
    for (const t of p.trials) {
      const status = store.status(t.record.key);
      const wall = store.readResult(t.record.key)?.wallTimeS ?? 0;
      for (const name of new Set(t.uses.map((u) => u.experiment))) {
        const row = byExp.get(name)!;
        row.trials++;
        if (status === "completed") row.done++;
        if (status === "failed") row.failed++;
        row.seconds += wall;
      }
    }
  }
  return renderTable(
    ["experiment", "trials", "completed", "failed", "trial time"],
    [...byExp].map(([name, r]) => [
      name,
      String(r.trials),
      String(r.done),
      String(r.failed),
      formatDuration(r.seconds),
    ]),
  );
}

export const sweep: Command = {
  summary: "run experiments (experiments/*.json) as resumable sweeps of trials in a run store",
  usage: `usage: narrator sweep <experiment>...|all [--profile smoke|mini|paper] [--workers N]
       [--shard i/n] [--force] [--retry-failed] [--store DIR] [--data DIR] [--eval-data DIR]
       [--dry-run]

Expands each experiment in the profile (experiments/profiles/<profile>.json, default ${DEFAULT_PROFILE})
into trials and runs them in a pool of worker processes (default: the profile's count, else one
per core) against
the run store (default runs/<profile>/). A trial is keyed by its resolved settings, the data and
model files and the source code: finished trials are skipped, trials shared by experiments run
once, an interrupted trial resumes from its checkpoint. A failed trial is recorded (error.json)
and the others go on; it is retried with --retry-failed. --force reruns every selected trial
from scratch. --shard i/n runs the i-th of n stable parts (Slurm arrays, indexed Jobs).
--eval-data DIR (else the profile's evalData) names a held-out dataset in the data directory's
layout, e.g. written by 'narrator data mine' from other repositories: experiments that evaluate
one (the cocktail) also measure CE on its test split.
Progress goes to stderr; a table per experiment to stdout. Exit code 1 when a trial failed or
is unfinished. Experiments: ${safeList()}.`,
  options: {
    profile: { type: "string" },
    workers: { type: "string" },
    shard: { type: "string" },
    force: { type: "boolean" },
    "retry-failed": { type: "boolean" },
    store: { type: "string" },
    data: { type: "string" },
    "eval-data": { type: "string" },
    "dry-run": { type: "boolean" },
  },
  takesArguments: true,
  async run(v, positionals) {
    if (positionals.length === 0)
      throw new UsageError(`name experiments, or all\n\n${sweep.usage}`);
    const profile = withEvalData(
      loadProfile(typeof v.profile === "string" ? v.profile : DEFAULT_PROFILE),
      typeof v["eval-data"] === "string" ? v["eval-data"] : undefined,
    );
    const store = storeOf(v);
    let shard;
    try {
      shard = typeof v.shard === "string" ? parseShard(v.shard) : undefined;
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const controller = new AbortController();
    const stop = (sig: string) => {
      process.stderr.write(`\n${sig}: stopping; unfinished trials resume at the next sweep\n`);
      controller.abort();
    };
    process.once("SIGINT", () => stop("SIGINT"));
    process.once("SIGTERM", () => stop("SIGTERM"));
    // A missing base model is named before any trial starts, whether or not this is a dry run.
    checkProfileModels(profile);
    const started = Date.now();
    const report = await runSweep({
      experiments: positionals,
      profile,
      store,
      dataDir: resolveDataDir(typeof v.data === "string" ? v.data : undefined),
      workers:
        v.workers === undefined ? undefined : numberOpt(v, "workers", 1, { integer: true, min: 1 }),
      shard,
      force: v.force === true,
      retryFailed: v["retry-failed"] === true,
      dryRun: v["dry-run"] === true,
      signal: controller.signal,
      onEvent: sweepPrinter(),
    });
    if (v["dry-run"]) {
      const workers =
        v.workers === undefined
          ? (profile.workers ?? os.availableParallelism())
          : numberOpt(v, "workers", 1, { integer: true, min: 1 });
      const estimate = await estimateDryRun(report.phases);
      process.stdout.write(formatDryRun(estimate, workers, (key) => store.status(key)) + "\n");
      return;
    }
    process.stdout.write(
      `${phaseTable(store, report.phases)}\nstore: ${store.root}; wall time ${formatDuration((Date.now() - started) / 1000)}\n`,
    );
    if (report.failed > 0 || report.unfinished > 0) {
      process.stderr.write(
        `${report.failed} trial(s) failed, ${report.unfinished} unfinished: see \`narrator runs list --store ${store.root}\`\n`,
      );
      process.exitCode = 1;
    }
  },
};

function safeList(): string {
  try {
    return listExperiments().join(", ");
  } catch {
    return "(none found)";
  }
}

const storeOptions = { profile: { type: "string" }, store: { type: "string" } } as const;

const list: Command = {
  summary: "the trials of a run store: key, status, what they train and their CE",
  usage: `usage: narrator runs list [--profile P | --store DIR] [--status completed|failed|running|pending]

Lists every trial in the store (default runs/${DEFAULT_PROFILE}/): key (first 12 characters;
any unique prefix works for show and diff), status, what it trained on, model, seed, the
experiment and label that created it, wall time and overall CE of its evaluation.`,
  options: { ...storeOptions, status: { type: "string" } },
  async run(v) {
    const store = storeOf(v);
    const rows: string[][] = [];
    for (const key of store.keys()) {
      const status = store.status(key);
      if (typeof v.status === "string" && status !== v.status) continue;
      const spec = store.readSpec(key)?.spec;
      const result = status === "completed" ? store.readResult(key) : null;
      rows.push([
        short(key),
        status,
        spec?.trainedOn ?? "?",
        spec?.model ?? "?",
        spec ? String(spec.seed) : "?",
        spec ? `${spec.experiment}: ${spec.label}` : "?",
        result ? `${result.wallTimeS.toFixed(1)} s` : "",
        result ? result.evaluation.ce.overall.ce.toFixed(4) : "",
      ]);
    }
    process.stdout.write(
      renderTable(
        ["key", "status", "trainedOn", "model", "seed", "experiment", "wall", "CE"],
        rows,
      ) + `\n${rows.length} trial(s) in ${store.root}\n`,
    );
  },
};

const show: Command = {
  summary: "one trial: its spec, status, metrics and where its outputs are",
  usage: `usage: narrator runs show KEY [--profile P | --store DIR] [--json]

KEY is any unique prefix of a trial's key. Prints the resolved spec, the key's fingerprints,
the status (and error), the evaluation table, and the paths of the trial's outputs (adapter,
metrics.jsonl, log). --json prints spec.json, result.json and error.json as one object.`,
  options: { ...storeOptions, json: { type: "boolean" } },
  takesArguments: true,
  async run(v, positionals) {
    if (positionals.length !== 1) throw new UsageError(`give one KEY\n\n${show.usage}`);
    const store = storeOf(v);
    const key = store.resolveKey(positionals[0]);
    const spec = store.readSpec(key);
    const result = store.readResult(key);
    const error = store.readError(key);
    if (v.json) {
      process.stdout.write(JSON.stringify({ spec, result, error }, null, 2) + "\n");
      return;
    }
    const lines = [`trial ${key}`, `status: ${store.status(key)}`];
    if (spec) {
      lines.push(
        `data ${short(spec.dataHash)}, model ${short(spec.modelHash)}, code ${short(spec.codeVersion)}`,
        "spec:",
        JSON.stringify(spec.spec, null, 2),
      );
    }
    if (error) lines.push(`error: ${error.message}`);
    if (result) {
      const ev = result.evaluation;
      lines.push(
        `evaluation (${ev.split}), ${result.wallTimeS.toFixed(1)} s:`,
        formatEvaluation(ev.ce, ev.generation ? { ...ev.generation, samples: [] } : null),
      );
    }
    const dir = store.dir(key);
    const at = (rel: string | null | undefined) => (rel ? path.join(dir, rel) : "none");
    lines.push(
      "outputs:",
      `  trial dir  ${dir}`,
      `  adapter    ${at(result?.outputs.adapter)}`,
      `  metrics    ${at(result?.outputs.metrics)}`,
      `  log        ${path.join(dir, "log")}`,
    );
    process.stdout.write(lines.join("\n") + "\n");
  },
};

/** A JSON value as path -> leaf (canonical order). */
function flatten(value: unknown, prefix = ""): Map<string, string> {
  const out = new Map<string, string>();
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>).sort())
      for (const [p, leaf] of flatten(v, prefix ? `${prefix}.${k}` : k)) out.set(p, leaf);
  } else out.set(prefix, canonicalJson(value));
  return out;
}

const diff: Command = {
  summary: "what differs between two trials: settings, fingerprints and CE per task and language",
  usage: `usage: narrator runs diff KEY_A KEY_B [--profile P | --store DIR]

Prints each spec field and fingerprint that differs (A -> B), then CE per task and language of
both evaluations with B - A.`,
  options: storeOptions,
  takesArguments: true,
  async run(v, positionals) {
    if (positionals.length !== 2) throw new UsageError(`give two KEYs\n\n${diff.usage}`);
    const store = storeOf(v);
    const [a, b] = positionals.map((p) => store.resolveKey(p));
    const side = (key: string) => {
      const rec = store.readSpec(key);
      if (!rec) throw new Error(`trial ${key} has no spec.json`);
      const { spec, dataHash, modelHash, codeVersion } = rec;
      return flatten({ spec, dataHash, modelHash, codeVersion });
    };
    const [fa, fb] = [side(a), side(b)];
    const lines = [`A ${a}`, `B ${b}`, "differences:"];
    for (const p of [...new Set([...fa.keys(), ...fb.keys()])].sort()) {
      if (fa.get(p) !== fb.get(p)) lines.push(`  ${p}: ${fa.get(p) ?? "-"} -> ${fb.get(p) ?? "-"}`);
    }
    const [ra, rb] = [store.readResult(a), store.readResult(b)];
    const ces = (r: typeof ra) => {
      const m = new Map<string, number>();
      if (!r) return m;
      for (const [task, byLang] of Object.entries(r.evaluation.ce.byTaskLanguage))
        for (const [lang, s] of Object.entries(byLang ?? {})) m.set(`${task} ${lang}`, s.ce);
      for (const [task, s] of Object.entries(r.evaluation.ce.byTask)) m.set(`${task} all`, s.ce);
      return m;
    };
    const [ca, cb] = [ces(ra), ces(rb)];
    const rows = [...new Set([...ca.keys(), ...cb.keys()])].sort().map((k) => {
      const [x, y] = [ca.get(k), cb.get(k)];
      const f = (n: number | undefined) => (n === undefined ? "-" : n.toFixed(4));
      return [k, f(x), f(y), x === undefined || y === undefined ? "" : (y - x).toFixed(4)];
    });
    lines.push(
      rows.length ? renderTable(["CE", "A", "B", "B - A"], rows) : "no results to compare",
    );
    process.stdout.write(lines.join("\n") + "\n");
  },
};

/** The `runs` command group. */
export const RUNS_COMMANDS: Record<string, Command> = { list, show, diff };
