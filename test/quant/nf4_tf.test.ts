import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../src/backend/backend";
import { dequantizeNf4, quantizeNf4 } from "../../src/quant/nf4";
import { dequantizeNf4Tensor, nf4CodesTensor } from "../../src/quant/nf4_tf";
import { Rng } from "../../src/util/rng";

before(async () => {
  await initBackend();
});

test("hand-worked 2x35 weight with a partial block (the 70-value example)", () => {
  // codes 0..7 of block 0: [15, 0, 7, 10, 4, 12, 2, 9] with absmax 2;
  // codes of block 1 (values 64..69): [15, 2, 9, 14, 0, 7] with absmax 0.75.
  const pattern = [2, -2, 0, 0.5, -0.5, 1, -1, 0.3];
  const x = new Float32Array(70);
  for (let i = 0; i < 64; i++) x[i] = pattern[i % 8];
  x.set([0.75, -0.375, 0.1, 0.6, -0.7, 0], 64);
  const q = quantizeNf4(x, 64);
  const codes = nf4CodesTensor(q.packed, 70, 64);
  assert.deepEqual(codes.shape, [70]); // 70 is not a multiple of 64
  const w = tf.tidy(() => dequantizeNf4Tensor(codes, tf.tensor1d(q.absmax), 64, [2, 35]));
  assert.deepEqual(w.shape, [2, 35]);
  const v = w.dataSync();
  const f = Math.fround;
  assert.deepEqual(Array.from(v.slice(0, 8)), [
    2,
    -2,
    0,
    f(0.24611230194568634 * 2),
    f(-0.28444138169288635 * 2),
    f(0.44070982933044434 * 2),
    f(-0.5250730514526367 * 2),
    f(0.16093020141124725 * 2),
  ]);
  assert.deepEqual(Array.from(v.slice(64)), [
    0.75,
    f(-0.5250730514526367 * 0.75),
    f(0.16093020141124725 * 0.75),
    f(0.7229568362236023 * 0.75),
    -0.75,
    0,
  ]);
  tf.dispose([codes, w]);
});

test("equals dequantizeNf4 on random weights, block-aligned and not", () => {
  const rng = new Rng(9);
  for (const [rows, cols, bs] of [
    [16, 64, 64],
    [24, 40, 32],
    [3, 37, 64],
    [1, 20, 64],
  ] as const) {
    const x = new Float32Array(rows * cols);
    for (let i = 0; i < x.length; i++) x[i] = (rng.next() * 2 - 1) * (1 + (i % 5));
    const q = quantizeNf4(x, bs);
    const expected = dequantizeNf4(q.packed, q.absmax, q.n, bs);
    const before = tf.memory().numTensors;
    const codes = nf4CodesTensor(q.packed, q.n, bs);
    const aligned = q.n % bs === 0;
    assert.deepEqual(codes.shape, aligned ? [q.n / bs, bs] : [q.n]);
    const absmax = tf.tensor1d(q.absmax);
    const w = dequantizeNf4Tensor(codes, absmax, bs, [rows, cols]);
    assert.deepEqual(w.shape, [rows, cols]);
    assert.deepEqual(w.dataSync(), expected, `${rows}x${cols} blocksize ${bs}`);
    // Flattened codes give the same result.
    const flat = tf.reshape(codes, [q.n]);
    const w2 = dequantizeNf4Tensor(flat, absmax, bs, [rows, cols]);
    assert.deepEqual(w2.dataSync(), expected);
    tf.dispose([codes, absmax, w, flat, w2]);
    assert.equal(tf.memory().numTensors, before, "no tensor left behind");
  }
});

test("mismatched inputs are refused", () => {
  const codes = tf.zeros([10], "int32");
  const floatCodes = tf.zeros([10]);
  const absmax = tf.ones([1]) as tf.Tensor1D;
  const absmax2 = tf.ones([2]) as tf.Tensor1D;
  assert.throws(
    () => dequantizeNf4Tensor(codes, absmax, 64, [3, 4]),
    /hold 10 values, shape \[3,4\] needs 12/,
  );
  assert.throws(() => dequantizeNf4Tensor(codes, absmax2, 64, [2, 5]), /absmax holds 2 values/);
  assert.throws(() => dequantizeNf4Tensor(floatCodes, absmax, 64, [2, 5]), /must be int32/);
  assert.throws(() => dequantizeNf4Tensor(codes, absmax, 100, [2, 5]), /power of two/);
  tf.dispose([codes, floatCodes, absmax, absmax2]);
});
