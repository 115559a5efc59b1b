/**
 * Conversions between safetensors' raw little-endian bytes and JS numbers: F16 (IEEE binary16)
 * and BF16 (the top half of a float32) with round-to-nearest-even, F32/F64, and I64 via BigInt.
 * Tensor bytes may be unaligned views, so they are copied before typed-array views are taken.
 */
import * as os from "node:os";
import { shapeSize, type TensorEntry } from "./safetensors";

// Typed arrays use the platform's byte order; safetensors data are little-endian.
if (os.endianness() !== "LE") throw new Error("safetensors conversions need a little-endian CPU");

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Bits of a float32 as an unsigned integer. */
function f32Bits(x: number): number {
  f32[0] = x;
  return u32[0];
}

/** Float32 value of 32 bits. */
function f32FromBits(bits: number): number {
  u32[0] = bits;
  return f32[0];
}

/** binary16 bits of float32 bits, rounded to nearest, ties to even. */
function f16BitsOfF32Bits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const abs = x & 0x7fffffff;
  if (abs >= 0x7f800000) return abs === 0x7f800000 ? sign | 0x7c00 : sign | 0x7e00; // inf, NaN
  const exponent = (abs >>> 23) - 127 + 15; // binary16 biased exponent
  if (exponent >= 31) return sign | 0x7c00; // |x| >= 2^16: overflows to infinity
  if (exponent <= 0) {
    // binary16 subnormal: value = q * 2^-24 with q = significand >> (14 - exponent).
    const shift = 14 - exponent;
    if (shift > 24) return sign; // below half the smallest subnormal (or a float32 subnormal)
    const significand = (abs & 0x7fffff) | 0x800000;
    return sign | roundShift(significand, shift);
  }
  // Normal: a carry out of the mantissa correctly bumps the exponent (up to infinity, 0x7c00).
  return sign | roundShift((exponent << 23) | (abs & 0x7fffff), 13);
}

/** value >> shift, rounded to nearest with ties to even. */
function roundShift(value: number, shift: number): number {
  const q = value >>> shift;
  const rest = value & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return rest > half || (rest === half && (q & 1) === 1) ? q + 1 : q;
}

/** binary16 bits of a number (first rounded to float32), round-to-nearest-even. */
export function f32ToF16Bits(x: number): number {
  return f16BitsOfF32Bits(f32Bits(x));
}

/** Value of binary16 bits. */
export function f16BitsToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** bfloat16 bits of a number (first rounded to float32), round-to-nearest-even. */
export function f32ToBf16Bits(x: number): number {
  return bf16BitsOfF32Bits(f32Bits(x));
}

function bf16BitsOfF32Bits(x: number): number {
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) & 0x8000) | 0x7fc0; // quiet NaN
  // Add just under half an ulp, plus the kept lowest bit so that ties go to even; a carry
  // rounds up (the largest finite floats to infinity). Cannot pass 2^32: NaNs returned above.
  return ((x >>> 0) + 0x7fff + ((x >>> 16) & 1)) >>> 16;
}

/** Value of bfloat16 bits. */
export function bf16BitsToF32(bits: number): number {
  return f32FromBits((bits & 0xffff) << 16);
}

let f16Table: Float32Array | undefined;

/** All 65536 binary16 values, built once: decoding is then one lookup per element. */
function f16DecodeTable(): Float32Array {
  if (f16Table === undefined) {
    f16Table = new Float32Array(65536);
    for (let b = 0; b < 65536; b++) f16Table[b] = f16BitsToF32(b);
  }
  return f16Table;
}

/** A fresh, aligned copy of the bytes (typed-array views need aligned offsets). */
function alignedBuffer(data: Uint8Array): ArrayBuffer {
  return data.slice().buffer;
}

/** Float values of an F32, F16, BF16 or F64 tensor as a new Float32Array (F64 is rounded). */
export function toFloat32(entry: TensorEntry): Float32Array {
  const n = shapeSize(entry.shape);
  switch (entry.dtype) {
    case "F32":
      return new Float32Array(alignedBuffer(entry.data), 0, n);
    case "F64":
      return Float32Array.from(new Float64Array(alignedBuffer(entry.data), 0, n));
    case "F16": {
      const bits = new Uint16Array(alignedBuffer(entry.data), 0, n);
      const table = f16DecodeTable();
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = table[bits[i]];
      return out;
    }
    case "BF16": {
      const bits = new Uint16Array(alignedBuffer(entry.data), 0, n);
      const out = new Float32Array(n);
      const outBits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) outBits[i] = bits[i] << 16;
      return out;
    }
    default:
      throw new Error(`toFloat32: dtype ${entry.dtype} is not a floating-point type`);
  }
}

/** A tensor of the given float dtype from float32 values (F16/BF16 rounded to nearest even). */
export function fromFloat32(
  values: Float32Array,
  dtype: "F32" | "F16" | "BF16",
  shape: number[],
): TensorEntry {
  checkCount(values.length, shape, "fromFloat32");
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  switch (dtype) {
    case "F32":
      return { dtype, shape: [...shape], data: new Uint8Array(values.slice().buffer) };
    case "F16":
    case "BF16": {
      const encode = dtype === "F16" ? f16BitsOfF32Bits : bf16BitsOfF32Bits;
      const out = new Uint16Array(values.length);
      for (let i = 0; i < values.length; i++) out[i] = encode(bits[i]);
      return { dtype, shape: [...shape], data: new Uint8Array(out.buffer) };
    }
    default:
      throw new Error(`fromFloat32: unsupported target dtype ${String(dtype)}`);
  }
}

/** Values of an I64 tensor as numbers; throws if one is beyond ±(2^53 - 1). */
export function int64ToNumbers(entry: TensorEntry): number[] {
  if (entry.dtype !== "I64") throw new Error(`int64ToNumbers: dtype is ${entry.dtype}, not I64`);
  const ints = new BigInt64Array(alignedBuffer(entry.data), 0, shapeSize(entry.shape));
  return Array.from(ints, (v, i) => {
    const x = Number(v);
    if (!Number.isSafeInteger(x)) {
      throw new Error(`int64ToNumbers: element ${i} (${v}) is not exactly representable`);
    }
    return x;
  });
}

/** An I64 tensor from integer numbers. */
export function numbersToInt64(values: ArrayLike<number>, shape: number[]): TensorEntry {
  checkCount(values.length, shape, "numbersToInt64");
  const out = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    if (!Number.isSafeInteger(values[i])) {
      throw new Error(`numbersToInt64: element ${i} (${values[i]}) is not a safe integer`);
    }
    out[i] = BigInt(values[i]);
  }
  return { dtype: "I64", shape: [...shape], data: new Uint8Array(out.buffer) };
}

function checkCount(count: number, shape: number[], where: string): void {
  if (count !== shapeSize(shape)) {
    throw new Error(`${where}: ${count} values do not fill shape [${shape.join(", ")}]`);
  }
}
