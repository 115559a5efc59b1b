/**
 * The prepared datasets on disk (`narrator data prepare`), in a directory named by a key over
 * everything that determines them: the raw input files' sha256, the preparation settings and the
 * tokenizer file's sha256. A run whose key is already there reuses it without reading a row.
 *
 * Layout of <cacheDir>/<key>/:
 *   manifest.json                                key, settings, inputs, tokenizer, one entry per group,
 *                                                and the size and sha256 of every other file here
 *   funnel.json, warnings.json, split_sizes.json
 *   examples/<task>/<split>/<language>.jsonl.gz  one Example per line
 *   tokens/<task>/<split>/<language>.ids         (with a tokenizer) int32 little-endian: each example's
 *                                                input ids, then its target ids, no special tokens
 *   tokens/<task>/<split>/<language>.lengths     int32 little-endian [input, target] id counts per example
 * The directory is written under a temporary name beside it and renamed into place, so a directory
 * named by a key is always complete; a reused one is checked against the manifest's sizes and
 * hashes first, and rebuilt when a file was truncated or changed since. The default cache
 * directory is .cache/prepared in the working directory, not beside the data, which may be shared
 * or read-only.
 */
import { sha256OfFile } from "../util/fs";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { Tokenizer } from "../tokenizer/tokenizer";
import type { DataWarning, Example, FunnelRecord, Split, Task } from "./example";
import { SPLITS, TASKS } from "./example";
import type { Lang } from "./langs";
import { LANGS } from "./langs";
import type { ExamplesBySplit, PrepareOptions, PreparedDatasets, PrepareSettings } from "./prepare";
import { canonicalJson } from "../util/canonical_json";
import { cacheKey, prepareDatasets, resolveSettings } from "./prepare";
import type { SplitSize } from "./sampling";
import { datasetFiles, resolveDataDir } from "./sources";

/** Version of the layout above; part of the key, so that a new layout never reads an old one. */
export const CACHE_FORMAT = 2;

/** Where prepared datasets go when no cache directory is given. */
export const DEFAULT_CACHE_DIR = path.join(".cache", "prepared");

/**
 * Options of prepareCached: those of prepareDatasets, less the token counter (a function cannot be
 * keyed; the length filters count with the default counter) and the cocktail (mixed at training
 * time from the cached train sets).
 */
export interface PrepareCachedOptions extends Omit<
  PrepareOptions,
  "countTokens" | "tokenCounterId" | "cocktail"
> {
  /** Parent of the keyed directories; default DEFAULT_CACHE_DIR in the working directory. */
  cacheDir?: string;
  /** A tokenizer.json: its ids of every input and target are stored too. */
  tokenizer?: string;
  /** Called with the complete temporary directory just before it is renamed into place (a test throws here to simulate an interruption). */
  beforeCommit?: (tmpDir: string) => void;
}

/** One raw input file as keyed: its path relative to the data directory, its size and sha256. */
export interface CacheInput {
  file: string;
  bytes: number;
  sha256: string;
}

/** The files of one task, split and language, relative to the cache directory. */
export interface CacheGroup {
  task: Task;
  split: Split;
  language: Lang;
  examples: number;
  file: string;
  tokens?: { ids: string; lengths: string; count: number };
}

/** What manifest.json holds. */
export interface CacheManifest {
  format: number;
  key: string;
  dataDir: string;
  dataHash: string;
  settings: PrepareSettings;
  inputs: CacheInput[];
  tokenizer: { file: string; sha256: string } | null;
  groups: CacheGroup[];
  /** Every file of the directory but the manifest, relative to it, in path order. */
  contents: CacheInput[];
}

/** What prepareCached returns: the keyed directory, whether it was already there, its manifest and the data warnings. */
export interface PreparedCache {
  dir: string;
  key: string;
  reused: boolean;
  /** Why the directory already there was not reused but rebuilt (a file truncated or changed). */
  damaged?: string;
  manifest: CacheManifest;
  warnings: DataWarning[];
}

/** A cache directory read back: what prepareDatasets would have returned, less the file reports and cocktail. */
export interface LoadedCache {
  manifest: CacheManifest;
  examples: Record<Task, ExamplesBySplit>;
  funnel: FunnelRecord[];
  warnings: DataWarning[];
  splitSizes: SplitSize[];
}

