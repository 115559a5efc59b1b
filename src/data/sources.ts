/**
 * Readers for the published dataset formats: JSON Lines (plain or gzip) and Hugging Face parquet
 * shards, one language per file or folder, validated row by row. Layout under the data directory:
 *   <data>/<dataset>/<lang>.jsonl.gz | <lang>.jsonl | <lang>.parquet
 *   <data>/<dataset>/<lang>/**.{jsonl,jsonl.gz,parquet}   (shards, read in sorted path order)
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { pipeline, type Readable, Transform } from "node:stream";
import * as zlib from "node:zlib";
import { parquetReadObjects } from "hyparquet";
import type { z } from "zod";
import { TASKS, type Task } from "./example";
import type { Lang } from "./langs";
import { langFromName } from "./langs";
import { PROJECT_ROOT } from "../util/root";

/** The project's data/ folder: where `narrator data download` writes by default. */
export const PROJECT_DATA_DIR = path.join(PROJECT_ROOT, "data");

/** The shared sample beside a checkout on the project's own machines and CI (../shared/data). */
export const SHARED_DATA_DIR = path.join(PROJECT_ROOT, "..", "shared", "data");

/** The data directory a user named: the `--data` flag, else NARRATOR_DATA, else the project's data/. */
export function configuredDataDir(flag?: string): string {
  const named = flag || process.env.NARRATOR_DATA;
  return named ? path.resolve(named) : PROJECT_DATA_DIR;
}

/**
 * The data directory to read: the configured one, except that with neither flag nor NARRATOR_DATA
 * and no dataset in data/, the shared sample beside the checkout is read in place when it is there.
 */
export function resolveDataDir(
  flag?: string,
  defaults = { data: PROJECT_DATA_DIR, shared: SHARED_DATA_DIR },
): string {
  if (flag || process.env.NARRATOR_DATA) return configuredDataDir(flag);
  return holdsDataset(defaults.data) || !holdsDataset(defaults.shared)
    ? defaults.data
    : defaults.shared;
}

function holdsDataset(dir: string): boolean {
  return TASKS.some((d) => fs.existsSync(path.join(dir, d)));
}

/** A dataset, or one of its languages, is not where the data directory says. */
export class MissingDataError extends Error {}

/** A row that cannot be used: names the file, the line (JSONL) or row (parquet), and the field. */
export class RowError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly field: string | null,
    readonly problem: string,
    readonly unit: "line" | "row" = "line",
  ) {
    super(`${file}: ${unit} ${line}: ${field === null ? "" : `field "${field}": `}${problem}`);
  }
}

const DATA_EXTENSIONS = [".jsonl.gz", ".jsonl", ".parquet"];

function isDataFile(name: string): boolean {
  return DATA_EXTENSIONS.some((ext) => name.endsWith(ext));
}

function listDataFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listDataFiles(p));
    else if (entry.isFile() && isDataFile(entry.name)) out.push(p);
  }
  return out.sort();
}

function howToGet(datasetDir: string, lang: string): string {
  return (
    `Get it with \`narrator data download\`, or put files in the published format at ${datasetDir}: ` +
    `${lang}.jsonl.gz or ${lang}.jsonl (JSON Lines, one row object per line), ` +
    `${lang}.parquet, or shards under ${lang}/ (*.jsonl, *.jsonl.gz, *.parquet).`
  );
}

