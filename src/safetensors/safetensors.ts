/**
 * The safetensors format (huggingface/safetensors): an 8-byte little-endian header length N, N bytes
 * of UTF-8 JSON describing each tensor, then the raw little-endian tensor bytes. Files are
 * untrusted input, so the reader validates the header the way the reference Rust reader does
 * (plus duplicate keys, which JSON.parse would hide). Also: sharded checkpoints with a
 * `model.safetensors.index.json` as Hugging Face writes them.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { readJson, writeFileAtomic, writeJsonAtomic } from "../util/fs";

/** Element types this project reads and writes (names as in the safetensors header). */
export type Dtype = "F32" | "F16" | "BF16" | "U8" | "I8" | "I32" | "I64" | "F64" | "BOOL";

/** One tensor: dtype, row-major shape and its raw little-endian bytes (possibly a view). */
export interface TensorEntry {
  dtype: Dtype;
  shape: number[];
  data: Uint8Array;
}

/** What a safetensors file holds: its tensors by name and the `__metadata__` string map. */
export interface SafetensorsContents {
  tensors: Map<string, TensorEntry>;
  metadata: Record<string, string>;
}

/** Bytes per element of each dtype. */
export const DTYPE_SIZE: Readonly<Record<Dtype, number>> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F16: 2,
  BF16: 2,
  I32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
};

// Rank of each dtype in the reference implementation's Dtype enum (declared in increasing
// alignment); its writer orders tensors by descending rank, then by name.
const DTYPE_RANK: Readonly<Record<Dtype, number>> = {
  BOOL: 0,
  U8: 1,
  I8: 2,
  F16: 7,
  BF16: 8,
  I32: 9,
  F32: 11,
  F64: 12,
  I64: 13,
};

/** The reference reader's limit on the JSON header size. */
export const MAX_HEADER_BYTES = 100_000_000;

const METADATA_KEY = "__metadata__";
const TENSOR_FIELDS = ["dtype", "shape", "data_offsets"];

/** Type guard: is `s` one of the supported dtype names? */
export function isDtype(s: unknown): s is Dtype {
  return typeof s === "string" && Object.prototype.hasOwnProperty.call(DTYPE_SIZE, s);
}

/** Number of elements of a shape (1 for a scalar `[]`). */
export function shapeSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Byte length a tensor of this dtype and shape must have. */
export function tensorByteLength(dtype: Dtype, shape: readonly number[]): number {
  return shapeSize(shape) * DTYPE_SIZE[dtype];
}

// ---------------------------------------------------------------------------------------------
// Reading

/** A validated header entry: where the tensor's bytes lie inside the data section. */
interface HeaderEntry {
  name: string;
  dtype: Dtype;
  shape: number[];
  begin: number;
  end: number;
}

interface ParsedHeader {
  entries: HeaderEntry[];
  metadata: Record<string, string>;
}

/** Parse a safetensors file held in memory; tensor data are views into `bytes`. */
export function parseSafetensors(bytes: Uint8Array, source: string): SafetensorsContents {
  const headerLength = readHeaderLength(bytes.subarray(0, 8), bytes.byteLength, source);
  const header = parseHeader(
    bytes.subarray(8, 8 + headerLength),
    bytes.byteLength - 8 - headerLength,
    source,
  );
  const dataStart = 8 + headerLength;
  const tensors = new Map<string, TensorEntry>();
  for (const e of header.entries) {
    const data = bytes.subarray(dataStart + e.begin, dataStart + e.end);
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data });
  }
  return { tensors, metadata: header.metadata };
}

