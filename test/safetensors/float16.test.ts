import { test } from "node:test";
import assert from "node:assert/strict";
import {
  bf16BitsToF32,
  f16BitsToF32,
  f32ToBf16Bits,
  f32ToF16Bits,
  fromFloat32,
  int64ToNumbers,
  numbersToInt64,
  toFloat32,
} from "../../src/safetensors/float16";
import type { TensorEntry } from "../../src/safetensors/safetensors";

// Every expected bit pattern below was worked out by hand from the IEEE layouts:
// binary16 = sign | 5-bit exponent (bias 15) | 10-bit mantissa; bfloat16 = top 16 bits of float32.

test("F16 encoding of ordinary values, extremes and specials", () => {
  const cases: [number, number][] = [
    [1.0, 0x3c00],
    [-2.5, 0xc100], // -1.25 * 2^1: exponent 16, mantissa 0x100
    [0.1, 0x2e66], // 1.6 * 2^-4: exponent 11, mantissa round(0.6 * 1024) = 614
    [65504, 0x7bff], // largest finite
    [65519, 0x7bff], // below the 65520 midpoint
    [65520, 0x7c00], // midpoint between 65504 (odd mantissa) and 2^16: ties to even = infinity
    [1e6, 0x7c00],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [0, 0x0000],
    [-0, 0x8000],
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -24, 0x0001], // smallest subnormal
    [1023 * 2 ** -24, 0x03ff], // largest subnormal
    [1023.5 * 2 ** -24, 0x0400], // tie, odd 1023 rounds up and carries into the exponent
    [2 ** -25, 0x0000], // tie between 0 and 2^-24: even is 0
    [3 * 2 ** -26, 0x0001], // above that tie
    [1.5 * 2 ** -24, 0x0002], // tie between 1 and 2 (x 2^-24): even is 2
    [2.5 * 2 ** -24, 0x0002], // tie between 2 and 3: even is 2
    [-(2 ** -30), 0x8000], // underflow keeps the sign
    [1 + 2 ** -11, 0x3c00], // tie between 1 and 1 + 2^-10: even mantissa 0
    [1 + 3 * 2 ** -11, 0x3c02], // tie between mantissas 1 and 2: even is 2
    [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above the tie
  ];
  for (const [x, bits] of cases) {
    assert.equal(f32ToF16Bits(x), bits, `f16(${x}) = 0x${f32ToF16Bits(x).toString(16)}`);
  }
  const nan = f32ToF16Bits(NaN);
  assert.equal(nan & 0x7c00, 0x7c00, "NaN has an all-ones exponent");
  assert.notEqual(nan & 0x3ff, 0, "NaN has a non-zero mantissa");
});

test("F16 decoding", () => {
  assert.equal(f16BitsToF32(0x3c00), 1);
  assert.equal(f16BitsToF32(0xc100), -2.5);
  assert.equal(f16BitsToF32(0x3555), 1365 / 4096); // exponent 13, mantissa 341: (1 + 341/1024) / 4
  assert.equal(f16BitsToF32(0x7bff), 65504);
  assert.equal(f16BitsToF32(0x0001), 2 ** -24);
  assert.equal(f16BitsToF32(0x03ff), 1023 * 2 ** -24);
  assert.ok(Object.is(f16BitsToF32(0x8000), -0));
  assert.equal(f16BitsToF32(0x7c00), Infinity);
  assert.equal(f16BitsToF32(0xfc00), -Infinity);
  assert.ok(Number.isNaN(f16BitsToF32(0x7e00)));
  assert.ok(Number.isNaN(f16BitsToF32(0x7c01)));
});

test("BF16 encoding rounds to nearest even", () => {
  const cases: [number, number][] = [
    [1.0, 0x3f80],
    [-2.5, 0xc020], // float32 0xc0200000
    [0.1, 0x3dcd], // float32 0x3dcccccd: low half 0xcccd > 0x8000 rounds up
    [65504, 0x4780], // float32 0x477fe000: low half 0xe000 rounds up to 2^16
    [1 + 2 ** -8, 0x3f80], // float32 0x3f808000: tie, even 0x3f80
    [1 + 3 * 2 ** -8, 0x3f82], // float32 0x3f818000: tie, odd 0x3f81 rounds up
    [1 + 2 ** -8 + 2 ** -20, 0x3f81], // above the tie
    [3.4028234663852886e38, 0x7f80], // largest float32 0x7f7fffff rounds to infinity
    [Infinity, 0x7f80],
    [-Infinity, 0xff80],
    [-0, 0x8000],
    [2 ** -133, 0x0001], // float32 subnormal 0x00010000
    [2 ** -149, 0x0000], // float32 0x00000001 rounds down
  ];
  for (const [x, bits] of cases) {
    assert.equal(f32ToBf16Bits(x), bits, `bf16(${x}) = 0x${f32ToBf16Bits(x).toString(16)}`);
  }
  const nan = f32ToBf16Bits(NaN);
  assert.equal(nan & 0x7f80, 0x7f80);
  assert.notEqual(nan & 0x7f, 0);
});

