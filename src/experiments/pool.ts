/**
 * The local pool: worker processes (child_process.fork, TypeScript through tsx) that run a list
 * of trials against a run store, each worker one trial at a time, with its native threads capped
 * to its share of the cores. Trials already finished are skipped; a failed trial is recorded and
 * the others go on. A worker that dies of a signal (killed, interrupted, out of memory) leaves its
 * trial unfinished, to be resumed by the next sweep; one that crashes otherwise fails its trial.
 */
import { fork, type ChildProcess } from "node:child_process";
import * as os from "node:os";
import * as path from "node:path";
import { RunStore, type SpecRecord } from "./store";
import type { TrialStatus } from "./rows";
import type { RunMessage, WorkerMessage } from "./worker";

/** Runs the real trials; tests pass their own runner module. */
export const DEFAULT_RUNNER = path.join(__dirname, "run_trial.ts");
const WORKER = path.join(__dirname, "worker.ts");

/** How a trial ended in this sweep. */
export type TrialEnd =
  | "completed"
  | "failed"
  | "interrupted"
  /** Finished (completed or failed) before this sweep and not rerun. */
  | "done-before"
  | "failed-before"
  /** Claimed by another live process (another shard or sweep). */
  | "busy";

/** Progress of a sweep, counted over its trials. */
export interface SweepCounts {
  total: number;
  /** Completed, now or before. */
  done: number;
  running: number;
  /** Failed, now or before. */
  failed: number;
  /** Interrupted, or running elsewhere. */
  unfinished: number;
  pending: number;
}

/** What the pool reports while it runs. */
export type PoolEvent =
  | { type: "start"; record: SpecRecord; worker: number }
  | { type: "step"; record: SpecRecord; step: number; totalSteps: number }
  | {
      type: "end";
      record: SpecRecord;
      end: TrialEnd;
      wallTimeS: number | null;
      error: string | null;
    }
  | { type: "progress"; counts: SweepCounts; etaS: number | null };

export interface PoolOptions {
  store: RunStore;
  dataDir: string;
  workers: number;
  /** Rerun finished trials too (from scratch). */
  force?: boolean;
  /** Rerun failed trials (resuming their checkpoints). */
  retryFailed?: boolean;
  /** Module exporting runTrial (and optionally setup); default DEFAULT_RUNNER. */
  runner?: string;
  /** Stops the sweep: workers are killed, their trials stay unfinished (resumable). */
  signal?: AbortSignal;
  onEvent?: (e: PoolEvent) => void;
}

/** How each trial ended, by key, and whether the sweep was stopped. */
export interface PoolSummary {
  ends: Map<string, TrialEnd>;
  counts: SweepCounts;
  /** Trials this sweep ran (completed or failed here). */
  executed: number;
  aborted: boolean;
}

/** Signals that mean "stopped from outside", not "the trial broke". */
const INTERRUPTS = new Set(["SIGKILL", "SIGTERM", "SIGINT", "SIGHUP"]);

