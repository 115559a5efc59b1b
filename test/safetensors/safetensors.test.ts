import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  firstNonFinite,
  parseSafetensors,
  readSafetensorsFile,
  serializeSafetensors,
  writeSafetensorsFile,
  type TensorEntry,
} from "../../src/safetensors/safetensors";
import { loadCheckpointTensors, saveCheckpointTensors } from "../../src/safetensors/checkpoint";
import { int64ToNumbers, toFloat32 } from "../../src/safetensors/float16";

/** A file assembled by hand: 8-byte little-endian header length, the header text, data bytes. */
function assemble(header: string | number[], data: number[] = []): Uint8Array {
  const headerBytes = typeof header === "string" ? [...Buffer.from(header, "utf8")] : header;
  const n = headerBytes.length;
  const prefix = [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >> 24) & 0xff, 0, 0, 0, 0];
  return new Uint8Array([...prefix, ...headerBytes, ...data]);
}

/** Header text of one tensor entry. */
const info = (dtype: string, shape: unknown, offsets: unknown) =>
  `{"dtype":"${dtype}","shape":${JSON.stringify(shape)},"data_offsets":${JSON.stringify(offsets)}}`;

const text = (b: Uint8Array) => Buffer.from(b).toString("utf8");

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "safetensors-test-"));
}

test("parses the reference implementation's documented example byte for byte", () => {
  // From the safetensors docs: '<' (= 60) as the length, an I32 [2,2] tensor, 16 zero bytes.
  const header = '{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}';
  const file = new Uint8Array([
    60,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    ...Buffer.from(header),
    ...new Array(16).fill(0),
  ]);
  const { tensors, metadata } = parseSafetensors(file, "doc.safetensors");
  assert.deepEqual([...tensors.keys()], ["test"]);
  const t = tensors.get("test")!;
  assert.equal(t.dtype, "I32");
  assert.deepEqual(t.shape, [2, 2]);
  assert.deepEqual([...t.data], new Array(16).fill(0));
  assert.deepEqual(metadata, {});
});

test("parses names, dtypes, shapes, values and metadata of a hand-built file", () => {
  const header =
    '{"__metadata__":{"format":"pt","note":"hand made"},' +
    `"h":${info("F16", [2, 2], [0, 8])},"b":${info("BF16", [2], [8, 12])},` +
    `"n":${info("I64", [2], [12, 28])},"w":${info("F32", [2], [28, 36])},` +
    `"ids":${info("U8", [3], [36, 39])},"s":${info("F32", [], [39, 43])}}`;
  const data = [
    ...[0x00, 0x3c, 0x00, 0xc1, 0xff, 0x7b, 0x01, 0x00], // F16 1, -2.5, 65504, 2^-24
    ...[0x80, 0x3f, 0x49, 0x40], // BF16 1, 3.140625
    ...[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 1, 0, 0], // I64 -1, 2^40
    ...[0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0], // F32 1, -2
    ...[7, 8, 255], // U8
    ...[0, 0, 0x20, 0xc0], // F32 scalar -2.5 (0xc0200000)
  ];
  const { tensors, metadata } = parseSafetensors(assemble(header, data), "hand.safetensors");
  assert.deepEqual(metadata, { format: "pt", note: "hand made" });
  assert.deepEqual([...tensors.keys()], ["h", "b", "n", "w", "ids", "s"]);
  const get = (name: string) => tensors.get(name)!;
  assert.deepEqual([get("h").dtype, get("h").shape], ["F16", [2, 2]]);
  assert.deepEqual([...toFloat32(get("h"))], [1, -2.5, 65504, 2 ** -24]);
  assert.deepEqual([...toFloat32(get("b"))], [1, 3.140625]);
  assert.deepEqual(int64ToNumbers(get("n")), [-1, 2 ** 40]);
  assert.deepEqual([...toFloat32(get("w"))], [1, -2]);
  assert.deepEqual([get("ids").dtype, [...get("ids").data]], ["U8", [7, 8, 255]]);
  assert.deepEqual([get("s").shape, [...toFloat32(get("s"))]], [[], [-2.5]]);
});

test("tensors may be listed in any order and zero-sized tensors are allowed", () => {
  const header = `{"late":${info("U8", [2], [1, 3])},"empty":${info("F32", [0, 4], [0, 0])},"early":${info("U8", [1], [0, 1])}}`;
  const { tensors } = parseSafetensors(assemble(header, [10, 20, 30]), "order");
  assert.deepEqual([...tensors.get("early")!.data], [10]);
  assert.deepEqual([...tensors.get("late")!.data], [20, 30]);
  assert.equal(tensors.get("empty")!.data.byteLength, 0);
});

