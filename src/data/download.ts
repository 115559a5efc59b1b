/**
 * `narrator data download`: fetch the published CodeSearchNet and CommitPackFT files from the
 * Hugging Face hub (or a mirror at HF_ENDPOINT) and lay them out as the readers expect:
 * `<dataDir>/codesearchnet/<lang>.jsonl.gz` and `<dataDir>/commitpackft/<lang>.jsonl.gz`.
 *
 * Downloads are resumable (`.part` files continued with HTTP Range requests), verified (size, and
 * sha256 where the hub publishes one) and renamed into place atomically. The revision is pinned to
 * the commit the hub reports on the first file, and recorded in `<dataDir>/DOWNLOAD.json`.
 */
import { sha256OfFile } from "../util/fs";
import * as fs from "node:fs";
import * as path from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as zlib from "node:zlib";
import { readJson, writeJsonAtomic } from "../util/fs";
import type { Lang } from "./langs";

export type DatasetName = "codesearchnet" | "commitpackft";
export const DATASET_NAMES: readonly DatasetName[] = ["codesearchnet", "commitpackft"];

/** Hub repositories of the published datasets. */
export const DATASET_REPOS: Record<DatasetName, string> = {
  codesearchnet: "code-search-net/code_search_net",
  commitpackft: "bigcode/commitpackft",
};

/** One entry of the hub's tree listing. */
export interface TreeEntry {
  type: string;
  oid: string;
  size: number;
  path: string;
  lfs?: { oid: string; size: number };
}

/** Progress of one file download. */
export interface DownloadProgress {
  file: string;
  received: number;
  total?: number;
  bytesPerSecond: number;
  done: boolean;
}

export interface DownloadOptions {
  dataDir: string;
  datasets: DatasetName[];
  languages: Lang[];
  endpoint?: string;
  token?: string;
  revision?: string;
  /** Called at most once a second per file and once when it completes; default: stderr lines. */
  onProgress?: (progress: DownloadProgress) => void;
  /** How many times an interrupted download is resumed within this run (default 3). */
  retries?: number;
}

/** What DOWNLOAD.json records for each dataset file. */
export interface ManifestEntry {
  dataset: DatasetName;
  language: Lang;
  repo: string;
  /** The commit the hub served (X-Repo-Commit), or the revision asked for if it sent none. */
  revision: string;
  /** Path of the source file in the hub repository. */
  path: string;
  size: number;
  sha256: string;
  /** Git object id from the listing: unchanged oid means unchanged file. */
  oid: string;
  /** Output file, relative to the data directory. */
  output: string;
  outputBytes: number;
  rows: number;
}

export interface DownloadManifest {
  endpoint: string;
  files: ManifestEntry[];
}

export interface DownloadResult {
  manifestFile: string;
  downloaded: ManifestEntry[];
  upToDate: ManifestEntry[];
}

// ---------------------------------------------------------------------------------------------
// HTTP

/** Connection settings and the revisions pinned so far, per repository. */
interface Hub {
  endpoint: string;
  token?: string;
  revision: string;
  pinned: Map<string, string>;
}

/** Headers the hub sends on the resolve hop (before any redirect to a CDN). */
interface ResolveMeta {
  repoCommit?: string;
  linkedEtag?: string;
  linkedSize?: number;
}

/** An interrupted transfer: the `.part` file holds what arrived, and a later try resumes. */
class InterruptedError extends Error {}

function origin(url: string): string {
  return new URL(url).origin;
}

function httpError(status: number, statusText: string, url: string): Error {
  const hint =
    status === 401 || status === 403
      ? ": the repository may be gated or private; set HF_TOKEN to a token that has access"
      : status === 404
        ? ": check the dataset repository, revision and path"
        : "";
  return new Error(`HTTP ${status} ${statusText} for ${url}${hint}`);
}

function unreachable(hub: Hub, url: string, e: unknown): Error {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  const where = url.startsWith(hub.endpoint) ? hub.endpoint : origin(url);
  const detail = cause?.code ?? cause?.message ?? (e as Error).message;
  return new Error(
    `cannot reach ${where}; check the network connection, or set HF_ENDPOINT to a reachable mirror (${detail})`,
  );
}

