import { test, before } from "node:test";
import assert from "node:assert/strict";
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../src/backend/backend";
import { parseLlamaConfig } from "../../src/model/config";
import {
  epochOrder,
  evenlySpaced,
  windowBatch,
  windowCount,
  WindowSampler,
} from "../../src/pretrain/windows";
import { encodeStream, languageAt } from "../../src/pretrain/stream";
import { createPretrainOptimizer } from "../../src/pretrain/optimizer";
import {
  parsePretrainConfig,
  pretrainCommand,
  pretrainResumeKey,
  warmupStepsOf,
} from "../../src/pretrain/config";
import { pretrain as pretrainCmd, pretrainConfigFromFlags } from "../../src/cli/pretrain_commands";
import { c, charTokenizer, SPECIAL_IDS } from "../data/char_tokenizer";

before(async () => {
  await initBackend();
});

test("windows of a 10-token stream with seqLen 3: [0..3], [3..6], [6..9], labels shifted by one", () => {
  const stream = Int32Array.from([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
  assert.equal(windowCount(10, 3), 3);
  assert.equal(windowCount(9, 3), 2); // 9 tokens: [0..3], [3..6]; [6..9] would need a 10th
  assert.equal(windowCount(1, 3), 0);
  const b = windowBatch(stream, 3, [2, 0, 1]);
  assert.equal(b.batch, 3);
  assert.equal(b.seqLen, 3);
  assert.deepEqual(Array.from(b.ids), [16, 17, 18, 10, 11, 12, 13, 14, 15]);
  assert.deepEqual(Array.from(b.labels), [17, 18, 19, 11, 12, 13, 14, 15, 16]);
  assert.equal(b.attentionMask, undefined);
  assert.throws(
    () => windowBatch(stream, 3, [3]),
    /window 3 out of range: the stream holds 3 windows/,
  );
});

test("each epoch's order is a permutation fixed by (seed, epoch)", () => {
  const a = Array.from(epochOrder(50, 7, 0));
  assert.deepEqual(
    [...a].sort((x, y) => x - y),
    Array.from({ length: 50 }, (_, i) => i),
  );
  assert.deepEqual(Array.from(epochOrder(50, 7, 0)), a);
  assert.notDeepEqual(Array.from(epochOrder(50, 7, 1)), a);
  assert.notDeepEqual(Array.from(epochOrder(50, 8, 0)), a);
});

test("the sampler completes a batch from the next epoch, and continues exactly from its state", () => {
  const e0 = Array.from(epochOrder(5, 3, 0));
  const e1 = Array.from(epochOrder(5, 3, 1));
  const s = new WindowSampler(5, 3);
  assert.deepEqual(s.next(3), e0.slice(0, 3));
  assert.deepEqual(s.state(), { epoch: 0, offset: 3 });
  assert.deepEqual(s.next(3), [...e0.slice(3), e1[0]]);
  assert.deepEqual(s.state(), { epoch: 1, offset: 1 });
  const resumed = new WindowSampler(5, 3, s.state());
  assert.deepEqual(resumed.next(7), s.next(7));
  assert.throws(() => new WindowSampler(0, 3), /no windows/);
});

test("the evaluation sample spreads evenly: 4 of 10 windows are 0, 2, 5, 7", () => {
  assert.deepEqual(evenlySpaced(10, 4), [0, 2, 5, 7]);
  assert.deepEqual(evenlySpaced(3, 5), [0, 1, 2]);
});

test("a stream is each file's tokens then <|eos|>, languages in order, with their spans", () => {
  const eos = SPECIAL_IDS["<|eos|>"];
  const s = encodeStream(
    charTokenizer,
    [
      { lang: "python", text: "ab" },
      { lang: "python", text: "c" },
      { lang: "go", text: "d" },
    ],
    eos,
  );
  assert.deepEqual(Array.from(s.tokens), [c("a"), c("b"), eos, c("c"), eos, c("d"), eos]);
  assert.deepEqual(s.spans, [
    { lang: "python", start: 0, end: 5, files: 2 },
    { lang: "go", start: 5, end: 7, files: 1 },
  ]);
  assert.equal(languageAt(s.spans, 4), "python");
  assert.equal(languageAt(s.spans, 5), "go");
  assert.throws(
    () =>
      encodeStream(
        charTokenizer,
        [
          { lang: "go", text: "a" },
          { lang: "python", text: "b" },
          { lang: "go", text: "c" },
        ],
        eos,
      ),
    /go files must come together/,
  );
});

test("AdamW groups: a zero gradient decays a matrix by (1 - lr * wd) and leaves a norm weight", () => {
  const params = new Map<string, tf.Variable>([
    ["w", tf.variable(tf.tensor2d([[1, -2]]))],
    ["norm", tf.variable(tf.tensor1d([3]))],
  ]);
  const opt = createPretrainOptimizer(params, { betas: [0.9, 0.95], weightDecay: 0.1 });
  const grads = new Map<string, tf.Tensor>([
    ["w", tf.zeros([1, 2])],
    ["norm", tf.zeros([1])],
  ]);
  opt.step(grads, 0.5);
  // AdamW with g = 0: m = v = 0, so the Adam step is 0 and only p *= 1 - 0.5 * 0.1 remains.
  assert.deepEqual(Array.from(params.get("w")!.dataSync()), [0.95, -1.9].map(Math.fround));
  assert.deepEqual(Array.from(params.get("norm")!.dataSync()), [3]);
  const state = opt.state();
  assert.deepEqual(Object.keys(state.params).sort(), ["norm", "w"]);
  assert.equal(state.params.norm.step, 1);
  opt.load(state);
  assert.deepEqual(opt.state(), state);
  assert.throws(
    () => opt.step(new Map([["x", tf.zeros([1])]]), 0.1),
    /gradient for unknown parameter 'x'/,
  );
  opt.dispose();
});

test("--gradient-checkpointing and --attention-block: how memory is spent leaves the resume key alone", () => {
  const flags = { preset: "p", tokenizer: "t", corpus: "c", out: "o" };
  const plain = pretrainConfigFromFlags(flags);
  const ckpt = pretrainConfigFromFlags({ ...flags, "gradient-checkpointing": true });
  const blocks = pretrainConfigFromFlags({ ...flags, "attention-block": "64" });
  assert.equal(plain.gradientCheckpointing, undefined);
  assert.equal(ckpt.gradientCheckpointing, true);
  assert.equal(blocks.attentionBlock, 64);
  const model = parseLlamaConfig({
    vocab_size: 64,
    hidden_size: 16,
    intermediate_size: 32,
    num_hidden_layers: 1,
    num_attention_heads: 2,
  });
  const key = (c: typeof plain) => pretrainResumeKey(c, model, "data");
  assert.equal(key(ckpt), key(plain));
  assert.notEqual(key(blocks), key(plain));
});

test("the reproduce command parses back to the same config, and bad flags are named", () => {
  const config = parsePretrainConfig({
    model: "narrator-2m",
    tokenizer: "corpus dir/tokenizer.json",
    corpus: "corpus dir",
    out: "runs/pt",
    steps: 100,
    lr: 0.002,
  });
  assert.equal(warmupStepsOf(config), 2); // ceil(2% of 100)
  const argv = pretrainCommand(config)
    .replace("node bin/narrator.js pretrain ", "")
    .match(/'[^']*'|\S+/g)!
    .map((a) => a.replace(/^'|'$/g, ""));
  const { values } = parseArgs({ args: argv, options: pretrainCmd.options, strict: true });
  assert.deepEqual(pretrainConfigFromFlags(values as Record<string, string>), {
    ...config,
    warmupSteps: 2,
  });
  assert.throws(
    () =>
      pretrainConfigFromFlags({
        preset: "p",
        tokenizer: "t",
        corpus: "c",
        out: "o",
        "seq-len": "0",
      }),
    /--seq-len expects a whole number >= 1, got '0'/,
  );
  assert.throws(
    () =>
      pretrainConfigFromFlags({
        preset: "p",
        tokenizer: "t",
        corpus: "c",
        out: "o",
        steps: "5",
        "warmup-steps": "9",
      }),
    /--warmup-steps: 9 warmup steps exceed the run's 5 steps/,
  );
});
