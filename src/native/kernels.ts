/**
 * Native CPU kernels under the TensorFlow.js wasm backend.
 *
 * `enableNativeKernels()` swaps a few wasm kernels in the kernel registry for ones that run in
 * the native addon (OpenBLAS sgemm plus the addon's own threaded loops), zero-copy on the wasm
 * backend's heap: inputs and outputs stay ordinary wasm tensors. Each replacement keeps the
 * original kernel and hands it every case it does not cover (other dtypes, prelu, unusual
 * broadcasts), so results and error messages there are the wasm backend's own. Gradients need
 * nothing extra: tfjs expresses them with the same kernels.
 *
 * Replaced: matmuls (BatchMatMul, _FusedMatMul), Exp, Add/Sub/Multiply/RealDiv, Sum/Max,
 * Softmax, and data movement (Identity, Cast, Transpose, Tile, Slice, SplitV, Concat, GatherV2).
 * Elementwise, Max and data movement give wasm's exact bits; matmul, Sum, Softmax and Exp agree
 * within float32 rounding (summation order, exp polynomial). Added under names of their own
 * (no wasm counterpart): the fused softmax cross-entropy of the token loss (./cross_entropy) and
 * the product with a packed NF4 weight (./nf4_matmul), and the product and row lookup with a
 * 16-bit table such as an untied output head (./table_matmul).
 * Fused causal attention is added the same way (./attention).
 * Tile runs natively when it broadcasts, and the Sum and Mean gradients use it (./gradients).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { GradConfig, KernelConfig, TensorInfo } from "@tensorflow/tfjs-core";

import { type AddonStatus, type NativeAddon, loadAddon } from "./addon";
import { ATTENTION_KERNELS } from "./attention";
import { ADDED_KERNELS } from "./cross_entropy";
import { NATIVE_GRADIENTS } from "./gradients";
import { NF4_KERNELS } from "./nf4_matmul";
import { TABLE_KERNELS } from "./table_matmul";
import {
  type StridedCopy,
  planBroadcast,
  planBroadcastTile,
  planConcat,
  planMatmul,
  planReduce,
  planSlice,
  planTranspose,
  sizeOf,
} from "./shapes";
import { type NativeKernel, type WasmBackend, heapOf, offsetOf } from "./wasm_heap";

// Codes shared with native/src/kernels.h.
const ACTIVATIONS: Record<string, number> = {
  linear: 0,
  relu: 1,
  relu6: 2,
  leakyrelu: 3,
  sigmoid: 4,
  elu: 5,
};
const BINARY_OPS = { Add: 0, Sub: 1, Mul: 2, Div: 3 } as const;
const REDUCE_OPS = { Sum: 0, Max: 1 } as const;
const UNARY_OPS = { Exp: 0, Int32ToFloat: 1 } as const;

/** Bytes per element of the dtypes the data-movement kernels handle. */
const ELEMENT_BYTES: Partial<Record<tf.DataType, number>> = { float32: 4, int32: 4, bool: 1 };

/** Bias length the addon can apply (n per column, or 1), or 0 when it cannot. */
function biasLength(bias: TensorInfo, n: number): number {
  if (bias.dtype !== "float32") return 0;
  const size = sizeOf(bias.shape);
  if (size === 1) return 1;
  const leadingOnes = bias.shape.slice(0, -1).every((d) => d === 1);
  return leadingOnes && bias.shape[bias.shape.length - 1] === n ? n : 0;
}

/**
 * BatchMatMul and _FusedMatMul: one sgemm per output matrix (batch dims broadcast, transposes
 * passed to BLAS), with bias and activation applied natively. Note that wasm's own
 * _FusedMatMul (tfjs-backend-wasm 4.22) adds the bias wrongly as soon as a transpose flag or a
 * batch is involved, and for some batched shapes drops relu; here the result is that of the
 * unfused op sequence (matMul, add, activation), as tfjs defines the op.
 */