/** The files holding one dataset's rows for one language; a clear error when there are none or the layout is ambiguous. */
export function datasetFiles(dataDir: string, dataset: Task, lang: Lang): string[] {
  const dir = path.join(dataDir, dataset);
  if (!fs.existsSync(dir))
    throw new MissingDataError(
      `${dataset} data not found: ${dir} does not exist. ${howToGet(dir, lang)}`,
    );
  const found: string[][] = [];
  for (const ext of DATA_EXTENSIONS) {
    const file = path.join(dir, lang + ext);
    if (fs.existsSync(file) && fs.statSync(file).isFile()) found.push([file]);
  }
  const shardDir = path.join(dir, lang);
  if (fs.existsSync(shardDir) && fs.statSync(shardDir).isDirectory()) {
    const shards = listDataFiles(shardDir);
    if (shards.length === 0)
      throw new MissingDataError(
        `${dataset}/${lang}: ${shardDir} holds no data files. ${howToGet(dir, lang)}`,
      );
    found.push(shards);
  }
  if (found.length === 0)
    throw new MissingDataError(
      `${dataset} data for ${lang} not found in ${dir}. ${howToGet(dir, lang)}`,
    );
  if (found.length > 1) {
    const names = found.map((f) => (f.length === 1 ? f[0] : `${shardDir}/`));
    throw new Error(
      `${dataset}/${lang}: more than one copy of the data (${names.join(", ")}): keep one, or rows would be read twice`,
    );
  }
  return found[0];
}

/** One parsed record of a file, or the reason it could not be parsed. */
export type RawRecord =
  | { line: number; value: Record<string, unknown>; error?: undefined }
  | { line: number; value?: undefined; error: RowError };

/** What reading one file gave: its content hash and how many rows were used or skipped. */
export interface FileReport {
  file: string;
  bytes: number;
  sha256: string;
  rows: number;
  skipped: number;
  /** The first few skip reasons (lenient mode), so that a user can see what was wrong. */
  firstErrors: string[];
}

function isGzip(file: string): boolean {
  const fd = fs.openSync(file, "r");
  try {
    const head = Buffer.alloc(2);
    const n = fs.readSync(fd, head, 0, 2, 0);
    return n === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    fs.closeSync(fd);
  }
}

/** Offset of the first byte that does not begin or continue a well-formed UTF-8 sequence, or -1. */
export function invalidUtf8Offset(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    // Lead byte -> number of continuation bytes; C0, C1 and F5..FF never start a sequence.
    const more =
      b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : 0;
    if (more === 0) return i;
    // The second byte's range excludes overlong forms, surrogates and code points above U+10FFFF.
    const lo = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80;
    const hi = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf;
    if (i + 1 >= bytes.length || bytes[i + 1] < lo || bytes[i + 1] > hi) return i;
    for (let k = 2; k <= more; k++)
      if (i + k >= bytes.length || (bytes[i + k] & 0xc0) !== 0x80) return i;
    i += more + 1;
  }
  return -1;
}

/** The decompressed (or plain) bytes of a file; zlib and read errors reach the consumer, never an unhandled event. */
function fileBytes(file: string, gzip: boolean, onBytes: (chunk: Buffer) => void): Readable {
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      onBytes(chunk);
      done(null, chunk);
    },
  });
  const stages = [fs.createReadStream(file), tap, ...(gzip ? [zlib.createGunzip()] : [])];
  // pipeline destroys every stage on an error and reports it here; the consumer's iterator throws it.
  pipeline(stages, () => {});
  return stages[stages.length - 1] as Readable;
}

/** One line's bytes and where they start in the (decompressed) file. */
interface ByteLine {
  bytes: Buffer;
  offset: number;
}

/**
 * Lines of a byte stream, ended by \n, \r\n or a lone \r as readline ends them (the same line
 * numbers), kept as bytes so that each can be decoded strictly. These bytes never occur inside a
 * multi-byte UTF-8 sequence, so splitting before decoding is safe.
 */
