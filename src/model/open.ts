/** Open a model directory the way commands and notebooks do: base (+ quantization) (+ adapter). */
import * as fs from "node:fs";
import * as path from "node:path";
import { loadModel, type QuantMode } from "./checkpoint";
import type { Llama } from "./llama";
import { loadAdapter } from "../lora/model";
import { Tokenizer } from "../tokenizer/tokenizer";

export interface OpenOptions {
  adapter?: string;
  quant?: QuantMode;
  doubleQuant?: boolean;
}

/** Load a base model (optionally NF4-quantized) and put an adapter on it when given. */
export function openModel(dir: string, opts: OpenOptions = {}): Llama {
  if (!fs.existsSync(dir)) throw new Error(`model directory not found: ${dir}`);
  const model = loadModel(dir, { quant: opts.quant ?? "none", doubleQuant: opts.doubleQuant });
  if (opts.adapter) loadAdapter(opts.adapter, model);
  return model;
}

/** The tokenizer.json of a model directory. */
export function tokenizerFor(dir: string): Tokenizer {
  const file = path.join(dir, "tokenizer.json");
  if (!fs.existsSync(file)) {
    throw new Error(`${dir}: no tokenizer.json; pass token ids with --ids instead of --text`);
  }
  return Tokenizer.fromFile(file);
}
