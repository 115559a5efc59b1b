/**
 * Every native kernel against the ORIGINAL wasm kernel on the same inputs: the originals are
 * restored with disableNativeKernels(), run, then the native ones re-enabled and run again.
 * Tolerances are float32 rounding bounds (gamma_k = k * 2^-24 per accumulated term), not
 * numbers read off the code under test; IEEE-exact ops (add, sub, mul, div, max) must match
 * bit for bit.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";

import * as tf from "@tensorflow/tfjs-core";

import { backendInfo, initBackend } from "../../src/backend/backend";
import { disableNativeKernels, enableNativeKernels, nativeStatus } from "../../src/native/kernels";
import { Rng } from "../../src/util/rng";

import { nativeSkip as skip, U } from "./native_skip";

before(async () => {
  await initBackend("wasm");
});

const rng = new Rng(20240611);

function rand(shape: number[], lo = -1, hi = 1): tf.Tensor {
  const n = shape.reduce((p, d) => p * d, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = lo + (hi - lo) * rng.next();
  return tf.tensor(v, shape, "float32");
}

/** Runs `f` with the original wasm kernels, then with native ones; returns both results. */
function both(f: () => tf.Tensor): { ref: tf.Tensor; got: tf.Tensor } {
  disableNativeKernels();
  const ref = tf.tidy(f);
  assert.equal(enableNativeKernels().enabled, true);
  const got = tf.tidy(f);
  return { ref, got };
}

/** A float32 tensor's values. */
function f32(t: tf.Tensor): Float32Array {
  return t.dataSync() as Float32Array;
}

/** |got - ref| <= tol[i] elementwise, with shapes equal. */
function assertClose(got: tf.Tensor, ref: tf.Tensor, tol: Float32Array | number, what: string) {
  assert.deepEqual(got.shape, ref.shape, `${what}: shape`);
  const g = got.dataSync();
  const r = f32(ref);
  for (let i = 0; i < r.length; i++) {
    const t = typeof tol === "number" ? tol : tol[i];
    const ok = Number.isNaN(r[i])
      ? Number.isNaN(g[i])
      : Math.abs(g[i] - r[i]) <= t || g[i] === r[i];
    if (!ok) assert.fail(`${what}: element ${i}: native ${g[i]} vs wasm ${r[i]} (tolerance ${t})`);
  }
}

function assertBitEqual(got: tf.Tensor, ref: tf.Tensor, what: string) {
  assert.deepEqual(got.shape, ref.shape, `${what}: shape`);
  const g = new Int32Array(f32(got).slice().buffer);
  const r = new Int32Array(f32(ref).slice().buffer);
  const i = g.findIndex((v, j) => v !== r[j]);
  if (i >= 0)
    assert.fail(`${what}: element ${i} differs: ${got.dataSync()[i]} vs ${ref.dataSync()[i]}`);
}

/**
 * Bound on |native - wasm| for a matmul: each side is within gamma_k * (|A||B|)_ij of the
 * exact product, so they differ by at most 2 * gamma_k * (|A||B|)_ij.
 */
function matmulTolerance(a: tf.Tensor, b: tf.Tensor, ta: boolean, tb: boolean, k: number) {
  disableNativeKernels();
  const absProd = tf.tidy(() => tf.matMul(tf.abs(a), tf.abs(b), ta, tb));
  enableNativeKernels();
  const tol = f32(absProd).map((v) => 2 * (k + 2) * U * v * 1.01 + 1e-30);
  absProd.dispose();
  return tol;
}

