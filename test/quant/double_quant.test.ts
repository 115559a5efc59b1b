import { test } from "node:test";
import assert from "node:assert/strict";
import {
  DYNAMIC_MAP,
  NESTED_BLOCKSIZE,
  bitsPerParam,
  dequantizeAbsmax,
  dequantizeNf4Double,
  quantizeNf4Double,
} from "../../src/quant/double_quant";
import { NF4_CODE, dequantizeNf4, quantizeNf4, unpackNf4Codes } from "../../src/quant/nf4";
import { Rng } from "../../src/util/rng";

const f = Math.fround;

/**
 * Bound on |dequant8(quant8(s)) - s| for |s| <= 1 with the signed dynamic map, in units of the
 * block absmax. Exponent i = 0..6 holds the midpoints of 2^i equal intervals of [0.1, 1] scaled by
 * 10^(i-6): neighbours 10^(i-6) * 0.9 / 2^i apart. Below 10^(i-6) the gaps are at most that wide
 * (the jump from exponent i-1 to i, 0.0986 -> 0.1070 in units of 10^(i-6), is narrower; so is
 * 0 -> 5.5e-7 and 0.99297 -> 1), so the nearest entry is within half of it.
 */
function halfStep(absS: number): number {
  for (let i = 0; i <= 6; i++) {
    const decade = 10 ** (i - 6);
    if (absS <= decade) return (decade * 0.9) / 2 ** (i + 1);
  }
  throw new Error(`|s| = ${absS} > 1`);
}

function sampleWeights(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const blockScale = 0.01 + 2 * ((Math.floor(i / 64) * 0.618) % 1); // absmax varies per block
    x[i] = (rng.next() + rng.next() + rng.next() - 1.5) * blockScale;
  }
  return x;
}

test("double quantization: same NF4 codes, offset = mean(absmax), absmax within the 8-bit map's step", () => {
  const n = 64 * 256 * 3 + 64 * 5 + 7; // 3 full nested blocks and a partial one; odd n
  const x = sampleWeights(n, 1);
  const plain = quantizeNf4(x, 64);
  const dq = quantizeNf4Double(x, 64);
  assert.deepEqual(dq.packed, plain.packed);
  assert.equal(dq.absmax.length, plain.absmax.length);
  assert.equal(dq.nested.blocksize, NESTED_BLOCKSIZE);
  assert.equal(dq.nested.absmax.length, 4);
  assert.equal(dq.nested.code, DYNAMIC_MAP);
  let sum = 0;
  for (const a of plain.absmax) sum += a;
  assert.equal(dq.nested.offset, f(sum / plain.absmax.length));

  // Each absmax a_b: s = (a_b - offset) / M (M = its nested block's absmax) is quantized with the
  // map, so |a'_b - a_b| <= M * halfStep(|s|), plus float32 rounding (the map's entries, s, the
  // product and the + offset), covered by 2^-20 * (M + |offset| + a_b).
  const absmaxDq = dequantizeAbsmax(dq.absmax, dq.nested);
  const bounds = new Float64Array(plain.absmax.length);
  for (let b = 0; b < plain.absmax.length; b++) {
    const a = plain.absmax[b];
    const m = dq.nested.absmax[Math.floor(b / 256)];
    const s = (a - dq.nested.offset) / m;
    bounds[b] = m * halfStep(Math.abs(s)) + 2 ** -20 * (m + Math.abs(dq.nested.offset) + a);
    assert.ok(Math.abs(absmaxDq[b] - a) <= bounds[b], `absmax ${b}: ${absmaxDq[b]} vs ${a}`);
  }

  // The weights share the NF4 codes, so they differ by |code| * (a'_b - a_b) (+ one rounding).
  const wPlain = dequantizeNf4(plain.packed, plain.absmax, n, 64);
  const wDouble = dequantizeNf4Double(dq);
  const codes = unpackNf4Codes(dq.packed, n);
  for (let i = 0; i < n; i++) {
    const b = Math.floor(i / 64);
    const bound = Math.abs(NF4_CODE[codes[i]]) * bounds[b] + 2 ** -23 * Math.abs(wPlain[i]);
    assert.ok(Math.abs(wDouble[i] - wPlain[i]) <= bound, `weight ${i}`);
  }
});

test("dequantized absmax by hand: code[q] * nested absmax + offset in float32", () => {
  // absmax [1, 3]: offset 2, centered [-1, 1], nested absmax 1, codes 0 and 255 of the signed map
  // (-0.99296875 and 1.0): dequantized [2 - 0.99296875, 3] = [1.00703125, 3] in float32.
  const x = new Float32Array(128);
  x[0] = -1; // block 0 absmax 1
  x[64] = 3; // block 1 absmax 3
  const q = quantizeNf4Double(x, 64);
  assert.equal(q.nested.offset, 2);
  assert.deepEqual(Array.from(q.absmax), [0, 255]);
  assert.deepEqual(Array.from(q.nested.absmax), [1]);
  const a = dequantizeAbsmax(q.absmax, q.nested);
  assert.equal(a[0], f(DYNAMIC_MAP[0] + 2));
  assert.ok(Math.abs(a[0] - 1.00703125) < 1e-7);
  assert.equal(a[1], 3);
});

test("storage per parameter from the array sizes: 0.5 bits of absmax plain, ~0.127 double", () => {
  // n = 64 * 256 * 16 = 262144 values: 4096 NF4 blocks, 16 nested blocks.
  // codes: 131072 bytes -> 4 bits/param.
  // plain absmax: 4096 float32 = 131072 bits -> 0.5 bits/param.
  // double: 4096 uint8 + 16 float32 + 1 float32 offset = 4164 bytes = 33312 bits -> 0.1270751953125
  // (QLoRA's 8/64 + 32/(64*256) = 0.126953125, plus 32/262144 for the offset).
  const x = sampleWeights(64 * 256 * 16, 2);
  const plain = bitsPerParam(quantizeNf4(x, 64));
  assert.deepEqual(plain, { codes: 4, absmax: 0.5, total: 4.5 });
  const dbl = bitsPerParam(quantizeNf4Double(x, 64));
  assert.equal(dbl.codes, 4);
  assert.equal(dbl.absmax, 0.1270751953125);
  assert.equal(dbl.total, 4.1270751953125);
});
