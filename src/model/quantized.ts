/**
 * Frozen 4-bit linear layers: NF4 quantization at load (optionally with double-quantized absmax),
 * or the bitsandbytes serialized layout read back from a quantized checkpoint.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { TensorEntry } from "../safetensors/safetensors";
import { frozenMatMul, rebuiltMatMul, type Linear } from "./linear";
import { dequantizeNf4, quantizeNf4, type Nf4Quantized } from "../quant/nf4";
import {
  dequantizeNf4Double,
  isDoubleQuantized,
  quantizeNf4Double,
  type Nf4DoubleQuantized,
} from "../quant/double_quant";
import { BNB_STATE_SUFFIX, fromBnbTensors } from "../quant/bnb_state";
import { nf4MatMul, type Nf4Operand } from "../native/nf4_matmul";

/** Where a 4-bit layer's float weight lives during compute. */
export type DequantPolicy = "stream" | "cache";

export type Nf4State = Nf4Quantized | Nf4DoubleQuantized;

/**
 * A frozen 4-bit layer. Its only stored copy of the weight is the NF4 state, in JavaScript
 * memory outside the wasm heap. With `stream`, each product (forward, and again in the backward
 * pass) runs the native kernel that dequantizes the packed weight tile by tile as it multiplies
 * (../native/nf4_matmul) when native kernels are on; otherwise the float weight is dequantized
 * onto the heap for the product, as bitsandbytes does, so no float copy outlives its operation.
 * With `cache` the float weight is kept after first use (faster on plain wasm, float memory).
 */
export class FrozenQuantLinear implements Linear {
  private cached?: { w: tf.Tensor2D; wt: tf.Tensor2D };
  /** The state as the native kernel reads it. */
  private readonly operand: Nf4Operand;

  constructor(
    readonly outFeatures: number,
    readonly inFeatures: number,
    readonly state: Nf4State,
    private readonly policy: DequantPolicy = "stream",
  ) {
    if (state.n !== outFeatures * inFeatures) {
      throw new Error(`NF4 state holds ${state.n} values, expected ${outFeatures}x${inFeatures}`);
    }
    this.operand = { ...state, rows: outFeatures, cols: inFeatures };
  }

  apply(x: tf.Tensor2D): tf.Tensor2D {
    if (this.policy === "stream") {
      return nf4MatMul(x, this.operand) ?? rebuiltMatMul(x, () => this.weight());
    }
    if (!this.cached) {
      const w = tf.keep(this.weight());
      this.cached = { w, wt: tf.keep(tf.transpose(w)) };
    }
    return frozenMatMul(x, this.cached.wt, this.cached.w);
  }

  weight(): tf.Tensor2D {
    const s = this.state;
    const values = isDoubleQuantized(s)
      ? dequantizeNf4Double(s)
      : dequantizeNf4(s.packed, s.absmax, s.n, s.blocksize);
    return tf.tensor2d(values, [this.outFeatures, this.inFeatures]);
  }

  bytes(): number {
    const s = this.state;
    const nested = isDoubleQuantized(s) ? s.nested.absmax.byteLength + 4 : 0;
    return s.packed.byteLength + s.absmax.byteLength + nested;
  }

  dispose(): void {
    this.cached?.w.dispose();
    this.cached?.wt.dispose();
    this.cached = undefined;
  }
}

export interface QuantOptions {
  blocksize: number;
  doubleQuant: boolean;
  dequant?: DequantPolicy;
}

/** Quantize a float weight [out, in] to NF4 and wrap it as a frozen layer. */
export function quantizedLinear(
  values: Float32Array,
  out: number,
  inF: number,
  opts: QuantOptions,
): FrozenQuantLinear {
  const state = opts.doubleQuant
    ? quantizeNf4Double(values, opts.blocksize)
    : quantizeNf4(values, opts.blocksize);
  return new FrozenQuantLinear(out, inF, state, opts.dequant);
}

/** Does this checkpoint hold bitsandbytes 4-bit weights? */
export function isBnbQuantized(names: Iterable<string>): boolean {
  for (const k of names) if (k.endsWith(BNB_STATE_SUFFIX)) return true;
  return false;
}

/** A frozen layer from bitsandbytes' serialized tensors of module `prefix`. */
export function quantizedLinearFromBnb(
  prefix: string,
  tensors: ReadonlyMap<string, TensorEntry>,
  out: number,
  inF: number,
  source: string,
  dequant?: DequantPolicy,
): FrozenQuantLinear {
  try {
    const w = fromBnbTensors(prefix, tensors);
    if (w.shape.join(",") !== [out, inF].join(",")) {
      throw new Error(`${prefix}.weight has shape [${w.shape}], expected [${out}, ${inF}]`);
    }
    return new FrozenQuantLinear(out, inF, w.quant, dequant);
  } catch (e) {
    throw new Error(`${source}: ${(e as Error).message}`);
  }
}
