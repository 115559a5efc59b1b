/**
 * Fused causal attention under native kernels: softmax(q k^T * scale + bias) v with the model's
 * causal and key-padding bias, computed by the addon flash-attention style (native/src/attention.cc).
 *
 * The forward runs an online softmax over blocks of keys for each query row and keeps only the
 * output and each row's logsumexp, as its max and the log of the shifted sum (B x heads x T x 2
 * numbers), where the plain path keeps the scores, the biased scores and the probabilities,
 * B x heads x T x T each. The backward recomputes each block's probabilities from q, k and those
 * two numbers per row and takes dq, dk, dv from them; dk and dv of a grouped kv head sum over the
 * query heads it serves.
 *
 * Like the fused cross-entropy, the two kernels exist only while native kernels are enabled, and
 * `fusedAttention` returns null otherwise so that the caller keeps its plain path.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { TensorInfo } from "@tensorflow/tfjs-core";

import type { NativeAddon } from "./addon";
import { type AddedKernel, type KernelArgs, type WasmBackend, heapOf, offsetOf } from "./wasm_heap";

/** Kernel names under which the fused forward and backward are registered. */
export const ATTENTION = "NarratorCausalAttention";
export const ATTENTION_GRAD = "NarratorCausalAttentionGrad";

type CustomGradFn = Parameters<typeof tf.customGrad>[0];

/** The operands' shape as the addon takes it: [batch, heads, kvHeads, t, s, headDim]. */
function attentionShape(kernel: string, inputs: KernelArgs["inputs"]): Int32Array {
  const { q, k, v, mask } = inputs;
  const describe = (t?: TensorInfo) => `${t?.dtype} [${t?.shape}]`;
  const float4d = (t?: TensorInfo) => t?.dtype === "float32" && t.shape.length === 4;
  if (!float4d(q) || !float4d(k) || !float4d(v)) {
    throw new Error(
      `${kernel}: q, k, v must be float32 [batch, heads, length, headDim], got q ${describe(q)}, k ${describe(k)}, v ${describe(v)}`,
    );
  }
  const [B, heads, T, hd] = q!.shape;
  const [kb, kv, S, khd] = k!.shape;
  if (
    kb !== B ||
    khd !== hd ||
    v!.shape.some((d, i) => d !== k!.shape[i]) ||
    kv === 0 ||
    heads % kv !== 0 ||
    S < T
  ) {
    throw new Error(
      `${kernel}: k and v must be [${B}, kvHeads dividing ${heads}, keys >= ${T}, ${hd}], got k [${k!.shape}], v [${v!.shape}]`,
    );
  }
  if (
    mask &&
    (mask.dtype !== "float32" ||
      mask.shape.length !== 2 ||
      mask.shape[0] !== B ||
      mask.shape[1] !== S)
  ) {
    throw new Error(
      `${kernel}: the padding mask must be float32 [${B}, ${S}], got ${describe(mask)}`,
    );
  }
  return Int32Array.from([B, heads, kv, T, S, hd]);
}

/** The scale attribute, a finite number. */
function scaleOf(kernel: string, attrs: KernelArgs["attrs"]): number {
  const scale = Number(attrs?.scale);
  if (!Number.isFinite(scale))
    throw new Error(`${kernel}: scale must be a finite number, got ${attrs?.scale}`);
  return scale;
}

/** [out [B, heads, T, hd], stats [B, heads, T, 2] (each row's max score and log shifted sum)]. */
const attentionKernel: AddedKernel = (addon: NativeAddon, args: KernelArgs) => {
  const shape = attentionShape(ATTENTION, args.inputs);
  const scale = scaleOf(ATTENTION, args.attrs);
  const { q, k, v, mask } = args.inputs;
  const backend = args.backend as WasmBackend;
  const out = backend.makeOutput(q!.shape, "float32");
  const stats = backend.makeOutput([...q!.shape.slice(0, 3), 2], "float32");
  if (tf.util.sizeFromShape(q!.shape) === 0) return [out, stats];
  const at = (t: TensorInfo) => offsetOf(backend, t);
  addon.attention(
    heapOf(backend),
    at(q!),
    at(k!),
    at(v!),
    mask ? at(mask) : -1,
    at(out),
    at(stats),
    shape,
    scale,
  );
  return [out, stats];
};

