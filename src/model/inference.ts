/**
 * Inference on a decoder: per-token log-probabilities of a sequence, and sampling
 * (greedy, temperature, top-k, top-p, stop tokens) with a KV cache.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { KvCache, Llama } from "./llama";
import { Rng } from "../util/rng";

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

export interface GenerateOptions {
  maxNewTokens?: number;
  /** 0 = greedy. */
  temperature?: number;
  topK?: number;
  topP?: number;
  stopTokens?: number[];
  seed?: number;
  /**
   * Never generate an n-gram of this size twice (0 or absent: no constraint), as Hugging Face's
   * `no_repeat_ngram_size`, but over the generated tokens only, so an answer may still quote the
   * prompt. Small models decoding greedily fall into loops that this cuts.
   */
  noRepeatNgramSize?: number;
}

/** Continue `prompt` token by token, reusing keys/values of earlier positions. */
export function generate(model: Llama, prompt: number[], opts: GenerateOptions = {}): number[] {
  if (prompt.length === 0) throw new Error("generate: the prompt is empty");
  checkIds(model, prompt);
  const max = opts.maxNewTokens ?? 64;
  const limit = model.config.max_position_embeddings;
  const stop = new Set(opts.stopTokens ?? []);
  const rng = new Rng(opts.seed ?? 0);
  let cache: KvCache = { length: 0, k: [], v: [] };
  let input = prompt;
  const out: number[] = [];
  try {
    for (let step = 0; step < max && cache.length + input.length <= limit; step++) {
      const [last, ...kv] = tf.tidy(() => {
        const r = model.forward(tf.tensor2d(input, [1, input.length], "int32"), { cache });
        return [tf.slice(r.logits, [input.length - 1, 0], [1, -1]), ...r.cache!.k, ...r.cache!.v];
      });
      const logits = last.dataSync() as Float32Array;
      last.dispose();
      const n = kv.length / 2;
      const next: KvCache = {
        length: cache.length + input.length,
        k: kv.slice(0, n) as tf.Tensor4D[],
        v: kv.slice(n) as tf.Tensor4D[],
      };
      disposeCache(cache);
      cache = next;
      for (const t of repeatedNgramEnds(out, opts.noRepeatNgramSize ?? 0)) logits[t] = -Infinity;
      const token = sample(logits, opts, rng);
      out.push(token);
      if (stop.has(token)) break;
      input = [token];
    }
  } finally {
    disposeCache(cache);
  }
  return out;
}

/**
 * Tokens that would complete an n-gram already in `tokens`: those that followed an earlier
 * occurrence of the last n-1 tokens.
 */
export function repeatedNgramEnds(tokens: readonly number[], n: number): Set<number> {
  const banned = new Set<number>();
  if (n <= 0 || tokens.length < n - 1) return banned;
  const start = tokens.length - (n - 1);
  for (let i = 0; i + n - 1 < tokens.length; i++) {
    let same = true;
    for (let j = 0; j < n - 1 && same; j++) same = tokens[i + j] === tokens[start + j];
    if (same) banned.add(tokens[i + n - 1]);
  }
  return banned;
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

/** Pick the next token from logits: greedy, or temperature + top-k + top-p sampling. */
export function sample(logits: Float32Array, opts: GenerateOptions, rng: Rng): number {
  const temperature = opts.temperature ?? 0;
  if (temperature <= 0) {
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
    return best;
  }
  let order = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a] || a - b);
  if (opts.topK && opts.topK > 0) order = order.slice(0, opts.topK);
  const maxLogit = logits[order[0]];
  let probs = order.map((i) => Math.exp((logits[i] - maxLogit) / temperature));
  let total = probs.reduce((a, b) => a + b, 0);
  if (opts.topP !== undefined && opts.topP < 1) {
    // keep the smallest prefix whose mass reaches top_p (at least one token)
    let mass = 0;
    let keep = 0;
    while (keep < probs.length && (keep === 0 || mass / total < opts.topP)) mass += probs[keep++];
    order = order.slice(0, keep);
    probs = probs.slice(0, keep);
    total = mass;
  }
  let u = rng.next() * total;
  for (let j = 0; j < order.length; j++) {
    u -= probs[j];
    if (u <= 0) return order[j];
  }
  return order[order.length - 1];
}
