/**
 * Loading the native addon (native/, built by node-gyp). It is optional: when it is not built,
 * fails to load, or finds no OpenBLAS, callers get a one-line reason and stay on plain wasm.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** What the addon reports about itself. */
export interface AddonStatus {
  /** OpenBLAS was loaded and the kernels can run. */
  ok: boolean;
  /** Why not, when `ok` is false. */
  reason: string;
  /** Threads a kernel may use, the caller included. */
  threads: number;
  blasPath: string;
  /** OpenBLAS's kernel family, e.g. `Haswell` (follows OPENBLAS_CORETYPE when set). */
  blasCore: string;
  blasConfig: string;
  /** Which compiled variant of the addon's own loops runs: `avx512f`, `avx2` or `baseline`. */
  cpuKernels: string;
}

/**
 * The addon's functions. Every pointer is a byte offset into `heap` (the wasm backend's memory);
 * the addon checks each range against the heap's length.
 */
export interface NativeAddon {
  status(): AddonStatus;
  setThreads(threads: number): number;
  matmul(
    heap: ArrayBufferLike,
    a: number,
    b: number,
    c: number,
    batch: number,
    m: number,
    n: number,
    k: number,
    transA: boolean,
    transB: boolean,
    aIndex: Int32Array | null,
    bIndex: Int32Array | null,
    bias: number,
    biasLen: number,
    activation: number,
    alpha: number,
  ): void;
  /** op 0: out = exp(x) (float32); op 1: out = float32(x) for int32 x. */
  unary(heap: ArrayBufferLike, op: number, x: number, out: number, n: number): void;
  binary(
    heap: ArrayBufferLike,
    op: number,
    broadcast: number,
    smallIsLeft: boolean,
    full: number,
    small: number,
    out: number,
    rows: number,
    cols: number,
  ): void;
  reduce(
    heap: ArrayBufferLike,
    op: number,
    x: number,
    out: number,
    pre: number,
    red: number,
    post: number,
  ): void;
  softmax(heap: ArrayBufferLike, x: number, out: number, rows: number, cols: number): void;
  /** Copies a box of 4-byte elements; strides are in elements. */
  copyStrided(
    heap: ArrayBufferLike,
    src: number,
    dst: number,
    shape: Int32Array,
    srcStrides: Int32Array,
    dstStrides: Int32Array,
  ): void;
  /**
   * Softmax cross-entropy of x [rows, cols] against int32 labels [rows]: per-row NLL, and the
   * row max and log of the shifted exp-sum the backward needs (all 0 on rows labelled `ignore`).
   * Returns the first row whose label is neither `ignore` nor in [0, cols), writing nothing, or -1.
   */
  crossEntropy(
    heap: ArrayBufferLike,
    x: number,
    labels: number,
    nll: number,
    rowMax: number,
    logSum: number,
    rows: number,
    cols: number,
    ignore: number,
  ): number;
  /** dx = (softmax(x) - onehot(label)) * dnll per row (0 on ignored rows); returns as crossEntropy. */
  crossEntropyGrad(
    heap: ArrayBufferLike,
    x: number,
    labels: number,
    rowMax: number,
    logSum: number,
    dnll: number,
    dx: number,
    rows: number,
    cols: number,
    ignore: number,
  ): number;
  /** out[o, j, :] = x[o, indices[j], :]; false (nothing written) when an index is out of range. */
  gather(
    heap: ArrayBufferLike,
    x: number,
    out: number,
    outer: number,
    dim: number,
    inner: number,
    indices: number,
    count: number,
  ): boolean;
  /**
   * Fused causal attention (native/src/attention.cc): out [B, heads, T, hd] and each query row's
   * max score and log of the shifted exp-sum, stats [B, heads, T, 2], for q [B, heads, T, hd], k
   * and v [B, kvHeads, S, hd] and a key padding mask [B, S] (-1: none); shape is
   * [B, heads, kvHeads, T, S, hd].
   */
  attention(
    heap: ArrayBufferLike,
    q: number,
    k: number,
    v: number,
    mask: number,
    out: number,
    stats: number,
    shape: Int32Array,
    scale: number,
  ): void;
  /** dq, dk, dv of `attention` given dout, recomputing the probabilities from its stats. */
  attentionGrad(
    heap: ArrayBufferLike,
    q: number,
    k: number,
    v: number,
    mask: number,
    out: number,
    stats: number,
    dout: number,
    dq: number,
    dk: number,
    dv: number,
    shape: Int32Array,
    scale: number,
  ): void;
  /**
   * out [m, rows] = a [m, cols] * W^T, or out [m, cols] = a [m, rows] * W when `transposed`, for
   * a weight W [rows, cols] in NF4 held in typed arrays outside the heap (packed codes, and either
   * float32 `absmax` or 8-bit `absmaxCodes` with the nested statistics), dequantized tile by tile.
   */
  nf4Matmul(
    heap: ArrayBufferLike,
    a: number,
    out: number,
    m: number,
    transposed: boolean,
    rows: number,
    cols: number,
    blocksize: number,
    packed: Uint8Array,
    absmax: Float32Array | null,
    absmaxCodes: Uint8Array | null,
    nestedAbsmax: Float32Array | null,
    nestedCode: Float32Array | null,
    nestedOffset: number,
    nestedBlocksize: number,
  ): void;
  /**
   * out [m, rows] = a [m, cols] * W^T, or out [m, cols] = a [m, rows] * W when `transposed`, for
   * a table W [rows, cols] stored as bf16 (format 0), f16 (1) or f32 (2) in `data` outside the
   * heap (row-major bytes), widened tile by tile.
   */
  tableMatmul(
    heap: ArrayBufferLike,
    a: number,
    out: number,
    m: number,
    transposed: boolean,
    rows: number,
    cols: number,
    format: number,
    data: Uint8Array,
  ): void;
  /** out [ids.length, cols] = the rows of W (as for tableMatmul) at ids, widened. */
  tableGather(
    heap: ArrayBufferLike,
    out: number,
    ids: Int32Array,
    rows: number,
    cols: number,
    format: number,
    data: Uint8Array,
  ): void;
}

export type AddonLoad =
  | { addon: NativeAddon; path: string; status: AddonStatus }
  | { addon: null; path: string; reason: string };

/** Where node-gyp puts the addon; `NARRATOR_NATIVE_ADDON` points elsewhere. */
export function addonPath(): string {
  return (
    process.env.NARRATOR_NATIVE_ADDON ??
    path.resolve(__dirname, "..", "..", "native", "build", "Release", "narrator_native.node")
  );
}

const loads = new Map<string, AddonLoad>();

/** Loads the addon once per path; never throws. */
export function loadAddon(file: string = addonPath()): AddonLoad {
  const cached = loads.get(file);
  if (cached) return cached;
  const result = tryLoad(file);
  loads.set(file, result);
  return result;
}

function tryLoad(file: string): AddonLoad {
  if (!fs.existsSync(file)) {
    return {
      addon: null,
      path: file,
      reason: `native addon not built (${file} is missing; build it with: npx node-gyp rebuild --directory native)`,
    };
  }
  let addon: NativeAddon;
  try {
    addon = require(file) as NativeAddon;
  } catch (err) {
    const message = (err as Error).message.split("\n")[0];
    return { addon: null, path: file, reason: `native addon ${file} failed to load: ${message}` };
  }
  const status = addon.status();
  if (!status.ok) return { addon: null, path: file, reason: status.reason };
  return { addon, path: file, status };
}