test("rejects malformed files with a message naming the problem", () => {
  const u8 = (name: string, offsets: [number, number]) =>
    `"${name}":${info("U8", [offsets[1] - offsets[0]], offsets)}`;
  const cases: [string, Uint8Array, RegExp][] = [
    ["short file", new Uint8Array(5), /bad: file is 5 bytes, shorter than the 8-byte/],
    [
      "header over 100 MB",
      new Uint8Array([0x01, 0xe1, 0xf5, 0x05, 0, 0, 0, 0, 0x7b, 0x7d]), // 100,000,001
      /bad: header length 100000001 exceeds the 100000000-byte limit/,
    ],
    [
      "header length near 2^64",
      new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7b, 0x7d]),
      /exceeds the 100000000-byte limit/,
    ],
    [
      "header beyond the file end",
      new Uint8Array([100, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d]),
      /header length 100 runs beyond the end of the 10-byte file/,
    ],
    ["invalid UTF-8", assemble([0x7b, 0xff, 0x7d]), /header is not valid UTF-8/],
    ["byte-order mark", assemble([0xef, 0xbb, 0xbf, 0x7b, 0x7d]), /header is not valid JSON/],
    ["not JSON", assemble('{"a":'), /header is not valid JSON/],
    ["JSON array", assemble("[1,2]"), /header JSON is not an object/],
    ["JSON null", assemble("null"), /header JSON is not an object/],
    [
      "duplicate tensor name",
      assemble(`{${u8("a", [0, 1])},${u8("a", [0, 1])}}`, [1]),
      /duplicate key "a" at the top level/,
    ],
    [
      "duplicate spelled with an escape",
      assemble(`{${u8("a", [0, 1])},${u8("\\u0061", [0, 1])}}`, [1]),
      /duplicate key "a" at the top level/,
    ],
    [
      "duplicate field inside a tensor",
      assemble('{"a":{"dtype":"U8","dtype":"U8","shape":[1],"data_offsets":[0,1]}}', [1]),
      /duplicate key "dtype" in object "a"/,
    ],
    [
      "duplicate metadata key",
      assemble('{"__metadata__":{"k":"1","k":"2"}}'),
      /duplicate key "k" in object "__metadata__"/,
    ],
    [
      "unknown dtype",
      assemble(`{"a":${info("Q4", [1], [0, 1])}}`, [1]),
      /tensor "a": unknown or unsupported dtype "Q4"/,
    ],
    [
      "negative dimension",
      assemble(`{"a":${info("U8", [-1], [0, 1])}}`, [1]),
      /tensor "a": shape \[-1\] is not an array of non-negative integers/,
    ],
    [
      "fractional dimension",
      assemble(`{"a":${info("U8", [1.5], [0, 1])}}`, [1]),
      /tensor "a": shape \[1.5\] is not an array/,
    ],
    [
      "shape not an array",
      assemble(`{"a":${info("U8", "1", [0, 1])}}`, [1]),
      /tensor "a": shape "1" is not an array/,
    ],
    [
      "offsets of wrong length",
      assemble(`{"a":${info("U8", [1], [0])}}`, [1]),
      /tensor "a": data_offsets \[0\] is not \[begin, end\]/,
    ],
    [
      "offsets reversed",
      assemble(`{"a":${info("U8", [1], [1, 0])}}`, [1]),
      /tensor "a": data_offsets \[1,0\] is not \[begin, end\] with non-negative integers begin <= end/,
    ],
    [
      "offset not a number",
      assemble(`{"a":${info("U8", [1], [0, "1"])}}`, [1]),
      /tensor "a": data_offsets \[0,"1"\]/,
    ],
    [
      "offsets beyond the data",
      assemble(`{"a":${info("U8", [8], [0, 8])}}`, [1, 2, 3, 4]),
      /tensor "a": data_offsets \[0, 8\] run beyond the 4-byte data section/,
    ],
    [
      "overlapping tensors",
      assemble(`{${u8("a", [0, 4])},${u8("b", [2, 6])}}`, [1, 2, 3, 4, 5, 6]),
      /tensor "b" data_offsets \[2, 6\] overlap tensor "a" \[0, 4\]/,
    ],
    [
      "hole between tensors",
      assemble(`{${u8("a", [0, 2])},${u8("b", [4, 6])}}`, [1, 2, 3, 4, 5, 6]),
      /tensor "b" starts at 4, leaving a hole .*bytes 2\.\.4/,
    ],
    [
      "data not fully covered",
      assemble(`{${u8("a", [0, 2])}}`, [1, 2, 3, 4]),
      /tensors cover 2 bytes but the data section has 4/,
    ],
    [
      "byte size does not match dtype and shape",
      assemble(`{"a":${info("F32", [2], [0, 4])}}`, [1, 2, 3, 4]),
      /tensor "a": F32 shape \[2\] needs 8 bytes but data_offsets \[0, 4\] hold 4/,
    ],
    [
      "shape product beyond 2^53",
      assemble(`{"a":${info("U8", [2 ** 30, 2 ** 30, 2 ** 30], [0, 1])}}`, [1]),
      /tensor "a": U8 shape .* needs 1237940039285380274899124224 bytes/,
    ],
    [
      "metadata value not a string",
      assemble('{"__metadata__":{"k":1}}'),
      /__metadata__ value for "k" is 1, expected a string/,
    ],
    ["metadata not an object", assemble('{"__metadata__":["k"]}'), /__metadata__ is not an object/],
    ["tensor entry not an object", assemble('{"a":[1]}'), /tensor "a": entry is not an object/],
    [
      "missing field",
      assemble('{"a":{"dtype":"U8","shape":[1]}}', [1]),
      /tensor "a": missing field "data_offsets"/,
    ],
    [
      "unexpected field",
      assemble('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"x":0}}', [1]),
      /tensor "a": unexpected field "x"/,
    ],
  ];
  for (const [what, file, message] of cases) {
    assert.throws(() => parseSafetensors(file, "bad"), message, what);
    assert.throws(() => parseSafetensors(file, "bad"), /^Error: bad: /, what);
  }
});

