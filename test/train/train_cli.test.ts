/**
 * Ctrl-C on `narrator train`: a real SIGINT sent to the CLI process mid-run stops it at a step
 * boundary with a checkpoint, and `--resume` then ends with the metrics and adapter bytes of a run
 * that was never interrupted (run here in-process from the same flags).
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { initBackend } from "../../src/backend/backend";
import { trainConfigFromFlags } from "../../src/cli/train_commands";
import { initTensors, modelFromTensors, saveModel } from "../../src/model/checkpoint";
import { parseLlamaConfig } from "../../src/model/config";
import { BOS, SPECIAL_TOKENS } from "../../src/tokenizer/special";
import { trainByteLevelBpe } from "../../src/tokenizer/train";
import { train } from "../../src/train/trainer";
import { CPF_PYTHON, CSN_PYTHON, writePythonData } from "../fixtures/data/rows";
import { interruptThenResume, metricNumbers } from "./interrupt";

let root: string;
let flags: string[];

before(async () => {
  await initBackend();
  root = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-train-cli-"));
  const model = path.join(root, "base");
  fs.mkdirSync(model);
  const texts = [...CSN_PYTHON, ...CPF_PYTHON].map((r) => JSON.stringify(r));
  const tok = trainByteLevelBpe(texts, {
    vocabSize: 300,
    specialTokens: [...SPECIAL_TOKENS],
    bosToken: BOS,
  });
  tok.save(path.join(model, "tokenizer.json"));
  const config = parseLlamaConfig({
    vocab_size: tok.vocabSize,
    hidden_size: 32,
    intermediate_size: 64,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    max_position_embeddings: 128,
    tie_word_embeddings: true,
  });
  saveModel(model, modelFromTensors(config, initTensors(config, 1), {}, "init"));
  const data = writePythonData(path.join(root, "data"));
  // Dropout on, so that the dropout generator's state must survive the stop too.
  flags = [
    "--model",
    model,
    "--data",
    data,
    "--task",
    "cocktail",
    "--languages",
    "python",
    "--prompt",
    "compact",
    "--quant",
    "none",
    "--max-len",
    "48",
    "--lora-r",
    "4",
    "--lora-alpha",
    "8",
    "--lora-dropout",
    "0.1",
    "--optimizer",
    "adamw",
    "--lr",
    "0.01",
    "--batch-size",
    "1",
    "--epochs",
    "60",
    "--eval-every",
    "25",
    "--no-eval-at-start",
  ];
});

const values = (argv: string[]) => {
  const v: Record<string, string | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].slice(2);
    if (argv[i + 1] === undefined || argv[i + 1].startsWith("--")) v[name] = true;
    else v[name] = argv[++i];
  }
  return v;
};

test("SIGINT stops narrator train with a checkpoint that --resume continues exactly", async () => {
  const out = path.join(root, "interrupted");
  const stopped = await interruptThenResume("train", flags, out, () =>
    // A stopped run ships no adapter; only the completed one does.
    assert.equal(fs.existsSync(path.join(out, "adapter")), false),
  );
  assert.ok(stopped.steps < stopped.totalSteps!, `${stopped.steps}`);

  const whole = path.join(root, "whole");
  const a = await train(trainConfigFromFlags(values([...flags, "--out", whole])));
  assert.equal(a.status, "completed");
  const b = JSON.parse(fs.readFileSync(path.join(out, "result.json"), "utf8"));
  assert.deepEqual(metricNumbers(out), metricNumbers(whole));
  assert.deepEqual(b.final, JSON.parse(JSON.stringify(a.final)));
  const bytes = (dir: string) =>
    fs.readFileSync(path.join(dir, "adapter", "adapter_model.safetensors"));
  assert.ok(bytes(out).equals(bytes(whole)));
});
