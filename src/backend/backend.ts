/**
 * TensorFlow.js backend selection.
 *
 * Default is `wasm` (fast XNNPACK 2-D matmul, works everywhere). The native TensorFlow bindings
 * (`@tensorflow/tfjs-node-gpu`, then `@tensorflow/tfjs-node`) are probed when installed, never
 * required. `NARRATOR_BACKEND` forces one of `wasm`, `cpu`, `tensorflow`, `webgpu`.
 */
import * as tf from "@tensorflow/tfjs-core";
import { registerWasmSegmentSum } from "./wasm_segment_sum";
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

let active: BackendInfo | undefined;

function tryRequire(pkg: string): boolean {
  try {
    require(pkg);
    return true;
  } catch {
    return false;
  }
}

/** Which backends can be loaded on this machine, in preference order. */
export function availableBackends(): { name: BackendName; package: string }[] {
  const out: { name: BackendName; package: string }[] = [];
  for (const pkg of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
    if (resolvable(pkg)) {
      out.push({ name: "tensorflow", package: pkg });
      break;
    }
  }
  if (resolvable("@tensorflow/tfjs-backend-wasm"))
    out.push({ name: "wasm", package: "@tensorflow/tfjs-backend-wasm" });
  if (resolvable("@tensorflow/tfjs-backend-cpu"))
    out.push({ name: "cpu", package: "@tensorflow/tfjs-backend-cpu" });
  if (resolvable("@tensorflow/tfjs-backend-webgpu") && resolvable("webgpu"))
    out.push({ name: "webgpu", package: "@tensorflow/tfjs-backend-webgpu" });
  return out;
}

function resolvable(pkg: string): boolean {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

async function activate(name: BackendName, pkg: string): Promise<boolean> {
  if (name === "webgpu") {
    // Node has no navigator.gpu: the `webgpu` package (Dawn) provides one.
    const { create, globals } = require("webgpu");
    Object.assign(globalThis, globals);
    const g = globalThis as unknown as { navigator?: { gpu?: unknown } };
    if (!g.navigator) Object.defineProperty(globalThis, "navigator", { value: {}, writable: true });
    (g.navigator as { gpu?: unknown }).gpu = create([]);
  }
  if (!tryRequire(pkg)) return false;
  if (name === "wasm") {
    const wasm = require("@tensorflow/tfjs-backend-wasm");
    // Threads are unavailable to wasm in Node; SIMD is on by default.
    wasm.setThreadsCount?.(1);
    registerWasmSegmentSum();
  }
  try {
    return await tf.setBackend(name);
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
  if (active && (!forced || forced === active.name)) return active;
  const avail = availableBackends();
  const list = avail.map((b) => `${b.name} (${b.package})`).join(", ") || "none";
  if (forced) {
    if (!BACKEND_NAMES.includes(forced as BackendName)) {
      throw new Error(
        `NARRATOR_BACKEND=${forced} is not a backend; expected one of ${BACKEND_NAMES.join(", ")} (available here: ${list})`,
      );
    }
    const hit = avail.find((b) => b.name === forced);
    if (!hit || !(await activate(hit.name, hit.package))) {
      throw new Error(`backend '${forced}' is not available on this machine; available: ${list}`);
    }
    active = { name: hit.name, label: hit.name, package: hit.package };
  } else {
    // Default: wasm. The native TensorFlow binding is used only when it actually loads.
    const order = [
      ...avail.filter((b) => b.name === "tensorflow"),
      ...avail.filter((b) => b.name === "wasm"),
      ...avail.filter((b) => b.name === "cpu"),
    ];
    for (const b of order) {
      if (await activate(b.name, b.package)) {
        active = { name: b.name, label: b.name, package: b.package };
        break;
      }
    }
    if (!active) throw new Error(`no TensorFlow.js backend could start; tried: ${list}`);
  }
  return active;
}

/** The backend in use (after `initBackend`). */
export function backendInfo(): BackendInfo {
  if (!active) throw new Error("initBackend() has not been called");
  return active;
}

/** Mark an acceleration in the provenance label (e.g. native kernels on wasm). */
export function setBackendLabel(label: string): void {
  if (!active) throw new Error("initBackend() has not been called");
  active = { ...active, label };
}