/** Read and validate a safetensors file; each tensor gets its own (aligned) buffer. */
export function readSafetensorsFile(file: string): SafetensorsContents {
  // Read through a file descriptor rather than readFileSync: whole checkpoints can exceed the
  // 2 GiB that readFileSync accepts, while each tensor fits its own buffer.
  const fd = openForReading(file);
  try {
    const fileLength = fs.fstatSync(fd).size;
    const headerLength = readHeaderLength(
      readAt(fd, file, 0, Math.min(8, fileLength)),
      fileLength,
      file,
    );
    const header = parseHeader(
      readAt(fd, file, 8, headerLength),
      fileLength - 8 - headerLength,
      file,
    );
    const tensors = new Map<string, TensorEntry>();
    for (const e of header.entries) {
      const data = readAt(fd, file, 8 + headerLength + e.begin, e.end - e.begin);
      tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data });
    }
    return { tensors, metadata: header.metadata };
  } finally {
    fs.closeSync(fd);
  }
}

function openForReading(file: string): number {
  try {
    return fs.openSync(file, "r");
  } catch (e) {
    throw new Error(`${file}: cannot open (${(e as Error).message})`);
  }
}

/** Read exactly `length` bytes at `position` into a fresh buffer. */
function readAt(fd: number, file: string, position: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    // fs.readSync takes at most 2^31 - 1 bytes per call.
    const n = fs.readSync(fd, out, done, Math.min(length - done, 1 << 30), position + done);
    if (n === 0) throw new Error(`${file}: unexpected end of file at byte ${position + done}`);
    done += n;
  }
  return out;
}

/** Decode and bound-check the 8-byte little-endian header length. */
function readHeaderLength(prefix: Uint8Array, fileLength: number, source: string): number {
  if (fileLength < 8) {
    throw new Error(
      `${source}: file is ${fileLength} bytes, shorter than the 8-byte header length`,
    );
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new Error(`${source}: header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  }
  const headerLength = Number(n);
  if (8 + headerLength > fileLength) {
    throw new Error(
      `${source}: header length ${headerLength} runs beyond the end of the ${fileLength}-byte file`,
    );
  }
  return headerLength;
}

/** Validate the JSON header against a data section of `dataLength` bytes. */
function parseHeader(headerBytes: Uint8Array, dataLength: number, source: string): ParsedHeader {
  let text: string;
  try {
    // ignoreBOM keeps a byte-order mark in the text, so that JSON.parse rejects it as serde does.
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch {
    throw new Error(`${source}: header is not valid UTF-8`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: header is not valid JSON (${(e as Error).message})`);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new Error(`${source}: header JSON is not an object`);
  }
  const duplicate = findDuplicateKey(text);
  if (duplicate !== undefined) throw new Error(`${source}: header has ${duplicate}`);

  let metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [name, value] of Object.entries(json)) {
    if (name === METADATA_KEY) metadata = parseMetadata(value, source);
    else entries.push(parseTensorInfo(name, value, dataLength, source));
  }
  return { entries: sortedByOffsets(entries, dataLength, source), metadata };
}

function parseMetadata(value: unknown, source: string): Record<string, string> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Error(`${source}: ${METADATA_KEY} is not an object of strings`);
  }
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== "string") {
      throw new Error(
        `${source}: ${METADATA_KEY} value for "${k}" is ${JSON.stringify(v)}, expected a string`,
      );
    }
  }
  return Object.fromEntries(Object.entries(value as Record<string, string>));
}

