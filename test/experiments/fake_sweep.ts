/**
 * A small sweep for the store and pool tests, run with a stand-in trial runner (fake_runner.ts):
 * optimizers x 2 seeds + learning rates x 2 seeds = 10 trials; adagrad is lr=2e-4 (the default)
 * in each seed, so 8 distinct trials. Executions are counted from the runner's own log.
 */
import { RunStore } from "../../src/experiments/store";
import type { SweepOptions } from "../../src/experiments/sweep";
import {
  executions,
  experimentsDir,
  FAKE_RUNNER,
  placeholderData,
  sweepDef,
  testProfile,
} from "./helpers";

export const UNIQUE = 8;

export const data = placeholderData();
export const experiments = experimentsDir([
  sweepDef("optimizers", { optimizer: ["adamw", "adagrad", "sgd"] }),
  sweepDef("learning-rate", { lr: [1e-4, 2e-4] }),
]);
export const profile = testProfile({ seeds: { sweep: [0, 1], table: [0] } });

/** Sweep options for the fake sweep against `store`. */
export function options(store: string, over: Partial<SweepOptions> = {}): SweepOptions {
  return {
    experiments: ["all"],
    profile,
    store: new RunStore(store),
    dataDir: data,
    experimentsDir: experiments,
    workers: 1,
    runner: FAKE_RUNNER,
    // Pinned: other work on src/ while the tests run must not change the keys between sweeps.
    codeVersion: "test",
    ...over,
  };
}

/** Run with FAKE_* variables set for the workers (they inherit the environment). */
export async function withEnv<T>(env: Record<string, string>, run: () => Promise<T>): Promise<T> {
  Object.assign(process.env, env);
  try {
    return await run();
  } finally {
    for (const k of Object.keys(env)) delete process.env[k];
  }
}

/** The runner's "done" and "start" lines of a store. */
export const done = (store: string) => executions(store).filter((l) => l.startsWith("done "));
export const started = (store: string) => executions(store).filter((l) => l.startsWith("start "));
