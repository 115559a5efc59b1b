/**
 * The Results API on a run store written by hand here: the expected rows are worked out from the
 * fixture's numbers, not produced by the code under test.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseDefinition } from "../../src/experiments/definition";
import { specId } from "../../src/experiments/key";
import { keyTrials } from "../../src/experiments/plan";
import { buildRows, loadResults } from "../../src/experiments/results";
import { RunStore, type ResultRecord, type SpecRecord } from "../../src/experiments/store";
import { expandTrials, type TrialSpec } from "../../src/experiments/trials";
import { placeholderData, sweepDef, testProfile, tmp } from "./helpers";

const definition = parseDefinition(
  sweepDef(
    "optimizers",
    { optimizer: ["adamw", "sgd", "adagrad"] },
    { evaluate: { tasks: ["codesearchnet"], split: "val", generate: true } },
  ),
  "optimizers",
);
const profile = testProfile({ seeds: { sweep: [0], table: [0] } });
const [adamw, sgd, adagrad] = expandTrials(definition, profile);

const stat = (ce: number, tokens: number, examples: number) => ({
  ce,
  ppl: Math.exp(ce),
  tokens,
  examples,
});

/** A completed trial: python CE 2 over 10 tokens, go CE 4 over 30, so all = (20 + 120) / 40 = 3.5. */
function result(key: string, ceScale = 1): ResultRecord {
  return {
    key,
    finishedAt: "2024-01-01T00:00:00.000Z",
    host: "here",
    wallTimeS: 12.5,
    training: null,
    evaluation: {
      split: "val",
      ce: {
        overall: stat(3.5 * ceScale, 40, 2),
        byTask: { codesearchnet: stat(3.5 * ceScale, 40, 2) },
        byTaskLanguage: {
          codesearchnet: { python: stat(2 * ceScale, 10, 1), go: stat(4 * ceScale, 30, 1) },
        },
        perExample: {
          codesearchnet: {
            python: { idsHash: "p", nll: [20 * ceScale], tokens: [10] },
            go: { idsHash: "g", nll: [50 * ceScale, 70 * ceScale], tokens: [12, 18] },
          },
        },
      },
      generation: {
        metrics: { bleu4: "b", rougeL: "r", decoding: "greedy" },
        overall: { bleu4: 20, rougeL: 30, examples: 2 },
        byTask: { codesearchnet: { bleu4: 20, rougeL: 30, examples: 2 } },
        byTaskLanguage: {
          codesearchnet: {
            python: { bleu4: 10, rougeL: 20, examples: 1 },
            go: { bleu4: 30, rougeL: 40, examples: 1 },
          },
        },
      },
    },
    samples: [
      {
        task: "codesearchnet",
        language: "python",
        id: "p1",
        input: "def f(): pass",
        reference: "Does nothing.",
        generated: "Returns nothing.",
      },
    ],
    outputs: { run: "run", metrics: "run/metrics.jsonl", adapter: "run/adapter" },
    backend: "wasm",
  };
}

function writeTrial(
  store: RunStore,
  key: string,
  spec: TrialSpec,
  createdAt: string,
  codeVersion = "old",
): void {
  const rec: SpecRecord = {
    key,
    specId: specId(spec),
    createdAt,
    spec,
    dataHash: "d",
    modelHash: "m",
    codeVersion,
  };
  fs.mkdirSync(store.dir(key), { recursive: true });
  store.writeSpec(rec);
}

const METRICS_LINES = [
  { type: "eval", step: 0, epoch: 0, split: "val", overall: stat(5, 40, 2) },
  { type: "step", step: 1, epoch: 0.5, lr: 0.1, loss: 4.5, tokens: 20 },
  { type: "step", step: 2, epoch: 1, lr: 0.2, loss: 4, tokens: 20 },
  { type: "eval", step: 2, epoch: 1, split: "val", overall: stat(3.5, 40, 2) },
];

