import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import * as fs from "node:fs";
import * as os from "node:os";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../src/backend/backend";
import { loadModel, saveModel } from "../../src/model/checkpoint";
import { generate, repeatedNgramEnds, sequenceLogprobs } from "../../src/model/inference";
import { parameterCount } from "../../src/model/config";
import { presetConfig } from "../../src/model/presets";

// Fixtures written by test/reference/llama_reference.py: an independent PyTorch implementation
// of Hugging Face LlamaForCausalLM semantics (rotate-half RoPE with linear scaling, GQA head
// grouping, RMSNorm placement), with its own safetensors writer.
const FIXTURES = path.join(__dirname, "..", "fixtures", "llama");
const CASES = ["gqa-untied-scaled", "mha-tied"];

before(async () => {
  await initBackend();
});

for (const name of CASES) {
  test(`log-probabilities match the PyTorch reference (${name})`, () => {
    const dir = path.join(FIXTURES, name);
    const expected = JSON.parse(fs.readFileSync(path.join(dir, "expected.json"), "utf8"));
    const model = loadModel(dir);
    const got = sequenceLogprobs(model, expected.ids);
    assert.equal(got.length, expected.ids.length - 1);
    got.forEach((v, i) =>
      assert.ok(
        Math.abs(v - expected.logprobs[i]) < 2e-4,
        `position ${i}: ${v} vs ${expected.logprobs[i]}`,
      ),
    );
    model.dispose();
  });
}

test("generation with the KV cache equals greedy decoding without it", () => {
  const model = loadModel(path.join(FIXTURES, "gqa-untied-scaled"));
  const prompt = [3, 17, 9, 40];
  const cached = generate(model, prompt, { maxNewTokens: 6 });
  // Without a cache: rerun the whole sequence each step and take the argmax of the last row.
  const seq = [...prompt];
  for (let i = 0; i < 6; i++) {
    const next = tf.tidy(() => {
      const { logits } = model.forward(tf.tensor2d(seq, [1, seq.length], "int32"));
      return tf.argMax(tf.slice(logits, [seq.length - 1, 0], [1, -1]), 1).dataSync()[0];
    });
    seq.push(next);
  }
  assert.deepEqual(cached, seq.slice(prompt.length));
  model.dispose();
});

test("a padding mask hides padded keys (left padding leaves real rows unchanged)", () => {
  // RoPE scores depend only on relative positions, so shifting a sequence right by two masked
  // pad tokens must leave its logits unchanged; without the mask the pads would leak in.
  const model = loadModel(path.join(FIXTURES, "mha-tied"));
  const ids = [5, 9, 2, 33];
  const alone = tf.tidy(() => model.forward(tf.tensor2d(ids, [1, 4], "int32")).logits.arraySync());
  const run = (mask?: number[]) =>
    tf.tidy(() =>
      model
        .forward(tf.tensor2d([7, 7, ...ids], [1, 6], "int32"), {
          attentionMask: mask ? tf.tensor2d(mask, [1, 6]) : undefined,
        })
        .logits.arraySync(),
    );
  const masked = run([0, 0, 1, 1, 1, 1]);
  const unmasked = run();
  let leak = 0;
  for (let t = 0; t < 4; t++) {
    alone[t].forEach((v, j) => {
      assert.ok(Math.abs(v - masked[t + 2][j]) < 1e-3, `row ${t} col ${j}`);
      leak = Math.max(leak, Math.abs(v - unmasked[t + 2][j]));
    });
  }
  assert.ok(leak > 1e-2, "without the mask the pad tokens must change the logits");
  model.dispose();
});

test("save and load round-trip in F32 and BF16", () => {
  const src = path.join(FIXTURES, "mha-tied");
  const expected = JSON.parse(fs.readFileSync(path.join(src, "expected.json"), "utf8"));
  const model = loadModel(src);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-model-"));
  saveModel(path.join(tmp, "f32"), model);
  saveModel(path.join(tmp, "bf16"), model, { dtype: "BF16" });
  const a = loadModel(path.join(tmp, "f32"));
  const b = loadModel(path.join(tmp, "bf16"));
  assert.deepEqual(sequenceLogprobs(a, expected.ids), sequenceLogprobs(model, expected.ids));
  const lb = sequenceLogprobs(b, expected.ids);
  lb.forEach((v, i) => assert.ok(Math.abs(v - expected.logprobs[i]) < 0.5, `bf16 position ${i}`));
  for (const m of [model, a, b]) m.dispose();
  fs.rmSync(tmp, { recursive: true });
});

test("DeepSeek-Coder-1.3B config parses and has 1.35e9 parameters within 1%", () => {
  const c = presetConfig("deepseek-coder-1.3b");
  // Hand count: embed 32256*2048 + head 32256*2048 + 24 * (4*2048^2 + 3*2048*5504 + 2*2048) + 2048
  const hand = 2 * 32256 * 2048 + 24 * (4 * 2048 * 2048 + 3 * 2048 * 5504 + 2 * 2048) + 2048;
  assert.equal(parameterCount(c), hand);
  assert.ok(Math.abs(parameterCount(c) / 1.35e9 - 1) < 0.01);
  assert.equal(c.rope_scaling?.factor, 4);
});

test("repeated n-gram ends: hand-worked cases", () => {
  assert.deepEqual([...repeatedNgramEnds([1, 2, 3, 1, 2], 3)], [3]);
  assert.deepEqual([...repeatedNgramEnds([1, 2, 3, 1, 2], 2)], [3]);
  assert.deepEqual([...repeatedNgramEnds([1, 2, 3, 1, 2], 1)].sort(), [1, 2, 3]);
  assert.deepEqual([...repeatedNgramEnds([5, 5, 5], 2)], [5]);
  assert.deepEqual([...repeatedNgramEnds([1, 2], 4)], []);
  assert.deepEqual([...repeatedNgramEnds([1, 2, 1, 2], 0)], []);
});

test("with no repeated bigrams, greedy generation takes the best token that does not repeat one", () => {
  const model = loadModel(path.join(FIXTURES, "gqa-untied-scaled"));
  const prompt = [3, 17, 9, 40];
  const n = 20;
  const got = generate(model, prompt, { maxNewTokens: n, noRepeatNgramSize: 2 });
  // Reference: the whole sequence each step; bigrams seen in the generated tokens are banned.
  const seq = [...prompt];
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const row = tf.tidy(() => {
      const { logits } = model.forward(tf.tensor2d(seq, [1, seq.length], "int32"));
      return Array.from(tf.slice(logits, [seq.length - 1, 0], [1, -1]).dataSync());
    });
    const seen = new Set(out.slice(1).map((t, k) => `${out[k]} ${t}`));
    let best = -1;
    row.forEach((v, t) => {
      if (out.length > 0 && seen.has(`${out[out.length - 1]} ${t}`)) return;
      if (best < 0 || v > row[best]) best = t;
    });
    out.push(best);
    seq.push(best);
  }
  assert.deepEqual(got, out);
  const bigrams = got.slice(1).map((t, k) => `${got[k]} ${t}`);
  assert.equal(new Set(bigrams).size, bigrams.length);
  // Plain greedy decoding of this model repeats itself, so the constraint changed something.
  const plain = generate(model, prompt, { maxNewTokens: n });
  const plainBigrams = plain.slice(1).map((t, k) => `${plain[k]} ${t}`);
  assert.ok(new Set(plainBigrams).size < plainBigrams.length, "plain greedy repeats a bigram");
  model.dispose();
});
