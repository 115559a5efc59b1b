/**
 * Products with a frozen NF4 weight in the native addon, as bitsandbytes computes them on a GPU:
 * the weight stays packed in JavaScript memory, outside the wasm heap, and the kernel dequantizes
 * a tile of its rows at a time into a small per-thread buffer and multiplies there, so no float32
 * copy of the weight exists, on the heap or anywhere else. The forward is y = x W^T; the backward
 * dx = dy W runs the same kernel transposed.
 *
 * The kernel has no wasm counterpart: it is registered under a name of its own while native
 * kernels are enabled, and `nf4MatMul` returns null otherwise so that the caller keeps its plain
 * path (dequantize the layer, then matMul).
 */
import type * as tf from "@tensorflow/tfjs-core";

import type { NativeAddon } from "./addon";
import { filledOutput, frozenMatMul, productInput, requireAddonFunctions } from "./frozen_product";
import { type AddedKernel, type KernelArgs, type WasmBackend, heapOf, offsetOf } from "./wasm_heap";

/** Kernel name of the NF4 product (both directions, by the `transposed` attribute). */
export const NF4_MATMUL = "NarratorNf4MatMul";

/** A weight [rows, cols] in bitsandbytes' NF4 layout (the fields of an NF4 quantization state). */
export interface Nf4Operand {
  rows: number;
  cols: number;
  blocksize: number;
  /** ceil(rows * cols / 2) bytes, the first value of each pair in the high nibble. */
  packed: Uint8Array;
  /** float32 absmax per block; with `nested`, their 8-bit codes. */
  absmax: Float32Array | Uint8Array;
  /** How 8-bit absmax codes dequantize: code[q] * absmax[q's group] + offset. */
  nested?: { absmax: Float32Array; code: Float32Array; offset: number; blocksize: number };
}

/** a [m, cols] -> [m, rows] (a W^T), or a [m, rows] -> [m, cols] (a W) when `transposed`. */
const nf4Kernel: AddedKernel = (addon: NativeAddon, args: KernelArgs) => {
  const w = args.attrs?.weight as unknown as Nf4Operand;
  const transposed = args.attrs?.transposed === true;
  const { a, m, outer } = productInput(NF4_MATMUL, "weight", args, w, transposed);
  requireAddonFunctions(addon, NF4_MATMUL, ["nf4Matmul"], "NF4 kernel");
  const backend = args.backend as WasmBackend;
  const nested = w.nested;
  return filledOutput(backend, [m, outer], (out) =>
    addon.nf4Matmul(
      heapOf(backend),
      offsetOf(backend, a),
      offsetOf(backend, out),
      m,
      transposed,
      w.rows,
      w.cols,
      w.blocksize,
      w.packed,
      nested ? null : (w.absmax as Float32Array),
      nested ? (w.absmax as Uint8Array) : null,
      nested?.absmax ?? null,
      nested?.code ?? null,
      nested?.offset ?? 0,
      nested?.blocksize ?? 0,
    ),
  );
};

/** The NF4 kernel, by the name it is registered under. */
export const NF4_KERNELS: Record<string, AddedKernel> = { [NF4_MATMUL]: nf4Kernel };

/**
 * x [N, cols] W^T for an NF4 weight W [rows, cols], differentiable in x, or null when the kernel
 * is not registered or x is not float32 (see `frozenMatMul`).
 */
export function nf4MatMul(x: tf.Tensor2D, weight: Nf4Operand): tf.Tensor2D | null {
  return frozenMatMul(NF4_MATMUL, "weight", x, weight);
}