test("writer output matches the reference layout byte for byte", () => {
  // Expected bytes from the reference implementation's own serialization tests.
  const f32Bytes = [
    0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
  ];
  const data = new Uint8Array(f32Bytes); // 0, 1, 2, 3, 4, 5 as float32
  const out = serializeSafetensors({ "attn.0": { dtype: "F32", shape: [1, 2, 3], data } });
  const header = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}'; // 64 bytes
  assert.deepEqual([...out], [64, 0, 0, 0, 0, 0, 0, 0, ...Buffer.from(header), ...f32Bytes]);

  // A 65-byte header is padded with 7 spaces to 72.
  const padded = serializeSafetensors({ attn0: { dtype: "F32", shape: [1, 1, 2, 3], data } });
  const header72 =
    '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}' + " ".repeat(7);
  assert.deepEqual([...padded], [72, 0, 0, 0, 0, 0, 0, 0, ...Buffer.from(header72), ...f32Bytes]);

  assert.deepEqual(
    [...serializeSafetensors({})],
    [8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32],
  );
  const withMeta = serializeSafetensors(new Map(), { framework: "pt" });
  assert.deepEqual(
    [...withMeta],
    [40, 0, 0, 0, 0, 0, 0, 0, ...Buffer.from('{"__metadata__":{"framework":"pt"}}     ')],
  );
});

test("writer orders tensors by descending dtype alignment, then name", () => {
  const entry = (dtype: TensorEntry["dtype"], n: number): TensorEntry => ({
    dtype,
    shape: [1],
    data: new Uint8Array(n).fill(n),
  });
  const out = serializeSafetensors({
    b: entry("U8", 1),
    c: entry("F32", 4),
    z: entry("I64", 8),
    a: entry("F32", 4),
    h: entry("BF16", 2),
    g: entry("F16", 2),
    f: entry("F64", 8),
    i: entry("I32", 4),
  });
  // Reference order I64 > F64 > F32 > I32 > BF16 > F16 > U8; offsets summed by hand.
  const expected =
    `{"z":${info("I64", [1], [0, 8])},"f":${info("F64", [1], [8, 16])},` +
    `"a":${info("F32", [1], [16, 20])},"c":${info("F32", [1], [20, 24])},` +
    `"i":${info("I32", [1], [24, 28])},"h":${info("BF16", [1], [28, 30])},` +
    `"g":${info("F16", [1], [30, 32])},"b":${info("U8", [1], [32, 33])}}`;
  const n = Buffer.from(out).readUInt32LE(0);
  assert.equal(text(out.subarray(8, 8 + n)).trimEnd(), expected);
  assert.equal(n % 8, 0);
  assert.deepEqual(
    [...out.subarray(8 + n)],
    [
      8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 2, 2, 2,
      2, 1,
    ],
  );
});

