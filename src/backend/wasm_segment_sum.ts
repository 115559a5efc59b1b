/**
 * `UnsortedSegmentSum` for the wasm backend, which lacks it. tfjs expresses the gradient of
 * `gather` (the embedding lookup) with this kernel, so training embeddings needs it.
 * Runs on the wasm heap in place: no copies in or out.
 */
import * as tf from "@tensorflow/tfjs-core";

interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

function unsortedSegmentSum({
  inputs,
  backend,
  attrs,
}: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const numSegments = Number(attrs?.numSegments);
  if (
    segmentIds.shape.length !== 1 ||
    segmentIds.shape[0] !== x.shape[0] ||
    x.dtype !== "float32"
  ) {
    throw new Error(
      `UnsortedSegmentSum (wasm): supported for float32 x with 1-D segment ids over its first axis; got x [${x.shape}] ${x.dtype}, ids [${segmentIds.shape}]`,
    );
  }
  const b = backend as WasmBackend;
  const innerShape = x.shape.slice(1);
  const inner = innerShape.reduce((a, c) => a * c, 1);
  const out = b.makeOutput([numSegments, ...innerShape], "float32");
  // Views only after allocating the output: heap growth detaches older views.
  const o = b.typedArrayFromHeap(out) as Float32Array;
  const xv = b.typedArrayFromHeap(x) as Float32Array;
  const ids = b.typedArrayFromHeap(segmentIds) as Int32Array;
  o.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) o[dst + j] += xv[src + j];
  }
  return out;
}

/** Register the kernel once on the wasm backend (no-op if present). */
export function registerWasmSegmentSum(): void {
  if (tf.getKernel("UnsortedSegmentSum", "wasm")) return;
  tf.registerKernel({
    kernelName: "UnsortedSegmentSum",
    backendName: "wasm",
    kernelFunc: unsortedSegmentSum as unknown as tf.KernelFunc,
  });
}
