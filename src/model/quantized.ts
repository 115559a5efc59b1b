/**
 * Frozen 4-bit linear layers: NF4 quantization at load (optionally with double-quantized absmax),
 * or the bitsandbytes serialized layout read back from a quantized checkpoint.
 */
import type { TensorEntry } from "../safetensors/safetensors";
import { FrozenQuantLinear, type DequantPolicy, type Linear } from "./linear";
import { quantizeNf4, dequantizeNf4 } from "../quant/nf4";
import { quantizeNf4Double, dequantizeNf4Double } from "../quant/double_quant";
import { fromBnbTensors, BNB_STATE_SUFFIX } from "../quant/bnb_state";

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
): Linear {
  if (opts.doubleQuant) {
    const q = quantizeNf4Double(values, opts.blocksize);
    return new FrozenQuantLinear(out, inF, () => dequantizeNf4Double(q), quantBytes(q), opts.dequant);
  }
  const q = quantizeNf4(values, opts.blocksize);
  return new FrozenQuantLinear(
    out,
    inF,
    () => dequantizeNf4(q.packed, q.absmax, q.n, q.blocksize),
    q.packed.byteLength + q.absmax.byteLength,
    opts.dequant,
  );
}

/** Does this checkpoint hold bitsandbytes 4-bit weights? */
export function isBnbQuantized(tensors: Map<string, TensorEntry>): boolean {
  for (const k of tensors.keys()) if (k.endsWith(BNB_STATE_SUFFIX)) return true;
  return false;
}

/** A frozen layer from bitsandbytes' serialized tensors of module `prefix`. */
export function quantizedLinearFromBnb(
  prefix: string,
  tensors: Map<string, TensorEntry>,
  out: number,
  inF: number,
  source: string,
  dequant?: DequantPolicy,
): Linear {
  let q;
  try {
    q = fromBnbTensors(prefix, tensors);
  } catch (e) {
    throw new Error(`${source}: ${(e as Error).message}`);
  }
  if (q.n !== out * inF) {
    throw new Error(`${source}: ${prefix}.weight holds ${q.n} values, expected ${out}x${inF}`);
  }
  return new FrozenQuantLinear(out, inF, () => q.dequantize(), q.bytes, dequant);
}

function quantBytes(q: { packed: Uint8Array; absmax: { byteLength: number } | Uint8Array; [k: string]: unknown }): number {
  return q.packed.byteLength + q.absmax.byteLength;
}
