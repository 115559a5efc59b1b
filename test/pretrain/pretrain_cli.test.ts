/**
 * Ctrl-C on `narrator pretrain`: a real SIGINT sent to the CLI process mid-run stops it at a step
 * boundary with a checkpoint, and `--resume` then ends with the metrics and shipped weights of a
 * run that was never interrupted (run here in-process from the same flags).
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { initBackend } from "../../src/backend/backend";
import { pretrainConfigFromFlags } from "../../src/cli/pretrain_commands";
import { pretrain } from "../../src/pretrain/pretrain";
import { BOS, SPECIAL_TOKENS } from "../../src/tokenizer/special";
import { trainByteLevelBpe } from "../../src/tokenizer/train";
import { TRAIN, writeCorpus } from "./corpus_fixture";
import { interruptThenResume, metricNumbers } from "../train/interrupt";

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

const argv = () => Object.entries(flags).flatMap(([k, v]) => [`--${k}`, v]);

test("SIGINT stops narrator pretrain with a checkpoint that --resume continues exactly", async () => {
  const out = path.join(root, "interrupted");
  const stopped = await interruptThenResume("pretrain", argv(), out);
  assert.ok(stopped.steps < 300, `${stopped.steps}`);

  const whole = path.join(root, "whole");
  const a = await pretrain(pretrainConfigFromFlags({ ...flags, out: whole }));
  assert.equal(a.status, "completed");
  assert.deepEqual(metricNumbers(out), metricNumbers(whole));
  const weights = (dir: string) => fs.readFileSync(path.join(dir, "model", "model.safetensors"));
  assert.ok(weights(out).equals(weights(whole)));
});
