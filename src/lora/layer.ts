/**
 * A LoRA-adapted linear layer: y = base(x) + s * B(A(dropout(x))), PEFT's LoraLayer for Linear.
 * A and B are kept transposed ([in, r] and [r, out]) so that every product is a plain 2-D matMul;
 * they are stored in PEFT's layout (lora_A [r, in], lora_B [out, r]) when saved.
 */
import * as tf from "@tensorflow/tfjs-core";
import { trainableMatMul, type Linear } from "../model/linear";
import type { Rng } from "../util/rng";

export class LoraLinear implements Linear {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** A^T [in, r]. */
  readonly aT: tf.Variable<tf.Rank.R2>;
  /** B^T [r, out]. */
  readonly bT: tf.Variable<tf.Rank.R2>;
  /** Dropout is applied only while training. */
  training = false;

  /**
   * `a` is lora_A [r, in] and `b` is lora_B [out, r], row-major, in PEFT's layout.
   */
  constructor(
    readonly base: Linear,
    readonly r: number,
    readonly scale: number,
    a: Float32Array,
    b: Float32Array,
    private readonly dropout: number,
    private readonly rng: Rng,
  ) {
    this.inFeatures = base.inFeatures;
    this.outFeatures = base.outFeatures;
    this.aT = tf.tidy(() => tf.variable(tf.transpose(tf.tensor2d(a, [r, this.inFeatures]))));
    this.bT = tf.tidy(() => tf.variable(tf.transpose(tf.tensor2d(b, [this.outFeatures, r]))));
  }

  apply(x: tf.Tensor2D): tf.Tensor2D {
    const y = this.base.apply(x);
    let h = x;
    if (this.training && this.dropout > 0) {
      const keep = tf.cast(
        tf.greaterEqual(
          tf.randomUniform(x.shape, 0, 1, "float32", this.rng.nextU32()),
          this.dropout,
        ),
        "float32",
      );
      h = tf.mul(x, tf.div(keep, 1 - this.dropout));
    }
    const delta = trainableMatMul(trainableMatMul(h, this.aT), this.bT);
    return tf.add(y, tf.mul(delta, this.scale));
  }

  /** The merged float weight W + s * B A, HF layout [out, in]. */
  weight(): tf.Tensor2D {
    return tf.tidy(() =>
      tf.add(this.base.weight(), tf.mul(tf.transpose(tf.matMul(this.aT, this.bT)), this.scale)),
    );
  }

  bytes(): number {
    return this.base.bytes() + (this.inFeatures + this.outFeatures) * this.r * 4;
  }

  /** lora_A [r, in] and lora_B [out, r] as PEFT stores them. */
  peftWeights(): { a: Float32Array; b: Float32Array } {
    return tf.tidy(() => ({
      a: tf.transpose(this.aT).dataSync() as Float32Array,
      b: tf.transpose(this.bT).dataSync() as Float32Array,
    }));
  }

  /** Dispose the adapter (not the base layer). */
  dispose(): void {
    this.aT.dispose();
    this.bT.dispose();
  }
}

/**
 * PEFT's initialisation: A ~ kaiming_uniform(a = sqrt(5)) over fan_in = in, which is
 * U(-1/sqrt(in), 1/sqrt(in)); B = 0 so the adapted model starts equal to the base.
 */
export function peftInit(r: number, inF: number, out: number, rng: Rng) {
  const bound = 1 / Math.sqrt(inF);
  const a = new Float32Array(r * inF);
  for (let i = 0; i < a.length; i++) a[i] = (2 * rng.next() - 1) * bound;
  return { a, b: new Float32Array(out * r) };
}
