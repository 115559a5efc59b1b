import { test } from "node:test";
import assert from "node:assert/strict";
import {
  NF4_CODE,
  NF4_PAD_CODE,
  dequantizeNf4,
  nf4Index,
  quantizeNf4,
  unpackNf4Codes,
} from "../../src/quant/nf4";
import { Rng } from "../../src/util/rng";

const f = Math.fround;

/** Reference: float32 argmin over all 16 codes, first minimum wins, NaN -> 0 (torch.argmin). */
function bruteIndex(scaled: number): number {
  if (Number.isNaN(scaled)) return 0;
  let best = 0;
  let bestD = Infinity;
  for (let i = 0; i < 16; i++) {
    const d = Math.abs(f(scaled - NF4_CODE[i]));
    if (d < bestD) {
      bestD = d;
      best = i;
    }
  }
  return best;
}

/** Next float32 after x in the direction of `toward`. */
function nextF32(x: number, toward: number): number {
  const v = new DataView(new ArrayBuffer(4));
  v.setFloat32(0, x);
  const bits = v.getInt32(0);
  // For positive x, bigger bits = bigger value; for negative x, bigger bits = more negative.
  v.setInt32(0, bits + (toward > x === x >= 0 ? 1 : -1));
  return v.getFloat32(0);
}

test("NF4 table: the 16 bitsandbytes values in float32, increasing, from -1 to 1 with 0 at index 7", () => {
  assert.equal(NF4_CODE.length, 16);
  assert.equal(NF4_CODE[0], -1);
  assert.equal(NF4_CODE[7], 0);
  assert.equal(NF4_CODE[15], 1);
  assert.equal(NF4_CODE[8], f(0.07958029955625534));
  assert.equal(NF4_CODE[1], f(-0.6961928009986877));
  for (let i = 1; i < 16; i++) assert.ok(NF4_CODE[i] > NF4_CODE[i - 1]);
  assert.equal(NF4_PAD_CODE, 7);
});

test("NF4 table: every value equals bitsandbytes' table at float32 equality", () => {
  // bitsandbytes' NF4 code values, index 0..15, written out as bitsandbytes lists them.
  const bnb = [
    -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
    -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
    0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
    0.7229568362236023, 1.0,
  ];
  assert.equal(NF4_CODE.length, bnb.length);
  // Each literal is a float32 value (its float32 rounding is itself), and the table holds exactly it.
  bnb.forEach((v, i) => {
    assert.equal(f(v), v, `literal ${i} is a float32 value`);
    assert.ok(Object.is(NF4_CODE[i], v), `NF4_CODE[${i}] = ${NF4_CODE[i]}, bitsandbytes ${v}`);
  });
  // The same as raw float32 bit patterns (computed once with Python's struct.pack("<f", v)).
  const bits = Array.from(new Uint32Array(NF4_CODE.slice().buffer), (b) => b.toString(16));
  assert.deepEqual(bits, [
    "bf800000",
    "bf3239b1",
    "bf066b30",
    "beca32a0",
    "be91a24d",
    "be3d353f",
    "bdba7871",
    "0",
    "3da2faff",
    "3e24cae3",
    "3e7c04dd",
    "3ead033a",
    "3ee1a4b8",
    "3f1007ab",
    "3f3913b3",
    "3f800000",
  ]);
});