/** Run `records` (unique keys) in a pool of workers (see the module comment). */
export function runPool(records: readonly SpecRecord[], opts: PoolOptions): Promise<PoolSummary> {
  const { store } = opts;
  const emit = opts.onEvent ?? (() => undefined);
  const ends = new Map<string, TrialEnd>();
  const queue: SpecRecord[] = [];
  for (const r of records) {
    const status: TrialStatus = store.status(r.key);
    if (status === "completed" && !opts.force) ends.set(r.key, "done-before");
    else if (status === "failed" && !opts.force && !opts.retryFailed)
      ends.set(r.key, "failed-before");
    else if (status === "running") ends.set(r.key, "busy");
    else queue.push(r);
  }
  const running = new Map<ChildProcess, { record: SpecRecord; fraction: number; since: number }>();
  const durations: number[] = [];
  let executed = 0;
  let aborted = false;
  const workers = Math.max(1, Math.min(opts.workers, queue.length));
  // The cores this process may use (its affinity, e.g. a Slurm task's CPUs), shared by the workers.
  const threads = Math.max(1, Math.floor(os.availableParallelism() / workers));

  const counts = (): SweepCounts => {
    const c: SweepCounts = {
      total: records.length,
      done: 0,
      running: running.size,
      failed: 0,
      unfinished: 0,
      pending: queue.length,
    };
    for (const e of ends.values()) {
      if (e === "completed" || e === "done-before") c.done++;
      else if (e === "failed" || e === "failed-before") c.failed++;
      else c.unfinished++;
    }
    return c;
  };
  // Remaining work in trials, over the mean trial time so far, shared by the workers.
  const eta = (): number | null => {
    if (durations.length === 0) return null;
    const mean = durations.reduce((a, b) => a + b, 0) / durations.length;
    const left = queue.length + [...running.values()].reduce((s, r) => s + 1 - r.fraction, 0);
    return (left * mean) / workers;
  };
  const progress = () => emit({ type: "progress", counts: counts(), etaS: eta() });

  return new Promise((resolve) => {
    let alive = 0;
    const finish = () => {
      if (alive > 0) return;
      resolve({ ends, counts: counts(), executed, aborted });
    };
    const next = (child: ChildProcess, index: number) => {
      const record = aborted ? undefined : queue.shift();
      if (!record) {
        child.disconnect();
        return;
      }
      running.set(child, { record, fraction: 0, since: Date.now() });
      const msg: RunMessage = {
        type: "run",
        record,
        store: store.root,
        dataDir: opts.dataDir,
        force: opts.force === true,
      };
      child.send(msg);
      emit({ type: "start", record, worker: index });
    };
    const end = (
      child: ChildProcess,
      e: TrialEnd,
      wallTimeS: number | null,
      error: string | null,
    ) => {
      const current = running.get(child)!;
      running.delete(child);
      ends.set(current.record.key, e);
      if (e === "completed" || e === "failed") executed++;
      if (e === "completed") durations.push((Date.now() - current.since) / 1000);
      emit({ type: "end", record: current.record, end: e, wallTimeS, error });
    };
    const spawn = (index: number) => {
      const child = fork(WORKER, [opts.runner ?? DEFAULT_RUNNER, String(threads)], {
        execArgv: ["--import", "tsx"],
        env: { ...process.env, OPENBLAS_NUM_THREADS: String(threads) },
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      });
      alive++;
      child.on("message", (m: WorkerMessage) => {
        const current = running.get(child);
        if (!current || m.key !== current.record.key) return;
        if (m.type === "step") {
          current.fraction = m.totalSteps > 0 ? m.step / m.totalSteps : 0;
          return emit({
            type: "step",
            record: current.record,
            step: m.step,
            totalSteps: m.totalSteps,
          });
        }
        const e: TrialEnd = m.outcome === "skipped" ? "done-before" : m.outcome;
        end(child, e, m.wallTimeS, m.error);
        next(child, index);
        // After the worker took its next trial, so that the count of running trials holds it.
        progress();
      });
      child.on("exit", (code, signal) => {
        alive--;
        const current = running.get(child);
        if (current) {
          store.release(current.record.key, child.pid);
          if (aborted || (signal !== null && INTERRUPTS.has(signal))) {
            end(child, "interrupted", null, `worker stopped by ${signal ?? `exit code ${code}`}`);
          } else {
            const message = `the worker process died (${signal ?? `exit code ${code}`}) while running this trial`;
            store.writeError(current.record.key, { message });
            end(child, "failed", null, message);
          }
          // Carry on with a fresh worker.
          if (!aborted && queue.length > 0) spawn(index);
          progress();
        }
        finish();
      });
      next(child, index);
    };
    opts.signal?.addEventListener("abort", () => {
      aborted = true;
      for (const child of running.keys()) child.kill("SIGKILL");
    });
    if (queue.length === 0) {
      progress();
      return finish();
    }
    progress();
    for (let i = 0; i < workers; i++) spawn(i);
  });
}