test("BF16 decoding", () => {
  assert.equal(bf16BitsToF32(0x3f80), 1);
  assert.equal(bf16BitsToF32(0xc020), -2.5);
  assert.equal(bf16BitsToF32(0x4049), 3.140625); // float32 0x40490000 = 1.5703125 * 2
  assert.equal(bf16BitsToF32(0x7f80), Infinity);
  assert.equal(bf16BitsToF32(0x0001), 2 ** -133);
  assert.ok(Number.isNaN(bf16BitsToF32(0x7fc0)));
});

test("every finite F16 value survives decode then encode", () => {
  for (let bits = 0; bits < 0x10000; bits++) {
    if ((bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0) continue; // NaN payloads
    assert.equal(f32ToF16Bits(f16BitsToF32(bits)), bits);
  }
});

/** Little-endian bytes written out by hand. */
const bytes = (...b: number[]) => new Uint8Array(b);

test("toFloat32 reads F32, F16, BF16 and F64 bytes", () => {
  const f32: TensorEntry = {
    dtype: "F32",
    shape: [2],
    data: bytes(0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0),
  };
  assert.deepEqual([...toFloat32(f32)], [1, -2]);
  const f16: TensorEntry = {
    dtype: "F16",
    shape: [2, 2],
    data: bytes(0x00, 0x3c, 0x00, 0xc1, 0xff, 0x7b, 0x01, 0x00),
  };
  assert.deepEqual([...toFloat32(f16)], [1, -2.5, 65504, 2 ** -24]);
  const bf16: TensorEntry = { dtype: "BF16", shape: [2], data: bytes(0x80, 0x3f, 0x49, 0x40) };
  assert.deepEqual([...toFloat32(bf16)], [1, 3.140625]);
  // float64 1.5 = 0x3ff8000000000000
  const f64: TensorEntry = { dtype: "F64", shape: [1], data: bytes(0, 0, 0, 0, 0, 0, 0xf8, 0x3f) };
  assert.deepEqual([...toFloat32(f64)], [1.5]);
  assert.throws(
    () => toFloat32({ dtype: "U8", shape: [1], data: bytes(1) }),
    /U8 is not a floating/,
  );
});

test("toFloat32 copes with unaligned views and does not alias the input", () => {
  const backing = bytes(0xaa, 0x00, 0x00, 0x80, 0x3f, 0x80, 0x3f);
  const f32 = toFloat32({ dtype: "F32", shape: [1], data: backing.subarray(1, 5) });
  assert.deepEqual([...f32], [1]);
  f32[0] = 7;
  assert.equal(backing[4], 0x3f);
  assert.deepEqual(
    [...toFloat32({ dtype: "BF16", shape: [1], data: backing.subarray(5, 7) })],
    [1],
  );
});

test("fromFloat32 writes little-endian F16, BF16 and F32 bytes", () => {
  const values = new Float32Array([1, -2.5, 65504]);
  const f16 = fromFloat32(values, "F16", [3]);
  assert.deepEqual([...f16.data], [0x00, 0x3c, 0x00, 0xc1, 0xff, 0x7b]);
  assert.equal(f16.dtype, "F16");
  assert.deepEqual(f16.shape, [3]);
  const bf16 = fromFloat32(values, "BF16", [3, 1]);
  assert.deepEqual([...bf16.data], [0x80, 0x3f, 0x20, 0xc0, 0x80, 0x47]);
  const f32 = fromFloat32(new Float32Array([1, -2]), "F32", [2]);
  assert.deepEqual([...f32.data], [0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]);
  assert.throws(() => fromFloat32(values, "F16", [2, 2]), /3 values do not fill shape \[2, 2\]/);
});

test("I64 helpers", () => {
  const entry: TensorEntry = {
    dtype: "I64",
    shape: [2],
    // -1, then 2^40 = 0x0000010000000000
    data: bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 1, 0, 0),
  };
  assert.deepEqual(int64ToNumbers(entry), [-1, 2 ** 40]);
  const written = numbersToInt64([-2, 3], [2, 1]);
  assert.equal(written.dtype, "I64");
  assert.deepEqual(written.shape, [2, 1]);
  assert.deepEqual(
    [...written.data],
    [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 3, 0, 0, 0, 0, 0, 0, 0],
  );
  // 2^53 + 1 = 0x0020000000000001 has no exact double
  const big: TensorEntry = { dtype: "I64", shape: [1], data: bytes(1, 0, 0, 0, 0, 0, 0x20, 0) };
  assert.throws(() => int64ToNumbers(big), /element 0 \(9007199254740993\) is not exactly/);
  assert.throws(() => numbersToInt64([1.5], [1]), /element 0 \(1.5\) is not a safe integer/);
  assert.throws(
    () => int64ToNumbers({ dtype: "I32", shape: [1], data: bytes(0, 0, 0, 0) }),
    /not I64/,
  );
  const unaligned = new Uint8Array(9);
  unaligned[1] = 5;
  assert.deepEqual(int64ToNumbers({ dtype: "I64", shape: [1], data: unaligned.subarray(1) }), [5]);
});
