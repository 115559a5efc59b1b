/**
 * A stand-in trial runner for the pool tests (no model, no data): each trial "trains" for a few
 * steps of FAKE_STEP_MS, logs its start and end to <store>/executions.log, and reports a CE that is
 * a hand-checkable function of its spec: 1 + lr * 1000 + seed / 10 (lr of the train config, 0 for
 * "base"). FAKE_FAIL_LABEL makes the trials with that label throw; FAKE_KILL_LABEL makes the first
 * attempt at such a trial kill its own worker process.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { TrialContext, TrialOutcome } from "../../src/experiments/run_trial";
import type { TrialSpec } from "../../src/experiments/trials";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The CE the fake reports: 1 + 1000 lr + seed / 10 + 0.5 unless the optimizer is SGD + 0.01 batch
 * size (1 for an untrained "base" trial); lowest for SGD, the smallest lr and the smallest batch.
 */
export function fakeCe(spec: TrialSpec): number {
  const t = spec.train;
  if (!t) return 1;
  return 1 + 1000 * t.lr + spec.seed / 10 + (t.optimizer === "sgd" ? 0 : 0.5) + 0.01 * t.batchSize;
}

export async function runTrial(spec: TrialSpec, ctx: TrialContext): Promise<TrialOutcome> {
  const storeRoot = path.resolve(ctx.dir, "..", "..");
  const key = path.basename(ctx.dir);
  const note = (what: string) =>
    fs.appendFileSync(path.join(storeRoot, "executions.log"), `${what} ${key} ${spec.label}\n`);
  note("start");
  if (spec.label === process.env.FAKE_KILL_LABEL) {
    const marker = path.join(ctx.dir, "killed-once");
    if (!fs.existsSync(marker)) {
      fs.writeFileSync(marker, "");
      process.kill(process.pid, "SIGKILL");
    }
  }
  const steps = 3;
  for (let s = 1; s <= steps; s++) {
    await sleep(Number(process.env.FAKE_STEP_MS ?? 20));
    ctx.onStep?.(s, steps);
  }
  if (spec.label === process.env.FAKE_FAIL_LABEL) throw new Error(`fake failure of ${spec.label}`);
  const ce = fakeCe(spec);
  const stat = { ce, ppl: Math.exp(ce), tokens: 10, examples: 1 };
  note("done");
  return {
    wallTimeS: 0.1,
    training: null,
    evaluation: {
      split: spec.evaluate.split,
      ce: {
        overall: stat,
        byTask: Object.fromEntries(spec.evaluate.tasks.map((t) => [t, stat])),
        byTaskLanguage: Object.fromEntries(
          spec.evaluate.tasks.map((t) => [
            t,
            Object.fromEntries(spec.evaluate.languages.map((l) => [l, stat])),
          ]),
        ),
      },
      generation: null,
    },
    samples: [],
    outputs: { run: null, metrics: null, adapter: null },
    backend: null,
  };
}