function parseTensorInfo(
  name: string,
  value: unknown,
  dataLength: number,
  source: string,
): HeaderEntry {
  const where = `${source}: tensor "${name}"`;
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Error(`${where}: entry is not an object`);
  }
  const info = value as Record<string, unknown>;
  for (const field of Object.keys(info)) {
    if (!TENSOR_FIELDS.includes(field)) throw new Error(`${where}: unexpected field "${field}"`);
  }
  for (const field of TENSOR_FIELDS) {
    if (!(field in info)) throw new Error(`${where}: missing field "${field}"`);
  }
  const { dtype, shape, data_offsets: offsets } = info;
  if (!isDtype(dtype)) {
    throw new Error(
      `${where}: unknown or unsupported dtype ${JSON.stringify(dtype)} ` +
        `(supported: ${Object.keys(DTYPE_SIZE).join(", ")})`,
    );
  }
  if (!Array.isArray(shape) || !shape.every(isNonNegativeInteger)) {
    throw new Error(
      `${where}: shape ${JSON.stringify(shape)} is not an array of non-negative integers`,
    );
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every(isNonNegativeInteger) ||
    offsets[0] > offsets[1]
  ) {
    throw new Error(
      `${where}: data_offsets ${JSON.stringify(offsets)} is not [begin, end] ` +
        `with non-negative integers begin <= end`,
    );
  }
  const [begin, end] = offsets as [number, number];
  if (end > dataLength) {
    throw new Error(
      `${where}: data_offsets [${begin}, ${end}] run beyond the ${dataLength}-byte data section`,
    );
  }
  // BigInt: the product of untrusted dimensions may exceed 2^53.
  const expected =
    shape.reduce((a: bigint, d: number) => a * BigInt(d), 1n) * BigInt(DTYPE_SIZE[dtype]);
  if (expected !== BigInt(end - begin)) {
    throw new Error(
      `${where}: ${dtype} shape [${shape.join(", ")}] needs ${expected} bytes ` +
        `but data_offsets [${begin}, ${end}] hold ${end - begin}`,
    );
  }
  return { name, dtype, shape: shape as number[], begin, end };
}

function isNonNegativeInteger(x: unknown): x is number {
  return typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
}

/**
 * Entries in file order, checked as the reference reader does: sorted by offsets, each tensor
 * must start where the previous one ended and the last must end at the end of the file (no
 * overlaps, no holes, no trailing bytes).
 */
function sortedByOffsets(
  entries: HeaderEntry[],
  dataLength: number,
  source: string,
): HeaderEntry[] {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let position = 0;
  let previous: HeaderEntry | undefined;
  for (const e of sorted) {
    if (e.begin < position) {
      throw new Error(
        `${source}: tensor "${e.name}" data_offsets [${e.begin}, ${e.end}] overlap tensor ` +
          `"${previous?.name}" [${previous?.begin}, ${previous?.end}]`,
      );
    }
    if (e.begin > position) {
      throw new Error(
        `${source}: tensor "${e.name}" starts at ${e.begin}, leaving a hole in the data section ` +
          `(bytes ${position}..${e.begin} belong to no tensor)`,
      );
    }
    position = e.end;
    previous = e;
  }
  if (position !== dataLength) {
    throw new Error(
      `${source}: tensors cover ${position} bytes but the data section has ${dataLength} ` +
        `(trailing bytes belong to no tensor)`,
    );
  }
  return sorted;
}

/**
 * Find a key repeated within one JSON object of `text` (already known to be valid JSON), which
 * the format forbids and JSON.parse silently resolves by keeping the last value.
 */
