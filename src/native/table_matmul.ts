/**
 * Products with a frozen table kept as the checkpoint stores it (BF16, F16 or F32) in JavaScript
 * memory, outside the wasm heap, such as an untied output head, in the native addon: the kernel
 * widens a tile of the table's rows at a time into a small per-thread buffer and multiplies there,
 * so no float32 copy of the table exists, on the heap or anywhere else. The forward is
 * y = x W^T; the backward dx = dy W runs the same kernel transposed. A second kernel widens the
 * looked-up rows of an embedding straight onto the heap.
 *
 * The kernels have no wasm counterpart: they are registered under names of their own while native
 * kernels are enabled, and `tableMatMul` / `tableGather` return null otherwise so that the caller
 * keeps its plain path (widen in JavaScript, then matMul).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { NamedAttrMap } from "@tensorflow/tfjs-core";

import type { NativeAddon } from "./addon";
import { type AddedKernel, type KernelArgs, type WasmBackend, heapOf, offsetOf } from "./wasm_heap";

/** Kernel name of the product (both directions, by the `transposed` attribute). */
export const TABLE_MATMUL = "NarratorTableMatMul";
/** Kernel name of the row lookup. */
export const TABLE_GATHER = "NarratorTableGather";

type CustomGradFn = Parameters<typeof tf.customGrad>[0];

/** A table [rows, cols]: its stored bytes, row-major, little-endian, at any alignment. */
export interface TableOperand {
  rows: number;
  cols: number;
  dtype: "BF16" | "F16" | "F32";
  data: Uint8Array;
}

/** The addon's code for each storage format. */
const FORMAT_CODES: Record<TableOperand["dtype"], number> = { BF16: 0, F16: 1, F32: 2 };

/** Fails with the rebuild hint when the loaded addon predates these kernels. */
function requireTableKernels(addon: NativeAddon, kernel: string): void {
  if (typeof addon.tableMatmul !== "function" || typeof addon.tableGather !== "function") {
    throw new Error(
      `${kernel}: the native addon was built before its 16-bit table kernels existed; rebuild it with: npm run build:native`,
    );
  }
}

/** a [m, cols] -> [m, rows] (a W^T), or a [m, rows] -> [m, cols] (a W) when `transposed`. */
const matMulKernel: AddedKernel = (addon: NativeAddon, args: KernelArgs) => {
  const { a } = args.inputs;
  const w = args.attrs?.table as unknown as TableOperand;
  const transposed = args.attrs?.transposed === true;
  const [inner, outer] = transposed ? [w.rows, w.cols] : [w.cols, w.rows];
  if (!a || a.dtype !== "float32" || a.shape.length !== 2 || a.shape[1] !== inner) {
    throw new Error(
      `${TABLE_MATMUL}: the input must be float32 [m, ${inner}] for a [${w.rows}, ${w.cols}] table${transposed ? " (transposed)" : ""}, got ${a?.dtype} [${a?.shape}]`,
    );
  }
  requireTableKernels(addon, TABLE_MATMUL);
  const m = a.shape[0];
  const backend = args.backend as WasmBackend;
  const out = backend.makeOutput([m, outer], "float32");
  if (m * outer === 0) return out;
  try {
    addon.tableMatmul(
      heapOf(backend),
      offsetOf(backend, a),
      offsetOf(backend, out),
      m,
      transposed,
      w.rows,
      w.cols,
      FORMAT_CODES[w.dtype],
      w.data,
    );
  } catch (e) {
    backend.disposeData(out.dataId);
    throw e;
  }
  return out;
};

/** The rows at `ids` (attribute, an Int32Array) as a [ids.length, cols] float32 tensor. */
const gatherKernel: AddedKernel = (addon: NativeAddon, args: KernelArgs) => {
  const w = args.attrs?.table as unknown as TableOperand;
  const ids = args.attrs?.ids as unknown as Int32Array;
  requireTableKernels(addon, TABLE_GATHER);
  const backend = args.backend as WasmBackend;
  const out = backend.makeOutput([ids.length, w.cols], "float32");
  if (ids.length * w.cols === 0) return out;
  try {
    addon.tableGather(
      heapOf(backend),
      offsetOf(backend, out),
      ids,
      w.rows,
      w.cols,
      FORMAT_CODES[w.dtype],
      w.data,
    );
  } catch (e) {
    backend.disposeData(out.dataId);
    throw e;
  }
  return out;
};

/** The table kernels, by the names they are registered under. */
export const TABLE_KERNELS: Record<string, AddedKernel> = {
  [TABLE_MATMUL]: matMulKernel,
  [TABLE_GATHER]: gatherKernel,
};

const registered = (name: string) => tf.getKernel(name, tf.getBackend()) !== undefined;

/**
 * x [N, cols] W^T for a table W [rows, cols], differentiable in x (dx = dy W, through the same
 * kernel), or null when the kernel is not registered for the active backend or x is not
 * float32: the caller then computes the product its own way.
 */
export function tableMatMul(x: tf.Tensor2D, table: TableOperand): tf.Tensor2D | null {
  if (x.dtype !== "float32" || !registered(TABLE_MATMUL)) return null;
  const engine = tf.engine();
  const run = (a: tf.Tensor, transposed: boolean) =>
    engine.runKernel(TABLE_MATMUL, { a }, {
      table,
      transposed,
    } as unknown as NamedAttrMap) as tf.Tensor2D;
  const f = tf.customGrad(((input: tf.Tensor2D) => ({
    value: run(input, false),
    gradFunc: (dy: tf.Tensor2D) => [run(dy, true)],
  })) as CustomGradFn);
  return f(x) as tf.Tensor2D;
}

/**
 * The table's rows at `ids` as a [ids.length, cols] tensor, or null when the kernel is not
 * registered for the active backend. Ids must be integers in [0, rows) (the addon checks).
 */
export function tableGather(table: TableOperand, ids: Int32Array): tf.Tensor2D | null {
  if (!registered(TABLE_GATHER)) return null;
  return tf.engine().runKernel(TABLE_GATHER, {}, {
    table,
    ids,
  } as unknown as NamedAttrMap) as tf.Tensor2D;
}
