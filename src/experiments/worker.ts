/**
 * A sweep's worker process (forked by the pool; argv: runner module, thread cap). It runs the
 * trials the pool sends, one at a time: claims the trial in the store (a trial claimed by another
 * live process is left to it), runs it with the runner module's `runTrial`, and records the result
 * or the error. When the pool process dies, the worker stops at the next training step (its
 * checkpoint stays, its claim is released) instead of running on unwatched.
 */
import * as fs from "node:fs";
import { processAlive, RunStore, type SpecRecord } from "./store";
import type { TrialContext, TrialOutcome } from "./run_trial";
import type { TrialSpec } from "./trials";

/** Pool -> worker. */
export interface RunMessage {
  type: "run";
  record: SpecRecord;
  store: string;
  dataDir: string;
  /** Run again even when finished (--force). */
  force: boolean;
}

/** Worker -> pool. */
export type WorkerMessage =
  | { type: "step"; key: string; step: number; totalSteps: number }
  | {
      type: "finished";
      key: string;
      /** completed/failed: ran here; skipped: finished by another process meanwhile; busy: claimed by one. */
      outcome: "completed" | "failed" | "skipped" | "busy";
      wallTimeS: number | null;
      error: string | null;
    };

/** What a runner module exports (run_trial.ts; tests give their own). */
export interface Runner {
  setup?(threads: number): Promise<void>;
  runTrial(spec: TrialSpec, ctx: TrialContext): Promise<TrialOutcome>;
}

class PoolGone extends Error {}

const parentPid = process.ppid;
const send = (m: WorkerMessage): void => {
  process.send!(m);
};

async function runOne(runner: Runner, m: RunMessage): Promise<void> {
  const store = new RunStore(m.store);
  const { key } = m.record;
  if (!store.claim(key)) {
    return send({ type: "finished", key, outcome: "busy", wallTimeS: null, error: null });
  }
  try {
    if (m.force) store.reset(key);
    else if (store.status(key) === "completed") {
      return send({ type: "finished", key, outcome: "skipped", wallTimeS: null, error: null });
    }
    store.writeSpec(m.record);
    const log = fs.openSync(store.file(key, "log"), "a");
    const ctx: TrialContext = {
      dir: store.dir(key),
      dataDir: m.dataDir,
      log: (line) => fs.writeSync(log, `${new Date().toISOString()} ${line}\n`),
      onStep: (step, totalSteps) => {
        if (!processAlive(parentPid)) throw new PoolGone("the sweep process is gone");
        send({ type: "step", key, step, totalSteps });
      },
    };
    try {
      const outcome = await runner.runTrial(m.record.spec, ctx);
      store.writeResult(key, outcome);
      ctx.log(`completed in ${outcome.wallTimeS.toFixed(1)} s`);
      send({
        type: "finished",
        key,
        outcome: "completed",
        wallTimeS: outcome.wallTimeS,
        error: null,
      });
    } catch (e) {
      if (e instanceof PoolGone) throw e;
      const err = e as Error;
      ctx.log(`failed: ${err.message}`);
      store.writeError(key, { message: err.message, stack: err.stack });
      send({ type: "finished", key, outcome: "failed", wallTimeS: null, error: err.message });
    } finally {
      fs.closeSync(log);
    }
  } finally {
    store.release(key);
  }
}

async function main(): Promise<void> {
  const [runnerPath, threadArg] = process.argv.slice(2);
  const runner = require(runnerPath) as Runner;
  await runner.setup?.(Number(threadArg) || 1);
  // Trials run one at a time, in the order sent.
  let queue = Promise.resolve();
  process.on("message", (m: RunMessage) => {
    queue = queue.then(() =>
      runOne(runner, m).catch((e: unknown) => {
        process.stderr.write(`narrator sweep worker: ${(e as Error).message}\n`);
        process.exit(1);
      }),
    );
  });
  process.on("disconnect", () => process.exit(0));
}

void main();