/** [dq, dk, dv] from q, k, v, the mask, the forward's out and stats, and dy (shaped like out). */
const attentionGradKernel: AddedKernel = (addon: NativeAddon, args: KernelArgs) => {
  const shape = attentionShape(ATTENTION_GRAD, args.inputs);
  const scale = scaleOf(ATTENTION_GRAD, args.attrs);
  const { q, k, v, mask, out, stats, dy } = args.inputs;
  for (const [name, t, want] of [
    ["out", out, q!.shape],
    ["stats", stats, [...q!.shape.slice(0, 3), 2]],
    ["dy", dy, q!.shape],
  ] as const) {
    if (!t || t.dtype !== "float32" || t.shape.join() !== want.join()) {
      throw new Error(
        `${ATTENTION_GRAD}: ${name} must be float32 [${want}], got ${t?.dtype} [${t?.shape}]`,
      );
    }
  }
  const backend = args.backend as WasmBackend;
  const grads = [q!, k!, v!].map((t) => backend.makeOutput(t.shape, "float32"));
  if (tf.util.sizeFromShape(q!.shape) === 0) return grads;
  const at = (t: TensorInfo) => offsetOf(backend, t);
  const [dq, dk, dv] = grads.map(at);
  addon.attentionGrad(
    heapOf(backend),
    at(q!),
    at(k!),
    at(v!),
    mask ? at(mask) : -1,
    at(out!),
    at(stats!),
    at(dy!),
    dq,
    dk,
    dv,
    shape,
    scale,
  );
  return grads;
};

/** The fused attention kernels, by the name they are registered under. */
export const ATTENTION_KERNELS: Record<string, AddedKernel> = {
  [ATTENTION]: attentionKernel,
  [ATTENTION_GRAD]: attentionGradKernel,
};

/**
 * softmax(q k^T * scale + bias) v, [B, heads, T, hd], for q [B, heads, T, hd] and k, v
 * [B, kv, S, hd] (S = past + T; query head h reads kv head h / (heads / kv)), with the model's
 * bias: -1e9 on keys after a query's position, and (1 - mask) * -1e9 on keys of a padding mask
 * [B, S] (1 real, 0 padding). Differentiable in q, k and v. Returns null when the fused kernels
 * are not registered for the active backend or q is not float32: the caller then computes
 * attention its own way.
 */
export function fusedAttention(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  mask: tf.Tensor2D | undefined,
  scale: number,
): tf.Tensor4D | null {
  if (q.dtype !== "float32" || tf.getKernel(ATTENTION, tf.getBackend()) === undefined) {
    return null;
  }
  const padding: tf.NamedTensorMap = mask === undefined ? {} : { mask: tf.cast(mask, "float32") };
  const attrs = { scale };
  const engine = tf.engine();
  const f = tf.customGrad(((
    qIn: tf.Tensor4D,
    kIn: tf.Tensor4D,
    vIn: tf.Tensor4D,
    save: (t: tf.Tensor[]) => void,
  ) => {
    const [out, stats] = engine.runKernel(
      ATTENTION,
      { q: qIn, k: kIn, v: vIn, ...padding },
      attrs,
    ) as tf.Tensor[];
    save([qIn, kIn, vIn, out, stats, ...Object.values(padding)]);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor4D, [qs, ks, vs, os, st, ms]: tf.Tensor[]) =>
        engine.runKernel(
          ATTENTION_GRAD,
          { q: qs, k: ks, v: vs, out: os, stats: st, dy, ...(ms ? { mask: ms } : {}) },
          attrs,
        ) as tf.Tensor[],
    };
  }) as CustomGradFn);
  return f(q, k, v) as tf.Tensor4D;
}
