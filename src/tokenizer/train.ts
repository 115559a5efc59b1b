/**
 * Byte-level BPE training in the manner of HF tokenizers' BpeTrainer: count pre-tokenized words,
 * count adjacent symbol pairs weighted by word frequency, and repeatedly merge the most frequent pair
 * (ties: the pair with the smallest (left id, right id)), updating pair counts incrementally.
 *
 * Differences from HF's trainer: each merge is applied to every word holding the pair (HF applies it
 * only to the words recorded with that heap entry, which can miss some after a pair re-forms), and a
 * pair that re-forms after being merged is not added to the merges a second time.
 */
import { byteLevelAlphabet, splitGpt2, toByteLevel } from "./byte_level";
import { PAIR_BASE } from "./bpe";
import { literalAlternation } from "./onig_regex";
import { Tokenizer } from "./tokenizer";

export interface TrainOptions {
  /** Target size: special tokens + 256 byte symbols + merges. */
  vocabSize: number;
  /** Special tokens, given the lowest ids in this order. */
  specialTokens: string[];
  /** Pairs seen fewer times than this are never merged (default 2). */
  minFrequency?: number;
  /** A special token the post-processor puts before every encoded text (TemplateProcessing). */
  bosToken?: string;
}

export interface LearnOptions {
  vocabSize: number;
  minFrequency: number;
  specialTokens: readonly string[];
  /** Symbols always in the alphabet, whether or not the words use them. */
  initialAlphabet: readonly string[];
}

/** Result of BPE learning: tokens in id order and merges in rank order. */
export interface LearnedBpe {
  vocab: string[];
  merges: Array<[string, string]>;
}

/**
 * Learn BPE merges from word frequencies (words already pre-tokenized; symbols are code points).
 * Vocab ids: special tokens, then the alphabet (seen symbols plus `initialAlphabet`) by code point,
 * then one token per merge, as HF's BpeTrainer lays them out.
 */
export function learnBpe(wordCounts: ReadonlyMap<string, number>, opts: LearnOptions): LearnedBpe {
  const vocab: string[] = [];
  const idOf = new Map<string, number>();
  const addToken = (t: string): number => {
    let id = idOf.get(t);
    if (id === undefined) {
      id = vocab.length;
      vocab.push(t);
      idOf.set(t, id);
    }
    return id;
  };
  opts.specialTokens.forEach(addToken);
  const alphabet = new Set(opts.initialAlphabet);
  for (const w of wordCounts.keys()) for (const ch of w) alphabet.add(ch);
  [...alphabet]
    .sort((a, b) => (a.codePointAt(0) as number) - (b.codePointAt(0) as number))
    .forEach(addToken);
  if (opts.vocabSize >= PAIR_BASE)
    throw new Error(`vocabSize ${opts.vocabSize} too large (limit ${PAIR_BASE - 1})`);

  // Words as symbol-id runs in one buffer; a word shrinks in place as merges apply.
  const entries = [...wordCounts];
  const freq = new Float64Array(entries.length);
  const start = new Int32Array(entries.length);
  const len = new Int32Array(entries.length);
  let total = 0;
  for (const [w] of entries) total += w.length;
  const sym = new Int32Array(total);
  let pos = 0;
  entries.forEach(([w, count], i) => {
    freq[i] = count;
    start[i] = pos;
    for (const ch of w) sym[pos++] = idOf.get(ch) as number;
    len[i] = pos - start[i];
  });

  // Pair counts and, per pair, the words that may hold it (may list a word twice or stale words).
  const count = new Map<number, number>();
  const where = new Map<number, number[]>();
  const addPair = (key: number, delta: number, word: number) => {
    count.set(key, (count.get(key) ?? 0) + delta);
    if (delta > 0) {
      const list = where.get(key);
      if (list === undefined) where.set(key, [word]);
      else if (list[list.length - 1] !== word) list.push(word);
    }
  };
  for (let w = 0; w < entries.length; w++) {
    for (let k = start[w]; k < start[w] + len[w] - 1; k++)
      addPair(sym[k] * PAIR_BASE + sym[k + 1], freq[w], w);
  }
  const heap = new PairHeap();
  for (const [key, c] of count) heap.push(c, key);

  const merges: Array<[string, string]> = [];
  const merged = new Set<number>();
  const visited = new Int32Array(entries.length).fill(-1);
  const touched: number[] = [];
  let round = 0;
  while (vocab.length < opts.vocabSize && heap.size > 0) {
    const [c, key] = heap.pop();
    const current = count.get(key) ?? 0;
    if (c !== current) {
      if (current > 0) heap.push(current, key); // count fell since this entry was pushed
      continue;
    }
    if (current < Math.max(1, opts.minFrequency)) break;
    const a = Math.floor(key / PAIR_BASE);
    const b = key - a * PAIR_BASE;
    const newId = addToken(vocab[a] + vocab[b]);
    if (!merged.has(key)) merges.push([vocab[a], vocab[b]]);
    merged.add(key);
    round++;
    touched.length = 0;
    for (const w of where.get(key) ?? []) {
      if (visited[w] === round) continue;
      visited[w] = round;
      mergeInWord(w, a, b, newId);
    }
    where.delete(key);
    count.delete(key);
    for (const k of touched) {
      const kc = count.get(k) ?? 0;
      if (kc > 0) heap.push(kc, k);
    }
  }
  return { vocab, merges };

  /** Merge (a, b) -> id left to right in word w, updating neighbour pair counts (as HF's Word::merge). */
  function mergeInWord(w: number, a: number, b: number, id: number): void {
    const s = start[w];
    const end = s + len[w];
    const f = freq[w];
    let out = s; // write position: sym[s..out) is the merged prefix
    let i = s;
    while (i < end) {
      if (i + 1 < end && sym[i] === a && sym[i + 1] === b) {
        if (out > s) {
          const left = sym[out - 1];
          addPair(left * PAIR_BASE + a, -f, w);
          addPair(left * PAIR_BASE + id, f, w);
          touched.push(left * PAIR_BASE + id);
        }
        if (i + 2 < end) {
          const right = sym[i + 2];
          addPair(b * PAIR_BASE + right, -f, w);
          addPair(id * PAIR_BASE + right, f, w);
          touched.push(id * PAIR_BASE + right);
        }
        sym[out++] = id;
        i += 2;
      } else {
        sym[out++] = sym[i++];
      }
    }
    len[w] = out - s;
  }
}

