/**
 * Byte-level BPE tokenizer read from / written to Hugging Face tokenizer.json, with the encoding
 * and decoding behaviour of HF tokenizers for GPT-2 style and DeepSeek-Coder style files.
 */
import { writeJsonAtomic, readJson } from "../util/fs";
import { BpeModel } from "./bpe";
import { byteOfSymbol, utf8Bytes } from "./byte_level";
import {
  asArray,
  asBool,
  asId,
  asObject,
  asString,
  fieldError,
  typeOf,
  unsupported,
  type Json,
} from "./json_check";
import { literalAlternation } from "./onig_regex";
import { buildPreTokenizer, composeSteps, type PieceSplitter } from "./pre_tokenizer";
import { END_TOKENS } from "./special";

/** An entry of tokenizer.json `added_tokens`. */
export interface AddedToken {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

export interface EncodeOptions {
  /** Add the post-processor's tokens (e.g. BOS); default true, as in HF. */
  addSpecial?: boolean;
}

export interface DecodeOptions {
  /** Leave out added tokens marked special; default false. */
  skipSpecial?: boolean;
}

/** Pre-tokens longer than this are not cached (they are rare and would bloat the cache). */
const MAX_CACHED_PIECE = 256;
/** The cache is emptied when it reaches this many pre-tokens. */
const CACHE_CAPACITY = 200_000;

/** A byte-level BPE tokenizer. */
export class Tokenizer {
  private readonly idToTokenTable: (string | undefined)[] = [];
  private readonly addedByContent = new Map<string, AddedToken>();
  private readonly addedById = new Map<number, AddedToken>();
  private readonly addedSplitter: RegExp | null;
  private readonly cache = new Map<string, number[]>();
  private readonly scratch = { buf: new Uint8Array(1024) };
  private readonly tokenBytesCache: (Uint8Array | undefined)[] = [];
  private readonly decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
  /** Ids the post-processor puts before / after the text. */
  private readonly prefix: number[];
  private readonly suffix: number[];
  private readonly splitPieces: PieceSplitter;
  /** Number of ids (largest id + 1). */
  readonly vocabSize: number;
  /** Special added tokens, content -> id. */
  readonly specialTokens: ReadonlyMap<string, number>;

  private constructor(
    private readonly model: BpeModel,
    private readonly addedTokens: readonly AddedToken[],
    steps: readonly PieceSplitter[],
    private readonly configs: {
      normalizer: unknown;
      pre_tokenizer: unknown;
      post_processor: unknown;
      decoder: unknown;
    },
    template: { prefix: number[]; suffix: number[] },
  ) {
    for (const [token, id] of model.vocab) this.idToTokenTable[id] = token;
    const special = new Map<string, number>();
    for (const t of addedTokens) {
      this.addedByContent.set(t.content, t);
      this.addedById.set(t.id, t);
      if (t.special) special.set(t.content, t.id);
    }
    this.specialTokens = special;
    this.vocabSize = Math.max(this.idToTokenTable.length, ...addedTokens.map((t) => t.id + 1));
    this.addedSplitter = literalAlternation(addedTokens.map((t) => t.content));
    this.prefix = template.prefix;
    this.suffix = template.suffix;
    this.splitPieces = composeSteps(steps);
  }

  /** Build from parsed tokenizer.json; `source` (e.g. the file path) prefixes every error. */
  static fromJson(json: unknown, source: string): Tokenizer {
    const root = asObject(json, source);
    const at = (field: string) => `${source}: ${field}`;
    for (const field of ["truncation", "padding"] as const) {
      if (root[field] !== undefined && root[field] !== null) {
        throw new Error(
          `${at(field)}: must be null (truncation and padding are done by the caller)`,
        );
      }
    }
    if (root.model === undefined) throw new Error(`${at("model")}: missing`);
    checkNormalizer(root.normalizer, at("normalizer"));
    if (root.pre_tokenizer === undefined || root.pre_tokenizer === null) {
      throw new Error(
        `${at("pre_tokenizer")}: missing (a byte-level BPE tokenizer needs ByteLevel)`,
      );
    }
    const steps = buildPreTokenizer(root.pre_tokenizer, at("pre_tokenizer"));
    checkDecoder(root.decoder, at("decoder"));
    const model = parseModel(asObject(root.model, at("model")), at("model"));
    const added = asArray(root.added_tokens ?? [], at("added_tokens")).map((t, i) =>
      parseAddedToken(t, at(`added_tokens[${i}]`), model),
    );
    checkUnique(added, at("added_tokens"));
    const template = parsePostProcessor(root.post_processor, at("post_processor"));
    const configs = {
      normalizer: root.normalizer ?? null,
      pre_tokenizer: root.pre_tokenizer,
      post_processor: root.post_processor ?? null,
      decoder: root.decoder,
    };
    return new Tokenizer(model, added, steps, structuredClone(configs), template);
  }

