/**
 * From examples to token batches: encode each example in a prompt format (prompt tokens masked out
 * of the loss), truncate what is too long (the input first, the target only when even an empty
 * input leaves no room), and group examples into length-bucketed, right-padded batches whose order
 * is a pure function of (seed, epoch), so that a resumed run sees exactly the batches it would have.
 */
import type { Example, Task } from "./example";
import type { Lang } from "./langs";
import { endToken, formatExample, type PromptFormat, type Segment } from "./prompts";
import { PAD } from "../tokenizer/special";
import { IGNORE_INDEX, type TokenBatch } from "./token_batch";
import { Rng } from "../util/rng";

/** What encoding needs from a tokenizer (the project's Tokenizer has it). */
export interface PromptTokenizer {
  /** Token ids of plain text, without special tokens added around it. */
  encode(text: string, opts?: { addSpecial?: boolean }): number[];
  /** The id of a token given by its literal (special tokens included), if the vocabulary has it. */
  tokenToId(token: string): number | null | undefined;
}

/** Ids a tokenizer puts before every text (its post-processor's prefix, e.g. BOS): what HF adds when the
 * DeepSeek-Coder finetune script tokenizes an example. */
export function sequencePrefix(tok: PromptTokenizer): number[] {
  const bare = tok.encode("a", { addSpecial: false });
  const framed = tok.encode("a", { addSpecial: true });
  for (let at = 0; at + bare.length <= framed.length; at++) {
    if (bare.every((id, i) => framed[at + i] === id)) return framed.slice(0, at);
  }
  throw new Error("the tokenizer's special-token template does not contain the encoded text");
}

/** The id that pads batches: the tokenizer's <|pad|>, else the format's end token. */
export function padIdOf(tok: PromptTokenizer, format: PromptFormat): number {
  const id = tok.tokenToId(PAD) ?? tok.tokenToId(endToken(format));
  if (id === null || id === undefined) {
    throw new Error(`the tokenizer has neither ${PAD} nor ${endToken(format)} to pad batches with`);
  }
  return id;
}

/** How examples are encoded. */
export interface EncodeOptions {
  format: PromptFormat;
  /** Longest sequence in tokens (`start` included). */
  maxLen: number;
  /** Ids put in front of every example (`sequencePrefix`: BOS, or nothing). */
  start: readonly number[];
}

/** One example as token ids: the prompt is ids[0, promptLength), the target the rest. */
export interface EncodedExample {
  id: string;
  task: Task;
  language: Lang;
  ids: Int32Array;
  promptLength: number;
  /** The input was cut to fit maxLen. */
  inputTruncated: boolean;
  /** Even with the input gone the target did not fit, and its end was cut. */
  targetTruncated: boolean;
}

/** How many examples truncation touched. */
export interface TruncationStats {
  examples: number;
  inputTruncated: number;
  targetTruncated: number;
}

/** Ids of a list of segments; a special token the tokenizer lacks is an error naming it. */
export function encodeSegments(tok: PromptTokenizer, segments: readonly Segment[]): number[] {
  const out: number[] = [];
  for (const s of segments) {
    if ("text" in s) {
      out.push(...tok.encode(s.text, { addSpecial: false }));
    } else {
      const id = tok.tokenToId(s.special);
      if (id === null || id === undefined) {
        throw new Error(
          `the tokenizer has no token ${s.special}; this prompt format needs it (train the tokenizer with it, or choose another --prompt)`,
        );
      }
      out.push(id);
    }
  }
  return out;
}

/** Encode one example (see the module comment for the truncation rule). */
export function encodeExample(
  tok: PromptTokenizer,
  ex: Pick<Example, "id" | "task" | "language" | "input" | "target">,
  opts: EncodeOptions,
): EncodedExample {
  const f = formatExample(ex, opts.format);
  const head = [...opts.start, ...encodeSegments(tok, f.prefix)];
  const input = tok.encode(f.input, { addSpecial: false });
  const tail = encodeSegments(tok, f.suffix);
  const target = encodeSegments(tok, f.target);
  const frame = head.length + tail.length;
  if (frame >= opts.maxLen) {
    throw new Error(
      `example ${ex.id}: maxLen ${opts.maxLen} leaves no room for a target after the ${frame}-token prompt frame of the ${opts.format} format`,
    );
  }
  const inputRoom = Math.max(0, opts.maxLen - frame - target.length);
  const keptInput = input.slice(0, inputRoom);
  const keptTarget = target.slice(0, opts.maxLen - frame - keptInput.length);
  const ids = Int32Array.from([...head, ...keptInput, ...tail, ...keptTarget]);
  return {
    id: ex.id,
    task: ex.task,
    language: ex.language,
    ids,
    promptLength: frame + keptInput.length,
    inputTruncated: keptInput.length < input.length,
    targetTruncated: keptTarget.length < target.length,
  };
}

/** Encode many examples and count the truncations. */
export function encodeExamples(
  tok: PromptTokenizer,
  examples: readonly Pick<Example, "id" | "task" | "language" | "input" | "target">[],
  opts: EncodeOptions,
): { examples: EncodedExample[]; stats: TruncationStats } {
  const out = examples.map((ex) => encodeExample(tok, ex, opts));
  return {
    examples: out,
    stats: {
      examples: out.length,
      inputTruncated: out.filter((e) => e.inputTruncated).length,
      targetTruncated: out.filter((e) => e.targetTruncated).length,
    },
  };
}

