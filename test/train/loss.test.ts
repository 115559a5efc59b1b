/**
 * The token loss on hand-worked values, on every path this machine has: as initBackend leaves
 * it (the fused native cross-entropy when the addon is built) and on plain wasm kernels.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import * as tf from "@tensorflow/tfjs-core";

import { initBackend } from "../../src/backend/backend";
import { disableNativeKernels, enableNativeKernels, nativeStatus } from "../../src/native/kernels";
import { IGNORE_INDEX, meanTokenLoss, shiftLabels, tokenNll } from "../../src/train/loss";

before(async () => {
  await initBackend();
});

after(() => {
  enableNativeKernels(); // leave the process as initBackend set it (a no-op when unavailable)
});

/** Runs `check` on the backend as initialised, then once more on plain wasm kernels. */
function onEveryPath(check: (path: string) => void) {
  check(nativeStatus().enabled ? "native" : "plain");
  if (nativeStatus().enabled) {
    disableNativeKernels();
    check("plain");
    enableNativeKernels();
  }
}

// Rows: softmax [1/5, 3/5, 1/5] with label 1; an ignored row; softmax [1/2, 1/4, 1/4], label 0.
const LOGITS = [0, Math.log(3), 0, 7, -7, 1, Math.log(2), 0, 0];
const LABELS = [1, IGNORE_INDEX, 0];

const close = (got: ArrayLike<number>, want: number[], what: string) =>
  want.forEach((w, i) =>
    assert.ok(
      Math.abs(got[i] - w) <= 1e-6 * Math.max(1, Math.abs(w)),
      `${what}[${i}]: ${got[i]} vs ${w}`,
    ),
  );

test("tokenNll: -log softmax at the label, 0 and mask 0 where ignored", () => {
  onEveryPath((path) => {
    const logits = tf.tensor2d(LOGITS, [3, 3]);
    const labels = tf.tensor1d(LABELS, "int32");
    const { nll, mask } = tokenNll(logits, labels);
    close(nll.dataSync(), [Math.log(5 / 3), 0, Math.log(2)], `${path} nll`);
    assert.deepEqual(Array.from(mask.dataSync()), [1, 0, 1], `${path} mask`);
    tf.dispose([logits, labels, nll, mask]);
  });
});

test("meanTokenLoss averages counted tokens; its gradient is (softmax - onehot) / count", () => {
  onEveryPath((path) => {
    const logits = tf.tensor2d(LOGITS, [3, 3]);
    const labels = tf.tensor1d(LABELS, "int32");
    const f = (x: tf.Tensor) => meanTokenLoss(x as tf.Tensor2D, labels);
    const { value, grad } = tf.valueAndGrad(f)(logits);
    close(value.dataSync(), [(Math.log(5 / 3) + Math.log(2)) / 2], `${path} loss`);
    close(grad.dataSync(), [0.1, -0.2, 0.1, 0, 0, 0, -0.25, 0.125, 0.125], `${path} grad`);
    tf.dispose([logits, labels, value, grad]);
  });
});

test("meanTokenLoss of a batch with every label ignored is 0, not NaN", () => {
  onEveryPath((path) => {
    const logits = tf.tensor2d(LOGITS, [3, 3]);
    const labels = tf.tensor1d([IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX], "int32");
    const loss = meanTokenLoss(logits, labels);
    assert.equal(loss.dataSync()[0], 0, path);
    tf.dispose([logits, labels, loss]);
  });
});

test("shiftLabels: next ids, the last position and masked targets ignored", () => {
  assert.deepEqual(shiftLabels([[5, 6, 7]]), [6, 7, IGNORE_INDEX]);
  assert.deepEqual(shiftLabels([[5, 6, 7]], [[1, 0, 1]]), [IGNORE_INDEX, 7, IGNORE_INDEX]);
});