  /** Load a tokenizer.json file. */
  static fromFile(path: string): Tokenizer {
    return Tokenizer.fromJson(readJson(path), path);
  }

  /** Text -> ids: added tokens are matched in the raw text first and never split. */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    const addSpecial = opts.addSpecial ?? true;
    const out: number[] = addSpecial ? [...this.prefix] : [];
    const splitter = this.addedSplitter;
    if (splitter === null) {
      this.encodeSection(text, out);
    } else {
      let last = 0;
      splitter.lastIndex = 0;
      for (const m of text.matchAll(splitter)) {
        if (m.index > last) this.encodeSection(text.slice(last, m.index), out);
        out.push((this.addedByContent.get(m[0]) as AddedToken).id);
        last = m.index + m[0].length;
      }
      if (last < text.length) this.encodeSection(text.slice(last), out);
    }
    if (addSpecial) for (const id of this.suffix) out.push(id);
    return out;
  }

  /** Ids -> text. Added tokens are written as their content; ids without a token are skipped, as in HF. */
  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    const parts: string[] = [];
    let bytes: number[] = [];
    const flush = () => {
      if (bytes.length > 0) parts.push(this.decoder.decode(Uint8Array.from(bytes)));
      bytes = [];
    };
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0) throw new Error(`decode: invalid token id ${id}`);
      const added = this.addedById.get(id);
      if (added !== undefined) {
        if (opts.skipSpecial && added.special) continue;
        flush();
        parts.push(added.content);
        continue;
      }
      const b = this.tokenBytes(id);
      if (b !== undefined) for (let i = 0; i < b.length; i++) bytes.push(b[i]);
    }
    flush();
    return parts.join("");
  }

  /** Id of a token (added tokens first), or undefined. */
  tokenToId(token: string): number | undefined {
    return this.addedByContent.get(token)?.id ?? this.model.vocab.get(token);
  }

  /** Token string of an id (added tokens first), or undefined. */
  idToToken(id: number): string | undefined {
    return this.addedById.get(id)?.content ?? this.idToTokenTable[id];
  }

  /** Ids of the special tokens that end generation (EOS/EOT-like, see special.ts END_TOKENS). */
  stopIds(): number[] {
    return END_TOKENS.flatMap((t) => {
      const id = this.specialTokens.get(t);
      return id === undefined ? [] : [id];
    });
  }

  /** The tokenizer.json object (merges written as pairs, tokenizers >= 0.20 format). */
  toJson(): object {
    const vocab: Record<string, number> = {};
    [...this.model.vocab].sort((a, b) => a[1] - b[1]).forEach(([t, id]) => (vocab[t] = id));
    const o = this.model.options;
    return {
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: this.addedTokens.map((t) => ({ ...t })),
      ...structuredClone(this.configs),
      model: {
        type: "BPE",
        dropout: null,
        unk_token: o.unkToken,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: o.fuseUnk,
        byte_fallback: false,
        ignore_merges: o.ignoreMerges,
        vocab,
        merges: this.model.merges.map(([a, b]) => [a, b]),
      },
    };
  }

  /** Write tokenizer.json atomically. */
  save(path: string): void {
    writeJsonAtomic(path, this.toJson());
  }

  /** Encode text that contains no added token, appending ids to `out`. */
  private encodeSection(text: string, out: number[]): void {
    this.splitPieces(text, (piece) => {
      let ids = this.cache.get(piece);
      if (ids === undefined) {
        ids = [];
        const n = utf8Bytes(piece, this.scratch);
        this.model.encodeBytes(this.scratch.buf, n, ids);
        if (piece.length <= MAX_CACHED_PIECE) {
          if (this.cache.size >= CACHE_CAPACITY) this.cache.clear();
          this.cache.set(piece, ids);
        }
      }
      for (let i = 0; i < ids.length; i++) out.push(ids[i]);
    });
  }

  /** Bytes a model token stands for: its byte symbols, or its UTF-8 when it has other characters (as HF does). */
  private tokenBytes(id: number): Uint8Array | undefined {
    const hit = this.tokenBytesCache[id];
    if (hit !== undefined) return hit;
    const token = this.idToTokenTable[id];
    if (token === undefined) return undefined;
    const bytes = new Uint8Array(token.length);
    let ok = true;
    for (let i = 0; i < token.length && ok; i++) {
      const b = byteOfSymbol(token[i]);
      ok = b >= 0;
      bytes[i] = b;
    }
    const result = ok ? bytes : new TextEncoder().encode(token);
    this.tokenBytesCache[id] = result;
    return result;
  }
}

