/**
 * `narrator quantize`: rewrite a float model directory with every decoder linear layer in
 * bitsandbytes' serialized 4-bit NF4 layout, as Hugging Face saves a `load_in_4bit` model
 * (embeddings, norms and lm_head stay float, as transformers leaves them).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { LINEAR_MODULES, parentOf, readLlamaConfig } from "./config";
import { mib } from "./memory";
import type { TensorEntry } from "../safetensors/safetensors";
import { loadCheckpointTensors, saveCheckpointTensors } from "../safetensors/checkpoint";
import { toFloat32 } from "../safetensors/float16";
import { quantizeNf4 } from "../quant/nf4";
import { quantizeNf4Double } from "../quant/double_quant";
import { hfQuantizationConfig, toBnbTensors, type BnbDtype } from "../quant/bnb_state";
import { isBnbQuantized } from "./quantized";
import { checkNoUnusedTensors, tensorSource } from "./checkpoint";
import { writeJsonAtomic } from "../util/fs";

const TORCH_DTYPE: Partial<Record<TensorEntry["dtype"], BnbDtype>> = {
  F32: "float32",
  F16: "float16",
  BF16: "bfloat16",
};

/** Files of a model directory that travel unchanged with its weights. */
const COMPANIONS = [
  "tokenizer.json",
  "tokenizer_config.json",
  "generation_config.json",
  "README.md",
];

export function quantizeModelDir(
  src: string,
  out: string,
  opts: { blocksize: number; doubleQuant: boolean },
): string {
  const config = readLlamaConfig(src);
  const tensors = loadCheckpointTensors(src);
  if (isBnbQuantized(tensors.keys()))
    throw new Error(`${src}: the model is already 4-bit quantized`);
  // Tensors the config does not use would be copied as they are and refused at load.
  checkNoUnusedTensors(config, tensorSource(tensors), src);
  const result = new Map<string, TensorEntry>(tensors);
  let before = 0;
  let after = 0;
  for (let i = 0; i < config.num_hidden_layers; i++) {
    for (const m of LINEAR_MODULES) {
      const prefix = `model.layers.${i}.${parentOf(m)}.${m}`;
      const entry = tensors.get(`${prefix}.weight`);
      if (!entry) throw new Error(`${src}: missing tensor ${prefix}.weight`);
      const dtype = TORCH_DTYPE[entry.dtype];
      if (!dtype)
        throw new Error(`${src}: ${prefix}.weight is ${entry.dtype}, expected a float dtype`);
      const values = toFloat32(entry);
      const quant = opts.doubleQuant
        ? quantizeNf4Double(values, opts.blocksize)
        : quantizeNf4(values, opts.blocksize);
      result.delete(`${prefix}.weight`);
      const bnb = toBnbTensors(prefix, { shape: entry.shape, dtype, quant });
      for (const [k, t] of Object.entries(bnb)) {
        result.set(k, t);
        after += t.data.byteLength;
      }
      before += entry.data.byteLength;
    }
  }
  fs.mkdirSync(out, { recursive: true });
  saveCheckpointTensors(out, result, { metadata: { format: "pt" } });
  writeJsonAtomic(path.join(out, "config.json"), {
    ...config,
    quantization_config: hfQuantizationConfig({
      doubleQuant: opts.doubleQuant,
      computeDtype: "float32",
    }),
  });
  for (const f of COMPANIONS) {
    if (fs.existsSync(path.join(src, f))) fs.copyFileSync(path.join(src, f), path.join(out, f));
  }
  return `quantized ${config.num_hidden_layers * LINEAR_MODULES.length} linear layers to NF4 (blocksize ${opts.blocksize}${opts.doubleQuant ? ", double quant" : ""}): ${mib(before)} -> ${mib(after)}; wrote ${out}`;
}
