/**
 * Open a base model directory the way commands and notebooks do: checked against the memory
 * ceiling before anything is loaded, optionally NF4-quantized, with large frozen tables kept
 * outside the wasm heap. (An adapter on top: lora/open.ts.)
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { loadModel, type QuantMode } from "./checkpoint";
import { readLlamaConfig } from "./config";
import type { Llama } from "./llama";
import {
  checkInferenceFits,
  estimateInferenceMemory,
  memoryCeiling,
  tablesOffHeapByDefault,
  type MemoryCeiling,
} from "./memory";
import { CheckpointReader } from "../safetensors/checkpoint";
import { DTYPE_SIZE } from "../safetensors/safetensors";
import { Tokenizer } from "../tokenizer/tokenizer";
import { isBnbQuantized } from "./quantized";

export interface OpenOptions {
  quant?: QuantMode;
  doubleQuant?: boolean;
  /**
   * The largest forward pass the caller will run (batch x tokens): when given, a run whose
   * estimated peak exceeds the ceiling is refused before loading.
   */
  plan?: { batchSize: number; seqLen: number; what: string };
  /** Defaults to the backend's (see memoryCeiling). */
  ceiling?: MemoryCeiling;
}

/** Load a base model (optionally NF4-quantized), refusing first when the plan cannot fit. */
export function openBase(dir: string, opts: OpenOptions = {}): Llama {
  if (!fs.existsSync(dir)) throw new Error(`model directory not found: ${dir}`);
  const config = readLlamaConfig(dir);
  const quant = opts.quant ?? "none";
  const ceiling = opts.ceiling ?? memoryCeiling();
  const tablesOffHeap = tablesOffHeapByDefault(config, ceiling);
  if (opts.plan) {
    const stored = storedFormat(dir);
    const m = estimateInferenceMemory(config, {
      // A checkpoint saved in 4 bits loads as 4 bits whatever `quant` says.
      quant: stored.fourBit ? "nf4" : quant,
      doubleQuant: opts.doubleQuant ?? false,
      tablesOffHeap,
      tableBytes: stored.tableBytes,
      batchSize: opts.plan.batchSize,
      seqLen: opts.plan.seqLen,
    });
    const hint =
      quant === "nf4"
        ? "use fewer tokens or a smaller batch"
        : "quantize the base (--quant nf4), or use fewer tokens or a smaller batch";
    checkInferenceFits(m, ceiling, opts.plan.what, hint);
  }
  return loadModel(dir, { quant, doubleQuant: opts.doubleQuant, tablesOffHeap }, ceiling);
}

/**
 * How a checkpoint stores its weights (headers only are read): 4-bit linear layers or not, and
 * the bytes per element of its embedding table.
 */
function storedFormat(dir: string): { fourBit: boolean; tableBytes: number } {
  const reader = CheckpointReader.open(dir);
  try {
    const embed = reader.spec("model.embed_tokens.weight");
    return {
      fourBit: isBnbQuantized(reader.names()),
      tableBytes: embed ? DTYPE_SIZE[embed.dtype] : 4,
    };
  } finally {
    reader.close();
  }
}

/** The tokenizer.json of a model directory. */
export function tokenizerFor(dir: string): Tokenizer {
  const file = path.join(dir, "tokenizer.json");
  if (!fs.existsSync(file)) {
    throw new Error(`${dir}: no tokenizer.json; pass token ids with --ids instead of --text`);
  }
  return Tokenizer.fromFile(file);
}
