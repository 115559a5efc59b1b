/**
 * Ctrl-C on `narrator pretrain`: a real SIGINT sent to the CLI process mid-run stops it at a step
 * boundary with a checkpoint, and `--resume` then ends with the metrics and shipped weights of a
 * run that was never interrupted (run here in-process from the same flags).
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { initBackend } from "../../src/backend/backend";
import { pretrainConfigFromFlags } from "../../src/cli/pretrain_commands";
import { pretrain } from "../../src/pretrain/pretrain";
import { BOS, SPECIAL_TOKENS } from "../../src/tokenizer/special";
import { trainByteLevelBpe } from "../../src/tokenizer/train";
import { TRAIN, writeCorpus } from "./corpus_fixture";

const ROOT = path.join(__dirname, "..", "..");
const CLI = path.join(ROOT, "bin", "narrator.js");
let root: string;
let flags: Record<string, string>;

before(async () => {
  await initBackend();
  root = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-pretrain-cli-"));
  const corpus = path.join(root, "data");
  writeCorpus(corpus, "hand-written-corpus-cli");
  const tok = trainByteLevelBpe(
    TRAIN.map(([, t]) => t),
    { vocabSize: 300, specialTokens: [...SPECIAL_TOKENS], bosToken: BOS },
  );
  const tokenizer = path.join(corpus, "tokenizer.json");
  tok.save(tokenizer);
  const preset = path.join(root, "tiny.json");
  fs.writeFileSync(
    preset,
    JSON.stringify({
      vocab_size: tok.vocabSize,
      hidden_size: 32,
      intermediate_size: 64,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      max_position_embeddings: 64,
      tie_word_embeddings: true,
    }),
  );
  flags = {
    preset,
    tokenizer,
    corpus,
    steps: "300",
    "seq-len": "16",
    "batch-size": "4",
    lr: "0.01",
    "warmup-steps": "2",
    "eval-every": "100",
    "eval-windows": "8",
    "checkpoint-every": "0",
  };
});

const argv = (extra: Record<string, string>) =>
  Object.entries({ ...flags, ...extra }).flatMap(([k, v]) => [`--${k}`, v]);

const stepLines = (out: string) =>
  fs.existsSync(path.join(out, "metrics.jsonl"))
    ? fs.readFileSync(path.join(out, "metrics.jsonl"), "utf8").split('{"type":"step"').length - 1
    : 0;

const numbers = (out: string) =>
  fs
    .readFileSync(path.join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => {
      const { tokens_per_s: _t, elapsed_s: _e, ...rest } = JSON.parse(l);
      return rest;
    });

test("SIGINT stops narrator pretrain with a checkpoint that --resume continues exactly", async () => {
  const out = path.join(root, "interrupted");
  const child = spawn(process.execPath, [CLI, "pretrain", ...argv({ out })], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  child.stdout.resume();
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  while (stepLines(out) < 2 && child.exitCode === null) {
    await new Promise((r) => setTimeout(r, 5));
  }
  child.kill("SIGINT");
  assert.equal(await exited, 0, stderr);
  assert.match(stderr, /SIGINT: stopping after this step with a checkpoint/);
  const stopped = JSON.parse(fs.readFileSync(path.join(out, "result.json"), "utf8"));
  assert.equal(stopped.status, "stopped");
  assert.ok(stopped.steps >= 2 && stopped.steps < 300, `${stopped.steps}`);
  const pointer = JSON.parse(fs.readFileSync(path.join(out, "checkpoint.json"), "utf8"));
  assert.equal(pointer.step, stopped.steps);

  const resumed = spawnSync(process.execPath, [CLI, "pretrain", ...argv({ out }), "--resume"], {
    cwd: ROOT,
    encoding: "utf8",
  });
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, new RegExp(`resuming from .*checkpoint-${stopped.steps} at step`));

  const whole = path.join(root, "whole");
  const a = await pretrain(pretrainConfigFromFlags({ ...flags, out: whole }));
  assert.equal(a.status, "completed");
  assert.deepEqual(numbers(out), numbers(whole));
  const weights = (dir: string) => fs.readFileSync(path.join(dir, "model", "model.safetensors"));
  assert.ok(weights(out).equals(weights(whole)));
});