function matmulKernel(fused: boolean): NativeKernel {
  return (addon, args, original) => {
    const { a, b, bias, preluActivationWeights } = args.inputs;
    const attrs = args.attrs ?? {};
    const transposeA = attrs.transposeA === true;
    const transposeB = attrs.transposeB === true;
    if (!a || !b || a.dtype !== "float32" || b.dtype !== "float32") return original(args);
    const plan = planMatmul(a.shape, b.shape, transposeA, transposeB);
    if (plan === null) return original(args);
    let activation = ACTIVATIONS.linear;
    let biasLen = 0;
    if (fused) {
      const code = ACTIVATIONS[String(attrs.activation ?? "linear")];
      if (code === undefined || preluActivationWeights != null) return original(args);
      activation = code;
      if (bias != null) {
        biasLen = biasLength(bias, plan.n);
        if (biasLen === 0) return original(args);
      }
    }
    const backend = args.backend as WasmBackend;
    const out = backend.makeOutput(plan.outShape, "float32");
    if (sizeOf(plan.outShape) === 0) return out;
    addon.matmul(
      heapOf(backend),
      offsetOf(backend, a),
      offsetOf(backend, b),
      offsetOf(backend, out),
      plan.batch,
      plan.m,
      plan.n,
      plan.k,
      transposeA,
      transposeB,
      plan.aIndex,
      plan.bIndex,
      bias && biasLen > 0 ? offsetOf(backend, bias) : -1,
      biasLen,
      activation,
      Number(attrs.leakyreluAlpha ?? 0),
    );
    return out;
  };
}

/** Exp of float32 (a few ulps from wasm's libm exp). */
const expKernel: NativeKernel = (addon, args, original) => {
  const { x } = args.inputs;
  if (!x || x.dtype !== "float32") return original(args);
  const backend = args.backend as WasmBackend;
  const out = backend.makeOutput(x.shape, "float32");
  const n = sizeOf(x.shape);
  if (n > 0) {
    addon.unary(heapOf(backend), UNARY_OPS.Exp, offsetOf(backend, x), offsetOf(backend, out), n);
  }
  return out;
};

/** Add, Sub, Multiply, RealDiv of float32: same shape, scalar, row or column broadcasts. */
function binaryKernel(op: (typeof BINARY_OPS)[keyof typeof BINARY_OPS]): NativeKernel {
  return (addon, args, original) => {
    const { a, b } = args.inputs;
    if (!a || !b || a.dtype !== "float32" || b.dtype !== "float32") return original(args);
    const plan = planBroadcast(a.shape, b.shape);
    if (plan === null) return original(args);
    const backend = args.backend as WasmBackend;
    const out = backend.makeOutput(plan.outShape, "float32");
    if (sizeOf(plan.outShape) === 0) return out;
    const [full, small] = plan.smallIsLeft ? [b, a] : [a, b];
    addon.binary(
      heapOf(backend),
      op,
      plan.broadcast,
      plan.smallIsLeft,
      offsetOf(backend, full),
      offsetOf(backend, small),
      offsetOf(backend, out),
      plan.rows,
      plan.cols,
    );
    return out;
  };
}

/** Sum and Max of float32 over one contiguous block of axes, without wasm's transposes. */
function reduceKernel(
  op: (typeof REDUCE_OPS)[keyof typeof REDUCE_OPS],
  axisAttr: "axis" | "reductionIndices",
): NativeKernel {
  return (addon, args, original) => {
    const { x } = args.inputs;
    if (!x || x.dtype !== "float32") return original(args);
    const attrs = args.attrs ?? {};
    const axes = attrs[axisAttr] as number | number[] | null;
    const plan = planReduce(x.shape, axes, attrs.keepDims === true);
    if (plan === null) return original(args);
    const backend = args.backend as WasmBackend;
    const out = backend.makeOutput(plan.outShape, "float32");
    if (plan.pre * plan.post === 0) return out;
    const { pre, red, post } = plan;
    addon.reduce(heapOf(backend), op, offsetOf(backend, x), offsetOf(backend, out), pre, red, post);
    return out;
  };
}

