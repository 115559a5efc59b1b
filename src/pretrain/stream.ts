/**
 * The pretraining corpus as token streams: every file of a split encoded without special tokens
 * and followed by <|eos|>, languages one after another (LANGS order), files in corpus order. The
 * windows cut from a stream are shuffled together, so languages interleave in every batch.
 *
 * Encoding the corpus takes a while, so the streams are cached next to it as raw little-endian
 * int32 files under a key hashed from the corpus manifest's content hash and the tokenizer file:
 * `<corpus>/tokens/<key>/{train.i32, val.i32, index.json}`. index.json is written last, so a cache
 * directory without it is incomplete and is rebuilt.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { CorpusManifest } from "../corpus/build";
import { CORPUS_SPLITS, readCorpus, type CorpusSplit } from "../corpus/files";
import { LANGS, type Lang } from "../data/langs";
import { EOS } from "../tokenizer/special";
import type { Tokenizer } from "../tokenizer/tokenizer";
import { readJson, writeFileAtomic, writeJsonAtomic } from "../util/fs";

/** One language's tokens in a stream: [start, end) and how many files they came from. */
export interface LanguageSpan {
  lang: Lang;
  start: number;
  end: number;
  files: number;
}

/** A split encoded: the tokens and where each language lies in them. */
export interface TokenStream {
  tokens: Int32Array;
  spans: LanguageSpan[];
}

/** Both splits of a corpus encoded with one tokenizer, and where they were cached. */
export interface CorpusTokens {
  /** Hash of the corpus content and the tokenizer: equal keys, equal streams. */
  key: string;
  /** The corpus folder holding MANIFEST.json and the JSONL files. */
  corpusDir: string;
  /** MANIFEST.json's content hash. */
  manifestHash: string;
  /** sha256 of the tokenizer.json bytes. */
  tokenizerSha256: string;
  train: TokenStream;
  val: TokenStream;
  cacheDir: string;
  /** Whether the streams were read from the cache rather than encoded now. */
  fromCache: boolean;
}

interface CacheIndex {
  version: 1;
  key: string;
  manifestHash: string;
  tokenizerSha256: string;
  splits: Record<CorpusSplit, { tokens: number; spans: LanguageSpan[] }>;
}