test("loadResults on a hand-written store: trials, metrics, curves and samples", async () => {
  const store = new RunStore(tmp("store"));
  const [keyOld, keyNew, keySgd] = ["a", "b", "c"].map((c) => c.repeat(64));
  // adamw ran twice with other sources: the newer completed run is the one reported.
  writeTrial(store, keyOld, adamw, "2020-01-01T00:00:00.000Z");
  store.writeResult(keyOld, result(keyOld, 2));
  writeTrial(store, keyNew, adamw, "2024-01-01T00:00:00.000Z");
  store.writeResult(keyNew, result(keyNew));
  fs.mkdirSync(store.file(keyNew, "run"));
  fs.writeFileSync(
    path.join(store.file(keyNew, "run"), "metrics.jsonl"),
    METRICS_LINES.map((l) => JSON.stringify(l)).join("\n") + "\n",
  );
  writeTrial(store, keySgd, sgd, "2024-01-01T00:00:00.000Z");
  store.writeError(keySgd, { message: "training diverged after 1 of 2 steps" });

  // No data here: trials are found by their spec id.
  const r = await loadResults(definition, {
    profile,
    store: store.root,
    data: path.join(store.root, "no-data"),
  });
  assert.deepEqual(r.outdated, [keyNew]);
  assert.equal(r.transfer, null);
  const common = { experiment: "optimizers", model: "tiny", trainedOn: "codesearchnet", seed: 0 };
  assert.deepEqual(r.trials, [
    {
      ...common,
      key: keyNew,
      label: "adamw",
      status: "completed",
      settings: { optimizer: "adamw" },
      wallTimeS: 12.5,
      error: null,
    },
    {
      ...common,
      key: keySgd,
      label: "sgd",
      status: "failed",
      settings: { optimizer: "sgd" },
      wallTimeS: null,
      error: "training diverged after 1 of 2 steps",
    },
    {
      ...common,
      key: specId(adagrad),
      label: "adagrad",
      status: "pending",
      settings: { optimizer: "adagrad" },
      wallTimeS: null,
      error: null,
    },
  ]);
  const row = { ...common, key: keyNew, label: "adamw", optimizer: "adamw" };
  const metric = { ...row, task: "codesearchnet", split: "val" };
  assert.deepEqual(r.metrics, [
    { ...metric, language: "python", ...stat(2, 10, 1), bleu: 10, rougeL: 20 },
    { ...metric, language: "go", ...stat(4, 30, 1), bleu: 30, rougeL: 40 },
    { ...metric, language: "all", ...stat(3.5, 40, 2), bleu: 20, rougeL: 30 },
  ]);
  // Step 0 is an evaluation only: it takes the learning rate of the step after it.
  assert.deepEqual(r.curves, [
    { ...row, step: 0, epoch: 0, lr: 0.1, loss: null, valCe: 5 },
    { ...row, step: 1, epoch: 0.5, lr: 0.1, loss: 4.5, valCe: null },
    { ...row, step: 2, epoch: 1, lr: 0.2, loss: 4, valCe: 3.5 },
  ]);
  // Per-example terms of the completed trial only, in language order.
  const terms = { experiment: "optimizers", key: keyNew, seed: 0, label: "adamw" };
  assert.deepEqual(r.examples, [
    {
      ...terms,
      task: "codesearchnet",
      language: "python",
      split: "val",
      idsHash: "p",
      nll: [20],
      tokens: [10],
    },
    {
      ...terms,
      task: "codesearchnet",
      language: "go",
      split: "val",
      idsHash: "g",
      nll: [50, 70],
      tokens: [12, 18],
    },
  ]);
  assert.deepEqual(r.samples, [
    {
      experiment: "optimizers",
      key: keyNew,
      trainedOn: "codesearchnet",
      seed: 0,
      task: "codesearchnet",
      language: "python",
      input: "def f(): pass",
      reference: "Does nothing.",
      generated: "Returns nothing.",
    },
  ]);
});

test("loadResults prefers the trial of the current key over a newer run of other sources", async () => {
  const store = new RunStore(tmp("store"));
  const data = placeholderData();
  const [current] = await keyTrials([adamw], { store, dataDir: data, code: "now" });
  writeTrial(store, current.key, adamw, "2020-01-01T00:00:00.000Z", "now");
  store.writeResult(current.key, result(current.key));
  const other = "f".repeat(64);
  writeTrial(store, other, adamw, "2024-01-01T00:00:00.000Z");
  store.writeResult(other, result(other, 2));
  const r = await loadResults(definition, {
    profile,
    store: store.root,
    data,
    codeVersion: "now",
  });
  assert.deepEqual(r.outdated, []);
  assert.equal(r.trials[0].key, current.key);
  assert.equal(r.metrics.find((m) => m.language === "all")!.ce, 3.5);
});

test("curves: a setting named like a curve column (lr) yields to the step's value; the label keeps it", () => {
  const spec: TrialSpec = { ...adamw, settings: { lr: 5e-4 }, label: "lr=5e-4" };
  const rows = buildRows([
    {
      spec,
      key: "k",
      stored: {
        key: "k",
        status: "running",
        result: null,
        error: null,
        metrics: [{ type: "step", step: 1, epoch: 1, lr: 0.1, loss: 2 }],
      },
    },
  ]);
  assert.equal(rows.curves[0].lr, 0.1);
  assert.equal(rows.curves[0].label, "lr=5e-4");
  assert.equal(rows.trials[0].status, "running");
  assert.deepEqual(rows.metrics, [], "no metrics before a trial completes");
});

test("a held-out evaluation adds metric and example rows of split held-out, without generation scores", () => {
  const r = result("k");
  r.evaluation.heldOut = {
    dataset: "../mined",
    split: "test",
    ce: {
      overall: stat(5, 8, 2),
      byTask: { codesearchnet: stat(5, 8, 2) },
      byTaskLanguage: { codesearchnet: { ruby: stat(5, 8, 2) } },
      perExample: { codesearchnet: { ruby: { idsHash: "r", nll: [10, 30], tokens: [3, 5] } } },
    },
  };
  const rows = buildRows([
    {
      spec: adamw,
      key: "k",
      stored: { key: "k", status: "completed", result: r, error: null, metrics: [] },
    },
  ]);
  const heldOut = rows.metrics.filter((m) => m.split === "held-out");
  assert.deepEqual(
    heldOut.map((m) => [m.language, m.ce, m.tokens, m.bleu, m.rougeL]),
    [
      ["ruby", 5, 8, null, null],
      ["all", 5, 8, null, null],
    ],
  );
  assert.equal(rows.metrics.filter((m) => m.split === "val").length, 3);
  assert.deepEqual(
    rows.examples.map((e) => [e.split, e.language, e.idsHash]),
    [
      ["val", "python", "p"],
      ["val", "go", "g"],
      ["held-out", "ruby", "r"],
    ],
  );
});
