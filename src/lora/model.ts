/**
 * LoRA applied to a whole model, as PEFT's LoraModel: wrap each targeted projection of every
 * decoder layer, expose only the adapter weights as trainable, and save/load PEFT adapter
 * directories (`adapter_config.json` + `adapter_model.safetensors` with PEFT key names).
 */
import * as tf from "@tensorflow/tfjs-core";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { LINEAR_MODULES, parentOf, type LinearModule } from "../model/config";
import { FrozenFloatLinear, type Linear } from "../model/linear";
import type { Llama } from "../model/llama";
import { loraScale, parseLoraConfig, type LoraConfig } from "./config";
import { LoraLinear, peftInit } from "./layer";
import {
  checkFinite,
  readSafetensorsFile,
  writeSafetensorsFile,
  type TensorEntry,
} from "../safetensors/safetensors";
import { fromFloat32, toFloat32 } from "../safetensors/float16";
import { readJson, writeJsonAtomic } from "../util/fs";
import { Rng } from "../util/rng";

export const ADAPTER_CONFIG = "adapter_config.json";
export const ADAPTER_WEIGHTS = "adapter_model.safetensors";

export interface LoraModel {
  model: Llama;
  config: LoraConfig;
  /** Adapted layers by HF module path, e.g. `model.layers.0.self_attn.q_proj`. */
  layers: Map<string, LoraLinear>;
  /** The generator every layer's dropout masks come from (its state goes into checkpoints). */
  dropoutRng: Rng;
}

type Init = (
  module: string,
  r: number,
  inF: number,
  out: number,
) => { a: Float32Array; b: Float32Array };

function wrap(model: Llama, config: LoraConfig, seed: number, init: Init): LoraModel {
  const layers = new Map<string, LoraLinear>();
  const scale = loraScale(config);
  const rng = new Rng(seed);
  const dropoutRng = rng.fork("lora_dropout");
  model.weights.layers.forEach((layer, i) => {
    for (const m of config.target_modules as LinearModule[]) {
      const base = layer.proj[m];
      if (base instanceof LoraLinear) throw new Error(`${modulePath(i, m)} already has an adapter`);
      const name = modulePath(i, m);
      const { a, b } = init(name, config.r, base.inFeatures, base.outFeatures);
      const lora = new LoraLinear(base, config.r, scale, a, b, config.lora_dropout, dropoutRng);
      layer.proj[m] = lora;
      layers.set(name, lora);
    }
  });
  return { model, config, layers, dropoutRng };
}

/** HF module path of a projection. */
export function modulePath(layer: number, m: LinearModule): string {
  return `model.layers.${layer}.${parentOf(m)}.${m}`;
}

/** Add fresh adapters (PEFT initialisation, seeded) to the model's targeted projections. */
export function injectLora(model: Llama, raw: Partial<LoraConfig>, seed: number): LoraModel {
  const config = parseLoraConfig(raw, "LoRA config");
  const rng = new Rng(seed).fork("lora_init");
  return wrap(model, config, seed, (_m, r, inF, out) => peftInit(r, inF, out, rng));
}

/** PEFT key of an adapter weight. */
export function peftKey(module: string, which: "lora_A" | "lora_B"): string {
  return `base_model.model.${module}.${which}.weight`;
}

/** The trainable adapter variables by PEFT key (held transposed; optimizers are elementwise). */
export function loraParameters(lm: LoraModel): Map<string, tf.Variable> {
  const out = new Map<string, tf.Variable>();
  for (const [name, l] of lm.layers) {
    out.set(peftKey(name, "lora_A"), l.aT);
    out.set(peftKey(name, "lora_B"), l.bT);
  }
  return out;
}

/** Dropout on (training) or off (evaluation). */
export function setTraining(lm: LoraModel, on: boolean): void {
  for (const l of lm.layers.values()) l.training = on;
}

/** Number of trainable adapter parameters. */
export function loraParameterCount(lm: LoraModel): number {
  let n = 0;
  for (const l of lm.layers.values()) n += l.r * (l.inFeatures + l.outFeatures);
  return n;
}