async function* byteLines(chunks: AsyncIterable<Buffer>): AsyncGenerator<ByteLine> {
  let pending: Buffer[] = [];
  let offset = 0;
  function* split(line: Buffer): Generator<ByteLine> {
    const end = line.length > 0 && line[line.length - 1] === 13 ? line.length - 1 : line.length;
    let start = 0;
    for (let cr = line.indexOf(13); cr >= 0 && cr < end; cr = line.indexOf(13, start)) {
      yield { bytes: line.subarray(start, cr), offset: offset + start };
      start = cr + 1;
    }
    yield { bytes: line.subarray(start, end), offset: offset + start };
  }
  for await (const chunk of chunks) {
    let start = 0;
    for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
      pending.push(chunk.subarray(start, nl));
      const line = pending.length === 1 ? pending[0] : Buffer.concat(pending);
      yield* split(line);
      offset += line.length + 1;
      pending = [];
      start = nl + 1;
    }
    if (start < chunk.length) pending.push(chunk.subarray(start));
  }
  if (pending.length) yield* split(Buffer.concat(pending));
}

/** zlib's short messages, said in terms of the file. */
function gzipProblem(e: NodeJS.ErrnoException): string {
  const what =
    e.message === "incorrect data check"
      ? "the checksum does not match the data"
      : e.message === "incorrect header check"
        ? "bytes that are not gzip data (trailing garbage after the gzip member?)"
        : e.message === "unexpected end of file"
          ? "the file ends inside the compressed data (truncated)"
          : "";
  return `damaged gzip data: ${e.message}${what ? `, ${what}` : ""}`;
}

/**
 * Stream the objects of a JSON Lines file (gzip detected by its magic bytes, whatever the name),
 * passing the raw bytes to `onBytes` on the way (for hashing). Blank lines are not rows; a line
 * that is not strict UTF-8 or not a JSON object yields an error record naming the line. Damaged
 * gzip data, and a `.gz` file with no bytes at all, are errors naming the file.
 */
export async function* readJsonl(
  file: string,
  onBytes: (chunk: Buffer) => void = () => {},
): AsyncGenerator<RawRecord> {
  const gzip = isGzip(file);
  if (!gzip && file.endsWith(".gz") && fs.statSync(file).size === 0)
    throw new Error(`${file}: empty file, expected gzip data`);
  // fatal: a byte that is not UTF-8 is an error, not a silent U+FFFD; ignoreBOM keeps the text as is.
  const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  let line = 0;
  try {
    for await (const { bytes, offset } of byteLines(fileBytes(file, gzip, onBytes))) {
      line++;
      let text: string;
      try {
        text = utf8.decode(bytes);
      } catch {
        const at = Math.max(0, invalidUtf8Offset(bytes));
        const where = `byte ${at} of the line, offset ${offset + at} in the ${gzip ? "decompressed " : ""}file`;
        yield { line, error: new RowError(file, line, null, `not valid UTF-8 (${where})`) };
        continue;
      }
      if (text.trim() === "") continue;
      yield parseLine(file, line, text);
    }
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const problem =
      gzip && err.errno !== undefined && err.code?.startsWith("Z_")
        ? gzipProblem(err)
        : err.message;
    throw new Error(`${file}: cannot read after line ${line} (${problem})`);
  }
}

/** One line of JSON Lines as a record: an object, or the reason it is not one. */
function parseLine(file: string, line: number, text: string): RawRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return {
      line,
      error: new RowError(file, line, null, `not valid JSON (${(e as Error).message})`),
    };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value))
    return {
      line,
      error: new RowError(file, line, null, `expected a JSON object, got ${describe(value)}`),
    };
  return { line, value: value as Record<string, unknown> };
}

