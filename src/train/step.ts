/**
 * One training micro-step: forward, token cross-entropy, backward; and the update that follows.
 * Kept apart from the trainer loop so that the benchmark measures exactly what training runs.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Llama } from "../model/llama";
import { countedTokens, type TokenBatch } from "../data/token_batch";
import { tokenNll } from "./loss";
import { clipGradNorm, type Optimizer } from "./optimizers";

/** The batch shape the step reads, defined by the data layer that produces it. */
export type { TokenBatch } from "../data/token_batch";

/** How a step runs (not what it computes). */
export interface StepOptions {
  /** Recompute each decoder layer in the backward pass instead of keeping its activations. */
  gradientCheckpointing?: boolean;
  /** Attention this many queries at a time, recomputed in the backward pass (unset: all at once). */
  attentionBlock?: number;
}

/**
 * Loss (as a tensor, so that a GPU backend can read it asynchronously) and gradients of the
 * parameters for one batch; the caller owns and disposes both.
 */
export function lossAndGradTensors(
  model: Llama,
  params: Map<string, tf.Variable>,
  b: TokenBatch,
  opts: StepOptions = {},
): { loss: tf.Scalar; tokens: number; grads: Map<string, tf.Tensor> } {
  const names = [...params.keys()];
  const vars = names.map((n) => params.get(n)!);
  const { value, grads } = tf.variableGrads(() => {
    const ids = tf.tensor2d(b.ids, [b.batch, b.seqLen], "int32");
    const labels = tf.tensor1d(b.labels, "int32");
    const attentionMask = b.attentionMask
      ? tf.tensor2d(b.attentionMask, [b.batch, b.seqLen])
      : undefined;
    const { logits } = model.forward(ids, {
      attentionMask,
      checkpointLayers: opts.gradientCheckpointing,
      attentionBlock: opts.attentionBlock,
    });
    const { nll, mask } = tokenNll(logits, labels);
    // Token mean over the batch, or the caller's normalised per-position weights.
    return (
      b.weights
        ? tf.sum(tf.mul(nll, tf.tensor1d(b.weights)))
        : tf.div(tf.sum(nll), tf.maximum(tf.sum(mask), 1))
    ) as tf.Scalar;
  }, vars);
  return {
    loss: value,
    tokens: countedTokens(b.labels),
    grads: new Map(names.map((n, i) => [n, grads[vars[i].name]])),
  };
}

/** Loss and gradients of the parameters for one batch (gradients are owned by the caller). */
export function lossAndGrads(
  model: Llama,
  params: Map<string, tf.Variable>,
  b: TokenBatch,
  opts: StepOptions = {},
): { loss: number; tokens: number; grads: Map<string, tf.Tensor> } {
  const r = lossAndGradTensors(model, params, b, opts);
  const loss = r.loss.dataSync()[0];
  r.loss.dispose();
  return { loss, tokens: r.tokens, grads: r.grads };
}

/** Clip (when maxGradNorm > 0), update, and free the gradients. Returns the pre-clip norm. */
export function applyGrads(
  optimizer: Optimizer,
  grads: Map<string, tf.Tensor>,
  lr: number,
  maxGradNorm = 0,
): number {
  let norm = NaN;
  let use = grads;
  if (maxGradNorm > 0) {
    const c = clipGradNorm(grads, maxGradNorm);
    norm = c.totalNorm;
    use = c.grads;
    for (const g of grads.values()) g.dispose();
  }
  optimizer.step(use, lr);
  for (const g of use.values()) g.dispose();
  return norm;
}

/** The global L2 norm of the gradients (as clip_grad_norm_ computes it). */
export function globalNorm(grads: Map<string, tf.Tensor>): number {
  if (grads.size === 0) return 0;
  const norm = tf.tidy(() => tf.norm(tf.stack([...grads.values()].map((g) => tf.norm(g)))));
  const value = norm.dataSync()[0];
  norm.dispose();
  return value;
}

/**
 * The update behind the guard against divergence: applied (clipped as `applyGrads` does) only when
 * the loss and the global gradient norm are finite, so a bad batch never reaches the weights. The
 * gradients are freed either way. Returns the norm before clipping and whether it was applied.
 */
export function guardedUpdate(
  optimizer: Optimizer,
  grads: Map<string, tf.Tensor>,
  loss: number,
  lr: number,
  maxGradNorm = 0,
): { gradNorm: number; applied: boolean } {
  const gradNorm = globalNorm(grads);
  const applied = Number.isFinite(loss) && Number.isFinite(gradNorm);
  if (applied) applyGrads(optimizer, grads, lr, maxGradNorm);
  else for (const g of grads.values()) g.dispose();
  return { gradNorm, applied };
}