/**
 * Batches of example indices: shuffle, sort by length (longest first) within buckets of
 * `bucketBatches` batches so that a batch holds similar lengths (little padding), then shuffle the
 * order of the batches. The last batch may be smaller.
 */
export function batchOrder(
  lengths: readonly number[],
  batchSize: number,
  rng: Rng,
  bucketBatches = 8,
): number[][] {
  if (!(Number.isInteger(batchSize) && batchSize > 0)) {
    throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
  }
  const shuffled = rng.shuffle(lengths.map((_, i) => i));
  const bucket = batchSize * Math.max(1, bucketBatches);
  const batches: number[][] = [];
  for (let start = 0; start < shuffled.length; start += bucket) {
    // Array.prototype.sort is stable: equal lengths keep their shuffled order.
    const sorted = shuffled.slice(start, start + bucket).sort((a, b) => lengths[b] - lengths[a]);
    for (let i = 0; i < sorted.length; i += batchSize) batches.push(sorted.slice(i, i + batchSize));
  }
  return rng.shuffle(batches);
}

/** The batches of one epoch: a function of (seed, epoch) only. */
export function epochBatches(
  lengths: readonly number[],
  batchSize: number,
  seed: number,
  epoch: number,
  bucketBatches = 8,
): number[][] {
  return batchOrder(
    lengths,
    batchSize,
    new Rng(seed).fork(`data-order/epoch-${epoch}`),
    bucketBatches,
  );
}

/** A padded batch with the task and language of each row. */
export interface Batch extends TokenBatch {
  /** Ids of the examples, one per row. */
  exampleIds: string[];
  tasks: Task[];
  languages: Lang[];
  /** Positions whose loss counts (target tokens). */
  tokens: number;
}

/** How the loss of a batch averages its tokens. */
export type LossWeighting = "token-mean" | "mftcoder";

/**
 * Right-pad rows to the longest, with an attention mask (1 real, 0 padding) and next-token labels:
 * labels[t] = ids[t + 1] where token t + 1 is a target token, -100 elsewhere. With `mftcoder`,
 * per-position loss weights as MFTCoder's case3 (see `mftcoderWeights`).
 */
export function collate(
  rows: readonly EncodedExample[],
  padId: number,
  weighting: LossWeighting = "token-mean",
  taskWeights: Partial<Record<Task, number>> = {},
): Batch {
  if (rows.length === 0) throw new Error("collate: a batch needs at least one example");
  const B = rows.length;
  const T = Math.max(...rows.map((r) => r.ids.length));
  const ids = new Int32Array(B * T).fill(padId);
  const labels = new Int32Array(B * T).fill(IGNORE_INDEX);
  const attentionMask = new Float32Array(B * T);
  let tokens = 0;
  rows.forEach((r, b) => {
    const L = r.ids.length;
    ids.set(r.ids, b * T);
    attentionMask.fill(1, b * T, b * T + L);
    for (let t = Math.max(0, r.promptLength - 1); t < L - 1; t++) {
      labels[b * T + t] = r.ids[t + 1];
      tokens++;
    }
  });
  const tasks = rows.map((r) => r.task);
  return {
    ids,
    labels,
    attentionMask,
    batch: B,
    seqLen: T,
    exampleIds: rows.map((r) => r.id),
    tasks,
    languages: rows.map((r) => r.language),
    tokens,
    weights: weighting === "mftcoder" ? mftcoderWeights(labels, tasks, T, taskWeights) : undefined,
  };
}

/**
 * MFTCoder's case3 loss as per-position weights: for each task k present in the batch with n_k
 * counted tokens and weight w_k (default 1), loss = sum_k w_k * (sum of k's token losses / n_k) / W,
 * W = sum of w_k over the tasks present; so a position of task k weighs w_k / (n_k * W), and the
 * weights of counted positions sum to 1. Tasks without counted tokens take no part.
 */
export function mftcoderWeights(
  labels: Int32Array,
  rowTasks: readonly Task[],
  seqLen: number,
  taskWeights: Partial<Record<Task, number>> = {},
): Float32Array {
  const counts = new Map<Task, number>();
  rowTasks.forEach((task, b) => {
    let n = 0;
    for (let t = 0; t < seqLen; t++) if (labels[b * seqLen + t] !== IGNORE_INDEX) n++;
    counts.set(task, (counts.get(task) ?? 0) + n);
  });
  const weightOf = (task: Task) => {
    const w = taskWeights[task] ?? 1;
    if (!(w > 0)) throw new Error(`task weight of ${task} must be > 0, got ${w}`);
    return w;
  };
  let W = 0;
  for (const [task, n] of counts) if (n > 0) W += weightOf(task);
  const out = new Float32Array(labels.length);
  rowTasks.forEach((task, b) => {
    const n = counts.get(task)!;
    if (n === 0) return;
    const w = weightOf(task) / (n * W);
    for (let t = 0; t < seqLen; t++)
      if (labels[b * seqLen + t] !== IGNORE_INDEX) out[b * seqLen + t] = w;
  });
  return out;
}