const MATMUL_CASES: [number[], number[], boolean, boolean][] = [];
for (const [m, k, n] of [
  [1, 1, 1],
  [7, 33, 65],
  [65, 7, 1],
  [33, 65, 7],
  [1, 65, 33],
  [65, 130, 257], // above the threading threshold, split by columns
  [257, 130, 65], // split by rows
]) {
  for (const ta of [false, true]) {
    for (const tb of [false, true]) {
      MATMUL_CASES.push([ta ? [k, m] : [m, k], tb ? [n, k] : [k, n], ta, tb]);
    }
  }
}
for (const ta of [false, true]) {
  for (const tb of [false, true]) {
    const a = (b: number[], m: number, k: number) => (ta ? [...b, k, m] : [...b, m, k]);
    const bb = (b: number[], k: number, n: number) => (tb ? [...b, n, k] : [...b, k, n]);
    MATMUL_CASES.push([a([3], 7, 33), bb([3], 33, 65), ta, tb]); // batched
    MATMUL_CASES.push([a([3], 65, 96), bb([3], 96, 130), ta, tb]); // batch 3 over 2 threads
    MATMUL_CASES.push([a([4], 64, 128), bb([4], 128, 96), ta, tb]); // whole matrices per thread
    MATMUL_CASES.push([a([3], 7, 33), bb([], 33, 65), ta, tb]); // one b for every batch
    MATMUL_CASES.push([a([3], 7, 33), bb([1], 33, 65), ta, tb]);
    MATMUL_CASES.push([a([], 7, 33), bb([3], 33, 65), ta, tb]); // one a for every batch
    MATMUL_CASES.push([a([1], 7, 33), bb([2, 3], 33, 65), ta, tb]);
  }
}

test("BatchMatMul equals the wasm kernel (2-D, batched, transposed, broadcast)", { skip }, () => {
  for (const [aShape, bShape, ta, tb] of MATMUL_CASES) {
    const a = rand(aShape);
    const b = rand(bShape);
    const k = ta ? aShape[aShape.length - 2] : aShape[aShape.length - 1];
    const { ref, got } = both(() => tf.matMul(a, b, ta, tb));
    const what = `matMul ${aShape} x ${bShape} tA=${ta} tB=${tb}`;
    assertClose(got, ref, matmulTolerance(a, b, ta, tb, k), what);
    tf.dispose([a, b, ref, got]);
  }
});

test(
  "BatchMatMul broadcasts batch dims on both sides (checked against tiled operands)",
  { skip },
  () => {
    // The wasm kernel itself does not take [2,1] x [1,3] batches: compare with explicit tiles.
    const a = rand([2, 1, 7, 33]);
    const b = rand([1, 3, 33, 65]);
    enableNativeKernels();
    const got = tf.matMul(a, b);
    disableNativeKernels();
    const [at, bt] = [tf.tile(a, [1, 3, 1, 1]), tf.tile(b, [2, 1, 1, 1])];
    const ref = tf.matMul(at, bt);
    const tol = matmulTolerance(at, bt, false, false, 33);
    enableNativeKernels();
    assertClose(got, ref, tol, "matMul [2,1,7,33] x [1,3,33,65]");
    tf.dispose([a, b, at, bt, got, ref]);
  },
);

/** act(op(a) x op(b) + bias) from separate ops on the original wasm kernels. */
function unfusedReference(
  a: tf.Tensor,
  b: tf.Tensor,
  ta: boolean,
  tb: boolean,
  bias: tf.Tensor | undefined,
  activation: string,
): tf.Tensor {
  disableNativeKernels();
  const ref = tf.tidy(() => {
    const product = tf.matMul(a, b, ta, tb);
    const z = bias ? tf.add(product, bias) : product;
    switch (activation) {
      case "relu":
        return tf.relu(z);
      case "relu6":
        return tf.relu6(z);
      case "leakyrelu":
        return tf.leakyRelu(z, 0.3);
      case "sigmoid":
        return tf.sigmoid(z);
      case "elu":
        return tf.elu(z);
      default:
        return z;
    }
  });
  enableNativeKernels();
  return ref;
}

const ACTIVATIONS = ["linear", "relu", "relu6", "leakyrelu", "sigmoid", "elu", "prelu"] as const;

