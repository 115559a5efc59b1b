/**
 * Double quantization (QLoRA): the float32 NF4 absmax values are themselves quantized to 8 bits.
 * As bitsandbytes does it: offset = mean(absmax); (absmax - offset) is quantized blockwise with
 * blocksize 256 against the signed dynamic map; dequantized absmax = dequant8 + offset. The NF4
 * codes are those of plain NF4 (computed with the exact absmax), only the absmax storage changes.
 *
 * The offset is the float32 rounding of the mean taken in float64; PyTorch's float32 reduction
 * can land an ulp away, which moves no code in practice and is stored with the codes anyway.
 */
import { blockCount } from "./blockwise";
import { createDynamicMap, dequantizeBlockwise8, quantizeBlockwise8 } from "./dynamic_map";
import { dequantizeNf4, quantizeNf4, type Nf4Quantized } from "./nf4";

const f32 = Math.fround;

/** Blocksize of the second (8-bit) quantization of the absmax values, fixed by bitsandbytes. */
export const NESTED_BLOCKSIZE = 256;

/** The signed 8-bit dynamic map used for the absmax values. */
export const DYNAMIC_MAP: Float32Array = createDynamicMap(true);

/** The statistics that dequantize the 8-bit absmax codes (bitsandbytes' `state2` + offset). */
export interface NestedAbsmax {
  /** float32 absmax of each block of 256 absmax codes (`nested_absmax`). */
  absmax: Float32Array;
  /** The 256-value map the codes index (`nested_quant_map`). */
  code: Float32Array;
  /** float32 mean of the original absmax values (`nested_offset`). */
  offset: number;
  blocksize: number;
}

/** NF4 with double-quantized absmax. */
export interface Nf4DoubleQuantized {
  /** Packed NF4 codes, exactly as plain NF4. */
  packed: Uint8Array;
  /** 8-bit codes of (absmax - offset), one per NF4 block (`absmax` as bitsandbytes stores it). */
  absmax: Uint8Array;
  nested: NestedAbsmax;
  n: number;
  blocksize: number;
}

/** Quantize float32 absmax values to 8 bits: offset, 256-blocks, signed dynamic map. */
export function quantizeAbsmax(absmax: Float32Array): { q: Uint8Array; nested: NestedAbsmax } {
  let sum = 0;
  for (const a of absmax) sum += a;
  const offset = absmax.length > 0 ? f32(sum / absmax.length) : 0;
  const centered = new Float32Array(absmax.length);
  for (let i = 0; i < absmax.length; i++) centered[i] = absmax[i] - offset;
  const { q, absmax: nestedAbsmax } = quantizeBlockwise8(centered, DYNAMIC_MAP, NESTED_BLOCKSIZE);
  return {
    q,
    nested: { absmax: nestedAbsmax, code: DYNAMIC_MAP, offset, blocksize: NESTED_BLOCKSIZE },
  };
}

/** The float32 absmax values back from their 8-bit codes: code[q] * nestedAbsmax + offset. */
export function dequantizeAbsmax(q: Uint8Array, nested: NestedAbsmax): Float32Array {
  const out = dequantizeBlockwise8(q, nested.absmax, nested.code, nested.blocksize);
  const offset = f32(nested.offset);
  for (let i = 0; i < out.length; i++) out[i] = out[i] + offset;
  return out;
}

/** NF4 quantization with double-quantized absmax. */
export function quantizeNf4Double(x: Float32Array, blocksize = 64): Nf4DoubleQuantized {
  const plain = quantizeNf4(x, blocksize);
  const { q, nested } = quantizeAbsmax(plain.absmax);
  return { packed: plain.packed, absmax: q, nested, n: plain.n, blocksize };
}

/** Dequantize double-quantized NF4 to float32 values. */
export function dequantizeNf4Double(q: Nf4DoubleQuantized): Float32Array {
  return dequantizeNf4(q.packed, dequantizeAbsmax(q.absmax, q.nested), q.n, q.blocksize);
}

/** Is this NF4 state double-quantized? */
export function isDoubleQuantized(q: Nf4Quantized | Nf4DoubleQuantized): q is Nf4DoubleQuantized {
  return "nested" in q;
}

/**
 * Storage per parameter, in bits, from the sizes of the arrays: the packed 4-bit codes and the
 * absmax statistics (float32 absmax; or 8-bit absmax + float32 nested absmax + the float32
 * offset). The per-tensor code tables (16 and 256 float32 values) are not counted.
 */
export function bitsPerParam(q: Nf4Quantized | Nf4DoubleQuantized): {
  codes: number;
  absmax: number;
  total: number;
} {
  if (blockCount(q.n, q.blocksize) !== q.absmax.length) {
    throw new Error(`absmax has ${q.absmax.length} entries, expected ceil(${q.n}/${q.blocksize})`);
  }
  const codeBytes = q.packed.byteLength;
  const absmaxBytes = isDoubleQuantized(q)
    ? q.absmax.byteLength + q.nested.absmax.byteLength + 4
    : q.absmax.byteLength;
  const codes = (8 * codeBytes) / q.n;
  const absmax = (8 * absmaxBytes) / q.n;
  return { codes, absmax, total: codes + absmax };
}