/** Token ids of one example, as stored. */
export interface ExampleIds {
  input: Int32Array;
  target: Int32Array;
}

const posix = (p: string): string => p.split(path.sep).join("/");

/** The raw files the settings read, hashed, in path order; a missing dataset is the error prepareDatasets gives. */
export async function hashInputs(
  dataDir: string,
  settings: PrepareSettings,
): Promise<CacheInput[]> {
  const files = settings.tasks.flatMap((t) =>
    settings.languages.flatMap((l) => datasetFiles(dataDir, t, l)),
  );
  const inputs = await Promise.all(
    files.map(async (f) => ({
      file: posix(path.relative(dataDir, f)),
      bytes: fs.statSync(f).size,
      sha256: await sha256OfFile(f),
    })),
  );
  return inputs.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

/** The key of a prepared set: sha256 over the layout version, settings, input hashes and tokenizer hash (null for none). */
export function preparedKey(
  settings: PrepareSettings,
  inputs: readonly CacheInput[],
  tokenizerSha256: string | null,
): string {
  return cacheKey({
    format: CACHE_FORMAT,
    settings,
    inputs: inputs.map(({ file, sha256 }) => ({ file, sha256 })),
    tokenizer: tokenizerSha256,
  });
}

/** JSON whose non-finite numbers (Infinity in perLanguage) survive as strings, read back by parseCacheJson. */
function cacheJson(value: unknown): string {
  return JSON.stringify(JSON.parse(canonicalJson(value)), null, 2) + "\n";
}

function parseCacheJson<T>(file: string): T {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as Error).message})`);
  }
  try {
    return JSON.parse(text, (_k, v: unknown) =>
      v === "Infinity" ? Infinity : v === "-Infinity" ? -Infinity : v,
    ) as T;
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
}

/** Sizes and sha256 of every file under `dir` but the manifest, in path order. */
function listContents(dir: string): CacheInput[] {
  const files = (fs.readdirSync(dir, { recursive: true }) as string[])
    .map(posix)
    .filter((f) => f !== "manifest.json" && fs.statSync(path.join(dir, f)).isFile())
    .sort();
  return files.map((file) => {
    const bytes = fs.readFileSync(path.join(dir, file));
    return { file, bytes: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") };
  });
}

/** What is wrong with a committed directory's files (missing, truncated, changed), or null when they match its manifest. */
function cacheDamage(dir: string, manifest: CacheManifest): string | null {
  if (!Array.isArray(manifest.contents)) return "manifest.json: lists no file hashes";
  for (const c of manifest.contents) {
    const file = path.join(dir, c.file);
    if (!fs.existsSync(file)) return `${c.file}: missing`;
    const bytes = fs.readFileSync(file);
    if (bytes.length !== c.bytes)
      return `${c.file}: ${bytes.length} bytes, the manifest says ${c.bytes}`;
    if (createHash("sha256").update(bytes).digest("hex") !== c.sha256)
      return `${c.file}: content differs from the manifest's sha256`;
  }
  return null;
}

/** A committed directory for `key`: its manifest when every file checks out, why not otherwise, or null when there is none. */
function committedCache(
  dir: string,
  key: string,
): { manifest: CacheManifest } | { damaged: string } | null {
  const file = path.join(dir, "manifest.json");
  if (!fs.existsSync(file)) {
    if (fs.existsSync(dir))
      throw new Error(`${dir}: exists but holds no manifest.json; remove it and run again`);
    return null;
  }
  let manifest: CacheManifest;
  try {
    manifest = parseCacheJson<CacheManifest>(file);
  } catch (e) {
    return { damaged: (e as Error).message.replace(`${dir}${path.sep}`, "") };
  }
  if (manifest.key !== key)
    throw new Error(`${file}: key ${manifest.key} does not match its directory name ${key}`);
  const damaged = cacheDamage(dir, manifest);
  return damaged ? { damaged } : { manifest };
}

/** Remove a damaged directory: renamed aside first, so that its key never names a half-removed one. */
function discard(dir: string): void {
  const aside = `${path.dirname(dir)}${path.sep}.damaged-${path.basename(dir)}-${process.pid}`;
  fs.renameSync(dir, aside);
  fs.rmSync(aside, { recursive: true, force: true });
}

function int32le(values: readonly number[]): Buffer {
  const buf = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => buf.writeInt32LE(v, i * 4));
  return buf;
}

