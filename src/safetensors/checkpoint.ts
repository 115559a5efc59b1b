/**
 * Checkpoint directories as Hugging Face writes them: one `model.safetensors`, or shards
 * `model-0000i-of-0000n.safetensors` listed in `model.safetensors.index.json` (weight_map: tensor
 * name -> shard file). Reading is lazy: opening reads the headers only and each tensor is read
 * when asked for, so a model larger than memory can be loaded tensor by tensor. Writing can
 * stream too: tensors are produced one at a time straight into their place in the file.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import {
  checkEntry,
  firstNonFinite,
  layoutFile,
  openForReading,
  readSafetensorsHeader,
  readTensorAt,
  tensorByteLength,
  writeSafetensorsFile,
  type FileHeader,
  type HeaderEntry,
  type TensorEntry,
  type TensorSpec,
} from "./safetensors";
import { readJson, withPath, writeJsonAtomic } from "../util/fs";

/** File name of an unsharded checkpoint. */
export const SINGLE_FILE = "model.safetensors";
/** File name of a sharded checkpoint's index. */
export const INDEX_FILE = "model.safetensors.index.json";
/** Default largest shard: below Node's 4 GiB limit on one buffer (Hugging Face's default is 5 GB). */
export const DEFAULT_MAX_SHARD_BYTES = 2_000_000_000;

const SHARD_NAME = /^model-\d{5}-of-\d{5}\.safetensors$/;

/** An open file of a checkpoint: its descriptor and validated header. */
interface OpenFile {
  file: string;
  fd: number;
  header: FileHeader;
}

/**
 * A checkpoint directory opened for reading: every header is read and checked against the
 * index up front; tensor data are read on demand. Call `close()` when done.
 */
export class CheckpointReader {
  private readonly where = new Map<string, { file: OpenFile; entry: HeaderEntry }>();
  private readonly files: OpenFile[] = [];

  private constructor(readonly dir: string) {}

  /** Open `dir`, sharded or not; a missing file or a disagreement with the index is an error. */
  static open(dir: string): CheckpointReader {
    const reader = new CheckpointReader(dir);
    try {
      reader.readHeaders();
    } catch (e) {
      reader.close();
      throw e;
    }
    return reader;
  }

  /** Every tensor name, in the order of the files and, within one, of the data. */
  names(): string[] {
    return [...this.where.keys()];
  }

  has(name: string): boolean {
    return this.where.has(name);
  }

  /** Dtype and shape of a tensor, from the header. */
  spec(name: string): TensorSpec | undefined {
    const at = this.where.get(name);
    return at && { name, dtype: at.entry.dtype, shape: at.entry.shape };
  }

  /**
   * Read one tensor. A NaN or infinity in a floating-point tensor (weights, 4-bit absmax and
   * code tables) is an error naming file and tensor: it would otherwise only surface as NaN
   * outputs.
   */
  read(name: string): TensorEntry {
    const at = this.where.get(name);
    if (!at) throw new Error(`${this.dir}: no tensor ${name}`);
    const t = readTensorAt(at.file.fd, at.file.file, at.file.header, at.entry);
    const bad = firstNonFinite(t);
    if (bad) {
      throw new Error(
        `${at.file.file}: tensor "${name}" holds ${bad.value} at element ${bad.index} of ${t.dtype} [${t.shape.join(", ")}]; weights must be finite`,
      );
    }
    return t;
  }

  /** Every tensor, read into memory. */
  readAll(): Map<string, TensorEntry> {
    return new Map(this.names().map((name) => [name, this.read(name)]));
  }

  close(): void {
    for (const f of this.files.splice(0)) fs.closeSync(f.fd);
  }

  private openFile(file: string): OpenFile {
    const fd = openForReading(file);
    const f: OpenFile = { file, fd, header: { entries: [], metadata: {}, dataStart: 0 } };
    this.files.push(f);
    f.header = readSafetensorsHeader(fd, file);
    return f;
  }

  private readHeaders(): void {
    const single = path.join(this.dir, SINGLE_FILE);
    if (fs.existsSync(single)) {
      const f = this.openFile(single);
      for (const entry of f.header.entries) this.where.set(entry.name, { file: f, entry });
      return;
    }
    const indexFile = path.join(this.dir, INDEX_FILE);
    if (!fs.existsSync(indexFile)) {
      throw new Error(`${this.dir}: neither ${SINGLE_FILE} nor ${INDEX_FILE} found`);
    }
    const weightMap = readWeightMap(indexFile);
    const namesByShard = new Map<string, string[]>();
    for (const [name, shard] of Object.entries(weightMap)) {
      namesByShard.set(shard, [...(namesByShard.get(shard) ?? []), name]);
    }
    for (const [shard, names] of namesByShard) {
      const shardFile = path.join(this.dir, shard);
      if (!fs.existsSync(shardFile)) {
        throw new Error(`${indexFile}: shard file ${shard} (for tensor "${names[0]}") is missing`);
      }
      const f = this.openFile(shardFile);
      const entries = new Map(f.header.entries.map((e) => [e.name, e]));
      for (const name of names) {
        const entry = entries.get(name);
        if (entry === undefined) {
          throw new Error(`${shardFile}: tensor "${name}" listed in ${INDEX_FILE} is missing`);
        }
        this.where.set(name, { file: f, entry });
      }
      for (const name of entries.keys()) {
        if (weightMap[name] !== shard) {
          throw new Error(
            `${shardFile}: tensor "${name}" is not mapped to this shard in ${INDEX_FILE}`,
          );
        }
      }
    }
  }
}

