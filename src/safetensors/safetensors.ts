/**
 * The safetensors format (huggingface/safetensors): an 8-byte little-endian header length N, N bytes
 * of UTF-8 JSON describing each tensor, then the raw little-endian tensor bytes. Files are
 * untrusted input, so the reader validates the header the way the reference Rust reader does
 * (plus duplicate keys, which JSON.parse would hide). Also: sharded checkpoints with a
 * `model.safetensors.index.json` as Hugging Face writes them.
 */
import * as fs from "node:fs";
import { withPath, writeFileAtomic } from "../util/fs";

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
export interface HeaderEntry {
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
    const header = readSafetensorsHeader(fd, file);
    const tensors = new Map<string, TensorEntry>();
    for (const e of header.entries) tensors.set(e.name, readTensorAt(fd, file, header, e));
    return { tensors, metadata: header.metadata };
  } finally {
    fs.closeSync(fd);
  }
}

/** A file's validated header and where its data section starts. */
export interface FileHeader {
  /** Tensors in file order. */
  entries: HeaderEntry[];
  metadata: Record<string, string>;
  /** Byte position of the data section in the file. */
  dataStart: number;
}

/** Read and validate the header of an open safetensors file, without reading tensor data. */
export function readSafetensorsHeader(fd: number, file: string): FileHeader {
  const fileLength = withPath("stat", file, () => fs.fstatSync(fd).size);
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
  return { ...header, dataStart: 8 + headerLength };
}

/** One tensor of an open file, read into its own buffer. */
export function readTensorAt(
  fd: number,
  file: string,
  header: FileHeader,
  e: HeaderEntry,
): TensorEntry {
  const data = readAt(fd, file, header.dataStart + e.begin, e.end - e.begin);
  return { dtype: e.dtype, shape: e.shape, data };
}

/** Open a file for reading; errors name it. */
export function openForReading(file: string): number {
  return withPath("open", file, () => fs.openSync(file, "r"));
}

/** Read exactly `length` bytes at `position` into a fresh buffer; errors name the file. */
function readAt(fd: number, file: string, position: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    // fs.readSync takes at most 2^31 - 1 bytes per call.
    const n = withPath("read", file, () =>
      fs.readSync(fd, out, done, Math.min(length - done, 1 << 30), position + done),
    );
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
  const layout = layoutFile(
    items.map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape })),
    metadata,
  );
  const out = new Uint8Array(layout.header.byteLength + layout.dataLength);
  out.set(layout.header);
  const byName = new Map(items);
  for (const [name, begin] of layout.offsets) {
    out.set(byName.get(name)!.data, layout.header.byteLength + begin);
  }
  return out;
}

/** A tensor's name, dtype and shape: what a header says about it. */
export interface TensorSpec {
  name: string;
  dtype: Dtype;
  shape: number[];
}

/** Where everything goes in a file: the header bytes (length prefix included) and data offsets. */
export interface FileLayout {
  /** The 8-byte length, the JSON and its padding. */
  header: Uint8Array;
  /** Each tensor's begin within the data section, in file order. */
  offsets: Map<string, number>;
  dataLength: number;
}

/** Lay out a file as the reference writer does, from the tensors' specs alone. */
export function layoutFile(specs: TensorSpec[], metadata?: Record<string, string>): FileLayout {
  const utf8 = new TextEncoder();
  // Reference order: descending dtype rank, then names compared as UTF-8 bytes.
  const items = [...specs].sort(
    (a, b) =>
      DTYPE_RANK[b.dtype] - DTYPE_RANK[a.dtype] ||
      Buffer.compare(utf8.encode(a.name), utf8.encode(b.name)),
  );
  const fields: string[] = [];
  if (metadata !== undefined) fields.push(`"${METADATA_KEY}":${metadataJson(metadata)}`);
  const offsets = new Map<string, number>();
  let offset = 0;
  for (const t of items) {
    const end = offset + tensorByteLength(t.dtype, t.shape);
    fields.push(
      `${JSON.stringify(t.name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(",")}],` +
        `"data_offsets":[${offset},${end}]}`,
    );
    offsets.set(t.name, offset);
    offset = end;
  }
  const json = utf8.encode(`{${fields.join(",")}}`);
  // The reference writer pads the header with spaces to a multiple of 8 so the data stay aligned.
  const headerLength = Math.ceil(json.byteLength / 8) * 8;
  const header = new Uint8Array(8 + headerLength);
  new DataView(header.buffer).setBigUint64(0, BigInt(headerLength), true);
  header.set(json, 8);
  header.fill(0x20, 8 + json.byteLength);
  return { header, offsets, dataLength: offset };
}

/** Throw unless an entry is writable: a legal name and dtype, and data matching its shape. */
export function checkEntry(name: string, t: TensorEntry): void {
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