test(
  "_FusedMatMul equals the original wasm kernels for every bias and activation",
  { skip },
  () => {
    // The reference is the unfused sequence on the original wasm kernels (BatchMatMul, Add, then
    // the activation's kernel): wasm's own _FusedMatMul disagrees with that sequence by O(1) as
    // soon as a bias meets a transpose flag or a batch (measured on tfjs-backend-wasm 4.22).
    // prelu is not handled natively, so there the original fused kernel must run unchanged.
    const shapes: [number[], number[], boolean, boolean][] = [
      [[7, 33], [33, 65], false, false],
      [[33, 7], [65, 33], true, true],
      [[7, 33], [65, 33], false, true],
      [[2, 65, 96], [96, 130], false, false],
      [[2, 33, 7], [2, 33, 65], true, false],
    ];
    for (const [aShape, bShape, ta, tb] of shapes) {
      const a = rand(aShape);
      const b = rand(bShape);
      const n = tb ? bShape[bShape.length - 2] : bShape[bShape.length - 1];
      const k = ta ? aShape[aShape.length - 2] : aShape[aShape.length - 1];
      // the bias adds one rounding to the product, the activation a few ulps of the result
      const tol = matmulTolerance(a, b, ta, tb, k + 1).map((v) => v + 2 * U);
      for (const withBias of [false, true]) {
        const bias = withBias ? rand([n]) : undefined;
        for (const activation of ACTIVATIONS) {
          const prelu = activation === "prelu" ? rand([n], 0, 0.5) : undefined;
          const { ref: wasmFused, got } = both(() =>
            tf.fused.matMul({
              a,
              b,
              transposeA: ta,
              transposeB: tb,
              bias,
              activation,
              preluActivationWeights: prelu,
              leakyreluAlpha: 0.3,
            }),
          );
          const what = `fused ${aShape} x ${bShape} tA=${ta} tB=${tb} bias=${withBias} ${activation}`;
          if (prelu) {
            assertBitEqual(got, wasmFused, what);
          } else {
            const ref = unfusedReference(a, b, ta, tb, bias, activation);
            const r = f32(ref);
            assertClose(
              got,
              ref,
              tol.map((t, i) => t + 4 * U * Math.abs(r[i])),
              what,
            );
            ref.dispose();
          }
          tf.dispose([wasmFused, got, ...(prelu ? [prelu] : [])]);
        }
        if (bias) bias.dispose();
      }
      tf.dispose([a, b]);
    }
  },
);

test("_FusedMatMul equals wasm's own fused kernel on plain 2-D products", { skip }, () => {
  const a = rand([7, 33]);
  const b = rand([33, 65]);
  const bias = rand([65]);
  const tol = matmulTolerance(a, b, false, false, 34).map((v) => v + 2 * U);
  for (const activation of ["linear", "relu", "sigmoid"] as const) {
    for (const withBias of [false, true]) {
      const { ref, got } = both(() =>
        tf.fused.matMul({ a, b, bias: withBias ? bias : undefined, activation }),
      );
      const r = f32(ref);
      const what = `fused 2-D bias=${withBias} ${activation}`;
      assertClose(
        got,
        ref,
        tol.map((t, i) => t + 4 * U * Math.abs(r[i])),
        what,
      );
      tf.dispose([ref, got]);
    }
  }
  tf.dispose([a, b, bias]);
});

test("_FusedMatMul with a scalar or [1, n] bias equals matMul + add", { skip }, () => {
  const a = rand([7, 33]);
  const b = rand([33, 65]);
  const tol = matmulTolerance(a, b, false, false, 34).map((v) => v + 2 * U);
  for (const biasShape of [[1], [1, 65]]) {
    const bias = rand(biasShape);
    enableNativeKernels();
    const got = tf.fused.matMul({ a, b, bias, activation: "relu" });
    disableNativeKernels();
    const ref = tf.relu(tf.add(tf.matMul(a, b), bias));
    enableNativeKernels();
    assertClose(got, ref, tol, `fused bias ${biasShape}`);
    tf.dispose([bias, got, ref]);
  }
  tf.dispose([a, b]);
});

