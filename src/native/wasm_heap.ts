/**
 * How native kernels reach the wasm backend's tensors: the backend's internals they use, and
 * byte offsets into its heap.
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { KernelFunc, TensorInfo } from "@tensorflow/tfjs-core";

import type { NativeAddon } from "./addon";

/** The parts of tfjs-backend-wasm's BackendWasm the kernels use. */
export interface WasmBackend {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  disposeData(dataId: object): void;
  incRef(dataId: object): void;
}

export type KernelArgs = Parameters<KernelFunc>[0];
export type KernelResult = ReturnType<KernelFunc>;

/** A native kernel that hands the cases it does not cover to the wasm kernel it replaces. */
export type NativeKernel = (
  addon: NativeAddon,
  args: KernelArgs,
  original: KernelFunc,
) => KernelResult;

/** A native kernel with no wasm counterpart (registered under a name of its own). */
export type AddedKernel = (addon: NativeAddon, args: KernelArgs) => KernelResult;

/** Byte offset of a tensor's data in the wasm heap. */
export function offsetOf(backend: WasmBackend, t: TensorInfo): number {
  const data = backend.dataIdMap.get(t.dataId);
  if (data === undefined) throw new Error(`native kernel: tensor ${t.shape} has no wasm data`);
  return data.memoryOffset;
}

/** The heap as it is now: call only after every output is allocated (growth replaces it). */
export function heapOf(backend: WasmBackend): ArrayBufferLike {
  return backend.wasm.HEAPU8.buffer;
}