/** Softmax of float32 over the last axis. */
const softmaxKernel: NativeKernel = (addon, args, original) => {
  const { logits } = args.inputs;
  if (!logits || logits.dtype !== "float32") return original(args);
  const rank = logits.shape.length;
  const dim = Number(args.attrs?.dim ?? -1);
  if (rank === 0 || (dim !== -1 && dim !== rank - 1)) {
    return original(args);
  }
  const backend = args.backend as WasmBackend;
  const out = backend.makeOutput(logits.shape, "float32");
  const size = sizeOf(logits.shape);
  if (size === 0) return out;
  const cols = logits.shape[rank - 1];
  const [x, y] = [offsetOf(backend, logits), offsetOf(backend, out)];
  addon.softmax(heapOf(backend), x, y, size / cols, cols);
  return out;
};

/**
 * The same data under a second reference, as Reshape does and as tfjs's cpu and webgl backends
 * do for Identity: tensors are immutable, so a copy buys nothing. (The engine clones every
 * tensor it saves for the backward pass, so wasm's copying Identity costs a full copy of the
 * activations per step.)
 */
function shareTensor(backend: WasmBackend, x: TensorInfo): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** Runs a planned strided copy of 4-byte elements, offsets in elements. */
function runCopy(
  addon: NativeAddon,
  heap: ArrayBufferLike,
  src: number,
  dst: number,
  copy: StridedCopy,
): void {
  addon.copyStrided(heap, src, dst, copy.dims, copy.srcStrides, copy.dstStrides);
}

/** Identity of numeric tensors: shared data, no copy. */
const identityKernel: NativeKernel = (_addon, args, original) => {
  const { x } = args.inputs;
  if (!x || ELEMENT_BYTES[x.dtype] === undefined) return original(args);
  return shareTensor(args.backend as WasmBackend, x);
};

/** Cast to the same dtype (shared data) or int32 to float32; other casts keep wasm's own. */
const castKernel: NativeKernel = (addon, args, original) => {
  const { x } = args.inputs;
  const dtype = args.attrs?.dtype as tf.DataType;
  if (!x) return original(args);
  const backend = args.backend as WasmBackend;
  if (dtype === x.dtype && ELEMENT_BYTES[dtype] !== undefined) return shareTensor(backend, x);
  if (x.dtype !== "int32" || dtype !== "float32") return original(args);
  const out = backend.makeOutput(x.shape, "float32");
  const n = sizeOf(x.shape);
  if (n > 0) {
    const heap = heapOf(backend);
    addon.unary(heap, UNARY_OPS.Int32ToFloat, offsetOf(backend, x), offsetOf(backend, out), n);
  }
  return out;
};

/** Transpose of 4-byte elements as one strided copy (tiled when the innermost dim moves). */
const transposeKernel: NativeKernel = (addon, args, original) => {
  const { x } = args.inputs;
  const perm = args.attrs?.perm as number[] | undefined;
  if (!x || ELEMENT_BYTES[x.dtype] !== 4 || !perm || perm.length !== x.shape.length) {
    return original(args);
  }
  const { outShape, copy } = planTranspose(x.shape, perm);
  const backend = args.backend as WasmBackend;
  const out = backend.makeOutput(outShape, x.dtype);
  if (sizeOf(outShape) === 0) return out;
  runCopy(addon, heapOf(backend), offsetOf(backend, x), offsetOf(backend, out), copy);
  return out;
};

