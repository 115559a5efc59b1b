/**
 * Blockwise absmax quantization against a code table, as bitsandbytes' reference (pure PyTorch)
 * backend computes it in float32: per block of `blocksize` consecutive values of the row-major
 * flattened tensor (a partial last block gets its own absmax),
 *   scaled = clamp(x * (1 / absmax), -1, 1)          (reciprocal, then multiply: float32 each)
 *   index  = argmin_i |scaled - code[i]|              (first minimum wins; NaN gives index 0)
 * A block of zeros has absmax 0, so 1/absmax is Infinity, 0 * Infinity is NaN, and PyTorch's
 * argmin returns index 0 for it; dequantization still gives code[0] * 0 = 0.
 *
 * Rather than scanning the table per value, the table's decision thresholds are found once: the
 * argmin between two neighbouring codes flips exactly once as `scaled` grows, so the smallest
 * float32 value at which the upper code wins is found by bisection over float32 values. The
 * index is then the number of thresholds <= scaled, identical to the float32 argmin.
 */

const f32 = Math.fround;

/** Throws unless `blocksize` is a power of two in 32..4096 (the sizes bitsandbytes accepts). */
export function validateBlocksize(blocksize: number, what = "blocksize"): void {
  if (
    !Number.isInteger(blocksize) ||
    blocksize < 32 ||
    blocksize > 4096 ||
    (blocksize & (blocksize - 1)) !== 0
  ) {
    throw new Error(`${what} must be a power of two in 32..4096, got ${blocksize}`);
  }
}

/** Number of blocks of `blocksize` covering `n` values (the last one may be partial). */
export function blockCount(n: number, blocksize: number): number {
  return Math.ceil(n / blocksize);
}

// float32 values ordered as integers: key(a) < key(b) iff a < b (for non-NaN a, b).
const bitsView = new DataView(new ArrayBuffer(4));
function f32Key(x: number): number {
  bitsView.setFloat32(0, x);
  const bits = bitsView.getInt32(0);
  return bits >= 0 ? bits : -(bits & 0x7fffffff);
}
function keyToF32(key: number): number {
  bitsView.setInt32(0, key >= 0 ? key : -key | 0x80000000);
  return bitsView.getFloat32(0);
}

/** float32 |s - c|, as PyTorch computes the argmin distances. */
function dist(s: number, c: number): number {
  return Math.abs(f32(s - c));
}

/**
 * Decision thresholds of a strictly increasing float32 code table: thresholds[i] is the smallest
 * float32 s in (code[i], code[i+1]] for which the float32 argmin picks code[i+1] over code[i].
 */
export function decisionThresholds(code: Float32Array): Float32Array {
  for (let i = 1; i < code.length; i++) {
    if (!(code[i] > code[i - 1])) {
      throw new Error(
        `code table must be strictly increasing: code[${i - 1}]=${code[i - 1]}, code[${i}]=${code[i]}`,
      );
    }
  }
  const out = new Float32Array(Math.max(0, code.length - 1));
  for (let i = 0; i + 1 < code.length; i++) {
    const lo = code[i];
    const hi = code[i + 1];
    // Invariant: the upper code does not win at keyLo, does win at keyHi (dist(hi, hi) = 0).
    let keyLo = f32Key(lo);
    let keyHi = f32Key(hi);
    while (keyHi - keyLo > 1) {
      const mid = Math.floor((keyLo + keyHi) / 2);
      const s = keyToF32(mid);
      if (dist(s, hi) < dist(s, lo)) keyHi = mid;
      else keyLo = mid;
    }
    out[i] = keyToF32(keyHi);
  }
  return out;
}

/** Index of the code nearest to `scaled` (float32 argmin, ties to the lower index, NaN -> 0). */
export function codeIndex(thresholds: Float32Array, scaled: number): number {
  // Count thresholds <= scaled by binary search; NaN compares false everywhere and gives 0.
  let lo = 0;
  let hi = thresholds.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (thresholds[mid] <= scaled) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * codeIndex for a 16-entry table (NF4, FP4): the number of its 15 sorted thresholds <= s, found
 * in four steps without branches (a comparison's 0 or 1 moves the position), which runs several
 * times faster than a bisection whose branches the processor cannot predict. NaN compares false
 * everywhere and gives 0, as codeIndex does.
 */
function countAtMost15(t: Float32Array, s: number): number {
  let at = +(t[7] <= s) << 3;
  at += +(t[at + 3] <= s) << 2;
  at += +(t[at + 1] <= s) << 1;
  return at + +(t[at] <= s);
}

/** Per-block absmax of `x` (float32 max of |x|); throws on a non-finite input value. */
export function blockAbsmax(x: Float32Array, blocksize: number): Float32Array {
  const absmax = new Float32Array(blockCount(x.length, blocksize));
  for (let b = 0; b < absmax.length; b++) {
    const end = Math.min(x.length, (b + 1) * blocksize);
    let m = 0;
    let poison = 0; // v - v is NaN exactly when v is NaN or infinite
    for (let i = b * blocksize; i < end; i++) {
      const v = x[i];
      poison += v - v;
      const a = Math.abs(v);
      if (a > m) m = a;
    }
    if (poison !== 0) {
      for (let i = b * blocksize; i < end; i++) {
        if (!Number.isFinite(x[i])) {
          throw new Error(`cannot quantize non-finite value ${x[i]} at index ${i}`);
        }
      }
    }
    absmax[b] = m;
  }
  return absmax;
}

/**
 * Quantize `x` blockwise to indices into a code table (given by its decision thresholds).
 * Returns one index per value and the float32 absmax of each block.
 */
export function quantizeToIndices(
  x: Float32Array,
  thresholds: Float32Array,
  blocksize: number,
): { indices: Uint8Array; absmax: Float32Array } {
  const absmax = blockAbsmax(x, blocksize);
  const indices = new Uint8Array(x.length);
  const nt = thresholds.length;
  for (let b = 0; b < absmax.length; b++) {
    const inv = f32(1 / absmax[b]);
    const end = Math.min(x.length, (b + 1) * blocksize);
    for (let i = b * blocksize; i < end; i++) {
      let s = f32(x[i] * inv);
      if (s > 1) s = 1;
      else if (s < -1) s = -1;
      indices[i] = nt === 15 ? countAtMost15(thresholds, s) : codeIndex(thresholds, s);
    }
  }
  return { indices, absmax };
}
