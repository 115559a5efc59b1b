/**
 * `narrator model random`: a random-weight checkpoint of a configuration's exact shape in
 * Hugging Face layout (config.json, model.safetensors or shards with their index, bf16 by
 * default), so that loading, memory and speed at a real model's size can be tested without its
 * weights. Written tensor by tensor in pieces: a 1.3B checkpoint never sits in memory.
 */
import * as path from "node:path";
import { parameterCount, tensorShapes, type LlamaConfig } from "./config";
import { initialChunks } from "./init";
import { mib } from "./memory";
import { fromFloat32 } from "../safetensors/float16";
import { splitEvenly, writeCheckpointStreaming } from "../safetensors/checkpoint";
import type { TensorSpec } from "../safetensors/safetensors";
import { writeJsonAtomic } from "../util/fs";

export type FloatDtype = "F32" | "F16" | "BF16";

const TORCH_DTYPE: Record<FloatDtype, string> = {
  F32: "float32",
  F16: "float16",
  BF16: "bfloat16",
};

export interface RandomCheckpointOptions {
  seed: number;
  /** Number of files: 1 writes model.safetensors, more write shards and an index. */
  shards: number;
  dtype: FloatDtype;
}

/** Write the checkpoint; returns one line saying what was written. */
export function writeRandomCheckpoint(
  dir: string,
  config: LlamaConfig,
  opts: RandomCheckpointOptions,
): string {
  const specs: TensorSpec[] = tensorShapes(config).map(([name, shape]) => ({
    name,
    dtype: opts.dtype,
    shape,
  }));
  const chunks = initialChunks(config, opts.seed);
  writeCheckpointStreaming(
    dir,
    splitEvenly(specs, opts.shards),
    (spec, sink) => {
      // Tensors are asked for in checkpoint order, the order the generator walks them in.
      const size = spec.shape.reduce((a, b) => a * b, 1);
      for (let done = 0; done < size;) {
        const c = chunks.next().value;
        if (!c || c.name !== spec.name) {
          throw new Error(`random checkpoint: expected values of ${spec.name}, got ${c?.name}`);
        }
        sink(fromFloat32(c.values, opts.dtype, [c.values.length]).data);
        done += c.values.length;
      }
    },
    { format: "pt" },
  );
  writeJsonAtomic(path.join(dir, "config.json"), {
    ...config,
    torch_dtype: TORCH_DTYPE[opts.dtype],
  });
  const params = parameterCount(config);
  const bytes = params * (opts.dtype === "F32" ? 4 : 2);
  return `wrote ${dir}: ${params.toLocaleString("en-US")} random parameters (seed ${opts.seed}), ${opts.dtype}, ${mib(bytes)} in ${opts.shards === 1 ? "model.safetensors" : `${opts.shards} shards`}`;
}
