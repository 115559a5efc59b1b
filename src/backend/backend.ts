/**
 * TensorFlow.js backend selection.
 *
 * Default is `wasm` (fast XNNPACK 2-D matmul, works everywhere). The native TensorFlow bindings
 * (`@tensorflow/tfjs-node-gpu`, then `@tensorflow/tfjs-node`) are probed when installed, never
 * required. `NARRATOR_BACKEND` forces one of `wasm`, `cpu`, `tensorflow`, `webgpu`.
 */
import * as tf from "@tensorflow/tfjs-core";
import { registerWasmSegmentSum } from "./wasm_segment_sum";
import { enableNativeKernels, nativeKernelsEnabled } from "../native/kernels";
import { guardHeapAllocations, withoutAbortEcho } from "../native/wasm_heap";
// tfjs-core's CommonJS build ships no gradients; the umbrella package registers all of them.
require("@tensorflow/tfjs");

export type BackendName = "wasm" | "cpu" | "tensorflow" | "webgpu";
export const BACKEND_NAMES: readonly BackendName[] = ["wasm", "cpu", "tensorflow", "webgpu"];

export interface BackendInfo {
  /** The tfjs backend in use (`wasm`, `cpu`, `tensorflow`, `webgpu`). */
  name: BackendName;
  /** Name recorded in provenance: the backend plus accelerations, e.g. `wasm+native`. */
  label: string;
  /** The npm package that provided it. */
  package: string;
}

/** The backend started, without its label (which follows the native kernels in force). */
let active: Omit<BackendInfo, "label"> | undefined;

/** `wasm+native` while native kernels replace wasm ones, else the backend's name. */
function withLabel(b: Omit<BackendInfo, "label">): BackendInfo {
  return { ...b, label: b.name === "wasm" && nativeKernelsEnabled() ? "wasm+native" : b.name };
}

interface Candidate {
  name: BackendName;
  package: string;
  /** Load the package (static requires, so that bundlers see them). */
  load: () => void;
}

/** Every backend this project can use, in default preference order. */
const CANDIDATES: Candidate[] = [
  {
    name: "tensorflow",
    package: "@tensorflow/tfjs-node-gpu",
    load: () => require("@tensorflow/tfjs-node-gpu"),
  },
  {
    name: "tensorflow",
    package: "@tensorflow/tfjs-node",
    load: () => require("@tensorflow/tfjs-node"),
  },
  {
    name: "wasm",
    package: "@tensorflow/tfjs-backend-wasm",
    load: () => {
      const wasm = require("@tensorflow/tfjs-backend-wasm");
      // Threads are unavailable to wasm in Node; SIMD is on by default.
      wasm.setThreadsCount?.(1);
      registerWasmSegmentSum();
    },
  },
  {
    name: "cpu",
    package: "@tensorflow/tfjs-backend-cpu",
    load: () => require("@tensorflow/tfjs-backend-cpu"),
  },
  {
    name: "webgpu",
    package: "@tensorflow/tfjs-backend-webgpu",
    load: () => {
      // Node has no navigator.gpu: the `webgpu` package (Dawn) provides one. It must exist
      // before the tfjs backend loads, which registers itself only when it sees it.
      const { create, globals } = require("webgpu");
      Object.assign(globalThis, globals);
      const g = globalThis as { navigator?: { gpu?: unknown } };
      if (!g.navigator)
        Object.defineProperty(globalThis, "navigator", { value: {}, writable: true });
      g.navigator!.gpu = create([]);
      require("@tensorflow/tfjs-backend-webgpu");
    },
  },
];

const loaded = new Map<Candidate, boolean>();

function load(c: Candidate): boolean {
  if (!loaded.has(c)) {
    try {
      c.load();
      loaded.set(c, true);
    } catch {
      loaded.set(c, false);
    }
  }
  return loaded.get(c)!;
}

/** Backends whose packages load on this machine (a listed backend may still fail to start). */
export function availableBackends(): { name: BackendName; package: string }[] {
  const seen = new Set<BackendName>();
  return CANDIDATES.filter((c) => !seen.has(c.name) && load(c) && seen.add(c.name)).map((c) => ({
    name: c.name,
    package: c.package,
  }));
}

async function start(c: Candidate): Promise<boolean> {
  if (!load(c)) return false;
  try {
    return await withoutAbortEcho(() => tf.setBackend(c.name));
  } catch {
    return false;
  }
}

/**
 * Initialise the backend once per process. `NARRATOR_BACKEND` forces a choice; an unavailable
 * forced backend is an error listing the available ones.
 */
export async function initBackend(
  forced: string | undefined = process.env.NARRATOR_BACKEND,
): Promise<BackendInfo> {
  if (active && (!forced || forced === active.name)) return withLabel(active);
  if (forced && !BACKEND_NAMES.includes(forced as BackendName)) {
    throw new Error(
      `NARRATOR_BACKEND=${forced} is not a backend; expected one of ${BACKEND_NAMES.join(", ")}`,
    );
  }
  // Default: the native TensorFlow binding when it loads, else wasm, else cpu. webgpu only on request.
  const order = forced
    ? CANDIDATES.filter((c) => c.name === forced)
    : CANDIDATES.filter((c) => c.name !== "webgpu");
  for (const c of order) {
    if (await start(c)) {
      active = { name: c.name, package: c.package };
      if (c.name === "wasm") {
        guardHeapAllocations(tf.backend() as unknown as Parameters<typeof guardHeapAllocations>[0]);
        useNativeKernels();
      }
      return withLabel(active);
    }
  }
  const list =
    availableBackends()
      .map((b) => `${b.name} (${b.package})`)
      .join(", ") || "none";
  if (forced && order.some((c) => loaded.get(c))) {
    throw new Error(
      `backend '${forced}' is installed but did not start here${forced === "webgpu" ? " (no GPU adapter found)" : ""}; loadable backends: ${list}`,
    );
  }
  throw new Error(
    forced
      ? `backend '${forced}' is not available on this machine; available: ${list}`
      : `no TensorFlow.js backend could start; available: ${list}`,
  );
}

/**
 * Optional OpenBLAS kernels for wasm (labels the backend `wasm+native`). When the addon is
 * missing, one line on stderr says why and training runs on plain wasm; NARRATOR_NATIVE=0 is quiet.
 */
function useNativeKernels(): void {
  const r = enableNativeKernels();
  if (!r.enabled && process.env.NARRATOR_NATIVE !== "0") {
    process.stderr.write(`narrator: native kernels off (${r.reason}); running on plain wasm\n`);
  }
}

/**
 * Whether matMul's transpose flags cost nothing extra: true with native kernels (sgemm takes
 * transposes directly) and on GPU/native TensorFlow; false on plain wasm, where they fall to a
 * slow path and explicit transposes win.
 */
export function transposeFlagsAreFast(): boolean {
  if (active === undefined) return false;
  const { name, label } = withLabel(active);
  return label === "wasm+native" || name === "webgpu" || name === "tensorflow";
}

/** The backend in use (after `initBackend`). */
export function backendInfo(): BackendInfo {
  if (!active) throw new Error("initBackend() has not been called");
  return withLabel(active);
}
