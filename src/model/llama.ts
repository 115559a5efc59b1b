/**
 * A Llama-family causal decoder, read top to bottom: embeddings, N x (RMSNorm -> attention with
 * RoPE and grouped-query heads -> residual -> RMSNorm -> SwiGLU MLP -> residual), final RMSNorm,
 * tied or untied head. Semantics follow Hugging Face's LlamaForCausalLM: RoPE in the rotate-half
 * layout with linear position scaling, KV head h // (heads / kv_heads) serving query head h,
 * RMSNorm computed in float32 before the weight multiply.
 *
 * Activations stay 2-D ([B*T, d]) through every linear layer; only attention scores are 4-D.
 */
import * as tf from "@tensorflow/tfjs-core";
import { dims, type Dims, type LinearModule, type LlamaConfig } from "./config";
import { frozenMatMul, trainableMatMul, type Linear } from "./linear";
import { FrozenTable, TableHead } from "./frozen_table";
import { chunkedAttention } from "./chunked_attention";
import { fusedAttention } from "../native/attention";
import { checkpointedLayer } from "./layer_checkpoint";

export interface DecoderLayer {
  inputNorm: tf.Tensor1D;
  postNorm: tf.Tensor1D;
  proj: Record<LinearModule, Linear>;
}

/** Per-layer keys and values of positions already seen, [B, kvHeads, T, headDim]. */
export interface KvCache {
  length: number;
  k: tf.Tensor4D[];
  v: tf.Tensor4D[];
}

export interface ForwardOptions {
  /** Keys/values of earlier positions (generation); the new ones are appended. */
  cache?: KvCache;
  /** [B, past+T]: 1 for real tokens, 0 for padding (keys at padding positions are masked). */
  attentionMask?: tf.Tensor2D;
  /**
   * Activation checkpointing (training without a cache): each decoder layer keeps only its input
   * for the backward pass and runs its forward again there (see `checkpointedLayer`).
   */
  checkpointLayers?: boolean;
  /**
   * Attention computed this many queries at a time in plain tfjs, recomputed in the backward
   * pass, instead of holding every head's T x T scores (see chunked_attention.ts); without a
   * cache only. Unset, attention runs fused in the native addon when its kernels are enabled
   * (see native/attention.ts), else all at once.
   */
  attentionBlock?: number;
}

export interface Weights {
  /** Token embeddings [vocab, d]; a tf.Variable when trained, a FrozenTable off the heap. */
  embed: tf.Tensor2D | FrozenTable;
  layers: DecoderLayer[];
  norm: tf.Tensor1D;
  /** Untied output head, or undefined when tied to `embed`. */
  lmHead?: Linear;
}

/** What every decoder layer of one forward pass shares. */
interface LayerPass {
  B: number;
  T: number;
  /** Keys/values of earlier positions, and where the new ones go (generation). */
  cache: KvCache | undefined;
  next: KvCache | undefined;
  /** Queries per attention block (chunked attention), or undefined for all at once. */
  block: number | undefined;
}

/** The pass's tensors a layer reads: the attention bias, the RoPE tables, the padding mask. */
interface LayerTensors {
  mask: tf.Tensor;
  cos: tf.Tensor;
  sin: tf.Tensor;
  /** [B, past+T] 1 real / 0 padding (the fused attention's form of `mask`). */
  pad?: tf.Tensor2D;
}

export class Llama {
  readonly dims: Dims;
  /** E^T [d, vocab], kept for a frozen tied head. */
  private embedT?: tf.Tensor2D;
  /** The tied head over an off-heap embedding table. */
  private tableHead?: TableHead;

  constructor(
    readonly config: LlamaConfig,
    readonly weights: Weights,
  ) {
    this.dims = dims(config);
  }

