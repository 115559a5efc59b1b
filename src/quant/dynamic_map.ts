/**
 * bitsandbytes' 8-bit dynamic (dynamic-exponent) quantization map, `create_dynamic_map`, and
 * blockwise 8-bit quantization against a map (used to double-quantize NF4 absmax values).
 *
 * The map is built as bitsandbytes builds it, in float32: for each exponent i < maxExponentBits,
 * the midpoints of torch.linspace(0.1, 1, k_i) scaled by 10^(i - (maxExponentBits-1)), with both
 * signs when signed, plus 0 and 1.0, sorted ascending. torch.linspace is reproduced as PyTorch 2.x
 * rounds it on x86-64 with AVX2/AVX-512 (see dynamicMapLinspace). Other PyTorch builds round some
 * linspace points one float32 ulp apart (measured: PyTorch 2.11's portable kernel, ATEN_CPU_CAPABILITY=
 * default, differs in 42 of the 256 signed-map entries; PyTorch 1.13 differs by build too), so a
 * map made elsewhere can differ in those entries. bitsandbytes stores the map it used next to
 * the codes (`nested_quant_map`), and readers use that stored map.
 */
import { blockCount, decisionThresholds, quantizeToIndices, validateBlocksize } from "./blockwise";

const f32 = Math.fround;

/**
 * torch.linspace(0.1, 1, steps) in float32 as PyTorch 2.x computes it on x86-64 CPUs with AVX2 or
 * AVX-512 (any recent one): step = (1 - 0.1f) / (steps - 1) in float32, then point i is
 * fma(step, i, 0.1f) below steps/2 and fma(-step, steps-1-i, 1) from there on, each rounded once
 * (the compiler fuses the multiply-add). Here step*i is exact in a double and so is the sum (it
 * spans fewer than 53 bits), so rounding the double to float32 is that fused result.
 */
export function dynamicMapLinspace(steps: number): Float32Array {
  const start = f32(0.1);
  const end = 1;
  const out = new Float32Array(steps);
  if (steps === 1) {
    out[0] = start;
    return out;
  }
  const step = f32(f32(end - start) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) {
    out[i] = i < halfway ? start + step * i : end - step * (steps - i - 1);
  }
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
    addScaled(midpoints(dynamicMapLinspace(fractionItems)), -(maxExponentBits - 1) + i);
  }
  const additionalItems = 2 ** (nonSignBits - maxExponentBits) - 1;
  if (additionalItems > 0) {
    // Uses the last exponent of the loop above, as bitsandbytes does.
    addScaled(midpoints(dynamicMapLinspace(additionalItems + 1)), 0);
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
