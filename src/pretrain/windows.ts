/**
 * Fixed-length training windows cut from a token stream, and the seeded order they are drawn in.
 *
 * Window i covers tokens [i*T, i*T + T] (T + 1 tokens): its first T tokens are the input and its
 * last T the next-token labels, so consecutive windows share one boundary token and every token
 * of the stream but the tail is predicted exactly once per epoch. Windows are drawn in a fresh
 * permutation each epoch, a function of (seed, epoch); the sampler's position (epoch, windows
 * taken in it) is all a checkpoint needs to continue the same sequence of batches.
 */
import { Rng } from "../util/rng";
import type { TokenBatch } from "../data/token_batch";

/** How many whole windows of `seqLen` + 1 tokens a stream of `tokens` tokens holds. */
export function windowCount(tokens: number, seqLen: number): number {
  if (!(Number.isInteger(seqLen) && seqLen > 0)) {
    throw new Error(`seqLen must be a positive integer, got ${seqLen}`);
  }
  return tokens < 1 ? 0 : Math.floor((tokens - 1) / seqLen);
}

/** The batch of the given windows: ids [B, T] and their labels shifted by one (none ignored). */
export function windowBatch(
  stream: Int32Array,
  seqLen: number,
  windows: readonly number[],
): TokenBatch {
  const count = windowCount(stream.length, seqLen);
  const ids = new Int32Array(windows.length * seqLen);
  const labels = new Int32Array(windows.length * seqLen);
  windows.forEach((w, b) => {
    if (!(Number.isInteger(w) && w >= 0 && w < count)) {
      throw new Error(`window ${w} out of range: the stream holds ${count} windows of ${seqLen}`);
    }
    const start = w * seqLen;
    ids.set(stream.subarray(start, start + seqLen), b * seqLen);
    labels.set(stream.subarray(start + 1, start + seqLen + 1), b * seqLen);
  });
  return { ids, labels, batch: windows.length, seqLen };
}

/** The window order of one epoch: a permutation of [0, windows) drawn from (seed, epoch). */
export function epochOrder(windows: number, seed: number, epoch: number): Uint32Array {
  const rng = new Rng(seed).fork(`pretrain-windows/epoch-${epoch}`);
  const order = new Uint32Array(windows);
  for (let i = 0; i < windows; i++) order[i] = i;
  for (let i = windows - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

/** Where a sampler stands: the epoch, and how many of its windows have been taken. */
export interface SamplerState {
  epoch: number;
  offset: number;
}

/**
 * Draws windows epoch after epoch, each epoch in its own seeded order; a batch that reaches the end
 * of an epoch is completed from the next one.
 */
export class WindowSampler {
  private epoch: number;
  private offset: number;
  private order: Uint32Array;

  constructor(
    private readonly windows: number,
    private readonly seed: number,
    start: SamplerState = { epoch: 0, offset: 0 },
  ) {
    if (!(windows > 0)) throw new Error("no windows to sample: the token stream is too short");
    if (!(Number.isInteger(start.offset) && start.offset >= 0 && start.offset <= windows)) {
      throw new Error(`sampler offset ${start.offset} out of range [0, ${windows}]`);
    }
    this.epoch = start.epoch;
    this.offset = start.offset;
    this.order = epochOrder(windows, seed, start.epoch);
  }

  /** The position, for a checkpoint. */
  state(): SamplerState {
    return { epoch: this.epoch, offset: this.offset };
  }

  /** The next `n` windows. */
  next(n: number): number[] {
    const out: number[] = [];
    while (out.length < n) {
      if (this.offset === this.windows) {
        this.epoch++;
        this.offset = 0;
        this.order = epochOrder(this.windows, this.seed, this.epoch);
      }
      out.push(this.order[this.offset++]);
    }
    return out;
  }
}

/** `n` windows spread evenly over [0, windows) (all of them when there are no more than `n`). */
export function evenlySpaced(windows: number, n: number): number[] {
  if (windows <= n) return Array.from({ length: windows }, (_, i) => i);
  return Array.from({ length: n }, (_, k) => Math.floor((k * windows) / n));
}
