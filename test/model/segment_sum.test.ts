import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../src/backend/backend";

before(async () => {
  await initBackend("wasm");
});

test("embedding gradients work on wasm: d/dE sum(gather(E, ids) * w) by hand", () => {
  // E [4, 2]; ids [1, 3, 1]; loss = sum(gather(E, ids) * W) with W rows [1,2], [3,4], [5,6].
  // dL/dE row 1 = [1,2] + [5,6] = [6, 8]; row 3 = [3, 4]; rows 0 and 2 zero.
  const E = tf.variable(tf.zeros([4, 2]));
  const W = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]);
  const ids = tf.tensor1d([1, 3, 1], "int32");
  const { grads } = tf.variableGrads(() => tf.sum(tf.mul(tf.gather(E, ids), W)) as tf.Scalar, [E]);
  assert.deepEqual(grads[E.name].arraySync(), [
    [0, 0],
    [6, 8],
    [0, 0],
    [3, 4],
  ]);
});