/** Write every file of the layout into `dir`; returns the groups for the manifest. */
function writeContents(
  dir: string,
  prepared: PreparedDatasets,
  tokenizer: Tokenizer | null,
): CacheGroup[] {
  const groups: CacheGroup[] = [];
  for (const task of prepared.settings.tasks)
    for (const split of SPLITS)
      for (const language of prepared.settings.languages) {
        const examples = prepared.examples[task][split][language];
        const stem = `${task}/${split}/${language}`;
        const group: CacheGroup = {
          task,
          split,
          language,
          examples: examples.length,
          file: `examples/${stem}.jsonl.gz`,
        };
        const lines = examples.map((e) => JSON.stringify(e) + "\n").join("");
        fs.mkdirSync(path.join(dir, "examples", task, split), { recursive: true });
        fs.writeFileSync(path.join(dir, group.file), zlib.gzipSync(lines));
        if (tokenizer) {
          const ids: number[] = [];
          const lengths: number[] = [];
          for (const e of examples) {
            const input = tokenizer.encode(e.input, { addSpecial: false });
            const target = tokenizer.encode(e.target, { addSpecial: false });
            ids.push(...input, ...target);
            lengths.push(input.length, target.length);
          }
          group.tokens = {
            ids: `tokens/${stem}.ids`,
            lengths: `tokens/${stem}.lengths`,
            count: ids.length,
          };
          fs.mkdirSync(path.join(dir, "tokens", task, split), { recursive: true });
          fs.writeFileSync(path.join(dir, group.tokens.ids), int32le(ids));
          fs.writeFileSync(path.join(dir, group.tokens.lengths), int32le(lengths));
        }
        groups.push(group);
      }
  fs.writeFileSync(path.join(dir, "funnel.json"), cacheJson(prepared.funnel));
  fs.writeFileSync(path.join(dir, "warnings.json"), cacheJson(prepared.warnings));
  fs.writeFileSync(path.join(dir, "split_sizes.json"), cacheJson(prepared.splitSizes));
  return groups;
}

/** A file changed between hashing and reading would give a cache whose key lies about its content. */
function checkInputsUnchanged(inputs: readonly CacheInput[], prepared: PreparedDatasets): void {
  const keyed = new Map(inputs.map((i) => [i.file, i.sha256]));
  for (const f of prepared.files) {
    const rel = posix(path.relative(prepared.dataDir, f.file));
    if (keyed.get(rel) !== f.sha256)
      throw new Error(`${f.file}: changed while it was being prepared; run again`);
  }
}

/**
 * Prepare the datasets into <cacheDir>/<key>/, or reuse that directory when it already exists
 * (reused: true, nothing read or written but the manifest and warnings).
 */
