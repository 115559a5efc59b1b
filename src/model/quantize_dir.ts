/**
 * `narrator quantize`: rewrite a float model directory with every decoder linear layer in
 * bitsandbytes' serialized 4-bit NF4 layout, as Hugging Face saves a `load_in_4bit` model
 * (embeddings, norms and lm_head stay float, as transformers leaves them).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { LINEAR_MODULES, parentOf, readLlamaConfig } from "./config";
import { mib } from "./memory";
import {
  DTYPE_SIZE,
  tensorByteLength,
  type TensorEntry,
  type TensorSpec,
} from "../safetensors/safetensors";
import {
  CheckpointReader,
  DEFAULT_MAX_SHARD_BYTES,
  planShards,
  writeCheckpointStreaming,
} from "../safetensors/checkpoint";
import { toFloat32 } from "../safetensors/float16";
import { quantizeNf4 } from "../quant/nf4";
import { quantizeNf4Double } from "../quant/double_quant";
import { hfQuantizationConfig, toBnbTensors, type BnbDtype } from "../quant/bnb_state";
import { isBnbQuantized } from "./quantized";
import { checkNoUnusedTensors } from "./checkpoint";
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

/**
 * Quantize a model directory tensor by tensor: each linear weight is read, quantized and
 * dropped (only the 4-bit results are kept, the model's final size), then the output is
 * streamed to disk with every other tensor copied from the source as it is written.
 */
export function quantizeModelDir(
  src: string,
  out: string,
  opts: { blocksize: number; doubleQuant: boolean; maxShardBytes?: number },
): string {
  const config = readLlamaConfig(src);
  const reader = CheckpointReader.open(src);
  try {
    if (isBnbQuantized(reader.names()))
      throw new Error(`${src}: the model is already 4-bit quantized`);
    // Tensors the config does not use would be copied as they are and refused at load.
    checkNoUnusedTensors(config, reader, src);
    const quantized = new Map<string, TensorEntry>();
    const replaced = new Set<string>();
    let before = 0;
    let after = 0;
    for (let i = 0; i < config.num_hidden_layers; i++) {
      for (const m of LINEAR_MODULES) {
        const prefix = `model.layers.${i}.${parentOf(m)}.${m}`;
        const spec = reader.spec(`${prefix}.weight`);
        if (!spec) throw new Error(`${src}: missing tensor ${prefix}.weight`);
        const dtype = TORCH_DTYPE[spec.dtype];
        if (!dtype)
          throw new Error(`${src}: ${prefix}.weight is ${spec.dtype}, expected a float dtype`);
        const values = toFloat32(reader.read(spec.name));
        const quant = opts.doubleQuant
          ? quantizeNf4Double(values, opts.blocksize)
          : quantizeNf4(values, opts.blocksize);
        replaced.add(spec.name);
        const bnb = toBnbTensors(prefix, { shape: spec.shape, dtype, quant });
        for (const [k, t] of Object.entries(bnb)) {
          quantized.set(k, t);
          after += t.data.byteLength;
        }
        before += values.length * DTYPE_SIZE[spec.dtype];
      }
    }
    // The source's other tensors in their order, then the 4-bit ones (as a Map rewrite orders them).
    const specs: TensorSpec[] = [
      ...reader
        .names()
        .filter((n) => !replaced.has(n))
        .map((n) => reader.spec(n)!),
      ...[...quantized].map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape })),
    ];
    const groups = planShards(
      specs,
      (t) => tensorByteLength(t.dtype, t.shape),
      opts.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES,
    );
    writeCheckpointStreaming(
      out,
      groups.length > 0 ? groups : [[]],
      (spec, sink) => sink((quantized.get(spec.name) ?? reader.read(spec.name)).data),
      { format: "pt" },
    );
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
  } finally {
    reader.close();
  }
}