/** Only an absent normalizer (or an empty Sequence, as DeepSeek-Coder has) is supported. */
function checkNormalizer(v: unknown, where: string): void {
  if (v === undefined || v === null) return;
  const o = asObject(v, where);
  if (
    typeOf(o, where) === "Sequence" &&
    asArray(o.normalizers, `${where}.normalizers`).length === 0
  )
    return;
  throw new Error(
    `${where}: unsupported normalizer ${JSON.stringify(o.type)} (only null or an empty Sequence)`,
  );
}

/** The decoder must be ByteLevel. */
function checkDecoder(v: unknown, where: string): void {
  if (v === undefined || v === null)
    throw new Error(`${where}: missing (a byte-level BPE tokenizer needs ByteLevel)`);
  const o = asObject(v, where);
  const type = typeOf(o, where);
  if (type !== "ByteLevel") throw unsupported(where, type, ["ByteLevel"]);
}

/** The BPE model section. */
function parseModel(m: Json, where: string): BpeModel {
  const type = typeOf(m, where);
  if (type !== "BPE") throw unsupported(where, type, ["BPE"]);
  if (m.dropout !== undefined && m.dropout !== null && m.dropout !== 0) {
    throw fieldError(`${where}.dropout`, "null (BPE dropout is not supported)", m.dropout);
  }
  for (const field of ["continuing_subword_prefix", "end_of_word_suffix"]) {
    if (m[field] !== undefined && m[field] !== null && m[field] !== "") {
      throw fieldError(`${where}.${field}`, "null (not used by byte-level BPE)", m[field]);
    }
  }
  if (asBool(m.byte_fallback, `${where}.byte_fallback`, false)) {
    throw fieldError(`${where}.byte_fallback`, "false (byte fallback is not supported)", true);
  }
  const vocabObj = asObject(m.vocab, `${where}.vocab`);
  const vocab = new Map<string, number>();
  const seen = new Map<number, string>();
  for (const [token, idv] of Object.entries(vocabObj)) {
    const id = asId(idv, `${where}.vocab[${JSON.stringify(token)}]`);
    const other = seen.get(id);
    if (other !== undefined) {
      throw new Error(
        `${where}.vocab: id ${id} is used by both ${JSON.stringify(other)} and ${JSON.stringify(token)}`,
      );
    }
    seen.set(id, token);
    vocab.set(token, id);
  }
  const merges = asArray(m.merges, `${where}.merges`).map((x, i) =>
    parseMerge(x, `${where}.merges[${i}]`),
  );
  const unk =
    m.unk_token === undefined || m.unk_token === null
      ? null
      : asString(m.unk_token, `${where}.unk_token`);
  const options = {
    unkToken: unk,
    fuseUnk: asBool(m.fuse_unk, `${where}.fuse_unk`, false),
    ignoreMerges: asBool(m.ignore_merges, `${where}.ignore_merges`, false),
  };
  return new BpeModel(vocab, merges, options, where);
}

/** A merge: `"a b"` (older files) or `["a", "b"]` (tokenizers >= 0.20). */
function parseMerge(x: unknown, where: string): [string, string] {
  if (typeof x === "string") {
    const parts = x.split(" ");
    if (parts.length !== 2)
      throw fieldError(where, 'a merge "left right" with exactly one space', x);
    return [parts[0], parts[1]];
  }
  if (Array.isArray(x) && x.length === 2 && typeof x[0] === "string" && typeof x[1] === "string")
    return [x[0], x[1]];
  throw fieldError(where, 'a merge, "left right" or ["left", "right"]', x);
}

