/**
 * The native product with a 16-bit table (widen tiles of its rows inside the matmul) and its row
 * lookup, against references written here: the stored bits decoded by hand (bfloat16 as the
 * upper half of a float32; binary16 as sign, exponent and mantissa, subnormals included), then
 * multiplied in float64. Forward and the gradient in x, through the output head as the model uses
 * it, on shapes that hit every edge of the kernel: odd widths (vector tails), one row of
 * activations and several (dot products, then BLAS tiles), rows past one widened tile, bytes at an
 * odd address, and f16 tables of subnormals only. The plain path (widen in JavaScript, then
 * matMul) must meet the same reference, so the two agree.
 *
 * Tolerance: every entry within 1e-5 * sum_k |x_ik| |w_jk| of the reference, as for the NF4
 * kernel: float32 rounding of these sums stays a few 2^-24 of that magnitude, while a wrongly
 * widened element (a rounding bit, a lost subnormal) or a tile off by one row moves entries by far
 * more. Lookups are compared bit for bit: widening is exact.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";

import * as tf from "@tensorflow/tfjs-core";

import { initBackend } from "../../src/backend/backend";
import { FrozenTable, TableHead } from "../../src/model/frozen_table";
import { disableNativeKernels, enableNativeKernels } from "../../src/native/kernels";
import type { NativeAddon } from "../../src/native/addon";
import {
  TABLE_GATHER,
  TABLE_KERNELS,
  TABLE_MATMUL,
  tableGather,
  tableMatMul,
} from "../../src/native/table_matmul";
import type { KernelArgs } from "../../src/native/wasm_heap";
import { Rng } from "../../src/util/rng";

import { nativeSkip as skip } from "./native_skip";
import { assertClose, product } from "./reference_product";

before(async () => {
  await initBackend("wasm");
});

type Dtype = "BF16" | "F16" | "F32";
/** Which values a random table holds. */
type Values = "normal" | "subnormal";

const rng = new Rng(1414);

function uniform(n: number, lo: number, hi: number): Float32Array {
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * rng.next());
}

/** Value of bfloat16 bits: the upper half of a float32. */
function bf16Value(bits: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, bits << 16);
  return view.getFloat32(0);
}

/** Value of binary16 bits, decoded from its fields. */
function f16Value(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** Stored bytes of n random elements, little-endian, and their values. */
function randomElements(n: number, dtype: Dtype, values: Values) {
  const size = dtype === "F32" ? 4 : 2;
  const bytes = new Uint8Array(n * size);
  const view = new DataView(bytes.buffer);
  const value = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const sign = rng.int(2) << 15;
    if (dtype === "F32") {
      view.setFloat32(4 * i, rng.next() * 2 - 1, true);
      value[i] = view.getFloat32(4 * i, true);
    } else if (dtype === "BF16") {
      // Exponents 120..130: magnitudes 2^-7 .. 2^4.
      const bits = sign | ((120 + rng.int(11)) << 7) | rng.int(128);
      view.setUint16(2 * i, bits, true);
      value[i] = bf16Value(bits);
    } else {
      // Normal: exponents 10..20 (2^-5 .. 2^6); subnormal: exponent field 0, mantissa > 0.
      const exponent = values === "normal" ? 10 + rng.int(11) : 0;
      const mantissa = values === "normal" ? rng.int(1024) : 1 + rng.int(1023);
      const bits = sign | (exponent << 10) | mantissa;
      view.setUint16(2 * i, bits, true);
      value[i] = f16Value(bits);
    }
  }
  return { bytes, value };
}

/** A copy of `bytes` starting at an odd address of a larger buffer. */
function atOddAddress(bytes: Uint8Array): Uint8Array {
  const host = new Uint8Array(bytes.length + 1);
  host.set(bytes, 1);
  return host.subarray(1);
}

/** y = x W^T and dL/dx for L = sum(y * g), through the head, with the kernels that ran. */
async function forwardAndGrad(head: TableHead, x: Float32Array, g: Float32Array, m: number) {
  let y: Float32Array = new Float32Array(0);
  let dx: Float32Array = new Float32Array(0);
  const profile = await tf.profile(() => {
    tf.tidy(() => {
      const xt = tf.tensor2d(x, [m, head.inFeatures]);
      const gt = tf.tensor2d(g, [m, head.outFeatures]);
      y = head.apply(xt).dataSync() as Float32Array;
      dx = tf
        .grad((v: tf.Tensor) => tf.sum(tf.mul(head.apply(v as tf.Tensor2D), gt)))(xt)
        .dataSync() as Float32Array;
    });
  });
  return { y, dx, kernels: profile.kernels.map((k) => k.name) };
}

