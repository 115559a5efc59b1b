/**
 * Hugging Face model directories: `config.json` + `model.safetensors` (or shards), tensors by
 * HF Llama names. Loading builds a `Llama` whose linear layers are frozen float, frozen 4-bit
 * (quantized at load, or read back from bitsandbytes' serialized layout) or trainable.
 */
import * as tf from "@tensorflow/tfjs-core";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  dims,
  LINEAR_MODULES,
  linearShape,
  parentOf,
  readLlamaConfig,
  tensorShapes,
  type LinearModule,
  type LlamaConfig,
} from "./config";
import { FrozenFloatLinear, TrainableLinear, type Linear } from "./linear";
import { Llama, type DecoderLayer } from "./llama";
import type { TensorEntry, TensorSpec } from "../safetensors/safetensors";
import { CheckpointReader, saveCheckpointTensors } from "../safetensors/checkpoint";
import { FrozenTable, TableHead } from "./frozen_table";
import { fromFloat32, toFloat32 } from "../safetensors/float16";
import { BNB_STATE_SUFFIX } from "../quant/bnb_state";
import {
  isBnbQuantized,
  quantizedLinear,
  quantizedLinearFromBnb,
  type DequantPolicy,
} from "./quantized";
import { writeJsonAtomic } from "../util/fs";
import { initialChunks } from "./init";
import { memoryCeiling, tablesOffHeapByDefault, type MemoryCeiling } from "./memory";

export type QuantMode = "none" | "nf4";

export interface LoadOptions {
  /** Quantize frozen linear layers at load (default none). Embeddings and norms stay float. */
  quant?: QuantMode;
  /** NF4 block size (bitsandbytes default 64). */
  blocksize?: number;
  /** Quantize the NF4 absmax values again (bitsandbytes double quantization). */
  doubleQuant?: boolean;
  /** Where a 4-bit weight's float copy lives during compute. */
  dequant?: DequantPolicy;
  /** Every parameter trainable (full-parameter training, e.g. pretraining). */
  trainable?: boolean;
  /**
   * Keep the frozen embeddings and an untied head as stored (16-bit for a bf16 checkpoint) in
   * JavaScript memory outside the wasm heap, widening rows per lookup and the head per
   * vocabulary tile (see frozen_table.ts). Same results, less heap; not with `trainable`.
   */
  tablesOffHeap?: boolean;
}

/** Where a model's tensors come from: a checkpoint read lazily, or tensors in memory. */
export interface TensorSource {
  names(): string[];
  has(name: string): boolean;
  spec(name: string): TensorSpec | undefined;
  read(name: string): TensorEntry;
}

/** Tensors in memory as a source. */
export function tensorSource(tensors: ReadonlyMap<string, TensorEntry>): TensorSource {
  return {
    names: () => [...tensors.keys()],
    has: (name) => tensors.has(name),
    spec: (name) => {
      const t = tensors.get(name);
      return t && { name, dtype: t.dtype, shape: t.shape };
    },
    read: (name) => {
      const t = tensors.get(name);
      if (!t) throw new Error(`no tensor ${name}`);
      return t;
    },
  };
}

/**
 * Load a model directory, reading one tensor at a time: a linear weight is quantized (with
 * `quant: "nf4"`) as soon as it is read, so the float model is never held whole. Frozen tables
 * too large for the heap stay off it unless `tablesOffHeap` says otherwise.
 */
export function loadModel(
  dir: string,
  opts: LoadOptions = {},
  ceiling: MemoryCeiling = memoryCeiling(),
): Llama {
  const config = readLlamaConfig(dir);
  const tablesOffHeap =
    opts.tablesOffHeap ?? (!opts.trainable && tablesOffHeapByDefault(config, ceiling));
  const reader = CheckpointReader.open(dir);
  try {
    return modelFromTensors(config, reader, { ...opts, tablesOffHeap }, dir);
  } finally {
    reader.close();
  }
}