/** GET with redirects followed by hand, so that the hub's own headers on the first hop are kept. */
async function hubFetch(hub: Hub, url: string, headers: Record<string, string> = {}) {
  const meta: ResolveMeta = {};
  for (let hop = 0; hop < 10; hop++) {
    const h = { ...headers };
    // The token goes to the hub only, never to the CDN it redirects to.
    if (hub.token && origin(url) === origin(hub.endpoint)) h.authorization = `Bearer ${hub.token}`;
    let res: Response;
    try {
      res = await fetch(url, { headers: h, redirect: "manual" });
    } catch (e) {
      throw unreachable(hub, url, e);
    }
    meta.repoCommit ??= res.headers.get("x-repo-commit") ?? undefined;
    meta.linkedEtag ??=
      res.headers.get("x-linked-etag")?.replace(/^W\//, "").replace(/"/g, "") ?? undefined;
    const linkedSize = res.headers.get("x-linked-size");
    if (linkedSize !== null) meta.linkedSize ??= Number(linkedSize);
    const location = res.headers.get("location");
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel();
      url = new URL(location, url).href;
      continue;
    }
    return { res, url, meta };
  }
  throw new Error(`too many redirects from ${url}`);
}

function encodePath(p: string): string {
  return p.split("/").map(encodeURIComponent).join("/");
}

/** The next page of a paged listing, from a `Link: <url>; rel="next"` header. */
function nextLink(link: string | null, base: string): string | undefined {
  for (const part of link?.split(",") ?? []) {
    const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part);
    if (m) return new URL(m[1], base).href;
  }
  return undefined;
}

/** Every entry under `dir` of a dataset repository, following the listing's pages. */
async function listTree(hub: Hub, repo: string, dir: string): Promise<TreeEntry[]> {
  let url: string | undefined =
    `${hub.endpoint}/api/datasets/${repo}/tree/${encodeURIComponent(hub.revision)}/${encodePath(dir)}?recursive=true`;
  const entries: TreeEntry[] = [];
  while (url) {
    const { res, url: at } = await hubFetch(hub, url);
    if (!res.ok) throw httpError(res.status, res.statusText, at);
    const page = (await res.json()) as TreeEntry[];
    if (!Array.isArray(page)) throw new Error(`${at}: expected a JSON array of tree entries`);
    entries.push(...page);
    url = nextLink(res.headers.get("link"), at);
  }
  return entries;
}

// ---------------------------------------------------------------------------------------------
// Resumable file download

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

/** A progress line: bytes, percentage and speed. */
export function formatProgress(p: DownloadProgress): string {
  const of = p.total
    ? ` / ${formatBytes(p.total)} (${((100 * p.received) / p.total).toFixed(1)}%)`
    : "";
  return `${p.file}: ${formatBytes(p.received)}${of} ${formatBytes(Math.round(p.bytesPerSecond))}/s${p.done ? " done" : ""}`;
}