/** Tile that repeats only axes of size 1 (tf.broadcastTo): one copy reading x with stride 0. */
const tileKernel: NativeKernel = (addon, args, original) => {
  const { x } = args.inputs;
  const reps = args.attrs?.reps as number[] | undefined;
  if (!x || ELEMENT_BYTES[x.dtype] !== 4 || !reps) return original(args);
  const plan = planBroadcastTile(x.shape, reps);
  if (plan === null) return original(args);
  const backend = args.backend as WasmBackend;
  const out = backend.makeOutput(plan.outShape, x.dtype);
  if (sizeOf(plan.outShape) === 0) return out;
  runCopy(addon, heapOf(backend), offsetOf(backend, x), offsetOf(backend, out), plan.copy);
  return out;
};

/** Slice of 4-byte elements, reading only the box (wasm's copies the whole input first). */
const sliceKernel: NativeKernel = (addon, args, original) => {
  const { x } = args.inputs;
  if (!x || ELEMENT_BYTES[x.dtype] !== 4) return original(args);
  const attrs = args.attrs ?? {};
  const [begin, size] = tf.slice_util.parseSliceParams(
    x as tf.TensorInfo as tf.Tensor,
    attrs.begin as number[],
    attrs.size as number[],
  );
  const { srcOffset, copy } = planSlice(x.shape, begin, size);
  const backend = args.backend as WasmBackend;
  const out = backend.makeOutput(size, x.dtype);
  if (sizeOf(size) === 0) return out;
  const src = offsetOf(backend, x) + 4 * srcOffset;
  runCopy(addon, heapOf(backend), src, offsetOf(backend, out), copy);
  return out;
};

/** SplitV: one Slice per piece. */
const splitKernel: NativeKernel = (addon, args, original) => {
  const { x } = args.inputs;
  if (!x || ELEMENT_BYTES[x.dtype] !== 4) return original(args);
  const attrs = args.attrs ?? {};
  const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(
    x as tf.TensorInfo as tf.Tensor,
    attrs.numOrSizeSplits as number[] | number,
    axis,
  );
  const backend = args.backend as WasmBackend;
  const begin = x.shape.map(() => 0);
  const pieces = sizes.map((s) => {
    const size = x.shape.slice();
    size[axis] = s;
    const plan = planSlice(x.shape, begin, size);
    begin[axis] += s;
    return { plan, out: backend.makeOutput(size, x.dtype) };
  });
  const heap = heapOf(backend);
  const base = offsetOf(backend, x);
  for (const { plan, out } of pieces) {
    if (sizeOf(out.shape) === 0) continue;
    runCopy(addon, heap, base + 4 * plan.srcOffset, offsetOf(backend, out), plan.copy);
  }
  return pieces.map((p) => p.out);
};

/** Concat of 4-byte elements: each input copied into its place in the output. */
const concatKernel: NativeKernel = (addon, args, original) => {
  const all = Object.values(args.inputs).filter((t): t is TensorInfo => t !== undefined);
  if (
    all.length === 0 ||
    all.some((t) => ELEMENT_BYTES[t.dtype] !== 4 || t.dtype !== all[0].dtype)
  ) {
    return original(args);
  }
  const axis = tf.util.parseAxisParam(args.attrs?.axis as number, all[0].shape)[0];
  const plan = planConcat(
    all.map((t) => t.shape),
    axis,
  );
  if (plan === null) return original(args);
  const backend = args.backend as WasmBackend;
  const out = backend.makeOutput(plan.outShape, all[0].dtype);
  const heap = heapOf(backend);
  const base = offsetOf(backend, out);
  plan.parts.forEach(({ dstOffset, copy }, i) => {
    if (sizeOf(all[i].shape) === 0) return;
    runCopy(addon, heap, offsetOf(backend, all[i]), base + 4 * dstOffset, copy);
  });
  return out;
};