/** Adapter tensors by PEFT key, as PEFT stores them (lora_A [r, in], lora_B [out, r]). */
export function adapterTensors(lm: LoraModel): Map<string, TensorEntry> {
  const out = new Map<string, TensorEntry>();
  for (const [name, l] of lm.layers) {
    const { a, b } = l.peftWeights();
    out.set(peftKey(name, "lora_A"), fromFloat32(a, "F32", [l.r, l.inFeatures]));
    out.set(peftKey(name, "lora_B"), fromFloat32(b, "F32", [l.outFeatures, l.r]));
  }
  return out;
}

/** Save a PEFT adapter directory. */
export function saveAdapter(dir: string, lm: LoraModel, baseModel: string | null = null): void {
  fs.mkdirSync(dir, { recursive: true });
  writeJsonAtomic(path.join(dir, ADAPTER_CONFIG), {
    ...lm.config,
    base_model_name_or_path: baseModel ?? lm.config.base_model_name_or_path,
    target_modules: [...lm.config.target_modules].sort(),
  });
  writeSafetensorsFile(path.join(dir, ADAPTER_WEIGHTS), adapterTensors(lm), { format: "pt" });
}

/** An adapter directory's adapter_config.json, checked. */
export function readAdapterConfig(dir: string): LoraConfig {
  const file = path.join(dir, ADAPTER_CONFIG);
  return parseLoraConfig(readJson(file), file);
}

/** The sha256 of an adapter directory's weights file: which adapter a run started from. */
export function adapterWeightsSha256(dir: string): string {
  return createHash("sha256")
    .update(fs.readFileSync(path.join(dir, ADAPTER_WEIGHTS)))
    .digest("hex");
}

/**
 * Load a PEFT adapter directory onto a model; keys and shapes are checked against the model.
 * `seed` seeds the adapter's dropout, for training it further.
 */
export function loadAdapter(dir: string, model: Llama, seed = 0): LoraModel {
  const config = readAdapterConfig(dir);
  const file = path.join(dir, ADAPTER_WEIGHTS);
  const { tensors } = readSafetensorsFile(file);
  checkFinite(tensors, file);
  const used = new Set<string>();
  const lm = wrap(model, config, seed, (module, r, inF, out) => {
    const get = (which: "lora_A" | "lora_B", shape: number[]) => {
      const key = peftKey(module, which);
      // PEFT also writes keys with the adapter name (".default.") in some versions.
      const t = tensors.get(key) ?? tensors.get(key.replace(/\.weight$/, ".default.weight"));
      if (!t) throw new Error(`${file}: missing ${key}`);
      if (t.shape.join(",") !== shape.join(",")) {
        throw new Error(`${file}: ${key} has shape [${t.shape}], expected [${shape}]`);
      }
      used.add(key);
      return toFloat32(t);
    };
    return { a: get("lora_A", [r, inF]), b: get("lora_B", [out, r]) };
  });
  const extra = [...tensors.keys()].filter(
    (k) => !used.has(k) && !used.has(k.replace(".default.", ".")),
  );
  if (extra.length) {
    throw new Error(
      `${file}: tensors that match no targeted module of this model: ${extra.slice(0, 5).join(", ")}`,
    );
  }
  return lm;
}

/** Fold each adapter into its base weight (W + s B A) and remove the adapters. */
export function mergeAndUnload(lm: LoraModel): Llama {
  lm.model.weights.layers.forEach((layer, i) => {
    for (const m of LINEAR_MODULES) {
      const l = layer.proj[m];
      if (!(l instanceof LoraLinear) || lm.layers.get(modulePath(i, m)) !== l) continue;
      const merged = l.weight();
      const values = merged.dataSync() as Float32Array;
      merged.dispose();
      const replacement: Linear = new FrozenFloatLinear(values, l.outFeatures, l.inFeatures);
      l.base.dispose();
      l.dispose();
      layer.proj[m] = replacement;
    }
  });
  lm.layers.clear();
  return lm.model;
}
