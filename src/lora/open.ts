/** Open a model as commands and notebooks use it: a base (see model/open.ts) and an adapter. */
import type { Llama } from "../model/llama";
import { openBase, type OpenOptions } from "../model/open";
import { loadAdapter } from "./model";

export interface OpenModelOptions extends OpenOptions {
  /** A PEFT adapter directory to put on the base. */
  adapter?: string;
}

/** Load a base model (optionally NF4-quantized) and put an adapter on it when given. */
export function openModel(dir: string, opts: OpenModelOptions = {}): Llama {
  const model = openBase(dir, opts);
  if (opts.adapter) loadAdapter(opts.adapter, model);
  return model;
}