  /** Logits [B*T, vocab] for token ids [B, T] (int32), plus the extended cache if one was given. */
  forward(ids: tf.Tensor2D, opts: ForwardOptions = {}): { logits: tf.Tensor2D; cache?: KvCache } {
    const [B, T] = ids.shape;
    const past = opts.cache?.length ?? 0;
    const { cos, sin } = ropeTables(this.config, this.dims.headDim, past, T);
    const mask = attentionBias(B, T, past, opts.attentionMask);
    const pad = opts.attentionMask;
    let x = this.embedTokens(ids);
    const next: KvCache | undefined = opts.cache ? { length: past + T, k: [], v: [] } : undefined;
    const pass: LayerPass = {
      B,
      T,
      cache: opts.cache,
      next,
      block: opts.cache ? undefined : opts.attentionBlock,
    };
    const checkpoint = opts.checkpointLayers === true && !opts.cache;
    this.weights.layers.forEach((layer, i) => {
      // One scope per layer: its intermediates are freed as soon as it is done (what a
      // gradient needs is kept by the tape), so a forward pass holds one layer's at a time.
      const input = x;
      x = checkpoint
        ? checkpointedLayer(
            layer,
            input,
            [mask, cos, sin, ...(pad ? [pad] : [])],
            (h, [m, c, s, p]) =>
              this.decoderLayer(h, layer, i, {
                ...pass,
                mask: m,
                cos: c,
                sin: s,
                pad: p as tf.Tensor2D | undefined,
              }),
          )
        : tf.tidy(() => this.decoderLayer(input, layer, i, { ...pass, mask, cos, sin, pad }));
    });
    const hFinal = this.rmsNorm(x, this.weights.norm);
    return { logits: this.head(hFinal), cache: next };
  }

  /** Decoder layer i: x + attention(norm(x)), then y + mlp(norm(y)). */
  private decoderLayer(
    x: tf.Tensor2D,
    layer: DecoderLayer,
    i: number,
    pass: LayerPass & LayerTensors,
  ): tf.Tensor2D {
    const h = this.rmsNorm(x, layer.inputNorm);
    const a = this.attention(h, layer, i, pass);
    const y = tf.add(x, a) as tf.Tensor2D;
    return tf.add(y, this.mlp(this.rmsNorm(y, layer.postNorm), layer)) as tf.Tensor2D;
  }

  /** RMSNorm: x / sqrt(mean(x^2) + eps) * weight, over the last axis. */
  private rmsNorm(x: tf.Tensor2D, weight: tf.Tensor1D): tf.Tensor2D {
    const variance = tf.mean(tf.square(x), -1, true);
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(variance, this.config.rms_norm_eps))), weight);
  }

  private attention(
    h: tf.Tensor2D,
    layer: DecoderLayer,
    i: number,
    pass: LayerPass & LayerTensors,
  ): tf.Tensor2D {
    const { B, T, mask, pad, cos, sin, cache, next, block } = pass;
    const { nHeads, nKv, headDim } = this.dims;
    // [B*T, heads*hd] -> [B, T, heads, hd]; RoPE; -> [B, heads, T, hd]
    const split = (y: tf.Tensor2D, heads: number) => tf.reshape(y, [B, T, heads, headDim]);
    const toHeads = (y: tf.Tensor) => tf.transpose(y, [0, 2, 1, 3]) as tf.Tensor4D;
    const q = toHeads(applyRope(split(layer.proj.q_proj.apply(h), nHeads), cos, sin));
    let k = toHeads(applyRope(split(layer.proj.k_proj.apply(h), nKv), cos, sin));
    let v = toHeads(split(layer.proj.v_proj.apply(h), nKv));
    if (cache && cache.length > 0) {
      k = tf.concat([cache.k[i], k], 2);
      v = tf.concat([cache.v[i], v], 2);
    }
    if (next) {
      // Kept past the layer's scope; the caller owns the new cache.
      next.k.push(tf.keep(k));
      next.v.push(tf.keep(v));
    }
    const scale = 1 / Math.sqrt(headDim);
    const ctx =
      block === undefined
        ? (fusedAttention(q, k, v, pad, scale) ?? plainAttention(q, k, v, mask))
        : chunkedAttention(q, k, v, mask, scale, block);
    const merged = tf.reshape(tf.transpose(ctx, [0, 2, 1, 3]), [B * T, nHeads * headDim]);
    return layer.proj.o_proj.apply(merged as tf.Tensor2D);
  }

  /** SwiGLU: down(silu(gate(x)) * up(x)). */
  private mlp(h: tf.Tensor2D, layer: DecoderLayer): tf.Tensor2D {
    const gate = layer.proj.gate_proj.apply(h);
    const act = tf.mul(gate, tf.sigmoid(gate));
    return layer.proj.down_proj.apply(tf.mul(act, layer.proj.up_proj.apply(h)) as tf.Tensor2D);
  }

  /** Embedding rows of token ids [B, T], as [B*T, d]. */
  private embedTokens(ids: tf.Tensor2D): tf.Tensor2D {
    const [B, T] = ids.shape;
    const e = this.weights.embed;
    if (e instanceof FrozenTable) return e.gather(ids.dataSync());
    return tf.reshape(tf.gather(e, tf.reshape(ids, [B * T])), [B * T, this.dims.d]);
  }

  private head(h: tf.Tensor2D): tf.Tensor2D {
    if (this.weights.lmHead) return this.weights.lmHead.apply(h);
    const e = this.weights.embed;
    if (e instanceof FrozenTable) return (this.tableHead ??= new TableHead(e)).apply(h);
    if (e instanceof tf.Variable && e.trainable) return trainableMatMul(h, tf.transpose(e));
    this.embedT ??= tf.keep(tf.transpose(e));
    return frozenMatMul(h, this.embedT, e);
  }

  /** Every tensor the model owns, for disposal. */
  dispose(): void {
    const w = this.weights;
    if (!(w.embed instanceof FrozenTable)) w.embed.dispose();
    w.norm.dispose();
    w.lmHead?.dispose();
    this.embedT?.dispose();
    for (const l of w.layers) {
      l.inputNorm.dispose();
      l.postNorm.dispose();
      for (const p of Object.values(l.proj)) p.dispose();
    }
  }
}