function findDuplicateKey(text: string): string | undefined {
  // One frame per open container: the object's keys so far (null for arrays) and its key name.
  const stack: { keys: Set<string> | null; name: string }[] = [];
  let expectKey = false;
  let lastKey = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      const top = stack[stack.length - 1];
      if (expectKey && top?.keys) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) {
          const where = stack.length === 1 ? "at the top level" : `in object "${top.name}"`;
          return `duplicate key ${JSON.stringify(key)} ${where}`;
        }
        top.keys.add(key);
        lastKey = key;
        expectKey = false;
      }
      i = j;
    } else if (c === "{") {
      stack.push({ keys: new Set(), name: lastKey });
      expectKey = true;
    } else if (c === "[") {
      stack.push({ keys: null, name: lastKey });
    } else if (c === "}" || c === "]") {
      stack.pop();
    } else if (c === ",") {
      expectKey = stack[stack.length - 1]?.keys != null;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Finite values

/**
 * The exponent bits of each floating-point dtype within its top word (16 bits for F16/BF16, 32
 * for F32 and the high half of F64): all ones means NaN or infinity.
 */
const EXPONENT_BITS: Partial<Record<Dtype, { wordBits: 16 | 32; stride: 1 | 2; mask: number }>> = {
  F16: { wordBits: 16, stride: 1, mask: 0x7c00 },
  BF16: { wordBits: 16, stride: 1, mask: 0x7f80 },
  F32: { wordBits: 32, stride: 1, mask: 0x7f800000 },
  F64: { wordBits: 32, stride: 2, mask: 0x7ff00000 },
};

/**
 * The first NaN or infinity of a tensor as its element index and value, or null (always for
 * integer dtypes). It tests the exponent bits of the stored words, without converting values.
 */
export function firstNonFinite(t: TensorEntry): { index: number; value: number } | null {
  const bits = EXPONENT_BITS[t.dtype];
  if (!bits) return null;
  const { wordBits, stride, mask } = bits;
  const bytes = wordBits / 8;
  // Word views need aligned offsets: a view into a larger file may not have one.
  const d = t.data.byteOffset % bytes === 0 ? t.data : t.data.slice();
  const words =
    wordBits === 16
      ? new Uint16Array(d.buffer, d.byteOffset, d.byteLength / 2)
      : new Uint32Array(d.buffer, d.byteOffset, d.byteLength / 4);
  const sign = wordBits === 16 ? 0x8000 : 0x80000000;
  // F64's top word is the second of each pair (little-endian).
  for (let i = stride - 1; i < words.length; i += stride) {
    const w = words[i];
    if ((w & mask) !== mask) continue;
    // Any mantissa bit set: NaN; none: an infinity with the sign bit's sign.
    const mantissa = (w & ~mask & ~sign) !== 0 || (stride === 2 && words[i - 1] !== 0);
    const value = mantissa ? NaN : (w & sign) !== 0 ? -Infinity : Infinity;
    return { index: (i - (stride - 1)) / stride, value };
  }
  return null;
}

/** Throw, naming the file and tensor, when a floating-point tensor holds a NaN or infinity. */
export function checkFinite(tensors: ReadonlyMap<string, TensorEntry>, file: string): void {
  for (const [name, t] of tensors) {
    const bad = firstNonFinite(t);
    if (bad) {
      throw new Error(
        `${file}: tensor "${name}" holds ${bad.value} at element ${bad.index} of ${t.dtype} [${t.shape.join(", ")}]; weights must be finite`,
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

/** Serialize tensors (and optional `__metadata__`) exactly as the reference writer lays them out. */
export function serializeSafetensors(
  tensors: Record<string, TensorEntry> | Map<string, TensorEntry>,
  metadata?: Record<string, string>,
): Uint8Array {
  const items = [...(tensors instanceof Map ? tensors.entries() : Object.entries(tensors))];
  for (const [name, t] of items) checkEntry(name, t);
  const utf8 = new TextEncoder();
  // Reference order: descending dtype rank, then names compared as UTF-8 bytes.
  items.sort(
    ([an, a], [bn, b]) =>
      DTYPE_RANK[b.dtype] - DTYPE_RANK[a.dtype] || Buffer.compare(utf8.encode(an), utf8.encode(bn)),
  );

  const fields: string[] = [];
  if (metadata !== undefined) fields.push(`"${METADATA_KEY}":${metadataJson(metadata)}`);
  let offset = 0;
  for (const [name, t] of items) {
    const end = offset + t.data.byteLength;
    fields.push(
      `${JSON.stringify(name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(",")}],` +
        `"data_offsets":[${offset},${end}]}`,
    );
    offset = end;
  }
  const json = utf8.encode(`{${fields.join(",")}}`);
  // The reference writer pads the header with spaces to a multiple of 8 so the data stay aligned.
  const headerLength = Math.ceil(json.byteLength / 8) * 8;

  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.byteLength, 8 + headerLength);
  let position = 8 + headerLength;
  for (const [, t] of items) {
    out.set(t.data, position);
    position += t.data.byteLength;
  }
  return out;
}

function checkEntry(name: string, t: TensorEntry): void {
  const where = `safetensors: tensor "${name}"`;
  if (name === METADATA_KEY) throw new Error(`${where}: the name is reserved for the metadata`);
  if (!isDtype(t.dtype)) throw new Error(`${where}: unsupported dtype ${JSON.stringify(t.dtype)}`);
  if (!Array.isArray(t.shape) || !t.shape.every(isNonNegativeInteger)) {
    throw new Error(`${where}: shape ${JSON.stringify(t.shape)} is not non-negative integers`);
  }
  const expected = tensorByteLength(t.dtype, t.shape);
  if (t.data.byteLength !== expected) {
    throw new Error(
      `${where}: ${t.dtype} shape [${t.shape.join(", ")}] needs ${expected} bytes, ` +
        `data has ${t.data.byteLength}`,
    );
  }
}

/** Metadata as compact JSON with keys sorted (the reference map has no fixed order). */
function metadataJson(metadata: Record<string, string>): string {
  const keys = Object.keys(metadata).sort();
  for (const k of keys) {
    if (typeof metadata[k] !== "string") {
      throw new Error(`safetensors: ${METADATA_KEY} value for "${k}" is not a string`);
    }
  }
  return `{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(",")}}`;
}

/** Serialize and write a safetensors file atomically. */
export function writeSafetensorsFile(
  file: string,
  tensors: Record<string, TensorEntry> | Map<string, TensorEntry>,
  metadata?: Record<string, string>,
): void {
  writeFileAtomic(file, serializeSafetensors(tensors, metadata));
}

// ---------------------------------------------------------------------------------------------
// Checkpoints: one `model.safetensors`, or shards listed in `model.safetensors.index.json`

/** File name of an unsharded checkpoint. */
export const SINGLE_FILE = "model.safetensors";
/** File name of a sharded checkpoint's index. */
export const INDEX_FILE = "model.safetensors.index.json";
/** Default largest shard: below Node's 4 GiB limit on one buffer (Hugging Face's default is 5 GB). */
export const DEFAULT_MAX_SHARD_BYTES = 2_000_000_000;

const SHARD_NAME = /^model-\d{5}-of-\d{5}\.safetensors$/;

/**
 * Load every tensor of a checkpoint directory, sharded or not. A NaN or infinity in any
 * floating-point tensor (weights, 4-bit absmax and code tables) is an error naming file and
 * tensor: it would otherwise only surface as NaN outputs.
 */
export function loadCheckpointTensors(dir: string): Map<string, TensorEntry> {
  const single = path.join(dir, SINGLE_FILE);
  if (fs.existsSync(single)) {
    const { tensors } = readSafetensorsFile(single);
    checkFinite(tensors, single);
    return tensors;
  }
  const indexFile = path.join(dir, INDEX_FILE);
  if (!fs.existsSync(indexFile)) {
    throw new Error(`${dir}: neither ${SINGLE_FILE} nor ${INDEX_FILE} found`);
  }
  const weightMap = readWeightMap(indexFile);

  const namesByShard = new Map<string, string[]>();
  for (const [name, shard] of Object.entries(weightMap)) {
    namesByShard.set(shard, [...(namesByShard.get(shard) ?? []), name]);
  }
  const tensors = new Map<string, TensorEntry>();
  for (const [shard, names] of namesByShard) {
    const shardFile = path.join(dir, shard);
    if (!fs.existsSync(shardFile)) {
      throw new Error(`${indexFile}: shard file ${shard} (for tensor "${names[0]}") is missing`);
    }
    const contents = readSafetensorsFile(shardFile).tensors;
    checkFinite(contents, shardFile);
    for (const name of names) {
      const t = contents.get(name);
      if (t === undefined) {
        throw new Error(`${shardFile}: tensor "${name}" listed in ${INDEX_FILE} is missing`);
      }
      tensors.set(name, t);
    }
    for (const name of contents.keys()) {
      if (weightMap[name] !== shard) {
        throw new Error(
          `${shardFile}: tensor "${name}" is not mapped to this shard in ${INDEX_FILE}`,
        );
      }
    }
  }
  return tensors;
}

/** Read and validate an index's weight_map (tensor name -> shard file in the same directory). */
function readWeightMap(indexFile: string): Record<string, string> {
  const index = readJson<Record<string, unknown>>(indexFile);
  const weightMap = index?.weight_map;
  if (weightMap === null || typeof weightMap !== "object" || Array.isArray(weightMap)) {
    throw new Error(`${indexFile}: weight_map is missing or not an object`);
  }
  for (const [name, shard] of Object.entries(weightMap)) {
    // Shard names come from an untrusted file: allow only plain file names in this directory.
    if (typeof shard !== "string" || shard !== path.basename(shard) || shard === "..") {
      throw new Error(
        `${indexFile}: weight_map["${name}"] is ${JSON.stringify(shard)}, expected a file name`,
      );
    }
  }
  return weightMap as Record<string, string>;
}

/** Options for saveCheckpointTensors. */
export interface SaveCheckpointOptions {
  /** Largest total tensor bytes per shard (a bigger tensor gets a shard of its own). */
  maxShardBytes?: number;
  /** `__metadata__` written into every file. */
  metadata?: Record<string, string>;
}

/**
 * Save tensors as `model.safetensors`, or, when they exceed maxShardBytes, as Hugging Face shards
 * `model-0000i-of-0000n.safetensors` plus the index; stale checkpoint files in `dir` are removed.
 */
export function saveCheckpointTensors(
  dir: string,
  tensors: Record<string, TensorEntry> | Map<string, TensorEntry>,
  options: SaveCheckpointOptions = {},
): void {
  const items = [...(tensors instanceof Map ? tensors.entries() : Object.entries(tensors))];
  const shards = planShards(items, options.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES);
  fs.mkdirSync(dir, { recursive: true });

  const written = new Set<string>();
  if (shards.length <= 1) {
    writeSafetensorsFile(path.join(dir, SINGLE_FILE), new Map(items), options.metadata);
    written.add(SINGLE_FILE);
  } else {
    const weightMap: Record<string, string> = {};
    shards.forEach((shard, i) => {
      const file = `model-${pad5(i + 1)}-of-${pad5(shards.length)}.safetensors`;
      writeSafetensorsFile(path.join(dir, file), new Map(shard), options.metadata);
      for (const [name] of shard) weightMap[name] = file;
      written.add(file);
    });
    const totalSize = items.reduce((sum, [, t]) => sum + t.data.byteLength, 0);
    const sortedMap = Object.fromEntries(
      Object.keys(weightMap)
        .sort()
        .map((k) => [k, weightMap[k]]),
    );
    writeJsonAtomic(path.join(dir, INDEX_FILE), {
      metadata: { total_size: totalSize },
      weight_map: sortedMap,
    });
    written.add(INDEX_FILE);
  }
  for (const f of fs.readdirSync(dir)) {
    const isCheckpointFile = f === SINGLE_FILE || f === INDEX_FILE || SHARD_NAME.test(f);
    if (isCheckpointFile && !written.has(f)) fs.rmSync(path.join(dir, f));
  }
}

/**
 * Hugging Face's split (huggingface_hub split_state_dict_into_shards_factory): walk tensors in
 * order, start a new shard when the next tensor would exceed the limit, and give a tensor larger
 * than the limit a shard of its own (placed before the shard being filled).
 */
function planShards(
  items: [string, TensorEntry][],
  maxShardBytes: number,
): [string, TensorEntry][][] {
  if (!(maxShardBytes > 0)) throw new Error(`maxShardBytes must be positive, got ${maxShardBytes}`);
  const shards: [string, TensorEntry][][] = [];
  let current: [string, TensorEntry][] = [];
  let currentBytes = 0;
  for (const item of items) {
    checkEntry(item[0], item[1]);
    const size = item[1].data.byteLength;
    if (size > maxShardBytes) {
      shards.push([item]);
      continue;
    }
    if (currentBytes + size > maxShardBytes) {
      shards.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(item);
    currentBytes += size;
  }
  if (current.length > 0) shards.push(current);
  return shards;
}

function pad5(n: number): string {
  return String(n).padStart(5, "0");
}
