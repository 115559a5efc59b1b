/**
 * Linear layers as the decoder sees them: `apply(x)` maps activations [N, in] to [N, out].
 *
 * Performance rule of the plain wasm backend: only plain, untransposed 2-D matMul takes its fast
 * path (transpose flags and batched products run several times slower). So the forward multiplies by W^T stored as [in, out], and the backward of a frozen layer
 * multiplies by a pre-transposed copy W [out, in] instead of using matMul's transpose flags.
 */
import * as tf from "@tensorflow/tfjs-core";
import { transposeFlagsAreFast } from "../backend/backend";

type CustomGradFn = Parameters<typeof tf.customGrad>[0];

export interface Linear {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** x [N, in] -> [N, out]. */
  apply(x: tf.Tensor2D): tf.Tensor2D;
  /** The float weight in HF layout [out, in] (a new tensor the caller disposes). */
  weight(): tf.Tensor2D;
  /** Bytes held by this layer's stored weights. */
  bytes(): number;
  dispose(): void;
}

/**
 * x @ W^T for a frozen W [out, in]. With `wt` (W^T, [in, out]) given, both products are plain
 * untransposed matMuls (the fast path of plain wasm); without it, the transpose flag is used
 * (free when `transposeFlagsAreFast()`). Tensors the backward needs are handed to `save`, which
 * keeps them alive past the caller's tf.tidy.
 */
export function frozenMatMul(x: tf.Tensor2D, wt: tf.Tensor2D | null, w: tf.Tensor2D): tf.Tensor2D {
  const f = tf.customGrad(((input: tf.Tensor2D, save: (t: tf.Tensor[]) => void) => {
    save([w]);
    return {
      value: wt ? tf.matMul(input, wt) : tf.matMul(input, w, false, true),
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor2D[]) => [tf.matMul(dy, saved[0])],
    };
  }) as CustomGradFn);
  return f(x) as tf.Tensor2D;
}

/**
 * x @ W^T for a frozen W that `rebuild` makes anew for each use (e.g. by dequantizing): once for
 * the forward product and again in the backward pass, so that no float copy of W outlives its
 * operation, however many layers a forward pass goes through.
 */
export function rebuiltMatMul(x: tf.Tensor2D, rebuild: () => tf.Tensor2D): tf.Tensor2D {
  const flags = transposeFlagsAreFast();
  const f = tf.customGrad(((input: tf.Tensor2D) => ({
    value: tf.tidy(() => {
      const w = rebuild();
      return flags ? tf.matMul(input, w, false, true) : tf.matMul(input, tf.transpose(w));
    }),
    gradFunc: (dy: tf.Tensor2D) => [tf.tidy(() => tf.matMul(dy, rebuild()))],
  })) as CustomGradFn);
  return f(x) as tf.Tensor2D;
}

/** x @ wt where wt is trained: gradients by transposed products (explicit on plain wasm). */
export function trainableMatMul(x: tf.Tensor2D, wt: tf.Tensor2D): tf.Tensor2D {
  const flags = transposeFlagsAreFast();
  const f = tf.customGrad(((
    input: tf.Tensor2D,
    weightT: tf.Tensor2D,
    save: (t: tf.Tensor[]) => void,
  ) => {
    save([input, weightT]);
    return {
      value: tf.matMul(input, weightT),
      gradFunc: (dy: tf.Tensor2D, [xs, wts]: tf.Tensor2D[]) =>
        flags
          ? [tf.matMul(dy, wts, false, true), tf.matMul(xs, dy, true, false)]
          : [tf.matMul(dy, tf.transpose(wts)), tf.matMul(tf.transpose(xs), dy)],
    };
  }) as CustomGradFn);
  return f(x, wt) as tf.Tensor2D;
}

/** A frozen float layer: keeps W^T for the forward and W for the backward. */
export class FrozenFloatLinear implements Linear {
  readonly outFeatures: number;
  readonly inFeatures: number;
  private readonly w: tf.Tensor2D;
  private readonly wt: tf.Tensor2D;

  /** `values` is the HF weight [out, in], row-major. */
  constructor(values: Float32Array, out: number, inF: number) {
    this.outFeatures = out;
    this.inFeatures = inF;
    this.w = tf.tensor2d(values, [out, inF]);
    this.wt = tf.keep(tf.transpose(this.w));
  }

  apply(x: tf.Tensor2D): tf.Tensor2D {
    return frozenMatMul(x, this.wt, this.w);
  }

  weight(): tf.Tensor2D {
    return this.w.clone();
  }

  bytes(): number {
    return this.outFeatures * this.inFeatures * 4;
  }

  dispose(): void {
    this.w.dispose();
    this.wt.dispose();
  }
}

/** A trained float layer (full-parameter training): the variable holds W^T [in, out]. */
export class TrainableLinear implements Linear {
  readonly variable: tf.Variable<tf.Rank.R2>;

  constructor(
    values: Float32Array,
    readonly outFeatures: number,
    readonly inFeatures: number,
    name: string,
  ) {
    this.variable = tf.tidy(() =>
      tf.variable(tf.transpose(tf.tensor2d(values, [outFeatures, inFeatures])), true, name),
    );
  }

  apply(x: tf.Tensor2D): tf.Tensor2D {
    return trainableMatMul(x, this.variable);
  }

  weight(): tf.Tensor2D {
    return tf.tidy(() => tf.transpose(this.variable));
  }

  bytes(): number {
    return this.outFeatures * this.inFeatures * 4;
  }

  dispose(): void {
    this.variable.dispose();
  }
}
