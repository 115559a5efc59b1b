/**
 * Next-token cross-entropy. Labels are the input ids shifted by one, with -100 at positions
 * that do not count (prompt tokens, padding), as Hugging Face masks them.
 */
import * as tf from "@tensorflow/tfjs-core";
import { IGNORE_INDEX } from "../data/token_batch";
import { fusedTokenNll } from "../native/cross_entropy";

export { IGNORE_INDEX };

/**
 * Per-position negative log-likelihood [N] and a 0/1 mask [N] of the positions that count.
 * With native kernels on, one fused softmax cross-entropy (which also rejects a label outside
 * the vocabulary); otherwise `plainTokenNll`.
 */
export function tokenNll(
  logits: tf.Tensor2D,
  labels: tf.Tensor1D,
): { nll: tf.Tensor1D; mask: tf.Tensor1D } {
  const mask = tf.cast(tf.notEqual(labels, IGNORE_INDEX), "float32") as tf.Tensor1D;
  const nll = fusedTokenNll(logits, labels, IGNORE_INDEX) ?? plainTokenNll(logits, labels, mask);
  return { nll, mask };
}

/**
 * The NLL from tfjs ops alone (any backend). The gather of the target log-probability is a
 * one-hot product: its gradient needs no scatter kernel (the wasm backend has none).
 */
function plainTokenNll(logits: tf.Tensor2D, labels: tf.Tensor1D, mask: tf.Tensor1D): tf.Tensor1D {
  const vocab = logits.shape[1];
  const safe = tf.where(tf.equal(labels, IGNORE_INDEX), tf.zerosLike(labels), labels);
  // tfjs-backend-wasm 4.22's OneHot writes int32 bits whatever dtype is asked (1 reads as 1.4e-45
  // in a float32 one-hot), so build it as int32 and cast.
  const target = tf.cast(tf.oneHot(tf.cast(safe, "int32") as tf.Tensor1D, vocab), "float32");
  const logp = tf.logSoftmax(logits);
  return tf.mul(tf.neg(tf.sum(tf.mul(logp, target), -1)), mask) as tf.Tensor1D;
}

/** Mean NLL over the positions that count (token mean over the batch). */
export function meanTokenLoss(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  const { nll, mask } = tokenNll(logits, labels);
  return tf.div(tf.sum(nll), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
}

/** Labels for a causal LM: ids shifted left by one, the last position ignored. */
export function shiftLabels(ids: number[][], lossMask?: number[][]): number[] {
  const out: number[] = [];
  ids.forEach((row, b) => {
    for (let t = 0; t < row.length; t++) {
      const next = t + 1 < row.length ? row[t + 1] : IGNORE_INDEX;
      const counts = t + 1 < row.length && (lossMask ? lossMask[b][t + 1] === 1 : true);
      out.push(counts ? next : IGNORE_INDEX);
    }
  });
  return out;
}