/** GatherV2 without batch dims: rows of x copied by index. */
const gatherKernel: NativeKernel = (addon, args, original) => {
  const { x, indices } = args.inputs;
  const attrs = args.attrs ?? {};
  if (!x || !indices || ELEMENT_BYTES[x.dtype] !== 4 || indices.dtype !== "int32") {
    return original(args);
  }
  if (Number(attrs.batchDims ?? 0) !== 0) return original(args);
  const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0];
  const outShape = [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
  const backend = args.backend as WasmBackend;
  const out = backend.makeOutput(outShape, x.dtype);
  const count = sizeOf(indices.shape);
  if (sizeOf(outShape) === 0) return out;
  const ok = addon.gather(
    heapOf(backend),
    offsetOf(backend, x),
    offsetOf(backend, out),
    sizeOf(x.shape.slice(0, axis)),
    x.shape[axis],
    sizeOf(x.shape.slice(axis + 1)),
    offsetOf(backend, indices),
    count,
  );
  if (ok) return out;
  // An index is out of range: the original kernel reports it.
  backend.disposeData(out.dataId);
  return original(args);
};

/** The wasm kernels replaced, by tfjs kernel name. */
const NATIVE_KERNELS: Record<string, NativeKernel> = {
  BatchMatMul: matmulKernel(false),
  _FusedMatMul: matmulKernel(true),
  Exp: expKernel,
  Add: binaryKernel(BINARY_OPS.Add),
  Sub: binaryKernel(BINARY_OPS.Sub),
  Multiply: binaryKernel(BINARY_OPS.Mul),
  RealDiv: binaryKernel(BINARY_OPS.Div),
  Sum: reduceKernel(REDUCE_OPS.Sum, "axis"),
  Max: reduceKernel(REDUCE_OPS.Max, "reductionIndices"),
  Softmax: softmaxKernel,
  Identity: identityKernel,
  Cast: castKernel,
  Transpose: transposeKernel,
  Tile: tileKernel,
  Slice: sliceKernel,
  SplitV: splitKernel,
  Concat: concatKernel,
  GatherV2: gatherKernel,
};

interface Active {
  addon: NativeAddon;
  status: AddonStatus;
  originals: Map<string, KernelConfig>;
  /** Kernels registered under names of their own (ADDED_KERNELS, NF4_KERNELS, TABLE_KERNELS...). */
  added: string[];
  /** tfjs's gradients that NATIVE_GRADIENTS replaced. */
  gradients: GradConfig[];
}

/** Every kernel running natively while `a` is in force. */
const kernelNames = (a: Active) => [...a.originals.keys(), ...a.added];

let active: Active | null = null;

/** Whether native kernels are in force (the backend's provenance label then reads `wasm+native`). */
export function nativeKernelsEnabled(): boolean {
  return active !== null;
}

export interface NativeKernelsResult {
  enabled: boolean;
  /** One line saying why native kernels are off. */
  reason?: string;
  /** The kernels now running natively. */
  kernels: string[];
}

/** Why native kernels cannot be enabled now, or the loaded addon. */
function probe(): { addon: NativeAddon; status: AddonStatus } | { reason: string } {
  if (process.env.NARRATOR_NATIVE === "0") return { reason: "disabled by NARRATOR_NATIVE=0" };
  const backend = tf.getBackend();
  if (backend !== "wasm") {
    return { reason: `backend is '${backend}'; native kernels run under 'wasm' only` };
  }
  const heap = (tf.backend() as unknown as WasmBackend).wasm.HEAPU8.buffer;
  if (!(heap instanceof ArrayBuffer)) {
    return { reason: "the wasm heap is shared (threaded wasm): native kernels need a plain heap" };
  }
  const load = loadAddon();
  return load.addon === null ? { reason: load.reason } : load;
}

export interface NativeKernelsOptions {
  /**
   * Kernel names to leave as they are, and `"<kernel> gradient"` for the gradients replaced
   * (for measurements: the bench runs with and without).
   */
  exclude?: readonly string[];
}