function sha256(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** A growable int32 buffer. */
class Int32Builder {
  private buf = new Int32Array(1 << 16);
  length = 0;
  push(ids: readonly number[]): void {
    if (this.length + ids.length > this.buf.length) {
      const grown = new Int32Array(Math.max(2 * this.buf.length, this.length + ids.length));
      grown.set(this.buf.subarray(0, this.length));
      this.buf = grown;
    }
    this.buf.set(ids, this.length);
    this.length += ids.length;
  }
  finish(): Int32Array {
    return this.buf.slice(0, this.length);
  }
}

/** Encode texts into one stream: each text's tokens (no special tokens added), then `eosId`. */
export function encodeStream(
  tok: Pick<Tokenizer, "encode">,
  files: Iterable<{ lang: Lang; text: string }>,
  eosId: number,
): TokenStream {
  const out = new Int32Builder();
  const spans: LanguageSpan[] = [];
  for (const f of files) {
    let span = spans[spans.length - 1];
    if (!span || span.lang !== f.lang) {
      if (spans.some((s) => s.lang === f.lang)) {
        throw new Error(`encodeStream: ${f.lang} files must come together, not interleaved`);
      }
      span = { lang: f.lang, start: out.length, end: out.length, files: 0 };
      spans.push(span);
    }
    out.push(tok.encode(f.text, { addSpecial: false }));
    out.push([eosId]);
    span.end = out.length;
    span.files++;
  }
  return { tokens: out.finish(), spans };
}

/** The language a stream position belongs to. */
export function languageAt(spans: readonly LanguageSpan[], position: number): Lang {
  const span = spans.find((s) => position >= s.start && position < s.end);
  if (!span) throw new Error(`position ${position} lies outside the stream`);
  return span.lang;
}

/** The folder holding MANIFEST.json: DIR itself, or DIR/corpus (the corpus builder's layout). */
export function resolveCorpusDir(dir: string): string {
  for (const d of [dir, path.join(dir, "corpus")]) {
    if (fs.existsSync(path.join(d, "MANIFEST.json"))) return d;
  }
  throw new Error(
    `${dir}: no corpus here (expected ${path.join(dir, "MANIFEST.json")} or ${path.join(dir, "corpus", "MANIFEST.json")}; build the corpus first)`,
  );
}

/** The content hash of a corpus folder's MANIFEST.json. */
export function manifestHash(corpusDir: string): string {
  const file = path.join(corpusDir, "MANIFEST.json");
  const m = readJson<Partial<CorpusManifest>>(file);
  if (typeof m.contentHash !== "string" || m.contentHash === "") {
    throw new Error(`${file}: contentHash missing (expected the corpus content hash, a string)`);
  }
  return m.contentHash;
}

/** The cache key of a corpus encoded with a tokenizer file. */
export function tokensKey(corpusHash: string, tokenizerSha256: string): string {
  return sha256(`pretrain-tokens/v1\n${corpusHash}\n${tokenizerSha256}\n`).slice(0, 16);
}

function writeStream(file: string, tokens: Int32Array): void {
  writeFileAtomic(file, new Uint8Array(tokens.buffer, tokens.byteOffset, tokens.byteLength));
}

function readStream(file: string, expected: number): Int32Array {
  const buf = fs.readFileSync(file);
  if (buf.length !== expected * 4) {
    throw new Error(`${file}: ${buf.length} bytes, expected ${expected * 4} (${expected} tokens)`);
  }
  const out = new Int32Array(expected);
  new Uint8Array(out.buffer).set(buf);
  return out;
}

/**
 * The corpus's train and val streams encoded with `tokenizer` (loaded from `tokenizerFile`): read
 * from the cache when it holds them, otherwise encoded and cached.
 */
export function corpusTokens(
  corpus: string,
  tokenizerFile: string,
  tokenizer: Tokenizer,
  opts: { cacheDir?: string; log?: (line: string) => void } = {},
): CorpusTokens {
  const log = opts.log ?? (() => undefined);
  const corpusDir = resolveCorpusDir(corpus);
  const corpusHash = manifestHash(corpusDir);
  const tokenizerSha256 = sha256(fs.readFileSync(tokenizerFile));
  const key = tokensKey(corpusHash, tokenizerSha256);
  const cacheDir = opts.cacheDir ?? path.join(corpusDir, "tokens", key);
  const indexFile = path.join(cacheDir, "index.json");
  const base = { key, corpusDir, manifestHash: corpusHash, tokenizerSha256, cacheDir };
  if (fs.existsSync(indexFile)) {
    const index = readJson<CacheIndex>(indexFile);
    if (index.version !== 1 || index.key !== key) {
      throw new Error(
        `${indexFile}: cache of another corpus or tokenizer (key ${index.key}, expected ${key})`,
      );
    }
    const read = (split: CorpusSplit): TokenStream => ({
      tokens: readStream(path.join(cacheDir, `${split}.i32`), index.splits[split].tokens),
      spans: index.splits[split].spans,
    });
    return { ...base, train: read("train"), val: read("val"), fromCache: true };
  }

  const eosId = tokenizer.tokenToId(EOS);
  if (eosId === undefined) throw new Error(`${tokenizerFile}: no ${EOS} token to end files with`);
  const streams = {} as Record<CorpusSplit, TokenStream>;
  for (const split of CORPUS_SPLITS) {
    const t0 = Date.now();
    streams[split] = encodeStream(tokenizer, corpusFiles(corpusDir, split), eosId);
    const { tokens, spans } = streams[split];
    const files = spans.reduce((n, s) => n + s.files, 0);
    log(
      `encoded ${split}: ${files} files, ${tokens.length} tokens in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
  }
  if (streams.train.tokens.length === 0) throw new Error(`${corpusDir}: no train files`);
  fs.mkdirSync(cacheDir, { recursive: true });
  for (const split of CORPUS_SPLITS)
    writeStream(path.join(cacheDir, `${split}.i32`), streams[split].tokens);
  const index: CacheIndex = {
    version: 1,
    key,
    manifestHash: corpusHash,
    tokenizerSha256,
    splits: {
      train: { tokens: streams.train.tokens.length, spans: streams.train.spans },
      val: { tokens: streams.val.tokens.length, spans: streams.val.spans },
    },
  };
  writeJsonAtomic(indexFile, index);
  log(`token cache: ${cacheDir}`);
  return { ...base, train: streams.train, val: streams.val, fromCache: false };
}

/** A split's files, language after language, read one language at a time. */
function* corpusFiles(
  corpusDir: string,
  split: CorpusSplit,
): Generator<{ lang: Lang; text: string }> {
  for (const lang of LANGS)
    for (const r of readCorpus(corpusDir, lang, split)) yield { lang, text: r.text };
}
