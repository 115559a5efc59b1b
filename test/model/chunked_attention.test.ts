/**
 * Chunked causal attention: its output and its gradients (by queries, keys and values) equal the
 * plain attention's, written here from the definition, within 1e-5 relative, for grouped-query
 * heads, blocks that do not divide the length, and a padding mask; and the model's loss gradients
 * with it equal the plain path's.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../src/backend/backend";
import { chunkedAttention } from "../../src/model/chunked_attention";
import { initTensors, modelFromTensors, trainableParameters } from "../../src/model/checkpoint";
import { parseLlamaConfig } from "../../src/model/config";
import { Rng } from "../../src/util/rng";

before(async () => {
  await initBackend();
});

const B = 2;
const HEADS = 4;
const KV = 2;
const T = 7;
const HD = 8;

function random(shape: number[], seed: number): tf.Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => rng.normal()),
    shape,
  );
}

/** softmax(q k^T * scale + bias) v with every query head's kv head repeated (HF repeat_kv). */
function reference(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, bias: tf.Tensor, scale: number) {
  const repeat = (x: tf.Tensor) =>
    tf.concat(
      Array.from({ length: HEADS }, (_, h) =>
        tf.slice(x, [0, Math.floor(h / (HEADS / KV)), 0, 0], [-1, 1, -1, -1]),
      ),
      1,
    );
  const scores = tf.add(tf.mul(tf.matMul(q, repeat(k), false, true), scale), bias);
  return tf.matMul(tf.softmax(scores), repeat(v));
}

/** Causal bias [T, T], and with the second row's last two keys padding, [B, 1, T, T]. */
function biases(): tf.Tensor[] {
  const causal = tf.tensor2d(
    Array.from({ length: T * T }, (_, i) => (i % T > Math.floor(i / T) ? -1e9 : 0)),
    [T, T],
  );
  const pad = tf.tensor4d(
    Array.from({ length: B * T }, (_, i) => (i >= B * T - 2 ? -1e9 : 0)),
    [B, 1, 1, T],
  );
  return [causal, tf.add(causal, pad)];
}

function maxRelative(a: tf.Tensor, b: tf.Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < x.length; i++) {
    scale = Math.max(scale, Math.abs(x[i]));
    diff = Math.max(diff, Math.abs(x[i] - y[i]));
  }
  assert.ok(scale > 0);
  return diff / scale;
}

for (const block of [1, 3, 7]) {
  for (const [name, bias] of [
    ["causal", 0],
    ["causal + padding", 1],
  ] as const) {
    test(`blocks of ${block}, ${name}: output and dq, dk, dv equal the plain attention's`, () => {
      const q = random([B, HEADS, T, HD], 1);
      const k = random([B, KV, T, HD], 2);
      const v = random([B, KV, T, HD], 3);
      const w = random([B, HEADS, T, HD], 4); // a loss sum(out * w) with a gradient everywhere
      const mask = biases()[bias];
      const scale = 1 / Math.sqrt(HD);
      const loss = (f: typeof reference) => (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
        tf.sum(tf.mul(f(a, b, c, mask, scale), w));
      const plain = tf.valueAndGrads(loss(reference))([q, k, v]);
      const chunked = tf.valueAndGrads(
        loss((a, b, c, m, s) =>
          chunkedAttention(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D, m, s, block),
        ),
      )([q, k, v]);
      assert.ok(
        Math.abs(plain.value.dataSync()[0] - chunked.value.dataSync()[0]) <=
          1e-5 * Math.abs(plain.value.dataSync()[0]),
      );
      const out = chunkedAttention(
        q as tf.Tensor4D,
        k as tf.Tensor4D,
        v as tf.Tensor4D,
        mask,
        scale,
        block,
      );
      assert.ok(maxRelative(reference(q, k, v, mask, scale), out) <= 1e-5);
      ["dq", "dk", "dv"].forEach((what, i) => {
        const r = maxRelative(plain.grads[i], chunked.grads[i]);
        assert.ok(r <= 1e-5, `${what}: ${r}`);
      });
    });
  }
}

test("the model's loss gradients with attention in blocks equal the plain path's", () => {
  const config = parseLlamaConfig({
    vocab_size: 40,
    hidden_size: 32,
    intermediate_size: 48,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: 32,
  });
  const model = modelFromTensors(config, initTensors(config, 3), { trainable: true }, "init");
  const params = trainableParameters(model);
  const vars = [...params.values()];
  const rng = new Rng(5);
  const ids = tf.tensor2d(
    Array.from({ length: 2 * 9 }, () => rng.int(40)),
    [2, 9],
    "int32",
  );
  const grads = (attentionBlock?: number) =>
    tf.variableGrads(() => {
      const { logits } = model.forward(ids, { attentionBlock });
      return tf.neg(tf.mean(tf.logSoftmax(logits))) as tf.Scalar;
    }, vars).grads;
  const plain = grads();
  const blocks = grads(4);
  for (const v of vars) {
    const r = maxRelative(plain[v.name], blocks[v.name]);
    assert.ok(r <= 1e-5, `${v.name}: ${r}`);
  }
  model.dispose();
});