test("hand-worked vector of 70 with blocksize 64: codes, packed bytes, absmax, dequantized", () => {
  // Block 0 (64 values) repeats [2, -2, 0, 0.5, -0.5, 1, -1, 0.3] eight times.
  //   absmax = 2, 1/absmax = 0.5 (exact), scaled = x/2 = [1, -1, 0, 0.25, -0.25, 0.5, -0.5, 0.15]
  //   (0.3 is 0.30000001192 in float32, so 0.15000000596).
  //   nearest codes: 1 -> 15; -1 -> 0; 0 -> 7;
  //   0.25  -> 10 (0.24611, |d|=0.0039; next 11 at 0.33792, 0.0879)
  //   -0.25 -> 4  (-0.28444, 0.0344; next 5 at -0.18477, 0.0652)
  //   0.5   -> 12 (0.44071, 0.0593; next 13 at 0.56262, 0.0626)
  //   -0.5  -> 2  (-0.52507, 0.0251; next 3 at -0.39492, 0.1051)
  //   0.15  -> 9  (0.16093, 0.0109; next 8 at 0.07958, 0.0704)
  //   pairs (15,0) (7,10) (4,12) (2,9) -> bytes F0 7A 4C 29, eight times.
  // Block 1 (6 values, partial): [0.75, -0.375, 0.1, 0.6, -0.7, 0]
  //   absmax = 0.75, 1/0.75 in float32 = 1.33333337306976
  //   0.75  * r = 1.00000002980 -> float32 1.0          -> 15
  //   -0.375* r = -0.5000000149 -> float32 -0.5         -> 2
  //   0.1   * r (0.1 is 0.10000000149) = 0.13333334029 -> 9 (0.16093, 0.0276; 8 at 0.0538)
  //   0.6   * r (0.6 is 0.60000002384) = 0.80000007153 -> 14 (0.72296, 0.0770; 15 at 0.2)
  //   -0.7  * r (-0.69999998808)       = -0.9333333373 -> 0 (-1, 0.0667; 1 at 0.2371)
  //   0 -> 7
  //   pairs (15,2) (9,14) (0,7) -> bytes F2 9E 07.
  const pattern = [2, -2, 0, 0.5, -0.5, 1, -1, 0.3];
  const x = new Float32Array(70);
  for (let i = 0; i < 64; i++) x[i] = pattern[i % 8];
  x.set([0.75, -0.375, 0.1, 0.6, -0.7, 0], 64);
  const q = quantizeNf4(x, 64);
  assert.equal(q.n, 70);
  assert.equal(q.blocksize, 64);
  assert.deepEqual(Array.from(q.absmax), [2, 0.75]);
  const expectedBytes = [...Array(8).fill([0xf0, 0x7a, 0x4c, 0x29]).flat(), 0xf2, 0x9e, 0x07];
  assert.deepEqual(Array.from(q.packed), expectedBytes);
  const codes = Array.from(unpackNf4Codes(q.packed, 70));
  assert.deepEqual(codes.slice(0, 8), [15, 0, 7, 10, 4, 12, 2, 9]);
  assert.deepEqual(codes.slice(64), [15, 2, 9, 14, 0, 7]);
  // Dequantized: code value times the block's absmax, rounded to float32.
  const dq = dequantizeNf4(q.packed, q.absmax, q.n, q.blocksize);
  assert.equal(dq[3], f(0.24611230194568634 * 2));
  assert.equal(dq[7], f(0.16093020141124725 * 2));
  assert.equal(dq[64], 0.75);
  assert.equal(dq[67], f(0.7229568362236023 * 0.75));
  assert.equal(dq[68], -0.75);
});

test("an all-zero block: absmax 0, codes 0 (0 * 1/0 is NaN, argmin gives index 0), dequant 0", () => {
  // 65 zeros, blocksize 64: block 0 has 64 zeros, block 1 one zero; both absmax 0.
  // scaled = 0 * Infinity = NaN -> index 0 (as torch.argmin on NaN distances).
  // n = 65 is odd: the pad value 0.0 is added after scaling, so its code is 7.
  // bytes: 32 x 0x00 (codes 0,0), then (0 << 4) | 7 = 0x07.
  const q = quantizeNf4(new Float32Array(65), 64);
  assert.deepEqual(Array.from(q.absmax), [0, 0]);
  assert.deepEqual(Array.from(q.packed), [...new Array(32).fill(0x00), 0x07]);
  const dq = dequantizeNf4(q.packed, q.absmax, 65, 64);
  for (const v of dq) assert.equal(Math.abs(v), 0);
});

test("exact midpoints break to the lower index, on both sides of zero", () => {
  // c8 = 0.07958029955625534 (float32). c8/2 is exact in float32 (halving), so at s = c8/2:
  // |s - c7| = |s - 0| = c8/2 and |s - c8| = c8/2 exactly: a tie, and the first index (7) wins.
  // One ulp above (2^-28 in [2^-5, 2^-4)), |s - c8| = c8/2 - 2^-28 < s: index 8.
  const c8 = NF4_CODE[8];
  const mid78 = c8 / 2;
  assert.equal(f(mid78), mid78);
  assert.equal(nf4Index(mid78), 7);
  assert.equal(nf4Index(mid78 + 2 ** -28), 8);
  // c6 = -0.09105003625154495: s = c6/2 ties between 6 and 7 -> 6 (the lower index, away from 0);
  // one ulp toward zero (2^-28) -> 7.
  const mid67 = NF4_CODE[6] / 2;
  assert.equal(nf4Index(mid67), 6);
  assert.equal(nf4Index(mid67 + 2 ** -28), 7);
  // The same through quantizeNf4, with absmax 1 so that scaled = x exactly.
  const q = quantizeNf4(
    Float32Array.from([1, mid78, mid78 + 2 ** -28, mid67, mid67 + 2 ** -28, 0]),
  );
  assert.deepEqual(Array.from(unpackNf4Codes(q.packed, 6)), [15, 7, 8, 6, 7, 7]);
});

