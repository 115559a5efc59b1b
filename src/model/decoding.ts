/**
 * Decoding over any next-token model: the options (greedy, sampling, beam search), the per-token
 * pieces they share (log-softmax, the no-repeat-n-gram rule, the sampling filters), the greedy and
 * sampling loop, and the sentence that names a decoding in provenance lines and evaluation results.
 * A model is seen through a `TokenStepper`, so decoding is tested on hand-written next-token
 * tables as well as on a Llama with its KV cache (src/model/inference.ts).
 */
import { Rng } from "../util/rng";

/**
 * A model as decoding sees it: rows of sequences that share a prompt. `start` gives the logits of
 * the first generated token (one row); `step` makes row r of the next call the row `parents[r]`
 * of the last call extended by `tokens[r]`, and gives each new row's next-token logits, or null
 * when the model's context has no room for another token.
 */
export interface TokenStepper {
  start(): Float32Array;
  step(parents: readonly number[], tokens: readonly number[]): Float32Array[] | null;
  dispose(): void;
}

export interface GenerateOptions {
  maxNewTokens?: number;
  /**
   * Stop tokens are ruled out until this many tokens are generated (default 0), as Hugging Face's
   * `min_new_tokens`: a small model's most likely answer ends after its first short clause.
   */
  minNewTokens?: number;
  /** 0 = greedy. */
  temperature?: number;
  topK?: number;
  topP?: number;
  stopTokens?: number[];
  seed?: number;
  /**
   * Never generate an n-gram of this size twice (0 or absent: no constraint), as Hugging Face's
   * `no_repeat_ngram_size`, but over the generated tokens only (of each beam), so an answer may
   * still quote the prompt. Small models decoding greedily fall into loops that this cuts.
   */
  noRepeatNgramSize?: number;
  /** Beam search with this many beams when above 1 (deterministic: temperature must be 0). */
  beams?: number;
  /**
   * Beam search ranks finished hypotheses by sum of log-probabilities / length^lengthPenalty
   * (length: generated tokens, the end token included); default 1. Above 0 favours longer
   * answers, below 0 shorter ones.
   */
  lengthPenalty?: number;
}

/** Check decoding options once, with errors that name the setting. */
export function checkDecoding(opts: GenerateOptions): void {
  const beams = opts.beams ?? 1;
  if (!(Number.isInteger(beams) && beams >= 1)) {
    throw new Error(`beams must be a positive integer, got ${beams}`);
  }
  const min = opts.minNewTokens ?? 0;
  if (!(Number.isInteger(min) && min >= 0)) {
    throw new Error(`minNewTokens must be a non-negative integer, got ${min}`);
  }
  if (opts.maxNewTokens !== undefined && min > opts.maxNewTokens) {
    throw new Error(
      `at least ${min} new tokens cannot fit in at most ${opts.maxNewTokens} (--min-new-tokens above --max-new-tokens)`,
    );
  }
  const lp = opts.lengthPenalty ?? 1;
  if (!Number.isFinite(lp)) throw new Error(`lengthPenalty must be a finite number, got ${lp}`);
  if (beams > 1 && (opts.temperature ?? 0) > 0) {
    throw new Error(
      `beam search (beams ${beams}) is deterministic and takes no temperature (got ${opts.temperature}); give one of them`,
    );
  }
  if (opts.lengthPenalty !== undefined && beams === 1) {
    throw new Error("lengthPenalty applies to beam search only: give beams above 1 with it");
  }
}

/** How text was decoded, in words: "beam search (4 beams, length penalty 1), no repeated 3-grams". */
export function describeDecoding(opts: GenerateOptions): string {
  const beams = opts.beams ?? 1;
  const t = opts.temperature ?? 0;
  let what: string;
  if (beams > 1) {
    what = `beam search (${beams} beams, length penalty ${opts.lengthPenalty ?? 1}, early stopping)`;
  } else if (t > 0) {
    const filters = [
      `temperature ${t}`,
      ...(opts.topK ? [`top-k ${opts.topK}`] : []),
      ...(opts.topP !== undefined && opts.topP < 1 ? [`top-p ${opts.topP}`] : []),
      `seed ${opts.seed ?? 0}`,
    ];
    what = `sampling (${filters.join(", ")})`;
  } else {
    what = "greedy decoding";
  }
  const n = opts.noRepeatNgramSize ?? 0;
  const min = opts.minNewTokens ?? 0;
  return [
    what,
    ...(n > 0 ? [`no repeated ${n}-grams`] : []),
    ...(min > 0 ? [`at least ${min} new tokens`] : []),
  ].join(", ");
}

/** log softmax of a row of logits (entries at -Infinity stay there). */
export function logSoftmax(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (const x of logits) if (x > max) max = x;
  let sum = 0;
  for (const x of logits) sum += Math.exp(x - max);
  const lse = max + Math.log(sum);
  return Float64Array.from(logits, (x) => x - lse);
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

/**
 * Rule out what may not come next in `tokens` (the generated tokens so far, in place on `scores`,
 * logits or log-probabilities): a repeated n-gram's end, and the stop tokens before `minNewTokens`.
 */
export function banTokens(
  scores: Float32Array | Float64Array,
  tokens: readonly number[],
  opts: GenerateOptions,
): void {
  for (const t of repeatedNgramEnds(tokens, opts.noRepeatNgramSize ?? 0)) scores[t] = -Infinity;
  if (tokens.length < (opts.minNewTokens ?? 0))
    for (const t of opts.stopTokens ?? []) scores[t] = -Infinity;
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

/** Greedy or sampled decoding, one token at a time; the stop token that ended it is included. */
export function sampleDecode(stepper: TokenStepper, opts: GenerateOptions): number[] {
  const max = opts.maxNewTokens ?? 64;
  const stop = new Set(opts.stopTokens ?? []);
  const rng = new Rng(opts.seed ?? 0);
  const out: number[] = [];
  let logits: Float32Array | undefined = stepper.start();
  while (logits) {
    banTokens(logits, out, opts);
    const token = sample(logits, opts, rng);
    out.push(token);
    if (stop.has(token) || out.length >= max) break;
    logits = stepper.step([0], [token])?.[0];
  }
  return out;
}
