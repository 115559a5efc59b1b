/**
 * LoRA dropout as PEFT applies it: y = base(x) + s * B(A(dropout(x))), with inverted dropout
 * (kept inputs scaled by 1 / (1 - p)) while training, and the identity at evaluation.
 *
 * The case is built so that the mask can be read back from every output: x = [1, 2, 4, 8],
 * A = [[1, 1, 1, 1]] (r = 1), B = [[1]], s = 1, and base W = [[16, 16, 16, 16]] (W x = 240).
 * With mask m, A dropout(x) = (sum of the kept powers of two) / (1 - p) = k / (1 - p) where the
 * bits of k in 0..15 are exactly the kept inputs, so y = 240 + k / (1 - p). Dropout on the base's
 * input, on A's output, or without the 1 / (1 - p) gives outputs that are not of this form or a k
 * whose bits are not independent.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../src/backend/backend";
import { FrozenFloatLinear } from "../../src/model/linear";
import { LoraLinear } from "../../src/lora/layer";
import { Rng } from "../../src/util/rng";

const ROWS = 2000;

before(async () => {
  await initBackend();
});

function layer(p: number, seed: number): LoraLinear {
  const base = new FrozenFloatLinear(Float32Array.from([16, 16, 16, 16]), 1, 4);
  return new LoraLinear(
    base,
    1,
    1,
    Float32Array.from([1, 1, 1, 1]),
    Float32Array.from([1]),
    p,
    new Rng(seed),
  );
}

function outputs(l: LoraLinear): number[] {
  return tf.tidy(() => {
    const x = tf.tile(tf.tensor2d([1, 2, 4, 8], [1, 4]), [ROWS, 1]) as tf.Tensor2D;
    return Array.from(l.apply(x).dataSync());
  });
}

/** Decode each output y = 240 + k / (1 - p) to its mask k, failing on any other value. */
function masks(ys: number[], p: number): number[] {
  return ys.map((y, row) => {
    const k = Math.round((y - 240) * (1 - p));
    assert.ok(
      Number.isInteger(k) && k >= 0 && k <= 15 && Math.abs(y - (240 + k / (1 - p))) < 1e-3,
      `row ${row}: ${y} is not 240 + k / (1 - ${p}) for an integer k in 0..15`,
    );
    return k;
  });
}

/** |count - n q| within 5 binomial standard deviations. */
function assertBinomial(count: number, n: number, q: number, what: string): void {
  const sd = Math.sqrt(n * q * (1 - q));
  assert.ok(
    Math.abs(count - n * q) <= 5 * sd,
    `${what}: ${count} of ${n}, expected ${n * q} +- ${5 * sd}`,
  );
}

test("evaluation: dropout is the identity (y = 240 + 15 on every row)", () => {
  const l = layer(0.5, 1);
  assert.equal(l.training, false);
  assert.deepEqual(outputs(l), new Array(ROWS).fill(255));
  l.dispose();
});

for (const p of [0.5, 0.2]) {
  test(`training with p = ${p}: each input of lora_A is kept with probability ${1 - p}, independently, scaled by 1 / (1 - p); the base sees x`, () => {
    const l = layer(p, 7);
    l.training = true;
    const ks = masks(outputs(l), p);
    // Each input j is kept with probability 1 - p.
    for (let j = 0; j < 4; j++) {
      const kept = ks.filter((k) => (k >> j) & 1).length;
      assertBinomial(kept, ROWS, 1 - p, `input ${j} kept`);
    }
    // Masks are independent across inputs: P(k) = (1-p)^bits(k) * p^(4 - bits(k)).
    for (let k = 0; k < 16; k++) {
      const bits = [0, 1, 2, 3].filter((j) => (k >> j) & 1).length;
      const q = (1 - p) ** bits * p ** (4 - bits);
      assertBinomial(
        ks.filter((v) => v === k).length,
        ROWS,
        q,
        `mask ${k.toString(2).padStart(4, "0")}`,
      );
    }
    // Back to evaluation: the identity again.
    l.training = false;
    assert.deepEqual(outputs(l), new Array(ROWS).fill(255));
    l.dispose();
  });
}

test("training with p = 0: no mask, the same output as evaluation", () => {
  const l = layer(0, 3);
  l.training = true;
  assert.deepEqual(outputs(l), new Array(ROWS).fill(255));
  l.dispose();
});