test("Exp equals the wasm kernel within a few ulps, special values exactly", { skip }, () => {
  for (const n of [1, 7, 33, 65, 70000]) {
    const x = rand([n], -100, 90);
    const { ref, got } = both(() => tf.exp(x));
    const r = f32(ref);
    // 4 ulps relative; results in the subnormal range have an absolute ulp of 2^-149
    const tol = r.map((v) => 8 * U * Math.abs(v) + 2 ** -148);
    assertClose(got, ref, tol, `exp n=${n}`);
    tf.dispose([x, ref, got]);
  }
  const special = tf.tensor1d([
    0,
    -0,
    1,
    -1,
    88.7,
    89,
    100,
    -87.4,
    -103,
    -104,
    -110,
    Infinity,
    -Infinity,
    NaN,
  ]);
  const { ref, got } = both(() => tf.exp(special));
  assert.deepEqual(Array.from(got.dataSync()).slice(0, 3), [1, 1, Math.fround(Math.E)]);
  const r = f32(ref);
  assertClose(
    got,
    ref,
    r.map((v) => 8 * U * Math.abs(v) + 2 ** -148),
    "exp special values",
  );
  tf.dispose([special, ref, got]);
});

const BINARY_OPS: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
  ["add", tf.add],
  ["sub", tf.sub],
  ["mul", tf.mul],
  ["div", tf.div],
];

test("Add, Sub, Multiply, RealDiv are bit-identical to wasm for every broadcast", { skip }, () => {
  const shapes: [number[], number[]][] = [
    [
      [7, 33],
      [7, 33],
    ],
    [[7, 33], []],
    [[], [7, 33]],
    [[7, 33], [1]],
    [[7, 33], [33]],
    [[33], [7, 33]],
    [
      [4, 7, 33],
      [7, 33],
    ],
    [
      [4, 7, 33],
      [4, 7, 1],
    ],
    [
      [4, 7, 1],
      [4, 7, 33],
    ],
    [
      [4, 7, 33],
      [4, 1, 1],
    ],
    [
      [4, 7, 33],
      [1, 7, 1],
    ], // not covered natively: falls back
    [
      [4, 1, 33],
      [1, 7, 1],
    ], // both broadcast: falls back
    [
      [70, 1000],
      [70, 1000],
    ], // threaded
    [[70, 1000], [1000]],
    [
      [70, 1000],
      [70, 1],
    ],
  ];
  for (const [aShape, bShape] of shapes) {
    // values bounded away from 0 so that division stays finite
    const a = tf.tidy(() => tf.mul(rand(aShape, 0.5, 2), tf.sign(rand(aShape))));
    const b = rand(bShape, 0.5, 2);
    for (const [name, op] of BINARY_OPS) {
      const { ref, got } = both(() => op(a, b));
      assertBitEqual(got, ref, `${name} ${aShape} ${bShape}`);
      tf.dispose([ref, got]);
    }
    tf.dispose([a, b]);
  }
  const i = tf.tensor1d([1, 2, 3], "int32");
  const { ref, got } = both(() => tf.add(i, i));
  assert.equal(got.dtype, "int32");
  assert.deepEqual(Array.from(got.dataSync()), Array.from(ref.dataSync()));
  tf.dispose([i, ref, got]);
});