test("writer rejects inconsistent tensors", () => {
  const bad = { dtype: "F32", shape: [2], data: new Uint8Array(4) } as TensorEntry;
  assert.throws(
    () => serializeSafetensors({ w: bad }),
    /tensor "w": F32 shape \[2\] needs 8 bytes, data has 4/,
  );
  const reserved = { dtype: "U8", shape: [1], data: new Uint8Array(1) } as TensorEntry;
  assert.throws(() => serializeSafetensors({ __metadata__: reserved }), /reserved/);
  const meta = { k: 1 } as unknown as Record<string, string>;
  assert.throws(() => serializeSafetensors({}, meta), /__metadata__ value for "k" is not a string/);
});

test("writer output round-trips, also from an unaligned position", () => {
  const tensors = new Map<string, TensorEntry>([
    [
      "layer.0.w",
      { dtype: "F32", shape: [2, 1], data: new Uint8Array([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]) },
    ],
    ["ids", { dtype: "I64", shape: [1], data: new Uint8Array([5, 0, 0, 0, 0, 0, 0, 0]) }],
    ["mask", { dtype: "BOOL", shape: [3], data: new Uint8Array([1, 0, 1]) }],
    ["é", { dtype: "I8", shape: [1], data: new Uint8Array([0xff]) }],
  ]);
  const out = serializeSafetensors(tensors, { 'quote"key': "line\nbreak" });
  const shifted = new Uint8Array(out.byteLength + 1);
  shifted.set(out, 1);
  const parsed = parseSafetensors(shifted.subarray(1), "roundtrip");
  assert.deepEqual(parsed.metadata, { 'quote"key': "line\nbreak" });
  assert.deepEqual(new Set(parsed.tensors.keys()), new Set(tensors.keys()));
  for (const [name, t] of tensors) {
    const back = parsed.tensors.get(name)!;
    assert.deepEqual([back.dtype, back.shape, [...back.data]], [t.dtype, t.shape, [...t.data]]);
  }
  assert.deepEqual([...toFloat32(parsed.tensors.get("layer.0.w")!)], [1, -2]);
});

test("file write and read round-trip; read errors name the file", () => {
  const dir = tmpDir();
  const file = path.join(dir, "sub", "a.safetensors");
  const w: TensorEntry = { dtype: "U8", shape: [2, 2], data: new Uint8Array([1, 2, 3, 4]) };
  writeSafetensorsFile(file, { w }, { format: "pt" });
  const read = readSafetensorsFile(file);
  assert.deepEqual(read.metadata, { format: "pt" });
  assert.deepEqual([...read.tensors.get("w")!.data], [1, 2, 3, 4]);
  assert.deepEqual(fs.readdirSync(path.dirname(file)), ["a.safetensors"]); // no temp file left

  const truncated = path.join(dir, "truncated.safetensors");
  fs.writeFileSync(truncated, fs.readFileSync(file).subarray(0, -1));
  assert.throws(
    () => readSafetensorsFile(truncated),
    new RegExp(`^Error: ${truncated}: tensor "w": data_offsets \\[0, 4\\] run beyond the 3-byte`),
  );
  const tiny = path.join(dir, "tiny.safetensors");
  fs.writeFileSync(tiny, new Uint8Array(3));
  assert.throws(() => readSafetensorsFile(tiny), /tiny.safetensors: file is 3 bytes, shorter than/);
  assert.throws(
    () => readSafetensorsFile(path.join(dir, "absent.safetensors")),
    /cannot open .*absent.safetensors: no such file or directory \(ENOENT\)/,
  );
  // A directory opens on Linux but cannot be read: the error names it.
  assert.throws(
    () => readSafetensorsFile(dir),
    new RegExp(`^Error: cannot read ${dir}: illegal operation on a directory \\(EISDIR\\)$`),
  );
  fs.rmSync(dir, { recursive: true });
});

/** A U8 tensor of n bytes, each equal to `fill`. */
const u8Tensor = (n: number, fill: number): TensorEntry => ({
  dtype: "U8",
  shape: [n],
  data: new Uint8Array(n).fill(fill),
});