/**
 * softmax(q k^T / sqrt(hd) + bias) v for q [B, heads, T, hd] and k, v [B, kv, S, hd]. GQA without
 * copying keys: query heads h = j*g + r share kv head j (HF repeat_kv order), so [B, heads, T, hd]
 * viewed as [B, kv, g*T, hd] multiplies each kv head's keys once.
 */
function plainAttention(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  bias: tf.Tensor,
): tf.Tensor4D {
  const [B, nHeads, T, headDim] = q.shape;
  const [, nKv, S] = k.shape;
  const g = nHeads / nKv;
  const qGrouped = tf.reshape(tf.mul(q, 1 / Math.sqrt(headDim)), [B, nKv, g * T, headDim]);
  const scores = tf.add(
    tf.reshape(tf.matMul(qGrouped, k, false, true), [B, nHeads, T, S]),
    bias,
  ) as tf.Tensor4D;
  const probs = tf.reshape(tf.softmax(scores), [B, nKv, g * T, S]);
  return tf.reshape(tf.matMul(probs, v), [B, nHeads, T, headDim]);
}

/**
 * cos/sin tables [1, T, 1, headDim] for positions past..past+T-1, HF layout: the frequencies
 * theta^(-2j/hd) for j < hd/2 are repeated for both halves; linear scaling divides positions.
 */
export function ropeTables(
  config: LlamaConfig,
  headDim: number,
  past: number,
  T: number,
): { cos: tf.Tensor; sin: tf.Tensor } {
  const factor = config.rope_scaling?.factor ?? 1;
  const half = headDim / 2;
  const cos = new Float32Array(T * headDim);
  const sin = new Float32Array(T * headDim);
  for (let t = 0; t < T; t++) {
    const pos = (past + t) / factor;
    for (let j = 0; j < half; j++) {
      // inv_freq in float32 as HF computes it, then the angle in float32
      const invFreq = Math.fround(1 / Math.pow(config.rope_theta, (2 * j) / headDim));
      const angle = Math.fround(Math.fround(pos) * invFreq);
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      cos[t * headDim + j] = cos[t * headDim + j + half] = c;
      sin[t * headDim + j] = sin[t * headDim + j + half] = s;
    }
  }
  return {
    cos: tf.tensor4d(cos, [1, T, 1, headDim]),
    sin: tf.tensor4d(sin, [1, T, 1, headDim]),
  };
}

/** x*cos + rotate_half(x)*sin with rotate_half(x) = [-x2, x1] over the halves of the last axis. */
function applyRope(x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor): tf.Tensor {
  const hd = x.shape[x.rank - 1]!;
  const [x1, x2] = tf.split(x, [hd / 2, hd / 2], -1);
  const rotated = tf.concat([tf.neg(x2), x1], -1);
  return tf.add(tf.mul(x, cos), tf.mul(rotated, sin));
}

/**
 * Additive attention bias: 0 where query t may see key s (s <= past + t, key not padding),
 * a large negative number elsewhere. Shape [T, past+T], or [B, 1, T, past+T] with a padding mask.
 */
function attentionBias(B: number, T: number, past: number, pad?: tf.Tensor2D): tf.Tensor {
  const S = past + T;
  const causal = new Float32Array(T * S);
  for (let t = 0; t < T; t++) for (let s = past + t + 1; s < S; s++) causal[t * S + s] = -1e9;
  const bias = tf.tensor2d(causal, [T, S]);
  if (!pad) return bias;
  const keyBias = tf.mul(tf.sub(1, tf.cast(pad, "float32")), -1e9);
  return tf.add(bias, tf.reshape(keyBias, [B, 1, 1, S]));
}