/** Max-heap of (count, packed pair): higher count first, then smaller pair. */
class PairHeap {
  private readonly counts: number[] = [];
  private readonly keys: number[] = [];

  get size(): number {
    return this.keys.length;
  }

  private before(c1: number, k1: number, c2: number, k2: number): boolean {
    return c1 > c2 || (c1 === c2 && k1 < k2);
  }

  push(c: number, k: number): void {
    const cs = this.counts;
    const ks = this.keys;
    let i = ks.length;
    cs.push(c);
    ks.push(k);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(c, k, cs[p], ks[p])) break;
      cs[i] = cs[p];
      ks[i] = ks[p];
      i = p;
    }
    cs[i] = c;
    ks[i] = k;
  }

  pop(): [number, number] {
    const cs = this.counts;
    const ks = this.keys;
    const top: [number, number] = [cs[0], ks[0]];
    const c = cs.pop() as number;
    const k = ks.pop() as number;
    const n = ks.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const ch = l + 1 < n && this.before(cs[l + 1], ks[l + 1], cs[l], ks[l]) ? l + 1 : l;
        if (!this.before(cs[ch], ks[ch], c, k)) break;
        cs[i] = cs[ch];
        ks[i] = ks[ch];
        i = ch;
      }
      cs[i] = c;
      ks[i] = k;
    }
    return top;
  }
}

/** Split text around the given special tokens (which are dropped) and count GPT-2 pre-tokens. */
export function countWords(
  texts: Iterable<string>,
  specialTokens: readonly string[],
  counts = new Map<string, number>(),
): Map<string, number> {
  const special = literalAlternation(specialTokens);
  const add = (w: string) => counts.set(w, (counts.get(w) ?? 0) + 1);
  for (const text of texts) {
    for (const section of special ? text.split(special) : [text]) splitGpt2(section, add);
  }
  return counts;
}

/**
 * Train a GPT-2 style byte-level BPE tokenizer (ByteLevel pre-tokenizer with the GPT-2 regex, no prefix
 * space). Ids: special tokens first, then the 256 byte symbols, then merges; any text encodes.
 */
export function trainByteLevelBpe(texts: Iterable<string>, opts: TrainOptions): Tokenizer {
  const specials = opts.specialTokens;
  if (new Set(specials).size !== specials.length)
    throw new Error(`trainByteLevelBpe: duplicate special tokens`);
  if (specials.some((t) => t === "")) throw new Error(`trainByteLevelBpe: empty special token`);
  if (opts.bosToken !== undefined && !specials.includes(opts.bosToken)) {
    throw new Error(
      `trainByteLevelBpe: bosToken ${JSON.stringify(opts.bosToken)} is not among specialTokens`,
    );
  }
  if (!(opts.vocabSize >= specials.length + 256)) {
    throw new Error(
      `trainByteLevelBpe: vocabSize ${opts.vocabSize} < ${specials.length + 256} (specials + 256 bytes)`,
    );
  }
  const raw = countWords(texts, specials);
  const words = new Map<string, number>();
  for (const [w, c] of raw) words.set(toByteLevel(w), c);
  const learned = learnBpe(words, {
    vocabSize: opts.vocabSize,
    minFrequency: opts.minFrequency ?? 2,
    specialTokens: specials,
    initialAlphabet: byteLevelAlphabet(),
  });
  const vocab: Record<string, number> = {};
  learned.vocab.forEach((t, id) => (vocab[t] = id));
  const byteLevel = {
    type: "ByteLevel",
    add_prefix_space: false,
    trim_offsets: true,
    use_regex: true,
  };
  const bos = opts.bosToken;
  const json = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: specials.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor:
      bos === undefined
        ? byteLevel
        : {
            type: "TemplateProcessing",
            single: [
              { SpecialToken: { id: bos, type_id: 0 } },
              { Sequence: { id: "A", type_id: 0 } },
            ],
            pair: [
              { SpecialToken: { id: bos, type_id: 0 } },
              { Sequence: { id: "A", type_id: 0 } },
              { SpecialToken: { id: bos, type_id: 1 } },
              { Sequence: { id: "B", type_id: 1 } },
            ],
            special_tokens: { [bos]: { id: bos, ids: [specials.indexOf(bos)], tokens: [bos] } },
          },
    decoder: byteLevel,
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: learned.merges,
    },
  };
  return Tokenizer.fromJson(json, "trainByteLevelBpe");
}
