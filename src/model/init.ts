/**
 * Random initial weights as Hugging Face initialises LlamaForCausalLM: linear and embedding
 * weights ~ N(0, initializer_range), RMSNorm weights 1. One seeded generator walks the tensors
 * in checkpoint order, element by element, so the same seed gives the same model whether it is
 * built in memory or streamed to disk in pieces.
 */
import { tensorShapes, type LlamaConfig } from "./config";
import { Rng } from "../util/rng";

/** A piece of one tensor's initial values; `offset` counts elements from the tensor's start. */
export interface InitChunk {
  name: string;
  shape: number[];
  offset: number;
  values: Float32Array;
}

/** Elements per chunk: 4 MiB of float32. */
const CHUNK = 1 << 20;

/** Every tensor's initial values in checkpoint order, in chunks of at most `chunk` elements. */
export function* initialChunks(
  config: LlamaConfig,
  seed: number,
  chunk = CHUNK,
): Generator<InitChunk> {
  const rng = new Rng(seed);
  const std = config.initializer_range;
  for (const [name, shape] of tensorShapes(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const isNorm = name.endsWith("norm.weight");
    for (let offset = 0; offset < n; offset += chunk) {
      const values = new Float32Array(Math.min(chunk, n - offset));
      if (isNorm) values.fill(1);
      else for (let i = 0; i < values.length; i++) values[i] = rng.normal() * std;
      yield { name, shape, offset, values };
    }
  }
}
