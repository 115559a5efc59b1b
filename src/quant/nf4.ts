/**
 * NF4 (4-bit NormalFloat, QLoRA) blockwise quantization, bit-compatible with bitsandbytes'
 * reference backend: blockwise absmax (default blocksize 64), nearest of the 16 NF4 values in
 * float32 (ties to the lower index), two codes per byte with the FIRST value in the HIGH nibble.
 * For odd n the flattened values are padded with one 0.0 before quantization, so the low nibble
 * of the last byte is the code of 0.0 (index 7), as bitsandbytes writes it.
 */
import {
  blockCount,
  codeIndex,
  decisionThresholds,
  quantizeToIndices,
  validateBlocksize,
} from "./blockwise";

/** The 16 NF4 values (bitsandbytes' table, float32), index 0..15. */
export const NF4_CODE: Float32Array = Float32Array.from([
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
  -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
  0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
  0.7229568362236023, 1.0,
]);

const NF4_THRESHOLDS = decisionThresholds(NF4_CODE);

/** The code of the 0.0 that pads an odd-length tensor (index 7). */
export const NF4_PAD_CODE = codeIndex(NF4_THRESHOLDS, 0);

/** NF4 quantization of one flattened tensor. */
export interface Nf4Quantized {
  /** ceil(n/2) bytes, byte j = code[2j] << 4 | code[2j+1]. */
  packed: Uint8Array;
  /** float32 absmax of each block, ceil(n/blocksize) values. */
  absmax: Float32Array;
  /** Number of values. */
  n: number;
  blocksize: number;
}

/** Index of the NF4 code nearest to a scaled value in [-1, 1] (float32 argmin). */
export function nf4Index(scaled: number): number {
  return codeIndex(NF4_THRESHOLDS, scaled);
}

/** Quantize a row-major flattened tensor to packed NF4 codes plus per-block absmax. */
export function quantizeNf4(x: Float32Array, blocksize = 64): Nf4Quantized {
  validateBlocksize(blocksize);
  const { indices, absmax } = quantizeToIndices(x, NF4_THRESHOLDS, blocksize);
  const n = x.length;
  const packed = new Uint8Array(Math.ceil(n / 2));
  for (let j = 0; j < packed.length; j++) {
    const lowIdx = 2 * j + 1;
    packed[j] = (indices[2 * j] << 4) | (lowIdx < n ? indices[lowIdx] : NF4_PAD_CODE);
  }
  return { packed, absmax, n, blocksize };
}

function checkPackedLength(packed: Uint8Array, n: number): void {
  if (packed.length !== Math.ceil(n / 2)) {
    throw new Error(`packed NF4 data has ${packed.length} bytes, expected ceil(${n}/2)`);
  }
}

/** The n 4-bit codes (0..15) of a packed NF4 tensor, high nibble first. */
export function unpackNf4Codes(packed: Uint8Array, n: number): Uint8Array {
  checkPackedLength(packed, n);
  const codes = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const byte = packed[i >> 1];
    codes[i] = i & 1 ? byte & 0x0f : byte >> 4;
  }
  return codes;
}

/** Dequantize packed NF4 codes: value = NF4_CODE[code] * absmax[block], in float32. */
export function dequantizeNf4(
  packed: Uint8Array,
  absmax: Float32Array,
  n: number,
  blocksize: number,
): Float32Array {
  validateBlocksize(blocksize);
  if (absmax.length !== blockCount(n, blocksize)) {
    throw new Error(
      `NF4 absmax has ${absmax.length} values, expected ceil(${n}/${blocksize}) = ${blockCount(n, blocksize)}`,
    );
  }
  checkPackedLength(packed, n);
  const out = new Float32Array(n);
  // Blocks start at even indices (blocksize is even), so each byte's two values fall in one block.
  for (let b = 0; b < absmax.length; b++) {
    const scale = absmax[b];
    const end = Math.min(n, (b + 1) * blocksize);
    let i = b * blocksize;
    for (; i + 1 < end; i += 2) {
      const byte = packed[i >> 1];
      out[i] = HIGH_VALUE[byte] * scale;
      out[i + 1] = LOW_VALUE[byte] * scale;
    }
    if (i < end) out[i] = HIGH_VALUE[packed[i >> 1]] * scale;
  }
  return out;
}

/** The NF4 values of each byte's high and low nibble: one lookup per value, no branch. */
const HIGH_VALUE = Float32Array.from({ length: 256 }, (_, byte) => NF4_CODE[byte >> 4]);
const LOW_VALUE = Float32Array.from({ length: 256 }, (_, byte) => NF4_CODE[byte & 0x0f]);
