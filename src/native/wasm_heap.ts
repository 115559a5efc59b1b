/**
 * How native kernels reach the wasm backend's tensors: the backend's internals they use, and
 * byte offsets into its heap; and the heap's size and ceiling, which bound every tensor.
 */
import * as fs from "node:fs";
import * as path from "node:path";
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

/** Bytes of one wasm memory page. */
const WASM_PAGE = 65536;
/** wasm32 addresses 2^32 bytes; emscripten's heap growth stops one page short of it. */
const WASM32_GROWTH_LIMIT = 2 ** 32 - WASM_PAGE;

/**
 * The most bytes the wasm backend's heap can ever hold: the maximum that its module's memory
 * section declares (read from the .wasm files the backend ships; the smaller if they differ),
 * within what wasm32 growth reaches. Running past
 * it ends the module (`Aborted()`), so memory plans are measured against this, not system memory.
 */
export function wasmHeapCeiling(): number {
  const dir = path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json"));
  const maxima = WASM_BINARIES.map((f) => declaredMaximum(path.join(dir, "dist", f)));
  return Math.min(WASM32_GROWTH_LIMIT, ...maxima.map((pages) => pages * WASM_PAGE));
}

/** The single-threaded binaries (Node runs tfjs wasm without threads). */
const WASM_BINARIES = ["tfjs-backend-wasm-simd.wasm", "tfjs-backend-wasm.wasm"];

/** The maximum pages of the memory a wasm binary defines or imports (wasm32's 65536 if none). */
export function declaredMaximum(file: string): number {
  const bytes = fs.readFileSync(file);
  let at = 8; // magic and version
  const leb = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[at++];
      result += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (b < 0x80) return result;
    }
  };
  const limits = (): number | undefined => {
    const flags = bytes[at++];
    leb(); // minimum
    return flags & 1 ? leb() : undefined;
  };
  while (at < bytes.length) {
    const id = bytes[at++];
    const size = leb();
    const end = at + size;
    if (id === 5 /* memory */) {
      leb(); // count
      return limits() ?? 65536;
    }
    if (id === 2 /* import */) {
      for (let n = leb(); n > 0; n--) {
        const skip = () => {
          const length = leb();
          at += length;
        };
        skip(); // module name
        skip(); // field name
        const kind = bytes[at++];
        if (kind === 0 /* function */) leb();
        else if (kind === 1 /* table */) {
          at++; // element type
          limits();
        } else if (kind === 2 /* memory */) return limits() ?? 65536;
        else if (kind === 3 /* global */) at += 2;
        else throw new Error(`${file}: unknown import kind ${kind}`);
      }
    }
    at = end;
  }
  throw new Error(`${file}: the module has no memory`);
}

/** Bytes the wasm heap holds now (it grows on demand and never shrinks). */
export function wasmHeapSize(backend: WasmBackend): number {
  return heapOf(backend).byteLength;
}

/** A tensor allocation the wasm heap could not make. */
export class HeapExhaustedError extends Error {
  constructor(requested: number, heapBytes: number) {
    super(
      `${heapExhaustionMessage()} (an allocation of ${mibText(requested)} failed with ${mibText(heapBytes)} in use)`,
    );
  }
}

/**
 * Make a failed tensor allocation an error. tfjs-backend-wasm takes `_malloc`'s result as the
 * tensor's place without checking it, and malloc answers 0 when the heap cannot grow: the
 * tensor would then overwrite the heap's start, silently, until something traps later.
 */
export function guardHeapAllocations(
  backend: WasmBackend & { wasm: { _malloc(n: number): number; _free(at: number): void } },
): void {
  const wasm = backend.wasm;
  // Emscripten's first call replaces `_malloc` with the module's own export: make that call
  // before wrapping, or the wrapper would be replaced with it.
  wasm._free(wasm._malloc(1));
  const malloc = wasm._malloc;
  wasm._malloc = (n: number) => {
    const at = malloc(n);
    if (at === 0 && n > 0) throw new HeapExhaustedError(n, wasmHeapSize(backend));
    return at;
  };
}

/**
 * One line for an error that is the wasm heap running out, or null: a refused allocation says
 * so itself; emscripten's abort (memory the kernels allocate themselves) and an out-of-bounds
 * access (native kernels) get the heap's ceiling and what to change. The module may be
 * unusable afterwards; the process can only report it.
 */
export function heapExhaustionLine(e: unknown): string | null {
  if (e instanceof HeapExhaustedError) return e.message;
  // WebAssembly.RuntimeError, by name: the DOM typings that declare it are not loaded here.
  const trap =
    e instanceof Error &&
    e.name === "RuntimeError" &&
    /^Aborted\(|memory access out of bounds/.test(e.message);
  return trap ? heapExhaustionMessage() : null;
}

/** The one line that replaces emscripten's `Aborted()` when the heap ran out. */
export function heapExhaustionMessage(): string {
  return (
    `the wasm heap ran out of memory (it holds at most ${mibText(wasmHeapCeiling())}, whatever the machine has); ` +
    `lower the batch size or maximum length, turn on --gradient-checkpointing, or use --quant nf4`
  );
}

function mibText(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(2)} MiB`;
}

/**
 * Run `start` (which creates the wasm module) with console.warn filtered: emscripten binds its
 * error printer to console.warn when the module is created and prints `Aborted()` with it before
 * throwing, so an abort would print a line of its own beside the command's clear one.
 */
export async function withoutAbortEcho<T>(start: () => Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === "string" && args[0].startsWith("Aborted(")) return;
    warn.apply(console, args);
  };
  try {
    return await start();
  } finally {
    console.warn = warn;
  }
}