test("Sum and Max over contiguous axes equal the wasm kernels", { skip }, () => {
  const cases: [number[], number | number[], boolean][] = [
    [[7, 33], -1, false],
    [[7, 33], 0, false],
    [[7, 33], [0, 1], false],
    [[4, 7, 33], 1, true],
    [[4, 7, 33], [1, 2], false],
    [[4, 7, 33], [0, 1], true],
    [[4, 7, 33], [0, 2], false], // not contiguous: falls back
    [[70, 1000], -1, false], // threaded over rows
    [[70, 1000], 0, false], // threaded over columns
    [[1, 100000], -1, true],
  ];
  for (const [shape, axis, keepDims] of cases) {
    const x = rand(shape);
    const red = ([] as number[])
      .concat(axis)
      .map((a) => shape[a < 0 ? a + shape.length : a])
      .reduce((p, d) => p * d, 1);
    const s = both(() => tf.sum(x, axis, keepDims));
    disableNativeKernels();
    const absSum = tf.sum(tf.abs(x), axis, keepDims);
    enableNativeKernels();
    const tol = f32(absSum).map((v) => 2 * (red + 1) * U * v * 1.01);
    assertClose(s.got, s.ref, tol, `sum ${shape} axis=${axis} keepDims=${keepDims}`);
    const m = both(() => tf.max(x, axis, keepDims));
    assertBitEqual(m.got, m.ref, `max ${shape} axis=${axis}`);
    tf.dispose([x, s.ref, s.got, m.ref, m.got, absSum]);
  }
  const i = tf.tensor2d([1, 2, 3, 4], [2, 2], "int32");
  const { ref, got } = both(() => tf.sum(i, 1));
  assert.deepEqual(Array.from(got.dataSync()), Array.from(ref.dataSync()));
  tf.dispose([i, ref, got]);
});

test("Softmax and logSoftmax equal the wasm kernels", { skip }, () => {
  for (const shape of [
    [1, 1],
    [7, 33],
    [4, 7, 65],
    [64, 1000],
  ]) {
    const x = rand(shape, -8, 8);
    const cols = shape[shape.length - 1];
    // exp (a few ulps), a sum of `cols` terms (gamma_cols) and one division, on each side
    const rel = 2 * (cols + 8) * U;
    const s = both(() => tf.softmax(x));
    assertClose(
      s.got,
      s.ref,
      f32(s.ref).map((v) => rel * v),
      `softmax ${shape}`,
    );
    const l = both(() => tf.logSoftmax(x));
    // log-softmax = x - max - log(sum): the error of log(sum) is absolute
    const tol = f32(l.ref).map((v) => rel + 4 * U * Math.abs(v));
    assertClose(l.got, l.ref, tol, `logSoftmax ${shape}`);
    tf.dispose([x, s.ref, s.got, l.ref, l.got]);
  }
});