/** Build a model from HF-named tensors; every expected tensor must be present with its shape. */
export function modelFromTensors(
  config: LlamaConfig,
  tensors: ReadonlyMap<string, TensorEntry> | TensorSource,
  opts: LoadOptions,
  source: string,
): Llama {
  const src = tensors instanceof Map ? tensorSource(tensors) : (tensors as TensorSource);
  const bnb = isBnbQuantized(src.names());
  if (bnb && opts.trainable)
    throw new Error(`${source}: a 4-bit checkpoint cannot be trained in full`);
  if (opts.tablesOffHeap && opts.trainable)
    throw new Error(`${source}: trainable embeddings cannot stay off the heap`);
  checkNoUnusedTensors(config, src, source);
  const entry = (name: string, shape: number[]): TensorEntry => {
    const spec = src.spec(name);
    if (!spec) throw new Error(`${source}: missing tensor ${name}`);
    if (spec.shape.join(",") !== shape.join(",")) {
      throw new Error(
        `${source}: tensor ${name} has shape [${spec.shape}], expected [${shape}] from config.json`,
      );
    }
    return src.read(name);
  };
  const float = (name: string, shape: number[]) => toFloat32(entry(name, shape));
  const param = (name: string, shape: number[]) => {
    const v = tf.tensor(float(name, shape), shape);
    return opts.trainable ? tf.variable(v, true) : v;
  };
  const linear = (name: string, [out, inF]: [number, number]): Linear => {
    if (bnb) {
      const prefix = name.replace(/\.weight$/, "");
      const parts = new Map(
        src
          .names()
          .filter((n) => n.startsWith(`${prefix}.weight`))
          .map((n) => [n, src.read(n)]),
      );
      return quantizedLinearFromBnb(prefix, parts, out, inF, source, opts.dequant);
    }
    const values = float(name, [out, inF]);
    if (opts.trainable) return new TrainableLinear(values, out, inF, name);
    if ((opts.quant ?? "none") === "nf4") {
      return quantizedLinear(values, out, inF, {
        blocksize: opts.blocksize ?? 64,
        doubleQuant: opts.doubleQuant ?? false,
        dequant: opts.dequant,
      });
    }
    return new FrozenFloatLinear(values, out, inF);
  };
  const table = (name: string, shape: [number, number]): tf.Tensor2D | FrozenTable =>
    opts.tablesOffHeap
      ? new FrozenTable(entry(name, shape), `${source}: ${name}`)
      : (param(name, shape) as tf.Tensor2D);

  const { d, vocab, nLayers } = dims(config);
  const embed = table("model.embed_tokens.weight", [vocab, d]);
  const layers: DecoderLayer[] = [];
  for (let i = 0; i < nLayers; i++) {
    const p = `model.layers.${i}`;
    const proj = {} as Record<LinearModule, Linear>;
    for (const m of LINEAR_MODULES) {
      proj[m] = linear(`${p}.${parentOf(m)}.${m}.weight`, linearShape(config, m));
    }
    layers.push({
      inputNorm: param(`${p}.input_layernorm.weight`, [d]) as tf.Tensor1D,
      postNorm: param(`${p}.post_attention_layernorm.weight`, [d]) as tf.Tensor1D,
      proj,
    });
  }
  return new Llama(config, {
    embed,
    layers,
    norm: param("model.norm.weight", [d]) as tf.Tensor1D,
    lmHead: config.tie_word_embeddings ? undefined : linearHead(),
  });

  function linearHead(): Linear {
    if (opts.tablesOffHeap)
      return new TableHead(new FrozenTable(entry("lm_head.weight", [vocab, d]), source));
    const values = float("lm_head.weight", [vocab, d]);
    return opts.trainable
      ? new TrainableLinear(values, vocab, d, "lm_head.weight")
      : new FrozenFloatLinear(values, vocab, d);
  }
}

/** Tensors bitsandbytes stores beside a 4-bit `<module>.weight` (see quant/bnb_state.ts). */
const BNB_WEIGHT_SUFFIXES = [
  ".absmax",
  ".quant_map",
  ".nested_absmax",
  ".nested_quant_map",
  BNB_STATE_SUFFIX.slice(".weight".length),
];

const LAYER_TENSOR = /^model\.layers\.(\d+)\.(.*)$/;

/**
 * Every tensor of a checkpoint must be one that the model config.json describes uses: a weight
 * it would not read (a layer beyond num_hidden_layers, an untied head under tied embeddings, an
 * unknown name) means the config and the weights disagree, and loading would silently drop it.
 * Tolerated: the RoPE buffers older Hugging Face versions saved (recomputed from the config),
 * and a head under tied embeddings that is an exact copy of the embeddings.
 */
export function checkNoUnusedTensors(
  config: LlamaConfig,
  tensors: TensorSource,
  source: string,
): void {
  const { nLayers } = dims(config);
  const names = new Set(tensorShapes(config).map(([name]) => name));
  const bnb = isBnbQuantized(tensors.names());
  const used = (name: string): boolean => {
    if (names.has(name)) return true;
    const layer = LAYER_TENSOR.exec(name);
    if (layer && Number(layer[1]) < nLayers && layer[2] === "self_attn.rotary_emb.inv_freq")
      return true;
    if (bnb) {
      const suffix = BNB_WEIGHT_SUFFIXES.find((x) => name.endsWith(x));
      if (suffix && names.has(name.slice(0, -suffix.length))) return true;
    }
    return name === "lm_head.weight" && config.tie_word_embeddings && sameAsEmbeddings(tensors);
  };
  const unused = tensors
    .names()
    .filter((name) => !used(name))
    .sort();
  if (unused.length === 0) return;
  const problems: string[] = [];
  const layerOf = (name: string) => Number(LAYER_TENSOR.exec(name)?.[1] ?? -1);
  const beyond = [...new Set(unused.map(layerOf).filter((i) => i >= nLayers))].sort(
    (a, b) => a - b,
  );
  if (beyond.length > 0) {
    const layers = beyond.slice(0, 3).map((i) => `model.layers.${i}.*`);
    if (beyond.length > 3) layers.push(`${beyond.length - 3} more layers`);
    problems.push(
      `${layers.join(", ")} present but config.json num_hidden_layers is ${config.num_hidden_layers}`,
    );
  }
  if (unused.includes("lm_head.weight")) {
    problems.push(
      "lm_head.weight present (not a copy of model.embed_tokens.weight) but config.json tie_word_embeddings is true",
    );
  }
  const others = unused.filter((n) => n !== "lm_head.weight" && layerOf(n) < nLayers);
  if (others.length > 0) {
    const more = others.length > 5 ? ` and ${others.length - 5} more` : "";
    problems.push(
      `tensors that no part of the model config.json describes uses: ${others.slice(0, 5).join(", ")}${more}`,
    );
  }
  throw new Error(`${source}: ${problems.join("; ")}`);
}