/** Load every tensor of a checkpoint directory, sharded or not (finite values checked). */
export function loadCheckpointTensors(dir: string): Map<string, TensorEntry> {
  const reader = CheckpointReader.open(dir);
  try {
    return reader.readAll();
  } finally {
    reader.close();
  }
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
  for (const [name, t] of items) checkEntry(name, t);
  const shards = planShards(
    items,
    ([, t]) => t.data.byteLength,
    options.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES,
  );
  if (shards.length === 0) shards.push([]);
  fs.mkdirSync(dir, { recursive: true });
  const files = shardFileNames(shards.length);
  shards.forEach((shard, i) =>
    writeSafetensorsFile(path.join(dir, files[i]), new Map(shard), options.metadata),
  );
  finishCheckpoint(
    dir,
    shards.map((shard) => shard.map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape }))),
  );
}

/** File names of a checkpoint in `n` files (one: unsharded). */
function shardFileNames(n: number): string[] {
  if (n <= 1) return [SINGLE_FILE];
  return Array.from({ length: n }, (_, i) => `model-${pad5(i + 1)}-of-${pad5(n)}.safetensors`);
}

/** Write the index when sharded, and remove checkpoint files of an earlier save. */
function finishCheckpoint(dir: string, shards: TensorSpec[][]): void {
  const files = shardFileNames(shards.length);
  const written = new Set(files);
  if (shards.length > 1) {
    const weightMap: Record<string, string> = {};
    let totalSize = 0;
    shards.forEach((shard, i) => {
      for (const t of shard) {
        weightMap[t.name] = files[i];
        totalSize += tensorByteLength(t.dtype, t.shape);
      }
    });
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
export function planShards<T>(items: T[], size: (item: T) => number, maxShardBytes: number): T[][] {
  if (!(maxShardBytes > 0)) throw new Error(`maxShardBytes must be positive, got ${maxShardBytes}`);
  const shards: T[][] = [];
  let current: T[] = [];
  let currentBytes = 0;
  for (const item of items) {
    const bytes = size(item);
    if (bytes > maxShardBytes) {
      shards.push([item]);
      continue;
    }
    if (currentBytes + bytes > maxShardBytes) {
      shards.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(item);
    currentBytes += bytes;
  }
  if (current.length > 0) shards.push(current);
  return shards;
}

/**
 * Split tensors, in order, into exactly `n` contiguous groups of about equal bytes: group k
 * ends with the tensor that carries the running total past k/n of the whole (each group keeps
 * at least one tensor).
 */
export function splitEvenly(specs: TensorSpec[], n: number): TensorSpec[][] {
  if (!Number.isInteger(n) || n < 1 || n > specs.length) {
    throw new Error(`cannot split ${specs.length} tensors into ${n} shards`);
  }
  const sizes = specs.map((t) => tensorByteLength(t.dtype, t.shape));
  const total = sizes.reduce((a, b) => a + b, 0);
  const groups: TensorSpec[][] = [];
  let current: TensorSpec[] = [];
  let running = 0;
  specs.forEach((t, i) => {
    current.push(t);
    running += sizes[i];
    const left = specs.length - i - 1;
    const groupsAfter = n - groups.length - 1;
    const full = running >= (total * (groups.length + 1)) / n;
    if (groupsAfter > 0 && (full || left === groupsAfter)) {
      groups.push(current);
      current = [];
    }
  });
  groups.push(current);
  return groups;
}

/** Receives a tensor's bytes in order, in pieces of any size. */
export type ByteSink = (bytes: Uint8Array) => void;

/**
 * Write a checkpoint whose tensors are produced one at a time: `groups` are the files (one
 * group: `model.safetensors`; several: shards and index), and `produce` is called for every
 * tensor in the order given, handing its bytes to the sink. Nothing but the piece being written
 * is held; each file is written under a temporary name and renamed when complete.
 */
export function writeCheckpointStreaming(
  dir: string,
  groups: TensorSpec[][],
  produce: (spec: TensorSpec, sink: ByteSink) => void,
  metadata?: Record<string, string>,
): void {
  fs.mkdirSync(dir, { recursive: true });
  const files = shardFileNames(groups.length);
  groups.forEach((group, i) =>
    writeFileStreaming(path.join(dir, files[i]), group, produce, metadata),
  );
  finishCheckpoint(dir, groups);
}

function writeFileStreaming(
  file: string,
  specs: TensorSpec[],
  produce: (spec: TensorSpec, sink: ByteSink) => void,
  metadata?: Record<string, string>,
): void {
  const layout = layoutFile(specs, metadata);
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = withPath("open", tmp, () => fs.openSync(tmp, "w"));
  try {
    writeAll(fd, tmp, layout.header, 0);
    for (const spec of specs) {
      const begin = layout.header.byteLength + layout.offsets.get(spec.name)!;
      const size = tensorByteLength(spec.dtype, spec.shape);
      let written = 0;
      produce(spec, (bytes) => {
        if (written + bytes.byteLength > size) {
          throw new Error(`${file}: tensor "${spec.name}" was given more than its ${size} bytes`);
        }
        writeAll(fd, tmp, bytes, begin + written);
        written += bytes.byteLength;
      });
      if (written !== size) {
        throw new Error(`${file}: tensor "${spec.name}" was given ${written} of its ${size} bytes`);
      }
    }
    fs.closeSync(fd);
    withPath("rename", tmp, () => fs.renameSync(tmp, file));
  } catch (e) {
    try {
      fs.closeSync(fd);
    } catch {
      // Already closed: the failure to report is the write's.
    }
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

function writeAll(fd: number, file: string, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.byteLength) {
    done += withPath("write", file, () =>
      fs.writeSync(fd, bytes, done, bytes.byteLength - done, position + done),
    );
  }
}

function pad5(n: number): string {
  return String(n).padStart(5, "0");
}