test(
  "Identity, Cast, Transpose, Tile, Slice, SplitV, Concat, GatherV2 move exactly the wasm bytes",
  { skip },
  () => {
    const x = rand([4, 7, 33]);
    const big = rand([300, 257]);
    const ints = tf.tensor([-3, 0, 7, 16777217, -16777219, 2147483647], [2, 3], "int32");
    const bools = tf.tensor([1, 0, 1], [3], "bool");
    const cases: [string, () => tf.Tensor | tf.Tensor[]][] = [
      ["clone float32", () => tf.clone(x)],
      ["clone int32", () => tf.clone(ints)],
      ["clone bool", () => tf.clone(bools)],
      ["cast float32->float32", () => tf.cast(x, "float32")],
      ["cast int32->float32 (rounds above 2^24)", () => tf.cast(ints, "float32")],
      ["cast float32->int32 (original)", () => tf.cast(x, "int32")],
      ["transpose [1,0] threaded tiles", () => tf.transpose(big)],
      ["transpose int32", () => tf.transpose(ints)],
      ["transpose [1,0,2]", () => tf.transpose(x, [1, 0, 2])],
      ["transpose [2,1,0]", () => tf.transpose(x, [2, 1, 0])],
      ["transpose [0,2,1]", () => tf.transpose(x, [0, 2, 1])],
      ["transpose [1,2,0]", () => tf.transpose(x, [1, 2, 0])],
      ["transpose [0,1,2] (no-op)", () => tf.transpose(x, [0, 1, 2])],
      ["transpose heads", () => tf.transpose(tf.reshape(x, [2, 2, 7, 33]), [0, 2, 1, 3])],
      ["transpose with 1s", () => tf.transpose(tf.reshape(x, [4, 1, 7, 1, 33]), [4, 3, 2, 1, 0])],
      ["broadcast a column", () => tf.broadcastTo(tf.slice(x, [0, 0, 0], [4, 7, 1]), [4, 7, 33])],
      ["broadcast a row", () => tf.broadcastTo(tf.slice(big, 0, 1), [300, 257])],
      [
        "broadcast inner 1s",
        () => tf.tile(tf.reshape(tf.slice(x, 0, 1), [1, 7, 1, 33]), [3, 1, 5, 1]),
      ],
      ["broadcast int32", () => tf.broadcastTo(tf.reshape(ints, [2, 1, 3]), [2, 4, 3])],
      ["tile a size-2 axis (original)", () => tf.tile(x, [2, 1, 1])],
      ["slice rows", () => tf.slice(x, [1, 0, 0], [2, 7, 33])],
      ["slice box", () => tf.slice(x, [1, 2, 5], [2, -1, 10])],
      ["slice 1-D", () => tf.slice(tf.reshape(x, [-1]), 100, 57)],
      ["slice int32", () => tf.slice(ints, [0, 1], [2, 2])],
      ["split last axis", () => tf.split(tf.reshape(tf.slice(big, 0, 256), [-1, 4, 64]), 2, -1)],
      ["split sizes axis 0", () => tf.split(x, [1, 2, 1], 0)],
      ["split axis 1 into 7", () => tf.split(x, 7, 1)],
      ["concat last axis", () => tf.concat([x, tf.neg(x)], -1)],
      ["concat axis 0", () => tf.concat([x, tf.slice(x, 0, 2)], 0)],
      ["concat axis 1 with empty", () => tf.concat([x, tf.zeros([4, 0, 33]), x], 1)],
      ["concat int32", () => tf.concat([ints, ints], 1)],
      ["gather rows", () => tf.gather(big, tf.tensor1d([7, 0, 299, 7], "int32"))],
      [
        "gather 2-D indices",
        () =>
          tf.gather(
            x,
            tf.tensor2d(
              [
                [1, 2],
                [3, 0],
              ],
              [2, 2],
              "int32",
            ),
          ),
      ],
      ["gather axis 1", () => tf.gather(x, tf.tensor1d([6, 0, 3], "int32"), 1)],
      ["gather int32", () => tf.gather(ints, tf.tensor1d([1, 1, 0], "int32"))],
    ];
    for (const [name, f] of cases) {
      disableNativeKernels();
      const ref = tf.tidy(f);
      enableNativeKernels();
      const got = tf.tidy(f);
      const [r, g] = [[ref].flat(), [got].flat()];
      assert.equal(g.length, r.length, `${name}: outputs`);
      r.forEach((t, i) => {
        assert.equal(g[i].dtype, t.dtype, `${name}: dtype`);
        if (t.dtype === "float32") assertBitEqual(g[i], t, name);
        else {
          assert.deepEqual(g[i].shape, t.shape, `${name}: shape`);
          assert.deepEqual(Array.from(g[i].dataSync()), Array.from(t.dataSync()), name);
        }
      });
      tf.dispose([...r, ...g]);
    }
    // an index out of range is reported by the original kernel, in its own words
    const bad = tf.tensor1d([0, 300], "int32");
    disableNativeKernels();
    const message = (() => {
      try {
        tf.gather(big, bad);
        return "no error";
      } catch (e) {
        return (e as Error).message;
      }
    })();
    enableNativeKernels();
    assert.throws(() => tf.gather(big, bad), { message });
    assert.match(message, /300/);
    tf.dispose([x, big, ints, bools, bad]);
  },
);

