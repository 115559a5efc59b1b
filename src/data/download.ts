/**
 * `narrator data download`: fetch the published CodeSearchNet and CommitPackFT files from the
 * Hugging Face hub (or a mirror at HF_ENDPOINT; the client is ./hub) and lay them out as the
 * readers expect: `<dataDir>/codesearchnet/<lang>.jsonl.gz` and `<dataDir>/commitpackft/<lang>.jsonl.gz`.
 * CodeSearchNet ships one zip per language (read with yauzl); CommitPackFT one JSON Lines file.
 *
 * Every file is recorded in `<dataDir>/DOWNLOAD.json` with the commit it was pinned to, its size,
 * sha256 and hub object id; a later run skips files whose object id is unchanged.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as zlib from "node:zlib";
import * as yauzl from "yauzl";
import { fileSizeOrZero, readJson, writeJsonAtomic } from "../util/fs";
import { formatBytes } from "../util/number";
import {
  downloadFile,
  type DownloadProgress,
  formatProgress,
  type HubSettings,
  listTree,
  openHub,
  pinnedRevision,
  type TreeEntry,
} from "./hub";
import type { Lang } from "./langs";

export type DatasetName = "codesearchnet" | "commitpackft";
export const DATASET_NAMES: readonly DatasetName[] = ["codesearchnet", "commitpackft"];

/** Hub repositories of the published datasets. */
export const DATASET_REPOS: Record<DatasetName, string> = {
  codesearchnet: "code-search-net/code_search_net",
  commitpackft: "bigcode/commitpackft",
};

export interface DownloadOptions extends HubSettings {
  dataDir: string;
  datasets: DatasetName[];
  languages: Lang[];
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

/** Every member of a zip archive, from its central directory. */
async function zipMembers(zip: yauzl.ZipFile): Promise<yauzl.Entry[]> {
  const entries: yauzl.Entry[] = [];
  for await (const entry of zip.eachEntry()) entries.push(entry);
  return entries;
}

/** The bytes of one member, checked against the directory's CRC-32 (yauzl checks sizes only). */
async function readMember(
  zip: yauzl.ZipFile,
  entry: yauzl.Entry,
  zipFile: string,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of await zip.openReadStreamPromise(entry)) chunks.push(chunk as Buffer);
  } catch (e) {
    throw new Error(`${zipFile}: ${entry.fileName}: ${(e as Error).message}`);
  }
  const data = Buffer.concat(chunks);
  if (zlib.crc32(data) !== entry.crc32) {
    throw new Error(
      `${zipFile}: ${entry.fileName} is corrupt (its CRC-32 does not match the directory)`,
    );
  }
  return data;
}

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
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(zipFile, { lazyEntries: true, autoClose: false });
  } catch (e) {
    throw new Error(`${zipFile}: not a readable zip file (${(e as Error).message})`);
  }
  const tmp = `${outFile}.tmp-${process.pid}`;
  let out: number | undefined;
  try {
    const pattern = new RegExp(
      `^${language}/final/jsonl/(train|valid|test)/${language}_(train|valid|test)_(\\d+)\\.jsonl\\.gz$`,
    );
    const members = (await zipMembers(zip))
      .map((entry) => ({ entry, m: pattern.exec(entry.fileName) }))
      .filter((x): x is { entry: yauzl.Entry; m: RegExpExecArray } => x.m !== null)
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
      const gz = await readMember(zip, entry, zipFile);
      const lines = await gzipLines(gz, `${zipFile}: ${entry.fileName}`);
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
    zip.close();
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
  return { rows: newlines + (last === 10 ? 0 : 1), bytes: fileSizeOrZero(outFile) };
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
  const hub = openHub(options);
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
        fileSizeOrZero(outFile) === known.outputBytes &&
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
        revision: pinnedRevision(hub, repo),
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
