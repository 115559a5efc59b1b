/**
 * The native NF4 product (dequantize tiles of the packed weight inside the matmul) against a
 * reference written here: the weight dequantized by hand with bitsandbytes' NF4 table (high
 * nibble first, one float32 scale per block of the flattened weight, double-quantized scales
 * rebuilt as code[q] * nestedAbsmax + offset), then multiplied in float64. Forward and the
 * gradient in x, through the frozen 4-bit layer as the model uses it, on shapes that hit every
 * edge of the kernel: rows straddling blocks and bytes, a partial last block, out not a multiple
 * of the tile, one row of activations and several. The plain path (dequantize, then matMul)
 * must meet the same reference, so the two agree.
 *
 * Tolerance: every entry within 1e-5 * sum_k |x_ik| |w_jk| of the reference. Float32 rounding
 * errors of these sums, with random signs, stay a few 2^-24 of that magnitude (the worst seen here
 * is 2.8e-7, at k up to 4100), while a wrong code, scale or nibble moves entries by percents.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";

import * as tf from "@tensorflow/tfjs-core";

import { initBackend } from "../../src/backend/backend";
import { FrozenQuantLinear, quantizedLinear } from "../../src/model/quantized";
import { disableNativeKernels, enableNativeKernels } from "../../src/native/kernels";
import type { NativeAddon } from "../../src/native/addon";
import { NF4_KERNELS, NF4_MATMUL, nf4MatMul } from "../../src/native/nf4_matmul";
import type { KernelArgs } from "../../src/native/wasm_heap";
import type { Nf4State } from "../../src/model/quantized";
import { Rng } from "../../src/util/rng";

import { nativeSkip as skip } from "./native_skip";
import { assertClose, product } from "./reference_product";

before(async () => {
  await initBackend("wasm");
});

/** bitsandbytes' NF4 values, index 0..15 (functional.py). */
const NF4 = [
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
  -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
  0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
  0.7229568362236023, 1.0,
].map(Math.fround);

const rng = new Rng(4242);

function uniform(n: number, lo: number, hi: number): Float32Array {
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * rng.next());
}

/** Random packed codes and scales (plain float32, or 8-bit with nested statistics). */
function randomState(rows: number, cols: number, blocksize: number, double: boolean): Nf4State {
  const n = rows * cols;
  const blocks = Math.ceil(n / blocksize);
  const packed = Uint8Array.from({ length: Math.ceil(n / 2) }, () => rng.int(256));
  if (!double) return { packed, absmax: uniform(blocks, 0.05, 2), n, blocksize };
  const nestedBlocksize = 256;
  const code = uniform(256, -1, 1).sort();
  const nested = {
    absmax: uniform(Math.ceil(blocks / nestedBlocksize), 0.1, 1),
    code,
    offset: Math.fround(0.9),
    blocksize: nestedBlocksize,
  };
  const absmax = Uint8Array.from({ length: blocks }, () => rng.int(256));
  return { packed, absmax, nested, n, blocksize };
}

/** The weight [rows, cols] as float32 values, row-major, dequantized by hand. */
function referenceWeight(state: Nf4State): Float64Array {
  const f = Math.fround;
  const w = new Float64Array(state.n);
  for (let i = 0; i < state.n; i++) {
    const byte = state.packed[Math.floor(i / 2)];
    const code = i % 2 === 0 ? Math.floor(byte / 16) : byte % 16;
    const b = Math.floor(i / state.blocksize);
    const scale =
      "nested" in state
        ? f(
            f(state.nested.code[state.absmax[b]] * state.nested.absmax[Math.floor(b / 256)]) +
              state.nested.offset,
          )
        : state.absmax[b];
    w[i] = f(NF4[code] * scale);
  }
  return w;
}

/** y = x W^T and dL/dx for L = sum(y * g), through the layer, with the kernels that ran. */
async function forwardAndGrad(
  layer: FrozenQuantLinear,
  x: Float32Array,
  g: Float32Array,
  m: number,
) {
  let y: Float32Array = new Float32Array(0);
  let dx: Float32Array = new Float32Array(0);
  const profile = await tf.profile(() => {
    tf.tidy(() => {
      const xt = tf.tensor2d(x, [m, layer.inFeatures]);
      const gt = tf.tensor2d(g, [m, layer.outFeatures]);
      y = layer.apply(xt).dataSync() as Float32Array;
      dx = tf
        .grad((v: tf.Tensor) => tf.sum(tf.mul(layer.apply(v as tf.Tensor2D), gt)))(xt)
        .dataSync() as Float32Array;
    });
  });
  return { y, dx, profile };
}

interface Shape {
  rows: number;
  cols: number;
  blocksize: number;
  m: number;
  double: boolean;
  why: string;
}

const SHAPES: Shape[] = [
  { rows: 96, cols: 256, blocksize: 64, m: 1, double: false, why: "aligned rows, one token" },
  { rows: 96, cols: 256, blocksize: 64, m: 7, double: false, why: "aligned rows, tiles" },
  { rows: 300, cols: 70, blocksize: 64, m: 1, double: false, why: "blocks straddle rows" },
  // 300 rows of 4100 take several tiles (each at most 2^20 floats), the last one partial.
  { rows: 300, cols: 4100, blocksize: 64, m: 9, double: false, why: "out past one tile" },
  { rows: 33, cols: 45, blocksize: 32, m: 3, double: false, why: "odd n: bytes straddle rows" },
  { rows: 33, cols: 45, blocksize: 32, m: 6, double: false, why: "odd n, tiles" },
  { rows: 70, cols: 96, blocksize: 256, m: 1, double: false, why: "a block spans rows" },
  { rows: 300, cols: 130, blocksize: 64, m: 1, double: true, why: "double-quant, one token" },
  { rows: 300, cols: 130, blocksize: 64, m: 5, double: true, why: "double-quant, tiles" },
  { rows: 17, cols: 300, blocksize: 128, m: 2, double: true, why: "double-quant, partial block" },
];

