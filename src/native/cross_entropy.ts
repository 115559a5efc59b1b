/**
 * Fused softmax cross-entropy over the vocabulary, for the token loss.
 *
 * The plain path (log-softmax, a one-hot product, a row sum) makes about ten passes over
 * [tokens, vocab] forward and backward, and its Sum gradient builds a ones tensor of that size
 * in JavaScript. Here the forward reads the logits twice per row (max, then exp-sum) and keeps
 * only two numbers per row; the backward recomputes the softmax from them and writes
 * dLogits = (softmax - onehot) * dNll in the same pass. Both run in the addon, split by rows.
 *
 * The two kernels are not replacements: they exist only while native kernels are enabled, and
 * `fusedTokenNll` returns null otherwise so that the caller keeps its plain path.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { TensorInfo } from "@tensorflow/tfjs-core";

import type { NativeAddon } from "./addon";
import { type AddedKernel, type KernelArgs, type WasmBackend, heapOf, offsetOf } from "./wasm_heap";

/** Kernel names under which the fused forward and backward are registered. */
export const CROSS_ENTROPY = "NarratorSoftmaxCrossEntropy";
export const CROSS_ENTROPY_GRAD = "NarratorSoftmaxCrossEntropyGrad";

type CustomGradFn = Parameters<typeof tf.customGrad>[0];

/** [rows, cols] of float32 logits with int32 labels [rows]; throws naming what is off. */
function checkOperands(kernel: string, logits?: TensorInfo, labels?: TensorInfo): number[] {
  if (!logits || logits.dtype !== "float32" || logits.shape.length !== 2) {
    throw new Error(
      `${kernel}: logits must be float32 [rows, cols], got ${logits?.dtype} [${logits?.shape}]`,
    );
  }
  if (
    !labels ||
    labels.dtype !== "int32" ||
    labels.shape.length !== 1 ||
    labels.shape[0] !== logits.shape[0]
  ) {
    throw new Error(
      `${kernel}: labels must be int32 [${logits.shape[0]}], got ${labels?.dtype} [${labels?.shape}]`,
    );
  }
  return logits.shape;
}

/** Throws for the label the addon reported at `row` (after freeing the kernel's outputs). */
function badLabel(
  kernel: string,
  backend: WasmBackend,
  labels: TensorInfo,
  row: number,
  cols: number,
  ignore: number,
  outputs: TensorInfo[],
): never {
  const value = new Int32Array(heapOf(backend), offsetOf(backend, labels) + 4 * row, 1)[0];
  for (const t of outputs) backend.disposeData(t.dataId);
  throw new RangeError(
    `${kernel}: label ${value} at position ${row} is outside the vocabulary [0, ${cols}) and is not the ignore index ${ignore}`,
  );
}

/** Forward: [nll, rowMax, logSum], each [rows]. */
const crossEntropyKernel: AddedKernel = (addon: NativeAddon, args: KernelArgs) => {
  const { logits, labels } = args.inputs;
  const [rows, cols] = checkOperands(CROSS_ENTROPY, logits, labels);
  const ignore = Number(args.attrs?.ignoreIndex);
  const backend = args.backend as WasmBackend;
  const outputs = [0, 1, 2].map(() => backend.makeOutput([rows], "float32"));
  if (rows === 0) return outputs;
  const [nll, rowMax, logSum] = outputs.map((t) => offsetOf(backend, t));
  const [x, ids] = [offsetOf(backend, logits!), offsetOf(backend, labels!)];
  const bad = addon.crossEntropy(heapOf(backend), x, ids, nll, rowMax, logSum, rows, cols, ignore);
  if (bad >= 0) badLabel(CROSS_ENTROPY, backend, labels!, bad, cols, ignore, outputs);
  return outputs;
};

/** Backward: dLogits [rows, cols] from the logits, labels, the forward's row stats and dNll. */
const crossEntropyGradKernel: AddedKernel = (addon: NativeAddon, args: KernelArgs) => {
  const { logits, labels, rowMax, logSum, dy } = args.inputs;
  const [rows, cols] = checkOperands(CROSS_ENTROPY_GRAD, logits, labels);
  for (const [name, t] of Object.entries({ rowMax, logSum, dy })) {
    if (!t || t.dtype !== "float32" || t.shape.length !== 1 || t.shape[0] !== rows) {
      throw new Error(
        `${CROSS_ENTROPY_GRAD}: ${name} must be float32 [${rows}], got ${t?.dtype} [${t?.shape}]`,
      );
    }
  }
  const ignore = Number(args.attrs?.ignoreIndex);
  const backend = args.backend as WasmBackend;
  const dx = backend.makeOutput([rows, cols], "float32");
  if (rows * cols === 0) return dx;
  const bad = addon.crossEntropyGrad(
    heapOf(backend),
    offsetOf(backend, logits!),
    offsetOf(backend, labels!),
    offsetOf(backend, rowMax!),
    offsetOf(backend, logSum!),
    offsetOf(backend, dy!),
    offsetOf(backend, dx),
    rows,
    cols,
    ignore,
  );
  if (bad >= 0) badLabel(CROSS_ENTROPY_GRAD, backend, labels!, bad, cols, ignore, [dx]);
  return dx;
};

/** The native kernels with no wasm counterpart, by the name they are registered under. */
export const ADDED_KERNELS: Record<string, AddedKernel> = {
  [CROSS_ENTROPY]: crossEntropyKernel,
  [CROSS_ENTROPY_GRAD]: crossEntropyGradKernel,
};

/**
 * Per-row negative log-likelihood of `labels` under softmax(`logits`) [N, V], 0 where the label
 * is `ignoreIndex`, through the fused kernels (differentiable in the logits). Returns null when
 * they are not registered for the active backend or the logits are not float32: the caller
 * then computes the loss its own way. Throws (RangeError) for a label outside [0, V) that is not
 * `ignoreIndex`.
 */
export function fusedTokenNll(
  logits: tf.Tensor2D,
  labels: tf.Tensor1D,
  ignoreIndex: number,
): tf.Tensor1D | null {
  if (logits.dtype !== "float32" || tf.getKernel(CROSS_ENTROPY, tf.getBackend()) === undefined) {
    return null;
  }
  const ids = labels.dtype === "int32" ? labels : tf.cast(labels, "int32");
  const attrs = { ignoreIndex };
  const engine = tf.engine();
  const f = tf.customGrad(((x: tf.Tensor2D, save: (t: tf.Tensor[]) => void) => {
    const [nll, rowMax, logSum] = engine.runKernel(
      CROSS_ENTROPY,
      { logits: x, labels: ids },
      attrs,
    ) as tf.Tensor[];
    save([x, ids, rowMax, logSum]);
    return {
      value: nll,
      gradFunc: (dy: tf.Tensor1D, [xs, ys, m, s]: tf.Tensor[]) =>
        engine.runKernel(
          CROSS_ENTROPY_GRAD,
          { logits: xs, labels: ys, rowMax: m, logSum: s, dy },
          attrs,
        ) as tf.Tensor2D,
    };
  }) as CustomGradFn);
  return f(logits) as tf.Tensor1D;
}