interface Shape {
  rows: number;
  cols: number;
  ms: number[];
  dtype: Dtype;
  values?: Values;
  odd?: boolean;
  why: string;
}

const SHAPES: Shape[] = [
  // 300 rows of 4100 are several widened tiles (at most 2^20 floats each), the last partial.
  { rows: 300, cols: 4100, ms: [1, 9], dtype: "BF16", why: "rows past one tile" },
  { rows: 33, cols: 45, ms: [1, 2, 4, 5], dtype: "BF16", why: "odd widths: vector tails" },
  { rows: 1000, cols: 70, ms: [1, 7], dtype: "F16", why: "many rows, narrow" },
  { rows: 130, cols: 45, ms: [3, 6], dtype: "F16", values: "subnormal", why: "subnormals only" },
  { rows: 77, cols: 33, ms: [3], dtype: "BF16", odd: true, why: "bytes at an odd address" },
  { rows: 77, cols: 33, ms: [2, 6], dtype: "F16", odd: true, why: "bytes at an odd address" },
  { rows: 33, cols: 45, ms: [1, 5], dtype: "F32", why: "float32 stored" },
];

for (const s of SHAPES) {
  for (const m of s.ms) {
    const name = `${s.dtype}${s.values === "subnormal" ? " subnormal" : ""} [${s.rows}, ${s.cols}], ${m} row(s) of x (${s.why})`;
    test(
      `table product and its x-gradient match the hand-decoded float64 reference: ${name}`,
      { skip },
      async () => {
        const { bytes, value: w } = randomElements(s.rows * s.cols, s.dtype, s.values ?? "normal");
        const data = s.odd ? atOddAddress(bytes) : bytes;
        const entry = { dtype: s.dtype, shape: [s.rows, s.cols], data };
        // Plain-path tiles of 64 rows, the last one partial.
        const head = new TableHead(new FrozenTable(entry, "test table", 64 * s.cols));
        const x = uniform(m * s.cols, -1, 1);
        const g = uniform(m * s.rows, -1, 1);
        const yRef = product(x, w, m, s.cols, s.rows, true);
        const dxRef = product(g, w, m, s.rows, s.cols, false);
        try {
          assert.equal(enableNativeKernels().enabled, true);
          const native = await forwardAndGrad(head, x, g, m);
          const ran = native.kernels;
          assert.equal(ran.filter((k) => k === TABLE_MATMUL).length, 3, `kernels ran: ${ran}`);
          assert.ok(!ran.includes("BatchMatMul"), `no float product with native kernels: ${ran}`);
          assertClose(native.y, yRef, "native y");
          assertClose(native.dx, dxRef, "native dx");
          disableNativeKernels();
          const plain = await forwardAndGrad(head, x, g, m);
          assert.ok(!plain.kernels.includes(TABLE_MATMUL));
          assertClose(plain.y, yRef, "plain y");
          assertClose(plain.dx, dxRef, "plain dx");
        } finally {
          disableNativeKernels();
        }
      },
    );
  }
}

/** Every 16-bit pattern once, in a table `cols` wide (zero-padded), and the decoded values. */
function everyPattern(dtype: "BF16" | "F16", cols: number) {
  const rows = Math.ceil(65536 / cols);
  const data = new Uint8Array(rows * cols * 2);
  const view = new DataView(data.buffer);
  const value = new Float64Array(rows * cols);
  for (let b = 0; b < 65536; b++) {
    view.setUint16(2 * b, b, true);
    value[b] = dtype === "BF16" ? bf16Value(b) : f16Value(b);
  }
  return { entry: { dtype, shape: [rows, cols], data }, value, rows };
}