/**
 * Replaces the wasm kernels listed in NATIVE_KERNELS with native ones and registers
 * ADDED_KERNELS, NF4_KERNELS, TABLE_KERNELS and ATTENTION_KERNELS. Registers nothing (and says
 * why) when NARRATOR_NATIVE=0, when the backend is not wasm, or when the addon or OpenBLAS is
 * missing. Calling it again is a no-op (disable first to change `exclude`).
 */
export function enableNativeKernels(options: NativeKernelsOptions = {}): NativeKernelsResult {
  if (active) return { enabled: true, kernels: kernelNames(active) };
  const found = probe();
  if ("reason" in found) return { enabled: false, reason: found.reason, kernels: [] };
  const excluded = new Set(options.exclude ?? []);
  const originals = new Map<string, KernelConfig>();
  for (const [name, kernel] of Object.entries(NATIVE_KERNELS)) {
    const original = tf.getKernel(name, "wasm");
    if (original === undefined || excluded.has(name)) continue;
    const fallback = original.kernelFunc;
    tf.unregisterKernel(name, "wasm");
    tf.registerKernel({
      kernelName: name,
      backendName: "wasm",
      kernelFunc: (args) => kernel(found.addon, args, fallback),
    });
    originals.set(name, original);
  }
  const added: string[] = [];
  for (const [name, kernel] of Object.entries({
    ...ADDED_KERNELS,
    ...NF4_KERNELS,
    ...TABLE_KERNELS,
    ...ATTENTION_KERNELS,
  })) {
    if (tf.getKernel(name, "wasm") !== undefined || excluded.has(name)) continue;
    tf.registerKernel({
      kernelName: name,
      backendName: "wasm",
      kernelFunc: (args) => kernel(found.addon, args),
    });
    added.push(name);
  }
  const gradients: GradConfig[] = [];
  for (const grad of NATIVE_GRADIENTS) {
    const original = tf.getGradient(grad.kernelName);
    if (original === undefined || excluded.has(`${grad.kernelName} gradient`)) continue;
    tf.registerGradient(grad);
    gradients.push(original);
  }
  active = { ...found, originals, added, gradients };
  return { enabled: true, kernels: kernelNames(active) };
}

/** Restores the original wasm kernels; a no-op when not enabled. */
export function disableNativeKernels(): void {
  if (!active) return;
  for (const [name, original] of active.originals) {
    tf.unregisterKernel(name, "wasm");
    tf.registerKernel(original);
  }
  for (const name of active.added) {
    if (tf.getKernel(name, "wasm") !== undefined) tf.unregisterKernel(name, "wasm");
  }
  for (const grad of active.gradients) tf.registerGradient(grad);
  active = null;
}

export interface NativeStatus extends NativeKernelsResult {
  /** Threads a native kernel uses, the caller included. */
  threads?: number;
  blas?: { path: string; core: string; config: string };
  /** Compiled variant of the addon's own loops in use (`avx512f`, `avx2`, `baseline`). */
  cpuKernels?: string;
}

/** Whether native kernels are on, which ones, and what they run on (for provenance). */
export function nativeStatus(): NativeStatus {
  if (!active) {
    const found = probe();
    const reason = "reason" in found ? found.reason : "not enabled (call enableNativeKernels())";
    return { enabled: false, reason, kernels: [] };
  }
  const { addon, status } = active;
  return {
    enabled: true,
    kernels: kernelNames(active),
    threads: addon.status().threads,
    blas: { path: status.blasPath, core: status.blasCore, config: status.blasConfig },
    cpuKernels: status.cpuKernels,
  };
}

/**
 * Caps the threads native kernels use (1 = the calling thread only); returns the cap in force.
 * For measurements. Throws when the addon is not available.
 */
export function setNativeThreads(threads: number): number {
  const load = loadAddon();
  if (load.addon === null) throw new Error(`setNativeThreads: ${load.reason}`);
  return load.addon.setThreads(threads);
}
