/**
 * One real sweep end to end: the shipped random-init model, the hand-written data rows of the data
 * tests (python only: CodeSearchNet 2 / 1 / 1, CommitPackFT 7 / 1 / 2 after filtering), 64-token
 * sequences, LoRA r 2. Run twice into two stores: the same seeds must give identical numbers.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { loadResults, type ExperimentResults } from "../../src/experiments/results";
import { RunStore } from "../../src/experiments/store";
import { runSweep } from "../../src/experiments/sweep";
import { writePythonData } from "../fixtures/data/rows";
import { experimentsDir, sweepDef, testProfile, tmp } from "./helpers";

const data = writePythonData(tmp("e2e-data"));
const experiments = experimentsDir([
  // Base model and a cocktail adapter on both tasks' test sets, with generation.
  {
    ...sweepDef("tiny-cocktail", { trainedOn: ["base", "cocktail"] }),
    fixed: {},
    seeds: "table",
    evaluate: { tasks: ["codesearchnet", "commitpackft"], split: "test", generate: true },
  },
  // A CodeSearchNet adapter whose evaluation is the trainer's own final validation.
  sweepDef("tiny-sweep", { lr: [1e-3] }),
]);
const profile = testProfile({
  languages: ["python"],
  sizes: { train: 2, val: 1, test: 1 },
  train: {
    prompt: "compact",
    maxLen: 64,
    loraR: 2,
    loraAlpha: 4,
    batchSize: 1,
    evalEvery: 1,
  },
  seeds: { sweep: [0], table: [3] },
  evaluate: { split: "val", maxNewTokens: 4, samples: 1 },
});

async function sweepInto(store: string): Promise<ExperimentResults[]> {
  const report = await runSweep({
    experiments: ["all"],
    profile,
    store: new RunStore(store),
    dataDir: data,
    experimentsDir: experiments,
    workers: 1,
  });
  assert.equal(report.failed + report.unfinished, 0, "every trial completed");
  return Promise.all(
    ["tiny-cocktail", "tiny-sweep"].map((e) =>
      loadResults(e, { profile, store, experimentsDir: experiments, data }),
    ),
  );
}

test("a tiny real sweep completes, and the same seeds give identical results twice", async () => {
  // Two independent sweeps at the same time, one worker each.
  const [a, b] = await Promise.all([sweepInto(tmp("e2e-a")), sweepInto(tmp("e2e-b"))]);
  const [cocktail, sweep] = a;
  assert.deepEqual(
    cocktail.trials.map((t) => [t.label, t.seed, t.status]),
    [
      ["base", 3, "completed"],
      ["cocktail", 3, "completed"],
    ],
  );
  // Both tasks, python and "all", for each trial; generation scored.
  assert.equal(cocktail.metrics.length, 8);
  for (const m of cocktail.metrics) {
    assert.equal(m.split, "test");
    assert.ok(Number.isFinite(m.ce) && m.ce > 0, `${m.label} ${m.task} ${m.language} CE ${m.ce}`);
    assert.ok(m.bleu !== null && m.rougeL !== null);
  }
  assert.equal(cocktail.samples.length, 4, "one sample per task for each trial");
  // Cocktail: 1 + 1 examples at batch 1 = 2 steps, evaluated at 0, 1, 2.
  const curve = cocktail.curves.filter((c) => c.label === "cocktail");
  assert.deepEqual(
    curve.map((c) => [c.step, c.loss === null, c.valCe === null]),
    [
      [0, true, false],
      [1, false, false],
      [2, false, false],
    ],
  );
  assert.deepEqual(
    sweep.metrics.map((m) => [m.task, m.language, m.split]),
    [
      ["codesearchnet", "python", "val"],
      ["codesearchnet", "all", "val"],
    ],
  );

  // Identical numbers in the second store (everything but wall times).
  const numbers = (rs: ExperimentResults[]) =>
    rs.map((r) => ({
      trials: r.trials.map((t) => ({ ...t, wallTimeS: null })),
      metrics: r.metrics,
      curves: r.curves,
      samples: r.samples,
    }));
  assert.deepEqual(numbers(b), numbers(a));
  const adapter = (r: ExperimentResults, label: string) => {
    const key = r.trials.find((t) => t.label === label)!.key;
    return fs.readFileSync(
      path.join(r.store, "trials", key, "run", "adapter", "adapter_model.safetensors"),
    );
  };
  assert.ok(adapter(b[0], "cocktail").equals(adapter(a[0], "cocktail")));
});