for (const s of SHAPES) {
  const name = `[${s.m}, ${s.cols}] x [${s.rows}, ${s.cols}]^T, blocksize ${s.blocksize}${s.double ? ", double-quant" : ""} (${s.why})`;
  test(
    `NF4 product and its x-gradient match the hand-dequantized float64 reference: ${name}`,
    { skip },
    async () => {
      const state = randomState(s.rows, s.cols, s.blocksize, s.double);
      const layer = new FrozenQuantLinear(s.rows, s.cols, state);
      const w = referenceWeight(state);
      const x = uniform(s.m * s.cols, -1, 1);
      const g = uniform(s.m * s.rows, -1, 1);
      const yRef = product(x, w, s.m, s.cols, s.rows, true);
      const dxRef = product(g, w, s.m, s.rows, s.cols, false);
      try {
        assert.equal(enableNativeKernels().enabled, true);
        const native = await forwardAndGrad(layer, x, g, s.m);
        const ran = native.profile.kernels.map((k) => k.name);
        assert.equal(ran.filter((k) => k === NF4_MATMUL).length, 3, `native kernels ran: ${ran}`);
        assert.ok(!ran.includes("BatchMatMul"), `no float product with native kernels: ${ran}`);
        assertClose(native.y, yRef, "native y");
        assertClose(native.dx, dxRef, "native dx");
        disableNativeKernels();
        const plain = await forwardAndGrad(layer, x, g, s.m);
        assert.ok(!plain.profile.kernels.some((k) => k.name === NF4_MATMUL));
        assertClose(plain.y, yRef, "plain y");
        assertClose(plain.dx, dxRef, "plain dx");
      } finally {
        disableNativeKernels();
        layer.dispose();
      }
    },
  );
}

test("the native product never puts the float weight on the heap", { skip }, async () => {
  const [rows, cols, m] = [512, 1024, 2];
  const layer = new FrozenQuantLinear(rows, cols, randomState(rows, cols, 64, false));
  const x = tf.tensor2d(uniform(m * cols, -1, 1), [m, cols]);
  try {
    assert.equal(enableNativeKernels().enabled, true);
    // A profile's peak counts every live tensor, so peaks are taken above what is live before;
    // tf.profile reuses its result object, so each is read before the next profile.
    const live = tf.memory().numBytes;
    const peak = async () =>
      (await tf.profile(() => tf.tidy(() => layer.apply(x).dataSync()))).peakBytes - live;
    const native = await peak();
    disableNativeKernels();
    const plain = await peak();
    const weightBytes = rows * cols * 4;
    assert.ok(native < weightBytes / 16, `native peak ${native} bytes above the inputs`);
    assert.ok(plain >= weightBytes, `plain peak ${plain} bytes above the inputs`);
  } finally {
    disableNativeKernels();
    x.dispose();
    layer.dispose();
  }
});

test(
  "a layer quantized by the project's quantizer (double-quant) meets the reference natively",
  { skip },
  async () => {
    const [rows, cols, m] = [130, 192, 3];
    const values = Float32Array.from({ length: rows * cols }, () => rng.normal() * 0.05);
    const layer = quantizedLinear(values, rows, cols, { blocksize: 64, doubleQuant: true });
    const w = referenceWeight(layer.state);
    const x = uniform(m * cols, -1, 1);
    const g = uniform(m * rows, -1, 1);
    try {
      assert.equal(enableNativeKernels().enabled, true);
      const native = await forwardAndGrad(layer, x, g, m);
      assertClose(native.y, product(x, w, m, cols, rows, true), "y");
      assertClose(native.dx, product(g, w, m, rows, cols, false), "dx");
    } finally {
      disableNativeKernels();
      layer.dispose();
    }
  },
);

test(
  "nf4MatMul is null without native kernels; bad operands and a stale addon are named",
  { skip },
  () => {
    const state = randomState(8, 64, 64, false);
    const x = tf.tensor2d(uniform(64, -1, 1), [1, 64]);
    try {
      disableNativeKernels();
      assert.equal(nf4MatMul(x, { ...state, rows: 8, cols: 64 }), null);
      assert.equal(enableNativeKernels().enabled, true);
      assert.throws(
        () => nf4MatMul(x, { ...state, rows: 8, cols: 32 }),
        /NarratorNf4MatMul: the input must be float32 \[m, 32\] for a \[8, 32\] weight, got float32 \[1,64\]/,
      );
      assert.throws(
        () => nf4MatMul(x, { ...state, packed: state.packed.subarray(1), rows: 8, cols: 64 }),
        /nf4Matmul: packed must be a Uint8Array of 256 values, got 255/,
      );
      assert.throws(
        () => nf4MatMul(x, { ...state, absmax: new Float32Array(3), rows: 8, cols: 64 }),
        /nf4Matmul: absmax must be null or a Float32Array of 8 values, got 3/,
      );
      const staleAddon = {} as NativeAddon; // built before the NF4 kernel existed
      const attrs = { weight: { ...state, rows: 8, cols: 64 }, transposed: false };
      assert.throws(
        () =>
          NF4_KERNELS[NF4_MATMUL](staleAddon, {
            inputs: { a: x },
            backend: tf.backend(),
            attrs,
          } as unknown as KernelArgs),
        /the native addon was built before its NF4 kernel existed; rebuild it with: npm run build:native/,
      );
    } finally {
      disableNativeKernels();
      x.dispose();
    }
  },
);
