/**
 * Native kernels vs the wasm backend's own, kernel by kernel (float32, fastest of timed runs).
 * Run: `node --import tsx bench/native.bench.ts`. Numbers are printed, never asserted.
 */
import * as os from "node:os";

import * as tf from "@tensorflow/tfjs-core";

import { initBackend } from "../src/backend/backend";
import {
  disableNativeKernels,
  enableNativeKernels,
  nativeStatus,
  setNativeThreads,
} from "../src/native/kernels";

/**
 * Fastest seconds per call of `f` (everything it makes disposed) over timed runs after a
 * warm-up: the machines here are shared, and the fastest run is the one least disturbed.
 */
function secondsPerCall(f: () => tf.Tensor, minSeconds = 0.3, maxRuns = 50): number {
  const once = () => tf.tidy(() => void f());
  for (let i = 0; i < 2; i++) once();
  let best = Infinity;
  const start = process.hrtime.bigint();
  for (let runs = 0; runs < maxRuns; runs++) {
    const t0 = process.hrtime.bigint();
    once();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
    if (Number(process.hrtime.bigint() - start) / 1e9 > minSeconds && runs >= 4) break;
  }
  return best;
}

interface MatmulShape {
  name: string;
  a: number[];
  b: number[];
  transposeA: boolean;
  transposeB: boolean;
  flops: number;
}

const MATMUL_SHAPES: MatmulShape[] = [
  { name: "2-D 512x512x512", a: [512, 512], b: [512, 512], transposeA: false, transposeB: false },
  {
    name: "2-D 512^3 transposeA",
    a: [512, 512],
    b: [512, 512],
    transposeA: true,
    transposeB: false,
  },
  {
    name: "2-D 512^3 transposeB",
    a: [512, 512],
    b: [512, 512],
    transposeA: false,
    transposeB: true,
  },
  {
    name: "batched [8,128,256]x[256,768]",
    a: [8, 128, 256],
    b: [256, 768],
    transposeA: false,
    transposeB: false,
  },
  {
    name: "batched [8,128,256]x[8,256,768]",
    a: [8, 128, 256],
    b: [8, 256, 768],
    transposeA: false,
    transposeB: false,
  },
  {
    name: "attention [64,128,32]x[64,128,32]^T",
    a: [64, 128, 32],
    b: [64, 128, 32],
    transposeA: false,
    transposeB: true,
  },
].map((s) => {
  const m = s.transposeA ? s.a[s.a.length - 1] : s.a[s.a.length - 2];
  const k = s.transposeA ? s.a[s.a.length - 2] : s.a[s.a.length - 1];
  const n = s.transposeB ? s.b[s.b.length - 2] : s.b[s.b.length - 1];
  const batch = Math.max(
    s.a.slice(0, -2).reduce((p, d) => p * d, 1),
    s.b.slice(0, -2).reduce((p, d) => p * d, 1),
  );
  return { ...s, flops: 2 * batch * m * n * k };
});

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + " ".repeat(n - s.length);
}

/** Prints matmul GFLOP/s: wasm, native on one thread, native on all its threads. */
export async function benchNativeMatmul(): Promise<void> {
  await initBackend("wasm");
  const on = enableNativeKernels();
  if (!on.enabled) {
    console.log(`native matmul: skipped (${on.reason})`);
    return;
  }
  const status = nativeStatus();
  const threads = status.threads ?? 1;
  const load = os.loadavg()[0].toFixed(1);
  console.log(
    `native: OpenBLAS ${status.blas?.core} (${status.blas?.path}), addon loops ${status.cpuKernels}, ${threads} threads; ${os.cpus().length} CPUs, load average ${load}`,
  );
  console.log(
    `${pad("matmul GFLOP/s", 38)} ${pad("wasm", 8)} ${pad("native 1T", 10)} native ${threads}T`,
  );
  for (const s of MATMUL_SHAPES) {
    const a = tf.randomUniform(s.a, -1, 1);
    const b = tf.randomUniform(s.b, -1, 1);
    const f = () => tf.matMul(a, b, s.transposeA, s.transposeB);
    disableNativeKernels();
    const wasm = s.flops / secondsPerCall(f) / 1e9;
    enableNativeKernels();
    setNativeThreads(1);
    const one = s.flops / secondsPerCall(f) / 1e9;
    setNativeThreads(threads);
    const all = s.flops / secondsPerCall(f) / 1e9;
    console.log(
      `${pad(s.name, 38)} ${pad(wasm.toFixed(1), 8)} ${pad(one.toFixed(1), 10)} ${all.toFixed(1)}`,
    );
    tf.dispose([a, b]);
  }
}

/** Prints milliseconds per call of the other native kernels vs wasm, at training-step sizes. */
export async function benchNativeElementwise(): Promise<void> {
  await initBackend("wasm");
  if (!enableNativeKernels().enabled) return;
  const x = tf.randomUniform([1024, 1024], -4, 4);
  const y = tf.randomUniform([1024, 1024], -4, 4);
  const row = tf.randomUniform([1024], -4, 4);
  const col = tf.randomUniform([1024, 1], -4, 4);
  const logits = tf.randomUniform([512, 8192], -4, 4);
  const cases: [string, () => tf.Tensor][] = [
    ["Exp [1024,1024]", () => tf.exp(x)],
    ["Multiply same [1024,1024]", () => tf.mul(x, y)],
    ["Multiply row [1024,1024]x[1024]", () => tf.mul(x, row)],
    ["Sub column [1024,1024]-[1024,1]", () => tf.sub(x, col)],
    ["Sum last axis [1024,1024]", () => tf.sum(x, -1)],
    ["Sum first axis [1024,1024]", () => tf.sum(x, 0)],
    ["Max last axis [512,8192]", () => tf.max(logits, -1)],
    ["Softmax [512,8192]", () => tf.softmax(logits)],
    ["logSoftmax [512,8192]", () => tf.logSoftmax(logits)],
  ];
  console.log(`${pad("kernel ms/call", 38)} ${pad("wasm", 8)} native`);
  for (const [name, f] of cases) {
    disableNativeKernels();
    const wasm = secondsPerCall(f) * 1e3;
    enableNativeKernels();
    const native = secondsPerCall(f) * 1e3;
    console.log(`${pad(name, 38)} ${pad(wasm.toFixed(3), 8)} ${native.toFixed(3)}`);
  }
  tf.dispose([x, y, row, col, logits]);
}

if (require.main === module) {
  void (async () => {
    await benchNativeMatmul();
    await benchNativeElementwise();
  })();
}