/** Read every row of a parquet file as objects (hyparquet: snappy and uncompressed shards; others need its compressors). */
export async function readParquet(
  file: string,
): Promise<{ rows: Record<string, unknown>[]; bytes: Buffer }> {
  const bytes = await fs.promises.readFile(file);
  const ab = bytes.buffer.slice(
    bytes.byteOffset,
    bytes.byteOffset + bytes.byteLength,
  ) as ArrayBuffer;
  try {
    const rows = await parquetReadObjects({
      file: { byteLength: ab.byteLength, slice: (s: number, e?: number) => ab.slice(s, e) },
    });
    return { rows: rows as Record<string, unknown>[], bytes };
  } catch (e) {
    throw new Error(`${file}: cannot read parquet (${(e as Error).message})`);
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value;
}

/** How to read and check one dataset's rows. */
export interface RowSpec<T> {
  schema: z.ZodType<T>;
  /** The field holding the row's language (an id or a display name); it must name the file's language. */
  langField: string;
  /** Fix a raw object up before validation (column aliases, a split taken from the shard path). */
  prepare?: (raw: Record<string, unknown>, file: string) => void;
}

/** A validated row with where it came from. */
export interface SourcedRow<T> {
  row: T;
  file: string;
  line: number;
}

function checkRow<T>(
  spec: RowSpec<T>,
  raw: Record<string, unknown>,
  lang: Lang,
  file: string,
  line: number,
  unit: "line" | "row",
): T {
  spec.prepare?.(raw, file);
  const parsed = spec.schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.length ? issue.path.join(".") : "(row)";
    const got = issue.path.length
      ? describe((raw as Record<string, unknown>)[String(issue.path[0])])
      : describe(raw);
    const problem =
      issue.code === "invalid_type" && got === "undefined"
        ? "missing"
        : `${issue.message} (got ${got})`;
    throw new RowError(file, line, field, problem, unit);
  }
  const named = (raw as Record<string, unknown>)[spec.langField];
  if (langFromName(String(named)) !== lang)
    throw new RowError(
      file,
      line,
      spec.langField,
      `expected ${lang} (the file's language), got "${String(named)}"`,
      unit,
    );
  return parsed.data;
}

/**
 * Read and validate one language's rows from its files. A malformed line or a missing or ill-typed
 * field throws a RowError naming file, line and field; with `lenient` such rows are skipped and
 * counted per file in the reports.
 */
export async function readRows<T>(
  files: readonly string[],
  spec: RowSpec<T>,
  lang: Lang,
  lenient: boolean,
): Promise<{ rows: SourcedRow<T>[]; reports: FileReport[] }> {
  const rows: SourcedRow<T>[] = [];
  const reports: FileReport[] = [];
  for (const file of files) {
    const report: FileReport = { file, bytes: 0, sha256: "", rows: 0, skipped: 0, firstErrors: [] };
    const skip = (err: RowError): void => {
      if (!lenient) throw err;
      report.skipped++;
      if (report.firstErrors.length < 5) report.firstErrors.push(err.message);
    };
    const accept = (raw: Record<string, unknown>, line: number, unit: "line" | "row"): void => {
      try {
        rows.push({ row: checkRow(spec, raw, lang, file, line, unit), file, line });
        report.rows++;
      } catch (e) {
        if (!(e instanceof RowError)) throw e;
        skip(e);
      }
    };
    const sha = createHash("sha256");
    if (file.endsWith(".parquet")) {
      const { rows: objects, bytes } = await readParquet(file);
      sha.update(bytes);
      report.bytes = bytes.length;
      objects.forEach((obj, i) => accept(obj, i + 1, "row"));
    } else {
      const onBytes = (chunk: Buffer): void => {
        sha.update(chunk);
        report.bytes += chunk.length;
      };
      for await (const rec of readJsonl(file, onBytes)) {
        if (rec.error) skip(rec.error);
        else accept(rec.value, rec.line, "line");
      }
    }
    report.sha256 = sha.digest("hex");
    reports.push(report);
  }
  return { rows, reports };
}

/** The split named by a shard's path ("train/0000.parquet", "valid-00000-of-00001.parquet"), if any. */
export function splitFromPath(file: string): "train" | "valid" | "test" | null {
  const parts = file.split(/[\\/]/);
  for (let i = parts.length - 1; i >= 0; i--) {
    const m = /^(train|valid|validation|test)(?:$|[-_.])/.exec(parts[i]);
    if (m) return m[1] === "validation" ? "valid" : (m[1] as "train" | "valid" | "test");
  }
  return null;
}