test("sharded save follows Hugging Face's split and loads back", () => {
  const dir = tmpDir();
  const tensors = new Map([
    ["a", u8Tensor(16, 1)],
    ["b", u8Tensor(16, 2)],
    ["c", u8Tensor(40, 3)],
    ["d", u8Tensor(8, 4)],
  ]);
  saveCheckpointTensors(dir, tensors, { maxShardBytes: 32, metadata: { format: "pt" } });
  // Worked by hand with a 32-byte limit: a+b fill one shard (32); c (40) is larger than the limit
  // and gets its own shard, appended before a+b's is closed; d opens a third.
  const index = JSON.parse(fs.readFileSync(path.join(dir, "model.safetensors.index.json"), "utf8"));
  assert.deepEqual(index, {
    metadata: { total_size: 80 },
    weight_map: {
      a: "model-00002-of-00003.safetensors",
      b: "model-00002-of-00003.safetensors",
      c: "model-00001-of-00003.safetensors",
      d: "model-00003-of-00003.safetensors",
    },
  });
  assert.deepEqual(fs.readdirSync(dir).sort(), [
    "model-00001-of-00003.safetensors",
    "model-00002-of-00003.safetensors",
    "model-00003-of-00003.safetensors",
    "model.safetensors.index.json",
  ]);
  const shard2 = readSafetensorsFile(path.join(dir, "model-00002-of-00003.safetensors"));
  assert.deepEqual([...shard2.tensors.keys()], ["a", "b"]);
  assert.deepEqual(shard2.metadata, { format: "pt" });

  const loaded = loadCheckpointTensors(dir);
  assert.deepEqual([...loaded.keys()].sort(), ["a", "b", "c", "d"]);
  for (const [name, t] of tensors) assert.deepEqual([...loaded.get(name)!.data], [...t.data], name);

  // Saving again unsharded replaces the shards and the index with one file.
  saveCheckpointTensors(dir, { a: u8Tensor(16, 9) });
  assert.deepEqual(fs.readdirSync(dir), ["model.safetensors"]);
  assert.deepEqual([...loadCheckpointTensors(dir).get("a")!.data], new Array(16).fill(9));
  fs.rmSync(dir, { recursive: true });
});

test("sharded load rejects missing shards, missing tensors and unsafe shard names", () => {
  const dir = tmpDir();
  assert.throws(
    () => loadCheckpointTensors(dir),
    /neither model.safetensors nor model.safetensors.index.json/,
  );
  const writeIndex = (weightMap: Record<string, string>) =>
    fs.writeFileSync(
      path.join(dir, "model.safetensors.index.json"),
      JSON.stringify({ weight_map: weightMap }),
    );
  writeSafetensorsFile(path.join(dir, "s1.safetensors"), { x: u8Tensor(2, 1) });

  writeIndex({ x: "s1.safetensors", y: "s2.safetensors" });
  assert.throws(
    () => loadCheckpointTensors(dir),
    /shard file s2.safetensors \(for tensor "y"\) is missing/,
  );
  writeIndex({ x: "s1.safetensors", y: "s1.safetensors" });
  assert.throws(
    () => loadCheckpointTensors(dir),
    /s1.safetensors: tensor "y" listed in model.safetensors.index.json is missing/,
  );
  writeIndex({});
  writeIndex({ x: "../s1.safetensors" });
  assert.throws(
    () => loadCheckpointTensors(dir),
    /weight_map\["x"\] is "..\/s1.safetensors", expected a file name/,
  );
  fs.writeFileSync(path.join(dir, "model.safetensors.index.json"), '{"metadata":{}}');
  assert.throws(() => loadCheckpointTensors(dir), /weight_map is missing or not an object/);

  writeSafetensorsFile(path.join(dir, "s3.safetensors"), { x: u8Tensor(1, 1), z: u8Tensor(1, 2) });
  writeIndex({ x: "s3.safetensors" });
  assert.throws(
    () => loadCheckpointTensors(dir),
    /s3.safetensors: tensor "z" is not mapped to this shard/,
  );
  fs.rmSync(dir, { recursive: true });
});