test("nearest-code search equals a brute-force float32 argmin around every midpoint and at random", () => {
  const probes: number[] = [NaN, -1, 1, 0, -0];
  for (let i = 0; i < 15; i++) {
    let s = f((NF4_CODE[i] + NF4_CODE[i + 1]) / 2);
    for (let k = 0; k < 4; k++) s = nextF32(s, -2);
    for (let k = 0; k < 9; k++) {
      probes.push(s);
      s = nextF32(s, 2);
    }
  }
  const rng = new Rng(11);
  for (let i = 0; i < 20000; i++) probes.push(f(rng.next() * 2 - 1));
  for (const s of probes) assert.equal(nf4Index(s), bruteIndex(s), `scaled ${s}`);
  // The quantizer's own search on the same values: each block of 64 starts with 1.0, so its
  // absmax is 1 and the scaled values are the probes themselves.
  const finite = probes.filter((s) => !Number.isNaN(s));
  const blocks = Math.ceil(finite.length / 63);
  const x = new Float32Array(blocks * 64);
  finite.forEach((s, i) => (x[Math.floor(i / 63) * 64 + 1 + (i % 63)] = s));
  for (let b = 0; b < blocks; b++) x[b * 64] = 1;
  const codes = unpackNf4Codes(quantizeNf4(x, 64).packed, x.length);
  finite.forEach((s, i) =>
    assert.equal(codes[Math.floor(i / 63) * 64 + 1 + (i % 63)], bruteIndex(s), `quantized ${s}`),
  );
});

test("the largest magnitude maps to codes 15 / 0 even when x * (1/absmax) rounds below 1", () => {
  // absmax 2.5625: 1/2.5625 = 0.39024388790 in float32 and 2.5625 * that = 0.99999994 (not 1).
  // 0.99999994 is still nearest to 1.0 (index 15), -0.99999994 to -1.0 (index 0).
  // The clamp to [-1, 1] never changes a code: |scaled| <= 1 already for the absmax element.
  const a = 2.5625;
  assert.equal(f(a * f(1 / a)), f(1 - 2 ** -24));
  const q = quantizeNf4(Float32Array.from([a, -a, 0.5]));
  // 0.5 / 2.5625 = 0.1951: 0.16093 (index 9) is 0.0342 away, 0.24611 (index 10) 0.0510 -> 9.
  assert.deepEqual(Array.from(unpackNf4Codes(q.packed, 3)), [15, 0, 9]);
  const dq = dequantizeNf4(q.packed, q.absmax, 3, 64);
  assert.equal(dq[0], a);
  assert.equal(dq[1], -a);
});

test("odd length: the first value in the high nibble, the pad in the low nibble is code 7", () => {
  // [1, -1, 0.5]: absmax 1, codes 15, 0, 12 -> bytes (15<<4)|0 = 0xF0, (12<<4)|7 = 0xC7.
  const q = quantizeNf4(Float32Array.from([1, -1, 0.5]));
  assert.deepEqual(Array.from(q.packed), [0xf0, 0xc7]);
  assert.deepEqual(Array.from(unpackNf4Codes(q.packed, 3)), [15, 0, 12]);
  // A single value: [-3] -> absmax 3, code 0, byte 0x07.
  assert.deepEqual(Array.from(quantizeNf4(Float32Array.from([-3])).packed), [0x07]);
});

test("round trip error is at most half the widest NF4 gap times absmax", () => {
  // Widest gap: -1.0 -> -0.6961928 (0.3038), so |x - dq| <= 0.1519 * absmax (+ float32 rounding).
  const rng = new Rng(3);
  const x = new Float32Array(64 * 20 + 17);
  for (let i = 0; i < x.length; i++) x[i] = (rng.next() * 2 - 1) * (1 + (i % 7));
  const q = quantizeNf4(x, 64);
  const dq = dequantizeNf4(q.packed, q.absmax, q.n, 64);
  for (let i = 0; i < x.length; i++) {
    const a = q.absmax[Math.floor(i / 64)];
    assert.ok(Math.abs(x[i] - dq[i]) <= ((1 - 0.6961928009986877) / 2) * a * (1 + 1e-6), `at ${i}`);
  }
});

test("blocksize must be a power of two in 32..4096; other errors are clear", () => {
  const x = new Float32Array(8);
  for (const bs of [16, 48, 8192, 0, 64.5]) {
    assert.throws(() => quantizeNf4(x, bs), /blocksize must be a power of two in 32\.\.4096/);
  }
  for (const bs of [32, 64, 4096]) assert.equal(quantizeNf4(x, bs).blocksize, bs);
  assert.throws(() => quantizeNf4(Float32Array.from([1, NaN])), /non-finite value NaN at index 1/);
  assert.throws(() => unpackNf4Codes(new Uint8Array(3), 7), /3 bytes, expected ceil\(7\/2\)/);
  assert.throws(
    () => dequantizeNf4(new Uint8Array(35), new Float32Array(1), 70, 64),
    /expected ceil\(70\/64\) = 2/,
  );
});