function sizeOf(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/**
 * One request for the rest of `part`: continues it with a Range request when it holds a prefix
 * (206), starts over when the server sends the whole file (200). Returns the hub's metadata.
 */
async function fetchIntoPart(
  hub: Hub,
  repo: string,
  file: string,
  part: string,
  expectedSize: number | undefined,
  report: (received: number, total: number | undefined, done: boolean) => void,
): Promise<ResolveMeta> {
  let have = sizeOf(part);
  if (expectedSize !== undefined && have > expectedSize) have = 0;
  if (expectedSize !== undefined && have === expectedSize && have > 0) return {};
  const revision = hub.pinned.get(repo) ?? hub.revision;
  const url = `${hub.endpoint}/datasets/${repo}/resolve/${encodeURIComponent(revision)}/${encodePath(file)}`;
  const {
    res,
    url: at,
    meta,
  } = await hubFetch(hub, url, have > 0 ? { range: `bytes=${have}-` } : {});
  if (meta.repoCommit && !hub.pinned.has(repo)) hub.pinned.set(repo, meta.repoCommit);
  if (res.status === 206) {
    const start = /^bytes (\d+)-/.exec(res.headers.get("content-range") ?? "")?.[1];
    if (Number(start) !== have) {
      await res.body?.cancel();
      throw new InterruptedError(
        `${at} answered a Range request from byte ${have} with bytes from ${start}`,
      );
    }
  } else if (res.status === 200) {
    have = 0;
  } else {
    await res.body?.cancel();
    throw httpError(res.status, res.statusText, at);
  }
  const length = res.headers.get("content-length");
  const total =
    expectedSize ?? meta.linkedSize ?? (length !== null ? have + Number(length) : undefined);
  const fd = fs.openSync(part, have > 0 ? "a" : "w");
  try {
    report(have, total, false);
    for await (const chunk of (res.body ?? []) as AsyncIterable<Uint8Array>) {
      fs.writeSync(fd, chunk);
      have += chunk.length;
      report(have, total, false);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).syscall) throw e; // a local file error, not the transfer
    const cause = (e as { cause?: Error }).cause?.message ?? (e as Error).message;
    throw new InterruptedError(
      `download of ${at} was interrupted after ${have} bytes (${cause}); run again to resume`,
    );
  } finally {
    fs.closeSync(fd);
  }
  return meta;
}

/**
 * Download one repository file to `dest`: into `dest.part`, resumed on interruption, verified
 * against the listing's size and sha256 (or the hub's X-Linked-Etag), then renamed into place.
 */
async function downloadFile(
  hub: Hub,
  repo: string,
  entry: TreeEntry,
  dest: string,
  retries: number,
  onProgress: (p: DownloadProgress) => void,
): Promise<{ sha256: string; size: number }> {
  const part = `${dest}.part`;
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const expectedSize = entry.lfs?.size ?? entry.size;
  const started = Date.now();
  let startBytes = -1;
  let lastReport = 0;
  const label = `${repo}/${entry.path}`;
  const report = (received: number, total: number | undefined, done: boolean) => {
    if (startBytes < 0) startBytes = received;
    const now = Date.now();
    if (!done && now - lastReport < 1000) return;
    lastReport = now;
    const bytesPerSecond = ((received - startBytes) * 1000) / Math.max(1, now - started);
    onProgress({ file: label, received, total, bytesPerSecond, done });
  };
  let restarted = false;
  for (let attempt = 0; ; attempt++) {
    let meta: ResolveMeta;
    const resumedFrom = sizeOf(part);
    try {
      meta = await fetchIntoPart(hub, repo, entry.path, part, expectedSize, report);
    } catch (e) {
      if (!(e instanceof InterruptedError) || attempt >= retries) throw e;
      await new Promise((r) => setTimeout(r, 500 * (attempt + 1)));
      continue;
    }
    const size = sizeOf(part);
    const wantSize = expectedSize ?? meta.linkedSize;
    const wantSha =
      entry.lfs?.oid ??
      (/^[0-9a-f]{64}$/.test(meta.linkedEtag ?? "") ? meta.linkedEtag : undefined);
    const sha256 = await sha256OfFile(part);
    const problem =
      wantSize !== undefined && size !== wantSize
        ? `size ${size} bytes, expected ${wantSize}`
        : wantSha !== undefined && sha256 !== wantSha
          ? `sha256 mismatch: got ${sha256}, expected ${wantSha}`
          : undefined;
    if (problem) {
      fs.rmSync(part, { force: true });
      // A resumed prefix may come from an older revision: start over once from byte 0.
      if (resumedFrom > 0 && !restarted) {
        restarted = true;
        continue;
      }
      throw new Error(`${label}: ${problem}; the partial download was removed`);
    }
    fs.renameSync(part, dest);
    report(size, size, true);
    return { sha256, size };
  }
}

// ---------------------------------------------------------------------------------------------
// Zip reading (CodeSearchNet ships one zip per language)

/** One member of a zip archive, from its central directory. */
export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

function readAt(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, done, length - done, position + done);
    if (n === 0) throw new Error(`unexpected end of file at byte ${position + done}`);
    done += n;
  }
  return buf;
}