export async function prepareCached(opts: PrepareCachedOptions = {}): Promise<PreparedCache> {
  const { cacheDir, tokenizer: tokenizerFile, beforeCommit, ...prepareOpts } = opts;
  const settings = resolveSettings(prepareOpts);
  const dataDir = path.resolve(prepareOpts.dataDir ?? resolveDataDir());
  const inputs = await hashInputs(dataDir, settings);
  const tokenizerRef = tokenizerFile
    ? { file: path.resolve(tokenizerFile), sha256: await sha256OfFile(tokenizerFile) }
    : null;
  const key = preparedKey(settings, inputs, tokenizerRef?.sha256 ?? null);
  const root = path.resolve(cacheDir ?? DEFAULT_CACHE_DIR);
  const dir = path.join(root, key);
  const reuse = (manifest: CacheManifest): PreparedCache => ({
    dir,
    key,
    reused: true,
    manifest,
    warnings: parseCacheJson<DataWarning[]>(path.join(dir, "warnings.json")),
  });
  const found = committedCache(dir, key);
  if (found && "manifest" in found) return reuse(found.manifest);
  if (found) discard(dir);

  const tokenizer = tokenizerRef ? Tokenizer.fromFile(tokenizerRef.file) : null;
  const prepared = await prepareDatasets({ ...prepareOpts, dataDir });
  checkInputsUnchanged(inputs, prepared);
  const tmp = path.join(root, `.tmp-${key}-${process.pid}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  let manifest: CacheManifest;
  try {
    const groups = writeContents(tmp, prepared, tokenizer);
    manifest = {
      format: CACHE_FORMAT,
      key,
      dataDir,
      dataHash: prepared.dataHash,
      settings,
      inputs,
      tokenizer: tokenizerRef,
      groups,
      contents: listContents(tmp),
    };
    // The manifest goes last: a directory with one is complete.
    fs.writeFileSync(path.join(tmp, "manifest.json"), cacheJson(manifest));
    beforeCommit?.(tmp);
    fs.renameSync(tmp, dir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    // Another run may have committed the same key meanwhile: its directory holds the same data.
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOTEMPTY" || code === "EEXIST") {
      const theirs = committedCache(dir, key);
      if (theirs && "manifest" in theirs) return reuse(theirs.manifest);
    }
    throw e;
  }
  return {
    dir,
    key,
    reused: false,
    ...(found ? { damaged: found.damaged } : {}),
    manifest,
    warnings: prepared.warnings,
  };
}

function readExamples(dir: string, group: CacheGroup): Example[] {
  const file = path.join(dir, group.file);
  const text = zlib.gunzipSync(fs.readFileSync(file)).toString("utf8");
  const lines = text.split("\n");
  if (lines.pop() !== "") throw new Error(`${file}: does not end with a newline (truncated?)`);
  if (lines.length !== group.examples)
    throw new Error(`${file}: ${lines.length} examples, the manifest says ${group.examples}`);
  return lines.map((line, i) => {
    try {
      return JSON.parse(line) as Example;
    } catch (e) {
      throw new Error(`${file}: line ${i + 1}: not valid JSON (${(e as Error).message})`);
    }
  });
}

/** Read a cache directory back: the manifest, examples (by task, split and language, as prepareDatasets gives them), funnel, warnings and split sizes. */
export function loadPreparedCache(dir: string): LoadedCache {
  const manifest = parseCacheJson<CacheManifest>(path.join(dir, "manifest.json"));
  if (manifest.format !== CACHE_FORMAT)
    throw new Error(
      `${dir}/manifest.json: layout version ${manifest.format}, this code reads version ${CACHE_FORMAT}`,
    );
  const damaged = cacheDamage(dir, manifest);
  if (damaged)
    throw new Error(`${dir}: damaged (${damaged}); run narrator data prepare again to rebuild it`);
  const examples = Object.fromEntries(
    TASKS.map((t) => [
      t,
      Object.fromEntries(
        SPLITS.map((s) => [s, Object.fromEntries(LANGS.map((l) => [l, [] as Example[]]))]),
      ),
    ]),
  ) as Record<Task, ExamplesBySplit>;
  for (const g of manifest.groups) examples[g.task][g.split][g.language] = readExamples(dir, g);
  return {
    manifest,
    examples,
    funnel: parseCacheJson<FunnelRecord[]>(path.join(dir, "funnel.json")),
    warnings: parseCacheJson<DataWarning[]>(path.join(dir, "warnings.json")),
    splitSizes: parseCacheJson<SplitSize[]>(path.join(dir, "split_sizes.json")),
  };
}

/** The stored token ids of one group's examples, in the order of its examples file. */
export function readTokenIds(dir: string, group: CacheGroup): ExampleIds[] {
  const where = `${group.task}/${group.split}/${group.language}`;
  if (!group.tokens)
    throw new Error(`${dir}: ${where} has no token ids (prepared without a tokenizer)`);
  const ids = fs.readFileSync(path.join(dir, group.tokens.ids));
  const lengths = fs.readFileSync(path.join(dir, group.tokens.lengths));
  if (lengths.length !== group.examples * 8 || ids.length !== group.tokens.count * 4)
    throw new Error(`${dir}: ${where}: token files do not match the manifest's counts`);
  const read = (from: number, n: number): Int32Array =>
    Int32Array.from({ length: n }, (_, i) => ids.readInt32LE((from + i) * 4));
  const out: ExampleIds[] = [];
  let at = 0;
  for (let k = 0; k < group.examples; k++) {
    const nIn = lengths.readInt32LE(k * 8);
    const nTarget = lengths.readInt32LE(k * 8 + 4);
    out.push({ input: read(at, nIn), target: read(at + nIn, nTarget) });
    at += nIn + nTarget;
  }
  if (at !== group.tokens.count)
    throw new Error(
      `${dir}: ${where}: lengths sum to ${at} ids, the manifest says ${group.tokens.count}`,
    );
  return out;
}