/** An added token; options that change matching (lstrip, rstrip, single_word) are not supported. */
function parseAddedToken(v: unknown, where: string, model: BpeModel): AddedToken {
  const o = asObject(v, where);
  const t: AddedToken = {
    id: asId(o.id, `${where}.id`),
    content: asString(o.content, `${where}.content`),
    single_word: asBool(o.single_word, `${where}.single_word`, false),
    lstrip: asBool(o.lstrip, `${where}.lstrip`, false),
    rstrip: asBool(o.rstrip, `${where}.rstrip`, false),
    normalized: asBool(o.normalized, `${where}.normalized`, false),
    special: asBool(o.special, `${where}.special`, false),
  };
  if (t.content === "") throw fieldError(`${where}.content`, "a non-empty string", t.content);
  for (const field of ["single_word", "lstrip", "rstrip"] as const) {
    if (t[field]) throw fieldError(`${where}.${field}`, "false (not supported)", true);
  }
  const inVocab = model.vocab.get(t.content);
  if (inVocab !== undefined && inVocab !== t.id) {
    throw new Error(
      `${where}: ${JSON.stringify(t.content)} has id ${t.id} but the model vocab gives it ${inVocab}`,
    );
  }
  return t;
}

/** No two added tokens share an id or a content. */
function checkUnique(added: readonly AddedToken[], where: string): void {
  const ids = new Set<number>();
  const contents = new Set<string>();
  added.forEach((t, i) => {
    if (ids.has(t.id) || contents.has(t.content)) {
      throw new Error(
        `${where}[${i}]: id ${t.id} or content ${JSON.stringify(t.content)} repeats an earlier entry`,
      );
    }
    ids.add(t.id);
    contents.add(t.content);
  });
}

/** The ids a post_processor adds around a single sequence. */
function parsePostProcessor(v: unknown, where: string): { prefix: number[]; suffix: number[] } {
  const result = { prefix: [] as number[], suffix: [] as number[] };
  if (v === undefined || v === null) return result;
  const o = asObject(v, where);
  const type = typeOf(o, where);
  if (type === "ByteLevel") return result; // only adjusts offsets
  if (type === "Sequence") {
    asArray(o.processors, `${where}.processors`).forEach((p, i) => {
      const inner = parsePostProcessor(p, `${where}.processors[${i}]`);
      result.prefix = [...result.prefix, ...inner.prefix];
      result.suffix = [...inner.suffix, ...result.suffix];
    });
    return result;
  }
  if (type !== "TemplateProcessing")
    throw unsupported(where, type, ["ByteLevel", "TemplateProcessing", "Sequence"]);
  const specials = asObject(o.special_tokens ?? {}, `${where}.special_tokens`);
  let seenA = false;
  asArray(o.single, `${where}.single`).forEach((item, i) => {
    const w = `${where}.single[${i}]`;
    const it = asObject(item, w);
    if (it.Sequence !== undefined) {
      const id = asString(asObject(it.Sequence, `${w}.Sequence`).id, `${w}.Sequence.id`);
      if (id !== "A" || seenA)
        throw fieldError(`${w}.Sequence.id`, 'one "A" in a single-sequence template', id);
      seenA = true;
    } else if (it.SpecialToken !== undefined) {
      const name = asString(
        asObject(it.SpecialToken, `${w}.SpecialToken`).id,
        `${w}.SpecialToken.id`,
      );
      const entry = asObject(specials[name], `${where}.special_tokens[${JSON.stringify(name)}]`);
      const ids = asArray(entry.ids, `${where}.special_tokens[${JSON.stringify(name)}].ids`).map(
        (x, k) => asId(x, `${where}.special_tokens[${JSON.stringify(name)}].ids[${k}]`),
      );
      (seenA ? result.suffix : result.prefix).push(...ids);
    } else {
      throw fieldError(w, "a {Sequence} or {SpecialToken} item", item);
    }
  });
  if (!seenA) throw new Error(`${where}.single: the template has no {"Sequence": {"id": "A"}}`);
  return result;
}
