import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseDefinition } from "../../src/experiments/definition";
import {
  checkProfileModels,
  formatDryRun,
  trialMemory,
  trialSeconds,
  trialWork,
  type DryRunEstimate,
} from "../../src/experiments/dry_run";
import type { PlannedTrial } from "../../src/experiments/sweep";
import { expandTrials, type TrialSpec } from "../../src/experiments/trials";
import { readLlamaConfig } from "../../src/model/config";
import type { MemoryCeiling } from "../../src/model/memory";
import { estimateTrainingMemory } from "../../src/train/memory";
import { testProfile, tmp } from "./helpers";

const ROOT = path.resolve(__dirname, "../..");

/** A definition training on commits at batch 1 and 4, evaluated on both tasks with generation. */
const definition = parseDefinition(
  {
    name: "work",
    figure: "Fig. 0",
    title: "work of a trial",
    question: "how much work?",
    seeds: "sweep",
    fixed: { trainedOn: "commitpackft" },
    grid: { batchSize: [1, 4] },
    evaluate: { tasks: ["codesearchnet", "commitpackft"], generate: true },
  },
  "work.json",
);

function trials(train: Record<string, unknown>): TrialSpec[] {
  return expandTrials(definition, testProfile({ sizes: { train: 10, val: 3, test: 2 }, train }));
}

test("trialWork counts steps, validations, the trial's own pass and generations by hand", () => {
  const [b1, b4] = trials({ maxLen: 16, loraR: 4, epochs: 2, gradAccum: 2, evalEvery: 4 });
  // 10 examples x 2 languages = 20; batch 4: 5 batches, 3 steps of 2 per epoch, 6 steps.
  // Validations: at the start, after step 4, at the end = 3, each 3 x 2 languages x 16 tokens.
  // The trial's pass: 3 x 2 languages x 2 tasks = 12 examples x 16 tokens; 12 x 8 generated.
  assert.deepEqual(trialWork(b4), {
    trainSteps: 6,
    trainTokens: 640,
    forwardTokens: 3 * 96 + 192,
    generatedTokens: 96,
  });
  // Batch 1: 10 steps per epoch, 20 steps; validations at the start, after steps 4, 8, 12 and
  // 16, and at the end (not again after step 20) = 6.
  assert.deepEqual(trialWork(b1), {
    trainSteps: 20,
    trainTokens: 640,
    forwardTokens: 6 * 96 + 192,
    generatedTokens: 96,
  });
  const [, noStart] = trials({
    maxLen: 16,
    epochs: 2,
    gradAccum: 2,
    evalEvery: 4,
    evalAtStart: false,
  });
  assert.equal(trialWork(noStart).forwardTokens, 2 * 96 + 192);
  assert.ok(
    Math.abs(
      trialSeconds(trialWork(b4), { what: "", trainS: 0.01, forwardS: 0.001, generateS: 0.1 }) -
        (6.4 + 0.48 + 9.6),
    ) < 1e-9,
  );
});

test("trialMemory turns checkpointing on where only it fits, as training does, and refuses what fits neither way", () => {
  const config = readLlamaConfig(path.join(ROOT, "models/narrator-8m"));
  const [, spec] = trials({ maxLen: 512, loraR: 64, quant: "nf4", evalBatchSize: 1 });
  const t = spec.train!;
  const opts = { ...t, seqLen: 512, kernels: undefined };
  const plain = estimateTrainingMemory(config, { ...opts, gradientCheckpointing: false });
  const ckpt = estimateTrainingMemory(config, { ...opts, gradientCheckpointing: true });
  assert.ok(ckpt.heap < plain.heap);
  const ceiling = (heap: number): MemoryCeiling => ({ heap, process: 1e12, heapName: "wasm heap" });
  const between = trialMemory(config, spec, ceiling((ckpt.heap + plain.heap) / 2), 4);
  assert.equal(between.train?.gradientCheckpointing, true);
  assert.equal(between.fits, true);
  const roomy = trialMemory(config, spec, ceiling(plain.heap * 2), 4);
  assert.equal(roomy.train?.gradientCheckpointing, false);
  assert.equal(roomy.fits, true);
  const tight = trialMemory(config, spec, ceiling(ckpt.heap / 2), 4);
  assert.equal(tight.fits, false);
  assert.match(
    tight.refusal!,
    /^refusing to start: the run needs an estimated .* MiB on the wasm heap/,
  );
  assert.equal(between.refusal, null);
  // Checkpointing turned off by the settings: the same ceiling no longer fits.
  const [, off] = trials({ maxLen: 512, loraR: 64, quant: "nf4", gradientCheckpointing: false });
  assert.equal(trialMemory(config, off, ceiling((ckpt.heap + plain.heap) / 2), 4).fits, false);
});