test(
  "Sum and Mean gradients are bit-identical to tfjs's own (axes, keepDims, all axes)",
  { skip },
  () => {
    const x = rand([5, 7, 33]);
    const w = rand([5, 7, 33]);
    const cases: [string, (t: tf.Tensor) => tf.Tensor][] = [
      ["sum last axis", (t) => tf.sum(t, -1)],
      ["sum axis 1, keepDims", (t) => tf.sum(t, 1, true)],
      ["sum axes [0, 2]", (t) => tf.sum(t, [0, 2])],
      ["sum all", (t) => tf.sum(t)],
      ["mean last axis, keepDims (RMSNorm)", (t) => tf.mean(t, -1, true)],
      ["mean axis 0", (t) => tf.mean(t, 0)],
      ["mean all", (t) => tf.mean(t)],
    ];
    for (const [name, reduce] of cases) {
      // weight the reduced values so that every output gets its own dy
      const f = (t: tf.Tensor) => {
        const r = reduce(tf.mul(t, w));
        return tf.sum(tf.mul(r, tf.reshape(tf.range(1, 1 + r.size), r.shape)));
      };
      const { ref, got } = both(() => tf.grad(f)(x));
      assertBitEqual(got, ref, name);
      tf.dispose([ref, got]);
    }
    tf.dispose([x, w]);
  },
);

/**
 * A tiny attention block (two heads, a rotary-style split/concat, an explicit head transpose)
 * feeding a 2-layer MLP head, with a softmax cross-entropy loss: every native kernel, forward
 * and backward.
 */
function trainingLoss(vars: Record<string, tf.Variable>, x: tf.Tensor3D, labels: tf.Tensor2D) {
  const [batch, seq, d] = x.shape;
  const heads = 2;
  const flat = tf.reshape(x, [batch * seq, d]);
  const split = (w: tf.Variable) =>
    tf.transpose(tf.reshape(tf.matMul(flat, w), [batch, seq, heads, -1]), [0, 2, 1, 3]);
  const rotate = (t: tf.Tensor) => {
    const [t1, t2] = tf.split(t, 2, -1);
    return tf.add(t, tf.mul(tf.concat([tf.neg(t2), t1], -1), 0.5));
  };
  const [q, k, v] = [rotate(split(vars.wq)), rotate(split(vars.wk)), split(vars.wv)];
  const scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(q.shape[3]!));
  const attended = tf.matMul(tf.softmax(scores), v); // [batch, heads, seq, h]
  const context = tf.reshape(tf.transpose(attended, [0, 2, 1, 3]), [batch * seq, -1]);
  const hidden = tf.relu(tf.fused.matMul({ a: context, b: vars.w1, bias: vars.b1 }));
  const logits = tf.fused.matMul({ a: hidden, b: vars.w2, bias: vars.b2 });
  return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
}

test(
  "a training step gives the same loss and gradients as plain wasm (1e-6 relative)",
  { skip },
  () => {
    const [batch, seq, d, h, hidden, classes] = [2, 8, 24, 16, 32, 10];
    const vars: Record<string, tf.Variable> = {
      wq: tf.variable(rand([d, h], -0.3, 0.3)),
      wk: tf.variable(rand([d, h], -0.3, 0.3)),
      wv: tf.variable(rand([d, h], -0.3, 0.3)),
      w1: tf.variable(rand([h, hidden], -0.3, 0.3)),
      b1: tf.variable(rand([hidden], -0.1, 0.1)),
      w2: tf.variable(rand([hidden, classes], -0.3, 0.3)),
      b2: tf.variable(rand([classes], -0.1, 0.1)),
    };
    // inputs looked up from a frozen embedding table (GatherV2 forward only)
    const table = rand([50, d]);
    const ids = Array.from({ length: batch * seq }, () => rng.int(50));
    const x = tf.reshape(tf.gather(table, tf.tensor1d(ids, "int32")), [
      batch,
      seq,
      d,
    ]) as tf.Tensor3D;
    const labels = tf.oneHot(
      tf.tensor1d(
        Array.from({ length: batch * seq }, () => rng.int(classes)),
        "int32",
      ),
      classes,
    ) as tf.Tensor2D;
    const list = Object.values(vars);
    const step = () => tf.variableGrads(() => trainingLoss(vars, x, labels), list);
    disableNativeKernels();
    const ref = step();
    enableNativeKernels();
    const got = step();
    const [lr, lg] = [ref.value.dataSync()[0], got.value.dataSync()[0]];
    assert.ok(Math.abs(lg - lr) <= 1e-6 * Math.abs(lr), `loss: native ${lg} vs wasm ${lr}`);
    for (const [name, v] of Object.entries(vars)) {
      const r = f32(ref.grads[v.name]);
      const g = f32(got.grads[v.name]);
      const scale = r.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
      const diff = r.reduce((m, x, i) => Math.max(m, Math.abs(g[i] - x)), 0);
      assert.ok(scale > 0, `gradient of ${name} is zero`);
      assert.ok(diff <= 1e-6 * scale, `grad ${name}: max |diff| ${diff} vs max |grad| ${scale}`);
    }
    tf.dispose([
      table,
      x,
      labels,
      ref.value,
      got.value,
      ...Object.values(ref.grads),
      ...Object.values(got.grads),
    ]);
    tf.dispose(Object.values(vars));
  },
);