/** Is the checkpoint's lm_head.weight byte for byte its embedding matrix (tied weights saved twice)? */
function sameAsEmbeddings(tensors: TensorSource): boolean {
  const head = tensors.spec("lm_head.weight");
  const embed = tensors.spec("model.embed_tokens.weight");
  return (
    head !== undefined &&
    embed !== undefined &&
    head.dtype === embed.dtype &&
    head.shape.join(",") === embed.shape.join(",") &&
    Buffer.compare(tensors.read("lm_head.weight").data, tensors.read(embed.name).data) === 0
  );
}

/** Random initial weights (see init.ts) as F32 tensors in memory. */
export function initTensors(config: LlamaConfig, seed: number): Map<string, TensorEntry> {
  const values = new Map<string, Float32Array>();
  for (const c of initialChunks(config, seed)) {
    let v = values.get(c.name);
    if (!v) values.set(c.name, (v = new Float32Array(c.shape.reduce((a, b) => a * b, 1))));
    v.set(c.values, c.offset);
  }
  const shapes = new Map(tensorShapes(config));
  return new Map([...values].map(([name, v]) => [name, fromFloat32(v, "F32", shapes.get(name)!)]));
}

/** The model's float weights by HF name (LoRA merged in where present). */
export function modelTensors(model: Llama, dtype: "F32" | "F16" | "BF16" = "F32") {
  const out = new Map<string, TensorEntry>();
  const put = (name: string, t: tf.Tensor) =>
    out.set(name, fromFloat32(t.dataSync() as Float32Array, dtype, t.shape));
  const withWeight = (name: string, l: Linear) => {
    const w = l.weight();
    put(name, w);
    w.dispose();
  };
  const w = model.weights;
  if (w.embed instanceof FrozenTable)
    withWeight("model.embed_tokens.weight", new TableHead(w.embed));
  else put("model.embed_tokens.weight", w.embed);
  w.layers.forEach((l, i) => {
    const p = `model.layers.${i}`;
    put(`${p}.input_layernorm.weight`, l.inputNorm);
    for (const m of LINEAR_MODULES) withWeight(`${p}.${parentOf(m)}.${m}.weight`, l.proj[m]);
    put(`${p}.post_attention_layernorm.weight`, l.postNorm);
  });
  put("model.norm.weight", w.norm);
  if (w.lmHead) withWeight("lm_head.weight", w.lmHead);
  return out;
}

/** Write a model directory: config.json and model.safetensors (sharded when large). */
export function saveModel(
  dir: string,
  model: Llama,
  opts: { dtype?: "F32" | "F16" | "BF16"; maxShardBytes?: number } = {},
): void {
  const dtype = opts.dtype ?? "F32";
  fs.mkdirSync(dir, { recursive: true });
  const torchDtype = { F32: "float32", F16: "float16", BF16: "bfloat16" }[dtype];
  writeJsonAtomic(path.join(dir, "config.json"), { ...model.config, torch_dtype: torchDtype });
  saveCheckpointTensors(dir, modelTensors(model, dtype), {
    maxShardBytes: opts.maxShardBytes,
    metadata: { format: "pt" },
  });
}

/** Every trainable variable of a full-parameter model, by HF name. */
export function trainableParameters(model: Llama): Map<string, tf.Variable> {
  const out = new Map<string, tf.Variable>();
  const add = (name: string, t: unknown) => {
    if (t instanceof tf.Variable && t.trainable) out.set(name, t);
  };
  const w = model.weights;
  add("model.embed_tokens.weight", w.embed);
  w.layers.forEach((l, i) => {
    const p = `model.layers.${i}`;
    add(`${p}.input_layernorm.weight`, l.inputNorm);
    add(`${p}.post_attention_layernorm.weight`, l.postNorm);
    for (const m of LINEAR_MODULES) {
      const lin = l.proj[m];
      if (lin instanceof TrainableLinear) add(`${p}.${parentOf(m)}.${m}.weight`, lin.variable);
    }
  });
  add("model.norm.weight", w.norm);
  if (w.lmHead instanceof TrainableLinear) add("lm_head.weight", w.lmHead.variable);
  return out;
}