test("formatDryRun names each trial's estimate, the ceiling and the time left", () => {
  const planned = (key: string, trainedOn: string): PlannedTrial =>
    ({
      record: { key, spec: { trainedOn, model: "tiny", seed: 0 } },
      uses: [{ experiment: "work", label: `batch ${key}`, seed: 0 }],
    }) as unknown as PlannedTrial;
  const work = { trainSteps: 6, trainTokens: 640, forwardTokens: 480, generatedTokens: 96 };
  const estimate: DryRunEstimate = {
    ceiling: { heap: 2 ** 30, process: 2 ** 32, heapName: "wasm heap" },
    backend: "wasm",
    trials: [
      {
        trial: planned("a".repeat(64), "commitpackft"),
        memory: {
          train: { heap: 3 * 2 ** 20, total: 5 * 2 ** 20, gradientCheckpointing: true },
          evaluate: { heap: 2 ** 20, total: 2 ** 20 },
          fits: true,
          refusal: null,
        },
        work,
        seconds: 90,
      },
      {
        trial: planned("b".repeat(64), "base"),
        memory: {
          train: null,
          evaluate: { heap: 2 ** 31, total: 2 ** 31 },
          fits: false,
          refusal: "refusing to start: too big",
        },
        work,
        seconds: 30,
      },
    ],
    probes: [{ what: "tiny, LoRA r 4, 16 tokens: measured", trainS: 0, forwardS: 0, generateS: 0 }],
    waiting: ["cocktail"],
  };
  const out = formatDryRun(estimate, 2, (key) => (key.startsWith("b") ? "completed" : "pending"));
  const lines = out.split("\n");
  const a = lines.find((l) => l.startsWith("aaaaaaaaaaaa"))!;
  assert.match(a, /pending .*3\.00 MiB ckpt .*1\.00 MiB .*fits .*6 .*1m30s .*work: batch a{64}/);
  const b = lines.find((l) => l.startsWith("bbbbbbbbbbbb"))!;
  assert.match(b, /completed .* - .*2048\.00 MiB .*DOES NOT FIT/);
  assert.match(out, /the wasm heap holds at most 1024\.00 MiB, the process may use 4096\.00 MiB/);
  assert.match(out, /1 trial\(s\) would be refused\n {2}b{12}: refusing to start: too big\n/);
  assert.match(out, /tiny, LoRA r 4, 16 tokens: measured/);
  // The completed trial's 30 s are not left to do: 90 s, 45 s on two workers.
  assert.match(
    out,
    /2 trial\(s\), 1m30s of trial time left .*about 45s with 2 worker\(s\); not counted: cocktail/,
  );
});

test("checkProfileModels says where to put a missing model and what it must hold", () => {
  const root = tmp("dry-models");
  const profile = testProfile({
    models: { big: "models/big", empty: "models/empty", here: "models/here" },
    baseModel: "big",
  });
  fs.mkdirSync(path.join(root, "models/empty"), { recursive: true });
  fs.mkdirSync(path.join(root, "models/here"), { recursive: true });
  fs.writeFileSync(path.join(root, "models/here/config.json"), "{}");
  fs.writeFileSync(path.join(root, "models/here/model.safetensors"), "");
  assert.throws(
    () => checkProfileModels(profile, root),
    (e: Error) => {
      const lines = e.message.split("\n");
      assert.equal(lines[0], "profile test needs models that are not here:");
      assert.equal(lines.length, 3);
      assert.match(
        lines[1],
        /^ {2}big: put its Hugging Face checkpoint .* in models\/big \(.*\); it does not exist$/,
      );
      assert.match(
        lines[2],
        /^ {2}empty: .* that directory has no config.json and no model.safetensors/,
      );
      return true;
    },
  );
  checkProfileModels(testProfile({ models: { here: "models/here" }, baseModel: "here" }), root);
});

const run = (args: string[]) =>
  spawnSync(process.execPath, ["bin/narrator.js", ...args], { cwd: ROOT, encoding: "utf8" });

for (const dryRun of [true, false]) {
  const flag = dryRun ? " --dry-run" : "";
  test(`narrator sweep --profile paper${flag} without the model says where to put it`, (t) => {
    if (fs.existsSync(path.join(ROOT, "models/deepseek-coder-1.3b-instruct")))
      return t.skip("models/deepseek-coder-1.3b-instruct is here");
    const store = tmp(`paper${dryRun ? "-dry" : ""}`);
    const r = run([
      "sweep",
      "all",
      "--profile",
      "paper",
      ...(dryRun ? ["--dry-run"] : []),
      "--store",
      store,
    ]);
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /profile paper needs a model that is not here:\n {2}deepseek-coder-1\.3b-instruct: put its Hugging Face checkpoint \(config\.json, model\.safetensors or its shards, tokenizer\.json\) in models\/deepseek-coder-1\.3b-instruct .*it does not exist/,
    );
    // Nothing was planned or started.
    assert.doesNotMatch(r.stderr, /phase|start /);
  });
}

test("narrator sweep --dry-run prints each trial's estimate against the wasm heap's ceiling", (t) => {
  const data = process.env.NARRATOR_DATA;
  if (!data) return t.skip("NARRATOR_DATA is not set");
  const r = run([
    "sweep",
    "baselines",
    "--profile",
    "smoke",
    "--dry-run",
    "--data",
    data,
    "--store",
    tmp("dry-smoke"),
  ]);
  assert.equal(r.status, 0, r.stderr);
  const rows = r.stdout.split("\n").filter((l) => /^[0-9a-f]{12} /.test(l));
  // baselines on smoke: the three models untrained, one trial each.
  assert.equal(rows.length, 3);
  for (const row of rows) assert.match(row, /pending +base .* - +\d+\.\d\d MiB +fits +0 /);
  // 2^32 bytes less one 64 KiB page: wasm32 growth's limit, which the module's maximum allows.
  assert.match(r.stdout, /the wasm heap holds at most 4095\.94 MiB/);
  assert.match(r.stdout, /time: from step speeds measured now on this machine/);
  // Untrained trials time a forward pass and generation only, one model each.
  assert.equal(
    r.stdout.match(/^ {2}narrator-\S+, NF4 base, untrained, 64 tokens: forward /gm)?.length,
    3,
  );
});
