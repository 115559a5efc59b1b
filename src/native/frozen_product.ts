/**
 * What the native products with a frozen weight kept outside the wasm heap (NF4 codes, 16-bit
 * tables) share: the input check of y = x W^T and its transpose dx = dy W, one output written by
 * the addon (freed again when the addon throws), and the differentiable product whose backward
 * runs the same kernel transposed.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";

import type { NativeAddon } from "./addon";
import type { KernelArgs, WasmBackend } from "./wasm_heap";

type CustomGradFn = Parameters<typeof tf.customGrad>[0];

/** The shape of a frozen weight [rows, cols]. */
export interface FrozenShape {
  rows: number;
  cols: number;
}

/**
 * The input `a` of a product with `w` ([m, cols] for a W^T, [m, rows] for a W when `transposed`)
 * checked, and its rows and the output's width; `what` names the weight's kind in the error.
 */
export function productInput(
  kernel: string,
  what: string,
  args: KernelArgs,
  w: FrozenShape,
  transposed: boolean,
): { a: TensorInfo; m: number; outer: number } {
  const { a } = args.inputs;
  const [inner, outer] = transposed ? [w.rows, w.cols] : [w.cols, w.rows];
  if (!a || a.dtype !== "float32" || a.shape.length !== 2 || a.shape[1] !== inner) {
    throw new Error(
      `${kernel}: the input must be float32 [m, ${inner}] for a [${w.rows}, ${w.cols}] ${what}${transposed ? " (transposed)" : ""}, got ${a?.dtype} [${a?.shape}]`,
    );
  }
  return { a, m: a.shape[0], outer };
}

/** A float32 output of `shape` that `fill` writes (skipped when empty; freed if `fill` throws). */
export function filledOutput(
  backend: WasmBackend,
  shape: number[],
  fill: (out: TensorInfo) => void,
): TensorInfo {
  const out = backend.makeOutput(shape, "float32");
  if (shape.reduce((n, s) => n * s, 1) === 0) return out;
  try {
    fill(out);
  } catch (e) {
    backend.disposeData(out.dataId);
    throw e;
  }
  return out;
}

/** Fails with the rebuild hint when the loaded addon predates the functions `kernel` calls. */
export function requireAddonFunctions(
  addon: NativeAddon,
  kernel: string,
  names: (keyof NativeAddon)[],
  what: string,
): void {
  if (names.some((n) => typeof addon[n] !== "function")) {
    throw new Error(
      `${kernel}: the native addon was built before its ${what} existed; rebuild it with: npm run build:native`,
    );
  }
}

/** Whether `kernel` is registered for the active backend. */
export function kernelRegistered(kernel: string): boolean {
  return tf.getKernel(kernel, tf.getBackend()) !== undefined;
}

/**
 * x [N, cols] W^T through `kernel` (the weight passed as attribute `attr`), differentiable in x
 * (dx = dy W, the same kernel transposed), or null when the kernel is not registered for the
 * active backend or x is not float32: the caller then computes the product its own way.
 */
export function frozenMatMul(
  kernel: string,
  attr: string,
  x: tf.Tensor2D,
  weight: object,
): tf.Tensor2D | null {
  if (x.dtype !== "float32" || !kernelRegistered(kernel)) return null;
  const engine = tf.engine();
  const run = (a: tf.Tensor, transposed: boolean) =>
    engine.runKernel(kernel, { a }, {
      [attr]: weight,
      transposed,
    } as unknown as NamedAttrMap) as tf.Tensor2D;
  const f = tf.customGrad(((input: tf.Tensor2D) => ({
    value: run(input, false),
    gradFunc: (dy: tf.Tensor2D) => [run(dy, true)],
  })) as CustomGradFn);
  return f(x) as tf.Tensor2D;
}
