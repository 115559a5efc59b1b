/**
 * bitsandbytes' 8-bit dynamic (dynamic-exponent) quantization map, `create_dynamic_map`, and
 * blockwise 8-bit quantization against a map (used to double-quantize NF4 absmax values).
 *
 * The map is built as bitsandbytes builds it, in float32: for each exponent i < maxExponentBits,
 * the midpoints of torch.linspace(0.1, 1, k_i) scaled by 10^(i - (maxExponentBits-1)), with both
 * signs when signed, plus 0 and 1.0, sorted ascending. torch.linspace itself is reproduced as
 * PyTorch's portable CPU kernel rounds it (see torchLinspaceF32); PyTorch builds using AVX2 or
 * AVX-512 kernels round a few linspace points differently (by one float32 ulp), so a map made on
 * such a machine can differ in a few entries. bitsandbytes stores the map it used next to the
 * codes (`nested_quant_map`), and readers use that stored map.
 */
import { blockCount, decisionThresholds, quantizeToIndices, validateBlocksize } from "./blockwise";

const f32 = Math.fround;

/**
 * torch.linspace(start, end, steps) in float32 as PyTorch's portable CPU kernel computes it:
 * step = (end - start) / (steps - 1); point i is start + step*i below steps/2, else
 * end - step*(steps-1-i). The kernel writes 16 points at a time as two 8-lane vectors whose lane
 * k is (vector's first point) + k*step; the remaining (< 16) points are written one by one.
 */
export function torchLinspaceF32(start: number, end: number, steps: number): Float32Array {
  const a = f32(start);
  const b = f32(end);
  const out = new Float32Array(steps);
  if (steps === 1) {
    out[0] = a;
    return out;
  }
  const step = f32(f32(b - a) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  const point = (i: number): number =>
    i < halfway ? f32(a + f32(step * i)) : f32(b - f32(step * (steps - i - 1)));
  const LANES = 8;
  const vectorized = Math.floor(steps / (2 * LANES)) * 2 * LANES;
  for (let v = 0; v < vectorized; v += LANES) {
    const base = point(v);
    out[v] = base;
    for (let k = 1; k < LANES; k++) out[v + k] = f32(base + f32(k * step));
  }
  for (let i = vectorized; i < steps; i++) out[i] = point(i);
  return out;
}

/** Midpoints (b[i] + b[i+1]) / 2 of consecutive float32 boundaries, in float32. */
function midpoints(boundaries: Float32Array): Float32Array {
  const out = new Float32Array(boundaries.length - 1);
  for (let i = 0; i < out.length; i++) out[i] = f32(boundaries[i] + boundaries[i + 1]) / 2;
  return out;
}

/** bitsandbytes' create_dynamic_map(signed, max_exponent_bits, total_bits): 256 float32 values. */
export function createDynamicMap(signed = true, maxExponentBits = 7, totalBits = 8): Float32Array {
  // bitsandbytes: non_sign_bits = total_bits - 1 whether signed or not.
  const nonSignBits = totalBits - 1;
  if (
    !Number.isInteger(totalBits) ||
    !Number.isInteger(maxExponentBits) ||
    totalBits < 2 ||
    totalBits > 8 ||
    maxExponentBits < 1 ||
    maxExponentBits > nonSignBits
  ) {
    throw new Error(
      `createDynamicMap: need integers 2 <= totalBits <= 8 and 1 <= maxExponentBits <= totalBits-1, got totalBits=${totalBits}, maxExponentBits=${maxExponentBits}`,
    );
  }
  const data: number[] = [];
  const addScaled = (means: Float32Array, exponent: number): void => {
    const scale = f32(Number(`1e${exponent}`)); // the Python scalar 10**e, cast to float32
    for (const m of means) data.push(f32(scale * m));
    if (signed) for (const m of means) data.push(-f32(scale * m));
  };
  for (let i = 0; i < maxExponentBits; i++) {
    const fractionItems = 2 ** (i + nonSignBits - maxExponentBits + (signed ? 0 : 1)) + 1;
    addScaled(midpoints(torchLinspaceF32(0.1, 1, fractionItems)), -(maxExponentBits - 1) + i);
  }
  const additionalItems = 2 ** (nonSignBits - maxExponentBits) - 1;
  if (additionalItems > 0) {
    // Uses the last exponent of the loop above, as bitsandbytes does.
    addScaled(midpoints(torchLinspaceF32(0.1, 1, additionalItems + 1)), 0);
  }
  data.push(0, 1.0);
  if (data.length !== 2 ** totalBits) {
    throw new Error(
      `createDynamicMap(signed=${signed}, maxExponentBits=${maxExponentBits}, totalBits=${totalBits}) makes ${data.length} values, not 2^${totalBits} (bitsandbytes asserts the same)`,
    );
  }
  while (data.length < 256) data.push(0);
  return Float32Array.from(data.sort((x, y) => x - y));
}

/** 8-bit blockwise quantization of `x` against a strictly increasing 256-entry map. */
export function quantizeBlockwise8(
  x: Float32Array,
  code: Float32Array,
  blocksize = 256,
): { q: Uint8Array; absmax: Float32Array } {
  validateBlocksize(blocksize);
  if (code.length !== 256)
    throw new Error(`8-bit code map must have 256 values, got ${code.length}`);
  const { indices, absmax } = quantizeToIndices(x, decisionThresholds(code), blocksize);
  return { q: indices, absmax };
}

/** Dequantize 8-bit blockwise codes: value = code[q] * absmax[block], in float32. */
export function dequantizeBlockwise8(
  q: Uint8Array,
  absmax: Float32Array,
  code: Float32Array,
  blocksize = 256,
): Float32Array {
  validateBlocksize(blocksize);
  if (code.length !== 256)
    throw new Error(`8-bit code map must have 256 values, got ${code.length}`);
  if (absmax.length !== blockCount(q.length, blocksize)) {
    throw new Error(
      `8-bit absmax has ${absmax.length} values, expected ceil(${q.length}/${blocksize}) = ${blockCount(q.length, blocksize)}`,
    );
  }
  const out = new Float32Array(q.length);
  for (let b = 0; b < absmax.length; b++) {
    const scale = absmax[b];
    const end = Math.min(q.length, (b + 1) * blocksize);
    for (let i = b * blocksize; i < end; i++) out[i] = code[q[i]] * scale;
  }
  return out;
}
