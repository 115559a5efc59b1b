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
import {
  filledOutput,
  frozenMatMul,
  kernelRegistered,
  productInput,
  requireAddonFunctions,
} from "./frozen_product";
import { type AddedKernel, type KernelArgs, type WasmBackend, heapOf, offsetOf } from "./wasm_heap";

/** Kernel name of the product (both directions, by the `transposed` attribute). */
export const TABLE_MATMUL = "NarratorTableMatMul";
/** Kernel name of the row lookup. */
export const TABLE_GATHER = "NarratorTableGather";

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
  requireAddonFunctions(addon, kernel, ["tableMatmul", "tableGather"], "16-bit table kernels");
}

/** a [m, cols] -> [m, rows] (a W^T), or a [m, rows] -> [m, cols] (a W) when `transposed`. */
const matMulKernel: AddedKernel = (addon: NativeAddon, args: KernelArgs) => {
  const w = args.attrs?.table as unknown as TableOperand;
  const transposed = args.attrs?.transposed === true;
  const { a, m, outer } = productInput(TABLE_MATMUL, "table", args, w, transposed);
  requireTableKernels(addon, TABLE_MATMUL);
  const backend = args.backend as WasmBackend;
  return filledOutput(backend, [m, outer], (out) =>
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
    ),
  );
};

/** The rows at `ids` (attribute, an Int32Array) as a [ids.length, cols] float32 tensor. */
const gatherKernel: AddedKernel = (addon: NativeAddon, args: KernelArgs) => {
  const w = args.attrs?.table as unknown as TableOperand;
  const ids = args.attrs?.ids as unknown as Int32Array;
  requireTableKernels(addon, TABLE_GATHER);
  const backend = args.backend as WasmBackend;
  return filledOutput(backend, [ids.length, w.cols], (out) =>
    addon.tableGather(
      heapOf(backend),
      offsetOf(backend, out),
      ids,
      w.rows,
      w.cols,
      FORMAT_CODES[w.dtype],
      w.data,
    ),
  );
};

/** The table kernels, by the names they are registered under. */
export const TABLE_KERNELS: Record<string, AddedKernel> = {
  [TABLE_MATMUL]: matMulKernel,
  [TABLE_GATHER]: gatherKernel,
};

/**
 * x [N, cols] W^T for a table W [rows, cols], differentiable in x, or null when the kernel is not
 * registered or x is not float32 (see `frozenMatMul`).
 */
export function tableMatMul(x: tf.Tensor2D, table: TableOperand): tf.Tensor2D | null {
  return frozenMatMul(TABLE_MATMUL, "table", x, table);
}

/**
 * The table's rows at `ids` as a [ids.length, cols] tensor, or null when the kernel is not
 * registered for the active backend. Ids must be integers in [0, rows) (the addon checks).
 */
export function tableGather(table: TableOperand, ids: Int32Array): tf.Tensor2D | null {
  if (!kernelRegistered(TABLE_GATHER)) return null;
  return tf.engine().runKernel(TABLE_GATHER, {}, {
    table,
    ids,
  } as unknown as NamedAttrMap) as tf.Tensor2D;
}
