/**
 * A sweep: experiments in a profile, expanded to trials, keyed, deduplicated, optionally sharded,
 * and run in the local pool against a run store. Transfer experiments under `transfer: "winners"`
 * run in a second phase, once the sweeps that choose their hyperparameters have finished.
 */
import * as os from "node:os";
import { listExperiments, loadDefinition, type ExperimentDefinition } from "./definition";
import { EXPERIMENTS_DIR } from "./paths";
import { keyTrials, selectShard, uniqueByKey, type Shard } from "./plan";
import { runPool, type PoolEvent, type PoolSummary } from "./pool";
import type { Profile } from "./profile";
import { resolveTransfer } from "./results";
import type { RunStore, SpecRecord } from "./store";
import { expandTrials, type TrialSpec } from "./trials";

export interface SweepOptions {
  /** Experiment names; "all" for every definition. */
  experiments: readonly string[];
  profile: Profile;
  store: RunStore;
  dataDir: string;
  experimentsDir?: string;
  /** Worker processes (default: the profile's, else one per core). */
  workers?: number;
  shard?: Shard;
  force?: boolean;
  retryFailed?: boolean;
  /** Plan and report, run nothing. */
  dryRun?: boolean;
  /** Trial runner module (tests). */
  runner?: string;
  /** Code version in keys (default: the hash of src/; tests pin it). */
  codeVersion?: string;
  signal?: AbortSignal;
  onEvent?: (e: SweepEvent) => void;
}

/** A trial of the plan with every experiment trial that shares it. */
export interface PlannedTrial {
  record: SpecRecord;
  uses: Pick<TrialSpec, "experiment" | "label" | "seed">[];
}

/** One phase of a sweep: its experiments, the trials of this shard, and how they ended. */
export interface SweepPhase {
  experiments: string[];
  /** Trials before deduplication (all shards). */
  expanded: number;
  trials: PlannedTrial[];
  summary: PoolSummary | null;
  /** Why the phase could not be planned (dry run of a "winners" phase before its sweeps finished). */
  blocked: string | null;
}

/** What a sweep reports while it runs. */
export type SweepEvent = PoolEvent | { type: "phase"; phase: SweepPhase };

/** The phases of a sweep, and how many trials failed or were left unfinished. */
export interface SweepReport {
  phases: SweepPhase[];
  failed: number;
  unfinished: number;
}

/** The definitions a sweep names ("all": every one), in figure order (Fig. 1, Fig. 2, ...), without repeats. */
export function selectDefinitions(
  names: readonly string[],
  dir = EXPERIMENTS_DIR,
): ExperimentDefinition[] {
  if (names.length === 0) throw new Error("name at least one experiment, or all");
  const wanted = names.includes("all") ? listExperiments(dir) : [...new Set(names)];
  return wanted
    .map((n) => loadDefinition(n, dir))
    .sort((a, b) => a.figure.localeCompare(b.figure, "en", { numeric: true }));
}

/** Group the expanded trials by key (plan order) and take this shard's part. */
export function planPhase(records: readonly SpecRecord[], shard?: Shard): PlannedTrial[] {
  const uses = new Map<string, PlannedTrial["uses"]>();
  for (const r of records) {
    if (!uses.has(r.key)) uses.set(r.key, []);
    uses
      .get(r.key)!
      .push({ experiment: r.spec.experiment, label: r.spec.label, seed: r.spec.seed });
  }
  const unique = uniqueByKey(records);
  return (shard ? selectShard(unique, shard) : unique).map((record) => ({
    record,
    uses: uses.get(record.key)!,
  }));
}

/** Run a sweep (see the module comment). */
export async function runSweep(opts: SweepOptions): Promise<SweepReport> {
  const dir = opts.experimentsDir ?? EXPERIMENTS_DIR;
  const defs = selectDefinitions(opts.experiments, dir);
  const waits = (d: ExperimentDefinition) => d.transfer && opts.profile.transfer === "winners";
  const groups = [defs.filter((d) => !waits(d)), defs.filter(waits)].filter((g) => g.length > 0);
  const report: SweepReport = { phases: [], failed: 0, unfinished: 0 };
  for (const group of groups) {
    const phase: SweepPhase = {
      experiments: group.map((d) => d.name),
      expanded: 0,
      trials: [],
      summary: null,
      blocked: null,
    };
    report.phases.push(phase);
    let specs: TrialSpec[];
    try {
      const transfer = group.some((d) => d.transfer)
        ? await resolveTransfer(opts.profile, {
            store: opts.store.root,
            experimentsDir: dir,
            data: opts.dataDir,
            codeVersion: opts.codeVersion,
          })
        : null;
      specs = group.flatMap((d) =>
        expandTrials(d, opts.profile, transfer?.hyperparameters ?? null),
      );
    } catch (e) {
      if (!opts.dryRun) throw e;
      phase.blocked = (e as Error).message;
      opts.onEvent?.({ type: "phase", phase });
      continue;
    }
    const records = await keyTrials(specs, {
      store: opts.store,
      dataDir: opts.dataDir,
      code: opts.codeVersion,
    });
    phase.expanded = records.length;
    phase.trials = planPhase(records, opts.shard);
    opts.onEvent?.({ type: "phase", phase });
    if (opts.dryRun) continue;
    phase.summary = await runPool(
      phase.trials.map((t) => t.record),
      {
        store: opts.store,
        dataDir: opts.dataDir,
        workers: opts.workers ?? opts.profile.workers ?? os.availableParallelism(),
        force: opts.force,
        retryFailed: opts.retryFailed,
        runner: opts.runner,
        signal: opts.signal,
        onEvent: opts.onEvent,
      },
    );
    report.failed += phase.summary.counts.failed;
    report.unfinished += phase.summary.counts.unfinished + phase.summary.counts.pending;
    if (phase.summary.aborted) break;
  }
  return report;
}