test("firstNonFinite reads NaN and infinities from raw bytes, hand-written bit patterns", () => {
  // Little-endian elements; each list ends with the non-finite one (or has none).
  const entry = (dtype: TensorEntry["dtype"], bytes: number[], size: number): TensorEntry => ({
    dtype,
    shape: [bytes.length / size],
    data: new Uint8Array(bytes),
  });
  const at = (t: TensorEntry) => {
    const r = firstNonFinite(t);
    return r && [r.index, r.value];
  };
  // F16: 0x7bff = 65504 (largest finite), 0xfbff = -65504, 0x7c00 = +inf, 0xfc00 = -inf,
  // 0x7e00 = NaN, 0x7c01 = NaN (a single mantissa bit).
  assert.equal(at(entry("F16", [0xff, 0x7b, 0xff, 0xfb, 0x00, 0x3c], 2)), null);
  assert.deepEqual(at(entry("F16", [0xff, 0x7b, 0x00, 0x7c], 2)), [1, Infinity]);
  assert.deepEqual(at(entry("F16", [0x00, 0xfc], 2)), [0, -Infinity]);
  assert.deepEqual(at(entry("F16", [0x00, 0x00, 0x00, 0x7e], 2)), [1, NaN]);
  assert.deepEqual(at(entry("F16", [0x01, 0x7c], 2)), [0, NaN]);
  // BF16: 0x7f7f = 3.39e38 (largest finite), 0x7f80 = +inf, 0xff80 = -inf, 0x7fc0 = NaN,
  // 0x7f81 = NaN.
  assert.equal(at(entry("BF16", [0x7f, 0x7f, 0x7f, 0xff], 2)), null);
  assert.deepEqual(at(entry("BF16", [0x7f, 0x7f, 0x80, 0x7f], 2)), [1, Infinity]);
  assert.deepEqual(at(entry("BF16", [0x80, 0xff], 2)), [0, -Infinity]);
  assert.deepEqual(at(entry("BF16", [0xc0, 0x7f], 2)), [0, NaN]);
  assert.deepEqual(at(entry("BF16", [0x81, 0x7f], 2)), [0, NaN]);
  // F32: 0x7f7fffff = largest finite, 0x7f800000 = +inf, 0xff800000 = -inf, 0x7f800001 = NaN.
  assert.equal(at(entry("F32", [0xff, 0xff, 0x7f, 0x7f], 4)), null);
  assert.deepEqual(at(entry("F32", [0xff, 0xff, 0x7f, 0x7f, 0, 0, 0x80, 0x7f], 4)), [1, Infinity]);
  assert.deepEqual(at(entry("F32", [0, 0, 0x80, 0xff], 4)), [0, -Infinity]);
  assert.deepEqual(at(entry("F32", [1, 0, 0x80, 0x7f], 4)), [0, NaN]);
  // F64: 0x7fefffffffffffff = largest finite, 0x7ff0000000000000 = +inf, 0x7ff0000000000001 = NaN.
  assert.equal(at(entry("F64", [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xef, 0x7f], 8)), null);
  assert.deepEqual(at(entry("F64", [0, 0, 0, 0, 0, 0, 0xf0, 0x7f], 8)), [0, Infinity]);
  assert.deepEqual(at(entry("F64", [1, 0, 0, 0, 0, 0, 0xf0, 0x7f], 8)), [0, NaN]);
  // Integer dtypes are never non-finite, whatever their bytes.
  assert.equal(at(entry("U8", [0xff, 0x7f], 1)), null);
  assert.equal(at(entry("I32", [0, 0, 0x80, 0x7f], 4)), null);
});

test("a checkpoint with a NaN or infinity is refused, naming the file (shard) and tensor", () => {
  const dir = tmpDir();
  const f32 = (values: number[]): TensorEntry => ({
    dtype: "F32",
    shape: [values.length],
    data: new Uint8Array(Float32Array.from(values).buffer),
  });
  saveCheckpointTensors(dir, { a: f32([1, 2]), b: f32([3, NaN, 5]) });
  assert.throws(
    () => loadCheckpointTensors(dir),
    /model\.safetensors: tensor "b" holds NaN at element 1 of F32 \[3\]; weights must be finite/,
  );
  // Sharded (16 bytes a shard): the infinity lies in the second shard.
  saveCheckpointTensors(
    dir,
    { a: f32([1, 2, 3, 4]), b: f32([5, 6, -Infinity, 8]) },
    {
      maxShardBytes: 16,
    },
  );
  assert.throws(
    () => loadCheckpointTensors(dir),
    /model-00002-of-00002\.safetensors: tensor "b" holds -Infinity at element 2 of F32 \[4\]/,
  );
  fs.rmSync(dir, { recursive: true });
});