// 16 wide: whole vectors only; 7 wide: the scalar tail only.
for (const dtype of ["BF16", "F16"] as const) {
  for (const cols of [16, 7]) {
    test(
      `table lookups widen every ${dtype} bit pattern exactly, natively and plainly (${cols} wide)`,
      { skip },
      async () => {
        const { entry, value, rows } = everyPattern(dtype, cols);
        const table = new FrozenTable(entry, "patterns");
        // Every row once, in reverse, and a repeated row.
        const ids = [...Array.from({ length: rows }, (_, i) => rows - 1 - i), 3];
        const expected = (i: number, c: number) => value[ids[i] * cols + c];
        try {
          for (const native of [true, false]) {
            if (native) assert.equal(enableNativeKernels().enabled, true);
            else disableNativeKernels();
            const { got, kernels } = await lookup(table, ids);
            assert.equal(kernels.includes(TABLE_GATHER), native, `kernels ran: ${kernels}`);
            for (let i = 0; i < ids.length; i++) {
              for (let c = 0; c < cols; c++) {
                const [a, b] = [got[i * cols + c], expected(i, c)];
                if (!(Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)))) {
                  assert.fail(
                    `${native ? "native" : "plain"}: row ${ids[i]} col ${c}: ${a} != ${b}`,
                  );
                }
              }
            }
          }
        } finally {
          disableNativeKernels();
        }
      },
    );
  }
}

/** The rows at ids through the table, and the kernels that ran. */
async function lookup(table: FrozenTable, ids: number[]) {
  let got: Float32Array = new Float32Array(0);
  const profile = await tf.profile(() => {
    tf.tidy(() => {
      got = table.gather(ids).dataSync() as Float32Array;
    });
  });
  return { got, kernels: profile.kernels.map((k) => k.name) };
}

test("table kernels return null without native kernels; bad operands are named", { skip }, () => {
  const { bytes } = randomElements(8 * 64, "BF16", "normal");
  const table = { rows: 8, cols: 64, dtype: "BF16" as const, data: bytes };
  const x = tf.tensor2d(uniform(64, -1, 1), [1, 64]);
  try {
    disableNativeKernels();
    assert.equal(tableMatMul(x, table), null);
    assert.equal(tableGather(table, Int32Array.of(1)), null);
    assert.equal(enableNativeKernels().enabled, true);
    assert.throws(
      () => tableMatMul(x, { ...table, cols: 32 }),
      /NarratorTableMatMul: the input must be float32 \[m, 32\] for a \[8, 32\] table, got float32 \[1,64\]/,
    );
    assert.throws(
      () => tableMatMul(x, { ...table, data: bytes.subarray(1) }),
      /tableMatmul: data must be a Uint8Array of 1024 values, got 1023/,
    );
    assert.throws(
      () => tableGather(table, Int32Array.of(2, 8)),
      /tableGather: id 8 is outside the table's 8 rows/,
    );
    assert.throws(
      () => new FrozenTable({ dtype: "BF16", shape: [8, 64], data: bytes }, "t").gather([0, -1]),
      /token id -1 is outside the table's 8 rows/,
    );
    const staleAddon = {} as NativeAddon; // built before the table kernels existed
    assert.throws(
      () =>
        TABLE_KERNELS[TABLE_MATMUL](staleAddon, {
          inputs: { a: x },
          backend: tf.backend(),
          attrs: { table, transposed: false },
        } as unknown as KernelArgs),
      /the native addon was built before its 16-bit table kernels existed; rebuild it with: npm run build:native/,
    );
  } finally {
    disableNativeKernels();
    x.dispose();
  }
});

test("the native head never puts a widened tile of the table on the heap", { skip }, async () => {
  const [rows, cols, m] = [4096, 256, 2];
  const { bytes } = randomElements(rows * cols, "BF16", "normal");
  const head = new TableHead(
    new FrozenTable({ dtype: "BF16", shape: [rows, cols], data: bytes }, "t"),
  );
  const x = tf.tensor2d(uniform(m * cols, -1, 1), [m, cols]);
  try {
    assert.equal(enableNativeKernels().enabled, true);
    const live = tf.memory().numBytes;
    const peak = async () =>
      (await tf.profile(() => tf.tidy(() => head.apply(x).dataSync()))).peakBytes - live;
    const native = await peak();
    disableNativeKernels();
    const plain = await peak();
    const tableBytes = rows * cols * 4;
    assert.ok(native <= 2 * m * rows * 4, `native peak ${native} bytes above the inputs`);
    assert.ok(plain >= tableBytes, `plain peak ${plain} bytes above the inputs`);
  } finally {
    disableNativeKernels();
    x.dispose();
  }
});
