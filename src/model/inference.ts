/**
 * Inference on a decoder: per-token log-probabilities of a sequence, and generation with a KV
 * cache by any decoding of src/model/decoding.ts (greedy, sampling, beam search).
 */
import * as tf from "@tensorflow/tfjs-core";
import { beamSearch } from "./beam_search";
import { checkDecoding, sampleDecode, type GenerateOptions, type TokenStepper } from "./decoding";
import type { KvCache, Llama } from "./llama";

export { repeatedNgramEnds, sample, type GenerateOptions } from "./decoding";

/** logprobs[i] = log p(ids[i+1] | ids[0..i]): n-1 values for n ids. */
export function sequenceLogprobs(model: Llama, ids: number[]): number[] {
  if (ids.length < 2) return [];
  checkIds(model, ids);
  return tf.tidy(() => {
    const input = tf.tensor2d(ids, [1, ids.length], "int32");
    const { logits } = model.forward(input);
    const logp = tf.logSoftmax(logits);
    const all = logp.dataSync();
    const V = model.dims.vocab;
    return ids.slice(1).map((next, i) => all[i * V + next]);
  });
}

/**
 * The rows of a decoding on a model with one KV cache for all rows ([rows, kvHeads, T, headDim]
 * per layer): a step first reorders the cache to the rows' parents, then runs one token per row.
 */
export function modelStepper(model: Llama, prompt: number[]): TokenStepper {
  if (prompt.length === 0) throw new Error("generate: the prompt is empty");
  checkIds(model, prompt);
  const limit = model.config.max_position_embeddings;
  let cache: KvCache = { length: 0, k: [], v: [] };
  let rows = 1;
  const run = (ids: number[], shape: [number, number]): Float32Array[] => {
    const [last, ...kv] = tf.tidy(() => {
      const r = model.forward(tf.tensor2d(ids, shape, "int32"), { cache });
      // The logits of each row's last position.
      const logits = tf.reshape(r.logits, [shape[0], shape[1], -1]);
      const end = tf.slice(logits, [0, shape[1] - 1, 0], [-1, 1, -1]);
      return [end, ...r.cache!.k, ...r.cache!.v];
    });
    const all = last.dataSync() as Float32Array;
    last.dispose();
    const n = kv.length / 2;
    const next: KvCache = {
      length: cache.length + shape[1],
      k: kv.slice(0, n) as tf.Tensor4D[],
      v: kv.slice(n) as tf.Tensor4D[],
    };
    disposeCache(cache);
    cache = next;
    rows = shape[0];
    const V = model.dims.vocab;
    return Array.from({ length: shape[0] }, (_, r) => all.slice(r * V, (r + 1) * V));
  };
  return {
    start: () => run(prompt, [1, prompt.length])[0],
    step(parents, tokens) {
      if (cache.length + 1 > limit) return null;
      const same = parents.length === rows && parents.every((p, i) => p === i);
      if (!same) {
        const index = tf.tensor1d(Array.from(parents), "int32");
        const reorder = (ts: tf.Tensor4D[]) => ts.map((t) => tf.gather(t, index, 0));
        const next = { length: cache.length, k: reorder(cache.k), v: reorder(cache.v) };
        index.dispose();
        disposeCache(cache);
        cache = next;
      }
      return run(Array.from(tokens), [tokens.length, 1]);
    },
    dispose: () => disposeCache(cache),
  };
}

/**
 * Continue `prompt`: greedy or sampled token by token, or by beam search (`beams` above 1),
 * reusing keys/values of earlier positions.
 */
export function generate(model: Llama, prompt: number[], opts: GenerateOptions = {}): number[] {
  checkDecoding(opts);
  const stepper = modelStepper(model, prompt);
  try {
    return (opts.beams ?? 1) > 1 ? beamSearch(stepper, opts) : sampleDecode(stepper, opts);
  } finally {
    stepper.dispose();
  }
}

function disposeCache(c: KvCache): void {
  for (const t of [...c.k, ...c.v]) t.dispose();
}

function checkIds(model: Llama, ids: number[]): void {
  const V = model.dims.vocab;
  const bad = ids.findIndex((t) => !Number.isInteger(t) || t < 0 || t >= V);
  if (bad >= 0)
    throw new Error(`token id ${ids[bad]} at position ${bad} is outside the vocabulary [0, ${V})`);
  if (ids.length > model.config.max_position_embeddings) {
    throw new Error(
      `${ids.length} tokens exceed max_position_embeddings (${model.config.max_position_embeddings})`,
    );
  }
}
