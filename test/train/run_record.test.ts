/**
 * result.json names no machine's folders: the run by its name and outputs under that name, read
 * back under the folder the record was read from; records of absolute folders still read. Also
 * through train(): a finished run written outside the checkout, moved, and resumed in its new place.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { initBackend } from "../../src/backend/backend";
import { initTensors, modelFromTensors, saveModel } from "../../src/model/checkpoint";
import { parseLlamaConfig } from "../../src/model/config";
import { BOS, SPECIAL_TOKENS } from "../../src/tokenizer/special";
import { trainByteLevelBpe } from "../../src/tokenizer/train";
import { resolveRunRecord, runRecord } from "../../src/train/run_record";
import { train, type TrainResult } from "../../src/train/trainer";
import type { Example } from "../../src/data/example";
import { PROJECT_ROOT } from "../../src/util/root";

const record = (out: string, outputs: Record<string, string | undefined>) => ({
  status: "completed",
  config: { out, seed: 3 },
  outputs,
});

test("runRecord: a run inside the checkout by its path from the root", () => {
  const out = path.join(PROJECT_ROOT, "runs", "lr-sweep", "a");
  const given = record(out, {
    metrics: path.join(out, "metrics.jsonl"),
    adapter: path.join(out, "adapter"),
  });
  const before = JSON.stringify(given);
  assert.deepEqual(runRecord(given), {
    status: "completed",
    config: { out: "runs/lr-sweep/a", seed: 3 },
    outputs: { metrics: "runs/lr-sweep/a/metrics.jsonl", adapter: "runs/lr-sweep/a/adapter" },
  });
  assert.equal(JSON.stringify(given), before, "the result itself is left as it is");
});

test("runRecord: a run outside the checkout as runs/<folder name>", () => {
  const out = path.join(os.tmpdir(), "elsewhere", "trial-7");
  const r = runRecord(record(out, { metrics: path.join(out, "metrics.jsonl"), model: undefined }));
  assert.equal(r.config.out, "runs/trial-7");
  assert.deepEqual(r.outputs, { metrics: "runs/trial-7/metrics.jsonl", model: undefined });
  assert.ok(!JSON.stringify(r).includes(os.tmpdir()), JSON.stringify(r));
});

test("resolveRunRecord: outputs under the folder read, for new and for absolute records", () => {
  const here = path.join(os.tmpdir(), "copied", "run-b");
  const fresh = resolveRunRecord(
    record("runs/run-b", { metrics: "runs/run-b/metrics.jsonl", adapter: "runs/run-b/adapter" }),
    here,
  );
  assert.deepEqual(fresh.config, { out: here, seed: 3 });
  assert.deepEqual(fresh.outputs, {
    metrics: path.join(here, "metrics.jsonl"),
    adapter: path.join(here, "adapter"),
  });
  // Written before run names, in another checkout, then moved here.
  const before = path.join(os.tmpdir(), "other-checkout", "runs", "run-b");
  const old = resolveRunRecord(
    record(before, {
      metrics: path.join(before, "metrics.jsonl"),
      model: path.join(before, "model"),
    }),
    here,
  );
  assert.deepEqual(old.outputs, {
    metrics: path.join(here, "metrics.jsonl"),
    model: path.join(here, "model"),
  });
  // An output recorded outside its run folder: from the repository root when relative.
  const outside = resolveRunRecord(record("runs/x", { adapter: "models/shipped/adapter" }), here);
  assert.equal(outside.outputs.adapter, path.join(PROJECT_ROOT, "models", "shipped", "adapter"));
});

test("train: result.json names the run, and a moved run resumes with its adapter found", async () => {
  await initBackend();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-run-record-"));
  try {
    const examples: Example[] = ["a", "b", "c", "d"].map((x, i) => ({
      id: `e${i}`,
      task: "codesearchnet",
      language: "python",
      split: "train",
      input: `def ${x}():\n    return ${i}`,
      target: `Returns ${i}.`,
    }));
    const modelDir = path.join(root, "base");
    fs.mkdirSync(modelDir);
    const tok = trainByteLevelBpe(
      examples.flatMap((e) => [e.input, e.target]),
      { vocabSize: 280, specialTokens: [...SPECIAL_TOKENS], bosToken: BOS },
    );
    tok.save(path.join(modelDir, "tokenizer.json"));
    const config = parseLlamaConfig({
      vocab_size: tok.vocabSize,
      hidden_size: 16,
      intermediate_size: 32,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      max_position_embeddings: 64,
    });
    saveModel(modelDir, modelFromTensors(config, initTensors(config, 1), {}, "init"));

    const out = path.join(root, "first-place");
    const input = {
      model: modelDir,
      out,
      task: "codesearchnet" as const,
      prompt: "compact" as const,
      quant: "none" as const,
      maxLen: 32,
      batchSize: 2,
      epochs: 1,
    };
    const data = { train: examples, val: examples.slice(0, 2), dataHash: "hand-written" };
    const r = await train(input, { data, tokenizer: tok });
    assert.equal(r.status, "completed");
    assert.equal(r.outputs.adapter, path.join(out, "adapter"), "the result keeps the path given");
    const saved = JSON.parse(fs.readFileSync(path.join(out, "result.json"), "utf8")) as TrainResult;
    assert.equal(saved.config.out, "runs/first-place");
    assert.deepEqual(saved.outputs, {
      metrics: "runs/first-place/metrics.jsonl",
      adapter: "runs/first-place/adapter",
    });

    const moved = path.join(root, "moved", "second-place");
    fs.mkdirSync(path.dirname(moved));
    fs.renameSync(out, moved);
    const again = await train({ ...input, out: moved }, { data, tokenizer: tok, resume: true });
    assert.equal(again.status, "completed");
    assert.equal(again.config.out, moved);
    assert.equal(again.outputs.adapter, path.join(moved, "adapter"));
    assert.ok(fs.existsSync(path.join(again.outputs.adapter!, "adapter_model.safetensors")));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