test("enable/disable swap the registry and the backend label", { skip }, () => {
  disableNativeKernels();
  const original = tf.getKernel("BatchMatMul", "wasm").kernelFunc;
  const originalMeanGrad = tf.getGradient("Mean");
  assert.equal(backendInfo().label, "wasm");
  const on = enableNativeKernels();
  assert.equal(on.enabled, true);
  for (const name of ["BatchMatMul", "_FusedMatMul", "Exp", "Multiply", "Sum", "Transpose"]) {
    assert.ok(on.kernels.includes(name), `${name} replaced`);
  }
  assert.notEqual(tf.getKernel("BatchMatMul", "wasm").kernelFunc, original);
  assert.notEqual(tf.getGradient("Mean"), originalMeanGrad, "Mean gradient replaced");
  assert.equal(backendInfo().label, "wasm+native");
  const status = nativeStatus();
  assert.equal(status.enabled, true);
  assert.ok((status.threads ?? 0) >= 1);
  assert.match(status.blas?.path ?? "", /openblas/);
  disableNativeKernels();
  assert.equal(tf.getKernel("BatchMatMul", "wasm").kernelFunc, original);
  assert.equal(tf.getGradient("Mean"), originalMeanGrad);
  assert.equal(backendInfo().label, "wasm");
  // excluded kernels and gradients stay tfjs's own
  enableNativeKernels({ exclude: ["BatchMatMul", "NarratorSoftmaxCrossEntropy", "Mean gradient"] });
  assert.equal(tf.getKernel("BatchMatMul", "wasm").kernelFunc, original);
  assert.equal(tf.getKernel("NarratorSoftmaxCrossEntropy", "wasm"), undefined);
  assert.notEqual(tf.getKernel("NarratorSoftmaxCrossEntropyGrad", "wasm"), undefined);
  assert.equal(tf.getGradient("Mean"), originalMeanGrad);
  assert.notEqual(tf.getGradient("Sum"), undefined);
  disableNativeKernels();
  assert.equal(nativeStatus().enabled, false);
});

test("Identity shares data: a clone outlives its source and frees with it", { skip }, () => {
  enableNativeKernels();
  const before = tf.memory();
  const x = tf.tensor1d([1, 2, 3]);
  const y = tf.clone(x);
  const z = tf.cast(y, "float32");
  const memory = tf.memory() as tf.MemoryInfo & { numDataBuffers: number };
  const start = before as tf.MemoryInfo & { numDataBuffers: number };
  assert.equal(memory.numDataBuffers, start.numDataBuffers + 1, "one buffer for x, y and z");
  x.dispose();
  y.dispose();
  assert.deepEqual(Array.from(z.dataSync()), [1, 2, 3]);
  z.dispose();
  assert.equal(tf.memory().numBytes, before.numBytes);
  assert.equal(tf.memory().numTensors, before.numTensors);
});

test("no tensors leak through the native kernels", { skip }, () => {
  enableNativeKernels();
  const a = rand([3, 7, 33]);
  const b = rand([33, 65]);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    tf.tidy(() => {
      tf.sum(tf.softmax(tf.exp(tf.mul(tf.matMul(a, b), 0.1))), -1);
    });
  }
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([a, b]);
});
