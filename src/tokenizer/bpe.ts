/**
 * The BPE model of a byte-level tokenizer: vocab, ranked merges, and the merge loop that turns one
 * pre-token into ids. Merge order matches HF tokenizers (`Word::merge_all`): repeatedly apply the
 * lowest-rank merge present, the leftmost one among equals.
 */
import { BYTE_TO_UNICODE } from "./byte_level";

/** Multiplier packing an id pair (a, b) into one number a * PAIR_BASE + b (ids stay below it). */
export const PAIR_BASE = 1 << 22;

export interface BpeOptions {
  unkToken: string | null;
  fuseUnk: boolean;
  ignoreMerges: boolean;
}

/** Ranked merges and vocab; encodes byte strings of pre-tokens to ids. */
export class BpeModel {
  /** byteSymbol[b] = id of the one-byte token for byte b, or -1 when the vocab lacks it. */
  private readonly byteSymbol = new Int32Array(256);
  /** packed pair -> rank */
  private readonly rankOf = new Map<number, number>();
  /** rank -> id of the merged token */
  private readonly mergedId: Int32Array;
  private readonly unkId: number;

  constructor(
    readonly vocab: ReadonlyMap<string, number>,
    readonly merges: ReadonlyArray<readonly [string, string]>,
    readonly options: BpeOptions,
    where: string,
  ) {
    for (const id of vocab.values()) {
      if (id >= PAIR_BASE)
        throw new Error(`${where}.vocab: id ${id} too large (limit ${PAIR_BASE - 1})`);
    }
    this.unkId = -1;
    if (options.unkToken !== null) {
      const id = vocab.get(options.unkToken);
      if (id === undefined)
        throw new Error(
          `${where}.unk_token: ${JSON.stringify(options.unkToken)} is not in the vocab`,
        );
      this.unkId = id;
    }
    for (let b = 0; b < 256; b++) this.byteSymbol[b] = vocab.get(BYTE_TO_UNICODE[b]) ?? -1;
    this.mergedId = new Int32Array(merges.length);
    merges.forEach(([a, b], rank) => {
      const ia = vocab.get(a);
      const ib = vocab.get(b);
      const merged = vocab.get(a + b);
      if (ia === undefined || ib === undefined || merged === undefined) {
        const missing = ia === undefined ? a : ib === undefined ? b : a + b;
        throw new Error(
          `${where}.merges[${rank}]: token ${JSON.stringify(missing)} is not in the vocab`,
        );
      }
      // A repeated pair keeps its last rank, as both HF implementations do.
      this.rankOf.set(ia * PAIR_BASE + ib, rank);
      this.mergedId[rank] = merged;
    });
  }

  /**
   * Append the ids of one pre-token, given as UTF-8 bytes, to `out`. Bytes whose symbol is not in the
   * vocab become the unk token, or are dropped when there is none (as HF does).
   */
  encodeBytes(bytes: Uint8Array, length: number, out: number[]): void {
    if (this.options.ignoreMerges) {
      let s = "";
      for (let i = 0; i < length; i++) s += BYTE_TO_UNICODE[bytes[i]];
      const whole = this.vocab.get(s);
      if (whole !== undefined) {
        out.push(whole);
        return;
      }
    }
    const ids: number[] = [];
    let lastUnk = false;
    for (let i = 0; i < length; i++) {
      const id = this.byteSymbol[bytes[i]];
      if (id >= 0) {
        ids.push(id);
        lastUnk = false;
      } else if (this.unkId >= 0 && !(this.options.fuseUnk && lastUnk)) {
        ids.push(this.unkId);
        lastUnk = true;
      }
    }
    this.mergeIds(ids, out);
  }

  /** Apply merges to a symbol sequence (lowest rank first, leftmost among equals); append the result. */
  private mergeIds(ids: number[], out: number[]): void {
    const n = ids.length;
    if (n < 2) {
      if (n === 1) out.push(ids[0]);
      return;
    }
    // Doubly linked symbols; a heap of candidate merges keyed rank * n + position.
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      next[i] = i + 1;
      prev[i] = i - 1;
    }
    next[n - 1] = -1;
    const heap = new MinHeap();
    const consider = (i: number) => {
      const j = next[i];
      if (j < 0) return;
      const rank = this.rankOf.get(ids[i] * PAIR_BASE + ids[j]);
      if (rank !== undefined) heap.push(rank * n + i);
    };
    for (let i = 0; i < n - 1; i++) consider(i);
    while (heap.size > 0) {
      const key = heap.pop();
      const i = key % n;
      const rank = (key - i) / n;
      const j = next[i];
      // Skip entries made stale by an earlier merge (symbol gone, or the pair changed).
      if (ids[i] < 0 || j < 0 || this.rankOf.get(ids[i] * PAIR_BASE + ids[j]) !== rank) continue;
      ids[i] = this.mergedId[rank];
      ids[j] = -1;
      next[i] = next[j];
      if (next[j] >= 0) prev[next[j]] = i;
      if (prev[i] >= 0) consider(prev[i]);
      consider(i);
    }
    for (let i = 0; i >= 0; i = next[i]) out.push(ids[i]);
  }
}

/** Binary min-heap of numbers. */
class MinHeap {
  private readonly items: number[] = [];

  get size(): number {
    return this.items.length;
  }

  push(v: number): void {
    const a = this.items;
    let i = a.length;
    a.push(v);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p] <= v) break;
      a[i] = a[p];
      i = p;
    }
    a[i] = v;
  }

  pop(): number {
    const a = this.items;
    const top = a[0];
    const last = a.pop() as number;
    if (a.length > 0) {
      let i = 0;
      const n = a.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const c = l + 1 < n && a[l + 1] < a[l] ? l + 1 : l;
        if (a[c] >= last) break;
        a[i] = a[c];
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}