/** The central directory of a zip file (not zip64: CodeSearchNet's archives are under 4 GiB). */
export function readZipDirectory(fd: number, file = "zip"): ZipEntry[] {
  const fileSize = fs.fstatSync(fd).size;
  const tailLength = Math.min(fileSize, 22 + 0xffff);
  const tail = readAt(fd, fileSize - tailLength, tailLength);
  let eocd = -1;
  for (let k = tail.length - 22; k >= 0; k--) {
    if (tail.readUInt32LE(k) === 0x06054b50) {
      eocd = k;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${file}: not a zip file (no end of central directory record)`);
  const count = tail.readUInt16LE(eocd + 10);
  const dirSize = tail.readUInt32LE(eocd + 12);
  const dirOffset = tail.readUInt32LE(eocd + 16);
  if (count === 0xffff || dirSize === 0xffffffff || dirOffset === 0xffffffff) {
    throw new Error(`${file}: zip64 archives are not supported`);
  }
  const dir = readAt(fd, dirOffset, dirSize);
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (dir.readUInt32LE(p) !== 0x02014b50)
      throw new Error(`${file}: bad central directory entry ${i}`);
    const nameLength = dir.readUInt16LE(p + 28);
    const entry: ZipEntry = {
      name: dir.toString("utf8", p + 46, p + 46 + nameLength),
      flags: dir.readUInt16LE(p + 8),
      method: dir.readUInt16LE(p + 10),
      crc32: dir.readUInt32LE(p + 16),
      compressedSize: dir.readUInt32LE(p + 20),
      size: dir.readUInt32LE(p + 24),
      localHeaderOffset: dir.readUInt32LE(p + 42),
    };
    if (
      entry.compressedSize === 0xffffffff ||
      entry.size === 0xffffffff ||
      entry.localHeaderOffset === 0xffffffff
    ) {
      throw new Error(`${file}: ${entry.name} needs zip64, which is not supported`);
    }
    entries.push(entry);
    p += 46 + nameLength + dir.readUInt16LE(p + 30) + dir.readUInt16LE(p + 32);
  }
  return entries;
}

/** The uncompressed bytes of one zip member (stored or deflated), checked against its CRC-32. */
export function readZipEntry(fd: number, entry: ZipEntry, file = "zip"): Buffer {
  if (entry.flags & 1) throw new Error(`${file}: ${entry.name} is encrypted`);
  const header = readAt(fd, entry.localHeaderOffset, 30);
  if (header.readUInt32LE(0) !== 0x04034b50)
    throw new Error(`${file}: bad local header for ${entry.name}`);
  const dataStart =
    entry.localHeaderOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
  const raw = readAt(fd, dataStart, entry.compressedSize);
  let data: Buffer;
  if (entry.method === 0) data = raw;
  else if (entry.method === 8) data = zlib.inflateRawSync(raw);
  else
    throw new Error(
      `${file}: ${entry.name} uses compression method ${entry.method} (only stored and deflate are read)`,
    );
  if (data.length !== entry.size || zlib.crc32(data) !== entry.crc32) {
    throw new Error(
      `${file}: ${entry.name} is corrupt (size or CRC-32 does not match the directory)`,
    );
  }
  return data;
}

/** Count the JSON Lines rows in gzip data and tell whether the text ends with a newline. */
async function gzipLines(
  gz: Buffer,
  label: string,
): Promise<{ rows: number; endsWithNewline: boolean }> {
  const gunzip = zlib.createGunzip();
  gunzip.end(gz);
  let newlines = 0;
  let last = 10;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      for (let k = chunk.indexOf(10); k >= 0; k = chunk.indexOf(10, k + 1)) newlines++;
      if (chunk.length) last = chunk[chunk.length - 1];
    }
  } catch (e) {
    throw new Error(`${label}: not valid gzip (${(e as Error).message})`);
  }
  return { rows: newlines + (last === 10 ? 0 : 1), endsWithNewline: last === 10 };
}

const SPLIT_ORDER = ["train", "valid", "test"];

/**
 * Concatenate the `<lang>/final/jsonl/{train,valid,test}/<lang>_<split>_<n>.jsonl.gz` members of a
 * CodeSearchNet zip (in split, then numeric order) into one multi-member gzip file. Rows carry
 * their `partition`, so the split survives the concatenation.
 */
export async function extractCodeSearchNetZip(
  zipFile: string,
  language: Lang,
  outFile: string,
): Promise<{ rows: number; bytes: number }> {
  const fd = fs.openSync(zipFile, "r");
  const tmp = `${outFile}.tmp-${process.pid}`;
  let out: number | undefined;
  try {
    const pattern = new RegExp(
      `^${language}/final/jsonl/(train|valid|test)/${language}_(train|valid|test)_(\\d+)\\.jsonl\\.gz$`,
    );
    const members = readZipDirectory(fd, zipFile)
      .map((entry) => ({ entry, m: pattern.exec(entry.name) }))
      .filter((x): x is { entry: ZipEntry; m: RegExpExecArray } => x.m !== null)
      .sort(
        (a, b) =>
          SPLIT_ORDER.indexOf(a.m[1]) - SPLIT_ORDER.indexOf(b.m[1]) ||
          Number(a.m[3]) - Number(b.m[3]),
      );
    if (members.length === 0)
      throw new Error(
        `${zipFile}: no ${language}/final/jsonl/<split>/${language}_<split>_<n>.jsonl.gz members`,
      );
    fs.mkdirSync(path.dirname(outFile), { recursive: true });
    out = fs.openSync(tmp, "w");
    let rows = 0;
    let bytes = 0;
    for (const { entry } of members) {
      const gz = readZipEntry(fd, entry, zipFile);
      const lines = await gzipLines(gz, `${zipFile}: ${entry.name}`);
      rows += lines.rows;
      // gzip members concatenate into one valid gzip stream; keep rows on separate lines.
      const pieces = lines.endsWithNewline ? [gz] : [gz, zlib.gzipSync("\n")];
      for (const piece of pieces) {
        fs.writeSync(out, piece);
        bytes += piece.length;
      }
    }
    fs.closeSync(out);
    out = undefined;
    fs.renameSync(tmp, outFile);
    return { rows, bytes };
  } finally {
    fs.closeSync(fd);
    if (out !== undefined) fs.closeSync(out);
    fs.rmSync(tmp, { force: true });
  }
}

/** Gzip a JSON Lines file into `outFile` (atomically), counting its rows. */
async function gzipJsonl(
  source: string,
  outFile: string,
): Promise<{ rows: number; bytes: number }> {
  const tmp = `${outFile}.tmp-${process.pid}`;
  let newlines = 0;
  let last = 10;
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      for (let k = chunk.indexOf(10); k >= 0; k = chunk.indexOf(10, k + 1)) newlines++;
      if (chunk.length) last = chunk[chunk.length - 1];
      done(null, chunk);
    },
  });
  try {
    fs.mkdirSync(path.dirname(outFile), { recursive: true });
    await pipeline(
      fs.createReadStream(source),
      count,
      zlib.createGzip(),
      fs.createWriteStream(tmp),
    );
    fs.renameSync(tmp, outFile);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  return { rows: newlines + (last === 10 ? 0 : 1), bytes: sizeOf(outFile) };
}

// ---------------------------------------------------------------------------------------------
// Datasets

/** Where a dataset's language file lives in its hub repository. */
function sourcePath(dataset: DatasetName, language: Lang): { listDir: string; file: string } {
  return dataset === "codesearchnet"
    ? { listDir: "data", file: `data/${language}.zip` }
    : { listDir: `data/${language}`, file: `data/${language}/data.jsonl` };
}

/** Remove `dir` and its subfolders where they hold no files (partial downloads are kept). */
function removeEmptyDirs(dir: string): void {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) return;
  for (const name of fs.readdirSync(dir)) removeEmptyDirs(path.join(dir, name));
  if (fs.readdirSync(dir).length === 0) fs.rmdirSync(dir);
}

function readManifest(file: string): DownloadManifest | undefined {
  return fs.existsSync(file) ? readJson<DownloadManifest>(file) : undefined;
}

function stderrProgress(p: DownloadProgress): void {
  process.stderr.write(formatProgress(p) + "\n");
}

/**
 * Download the requested datasets and languages into `dataDir`, skipping files whose manifest
 * entry still matches the hub's listing, and record every file in `<dataDir>/DOWNLOAD.json`.
 */
export async function downloadDatasets(options: DownloadOptions): Promise<DownloadResult> {
  const hub: Hub = {
    endpoint: (options.endpoint ?? process.env.HF_ENDPOINT ?? "https://huggingface.co").replace(
      /\/+$/,
      "",
    ),
    token: options.token ?? process.env.HF_TOKEN,
    revision: options.revision ?? "main",
    pinned: new Map(),
  };
  const retries = options.retries ?? 3;
  const onProgress = options.onProgress ?? stderrProgress;
  const manifestFile = path.join(options.dataDir, "DOWNLOAD.json");
  const manifest: DownloadManifest = readManifest(manifestFile) ?? {
    endpoint: hub.endpoint,
    files: [],
  };
  manifest.endpoint = hub.endpoint;
  const result: DownloadResult = { manifestFile, downloaded: [], upToDate: [] };
  const staging = path.join(options.dataDir, ".download");

  for (const dataset of options.datasets) {
    const repo = DATASET_REPOS[dataset];
    const listings = new Map<string, TreeEntry[]>();
    for (const language of options.languages) {
      const { listDir, file } = sourcePath(dataset, language);
      if (!listings.has(listDir)) listings.set(listDir, await listTree(hub, repo, listDir));
      const entry = listings.get(listDir)!.find((e) => e.path === file && e.type === "file");
      if (!entry) throw new Error(`${repo}@${hub.revision} has no ${file} (listed ${listDir})`);
      const output = `${dataset}/${language}.jsonl.gz`;
      const outFile = path.join(options.dataDir, output);
      const known = manifest.files.find((f) => f.dataset === dataset && f.language === language);
      if (
        known &&
        known.oid === entry.oid &&
        known.path === file &&
        sizeOf(outFile) === known.outputBytes &&
        fs.existsSync(outFile)
      ) {
        result.upToDate.push(known);
        continue;
      }
      const raw = path.join(staging, dataset, file);
      const { sha256, size } = await downloadFile(hub, repo, entry, raw, retries, onProgress);
      const { rows, bytes } =
        dataset === "codesearchnet"
          ? await extractCodeSearchNetZip(raw, language, outFile)
          : await gzipJsonl(raw, outFile);
      fs.rmSync(raw, { force: true });
      const record: ManifestEntry = {
        dataset,
        language,
        repo,
        revision: hub.pinned.get(repo) ?? hub.revision,
        path: file,
        size,
        sha256,
        oid: entry.oid,
        output,
        outputBytes: bytes,
        rows,
      };
      manifest.files = manifest.files.filter(
        (f) => !(f.dataset === dataset && f.language === language),
      );
      manifest.files.push(record);
      writeJsonAtomic(manifestFile, manifest);
      result.downloaded.push(record);
    }
  }
  removeEmptyDirs(staging);
  return result;
}

/** A comma-separated list of dataset names; an unknown one is an error naming it. */
export function parseDatasets(list: string): DatasetName[] {
  const names = list
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  for (const name of names) {
    if (!(DATASET_NAMES as readonly string[]).includes(name)) {
      throw new Error(`unknown dataset "${name}": expected ${DATASET_NAMES.join(" or ")}`);
    }
  }
  return names as DatasetName[];
}

/** `narrator data download`: download and return the report lines (progress goes to stderr). */
export async function downloadReport(options: DownloadOptions): Promise<string[]> {
  const result = await downloadDatasets(options);
  const line = (f: ManifestEntry, what: string) =>
    `${f.output}: ${what}, ${f.rows} rows, ${formatBytes(f.outputBytes)} (${f.repo}@${f.revision.slice(0, 12)} ${f.path})`;
  return [
    ...result.downloaded.map((f) => line(f, "downloaded")),
    ...result.upToDate.map((f) => line(f, "up to date")),
    `manifest: ${result.manifestFile}`,
  ];
}
