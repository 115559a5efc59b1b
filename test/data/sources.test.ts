import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { codeSearchNetSpec } from "../../src/data/codesearchnet";
import { commitPackFtSpec } from "../../src/data/commitpackft";
import { isLang, langFromName, LANGS, parseLangs } from "../../src/data/langs";
import { CODESEARCHNET_HF_COLUMNS, renameColumns } from "../../src/data/schemas";
import {
  datasetFiles,
  invalidUtf8Offset,
  MissingDataError,
  readParquet,
  readRows,
  configuredDataDir,
  resolveDataDir,
  RowError,
  splitFromPath,
} from "../../src/data/sources";
import { CPF_PYTHON, cpfRow, CSN_PYTHON } from "../fixtures/data/rows";

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "narrator-data-"));
}

function writeLines(file: string, lines: string[], gzip = false): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const text = lines.join("\n") + "\n";
  fs.writeFileSync(file, gzip ? zlib.gzipSync(text) : text);
}

const csnSpec = (dir: string) => codeSearchNetSpec(path.join(dir, "codesearchnet"));

test("plain and gzip JSON Lines read the same rows, and the hash is over the raw bytes", async () => {
  const dir = tmpDir();
  const lines = CSN_PYTHON.map((r) => JSON.stringify(r));
  const plain = path.join(dir, "plain", "codesearchnet", "python.jsonl");
  const gz = path.join(dir, "gz", "codesearchnet", "python.jsonl.gz");
  writeLines(plain, lines);
  writeLines(gz, lines, true);
  const a = await readRows([plain], csnSpec(path.join(dir, "plain")), "python", false);
  const b = await readRows([gz], csnSpec(path.join(dir, "gz")), "python", false);
  assert.equal(a.rows.length, CSN_PYTHON.length);
  assert.deepEqual(
    a.rows.map((r) => r.row),
    b.rows.map((r) => r.row),
  );
  assert.deepEqual(
    a.rows.map((r) => r.line),
    CSN_PYTHON.map((_, i) => i + 1),
  );
  assert.equal(a.rows[0].row.code, CSN_PYTHON[0].code);
  const gzBytes = fs.readFileSync(gz);
  assert.equal(b.reports[0].sha256, createHash("sha256").update(gzBytes).digest("hex"));
  assert.equal(b.reports[0].bytes, gzBytes.length);
});

test("bad JSON, a missing field and a wrong type name file, line and field", async () => {
  const dir = tmpDir();
  const file = path.join(dir, "codesearchnet", "python.jsonl");
  const good = JSON.stringify(CSN_PYTHON[0]);
  const missing = { ...CSN_PYTHON[1] };
  delete missing.docstring;
  const wrongType = { ...CSN_PYTHON[2], code: 42 };
  const cases: [string, RegExp][] = [
    ["{not json", /python\.jsonl: line 3: not valid JSON/],
    [JSON.stringify(missing), /python\.jsonl: line 3: field "docstring": missing/],
    [
      JSON.stringify(wrongType),
      /python\.jsonl: line 3: field "code": Expected string, received number/,
    ],
    ["[1, 2]", /python\.jsonl: line 3: expected a JSON object, got an array/],
    [
      JSON.stringify({ ...CSN_PYTHON[0], partition: "dev" }),
      /line 3: field "partition": Invalid enum value/,
    ],
    [
      JSON.stringify({ ...CSN_PYTHON[0], language: "java" }),
      /line 3: field "language": expected python \(the file's language\), got "java"/,
    ],
  ];
  for (const [bad, message] of cases) {
    writeLines(file, [good, good, bad, good]);
    await assert.rejects(readRows([file], csnSpec(dir), "python", false), (e: unknown) => {
      assert.ok(e instanceof RowError);
      assert.equal(e.file, file);
      assert.equal(e.line, 3);
      assert.match(e.message, message);
      return true;
    });
  }
});

test("a truncated gzip file is an error naming the file", async () => {
  const dir = tmpDir();
  const file = path.join(dir, "commitpackft", "python.jsonl.gz");
  const gz = zlib.gzipSync(
    Array.from({ length: 200 }, () => JSON.stringify(CPF_PYTHON[0])).join("\n"),
  );
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, gz.subarray(0, gz.length - 16));
  await assert.rejects(
    readRows([file], commitPackFtSpec, "python", true),
    new RegExp(`${file}: cannot read after line \\d+`),
  );
});

test("lenient mode skips bad rows and counts them per file", async () => {
  const dir = tmpDir();
  const a = path.join(dir, "codesearchnet", "python", "a.jsonl");
  const b = path.join(dir, "codesearchnet", "python", "b.jsonl.gz");
  const good = JSON.stringify(CSN_PYTHON[0]);
  writeLines(a, [good, "{oops", good, "", JSON.stringify({ ...CSN_PYTHON[0], code: null })]);
  writeLines(b, [good, good], true);
  const { rows, reports } = await readRows([a, b], csnSpec(dir), "python", true);
  assert.equal(rows.length, 4);
  assert.deepEqual(
    reports.map((r) => [path.basename(r.file), r.rows, r.skipped]),
    [
      ["a.jsonl", 2, 2],
      ["b.jsonl.gz", 2, 0],
    ],
  );
  assert.match(reports[0].firstErrors[0], /line 2: not valid JSON/);
  assert.match(reports[0].firstErrors[1], /line 5: field "code"/);
});

test("CommitPackFT rows: display-name languages are accepted for their file only", async () => {
  const dir = tmpDir();
  const file = path.join(dir, "commitpackft", "javascript.jsonl");
  writeLines(file, [
    JSON.stringify(
      cpfRow({
        commit: "c1",
        old: "a",
        new: "b",
        subject: "Change a to b now",
        lang: "JavaScript",
      }),
    ),
  ]);
  const ok = await readRows([file], commitPackFtSpec, "javascript", false);
  assert.equal(ok.rows[0].row.lang, "JavaScript");
  await assert.rejects(
    readRows([file], commitPackFtSpec, "java", false),
    /field "lang": expected java/,
  );
  const noRepos = { ...CPF_PYTHON[0] };
  delete noRepos.repos;
  writeLines(file, [JSON.stringify(noRepos)]);
  await assert.rejects(
    readRows([file], commitPackFtSpec, "python", false),
    /line 1: field "repos": missing/,
  );
});

test("language names map display names to ids", () => {
  assert.deepEqual(LANGS, ["python", "java", "javascript", "php", "ruby", "go"]);
  assert.equal(langFromName("JavaScript"), "javascript");
  assert.equal(langFromName("PHP"), "php");
  assert.equal(langFromName("Go"), "go");
  assert.equal(langFromName("TypeScript"), null);
  assert.equal(isLang("ruby"), true);
  assert.throws(() => parseLangs(["python", "cobol"]), /unknown language "cobol"/);
});

test("data directory: flag, then NARRATOR_DATA, then data/ or the shared sample beside the checkout", () => {
  const saved = process.env.NARRATOR_DATA;
  const root = path.resolve(__dirname, "..", "..");
  try {
    process.env.NARRATOR_DATA = "/tmp/from-env";
    assert.equal(resolveDataDir("/tmp/from-flag"), "/tmp/from-flag");
    assert.equal(resolveDataDir(), "/tmp/from-env");
    assert.equal(configuredDataDir(), "/tmp/from-env");
    delete process.env.NARRATOR_DATA;
    // Downloads go to the project's data/ whatever the working directory.
    assert.equal(configuredDataDir(), path.join(root, "data"));
    // Without either: data/ when it holds a dataset, else the shared sample when that does.
    const dir = tmpDir();
    const defaults = { data: path.join(dir, "data"), shared: path.join(dir, "shared") };
    assert.equal(resolveDataDir(undefined, defaults), defaults.data);
    fs.mkdirSync(path.join(defaults.shared, "commitpackft"), { recursive: true });
    assert.equal(resolveDataDir(undefined, defaults), defaults.shared);
    fs.mkdirSync(path.join(defaults.data, "codesearchnet"), { recursive: true });
    assert.equal(resolveDataDir(undefined, defaults), defaults.data);
    assert.equal(resolveDataDir("/tmp/from-flag", defaults), "/tmp/from-flag");
  } finally {
    if (saved === undefined) delete process.env.NARRATOR_DATA;
    else process.env.NARRATOR_DATA = saved;
  }
});

test("dataset layout: one file, a shard folder, or a clear error", () => {
  const dir = tmpDir();
  assert.throws(
    () => datasetFiles(dir, "codesearchnet", "python"),
    (e: unknown) =>
      e instanceof MissingDataError &&
      /narrator data download/.test(e.message) &&
      /python\.jsonl\.gz/.test(e.message),
  );
  fs.mkdirSync(path.join(dir, "codesearchnet"));
  assert.throws(
    () => datasetFiles(dir, "codesearchnet", "python"),
    /codesearchnet data for python not found.*narrator data download/,
  );
  writeLines(path.join(dir, "codesearchnet", "python.jsonl.gz"), ["{}"], true);
  assert.deepEqual(datasetFiles(dir, "codesearchnet", "python"), [
    path.join(dir, "codesearchnet", "python.jsonl.gz"),
  ]);
  writeLines(path.join(dir, "codesearchnet", "python.jsonl"), ["{}"]);
  assert.throws(() => datasetFiles(dir, "codesearchnet", "python"), /more than one copy/);
  // Shards under <lang>/, nested, read in sorted order; other files ignored.
  for (const f of [
    "java/train/0001.parquet",
    "java/train/0000.parquet",
    "java/test.jsonl.gz",
    "java/README.md",
  ])
    writeLines(path.join(dir, "codesearchnet", f), ["{}"]);
  assert.deepEqual(
    datasetFiles(dir, "codesearchnet", "java").map((f) =>
      path.relative(path.join(dir, "codesearchnet"), f),
    ),
    ["java/test.jsonl.gz", "java/train/0000.parquet", "java/train/0001.parquet"],
  );
});

test("Hugging Face column names and shard paths map to the published schema", () => {
  const row: Record<string, unknown> = {
    repository_name: "o/r",
    func_code_string: "def f(): pass",
    code: "kept",
    split_name: "test",
  };
  renameColumns(row, CODESEARCHNET_HF_COLUMNS);
  assert.deepEqual(row, {
    repo: "o/r",
    func_code_string: "def f(): pass",
    code: "kept",
    partition: "test",
  });
  assert.equal(splitFromPath("python/train/0000.parquet"), "train");
  assert.equal(splitFromPath("python/validation-00000-of-00001.parquet"), "valid");
  assert.equal(splitFromPath("python/test.parquet"), "test");
  assert.equal(splitFromPath("python.parquet"), null);
  assert.equal(splitFromPath("python/trainer.parquet"), null);
});

// No parquet writer is installed, so a real shard cannot be made here: this checks that the
// reader loads and that a damaged shard is an error naming the file.
test("a file that is not parquet is an error naming the file", async () => {
  const dir = tmpDir();
  const file = path.join(dir, "codesearchnet", "python", "train", "0000.parquet");
  writeLines(file, ["not a parquet file"]);
  await assert.rejects(readParquet(file), new RegExp(`${file}: cannot read parquet`));
  await assert.rejects(readRows([file], csnSpec(dir), "python", true), /cannot read parquet/);
});

/** A gzip file of the python CommitPackFT rows, damaged by `damage`. */
function damagedGzip(damage: (gz: Buffer) => Buffer): string {
  const file = path.join(tmpDir(), "commitpackft", "python.jsonl.gz");
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const gz = zlib.gzipSync(CPF_PYTHON.map((r) => JSON.stringify(r)).join("\n") + "\n");
  fs.writeFileSync(file, damage(gz));
  return file;
}

test("a gzip checksum error or trailing garbage is one error naming the file, lenient or not", async () => {
  const flipCrc = (gz: Buffer): Buffer => {
    const out = Buffer.from(gz);
    out[out.length - 8] ^= 0xff; // the CRC-32 in the trailer
    return out;
  };
  const cases: [string, Buffer | ((gz: Buffer) => Buffer), RegExp][] = [
    ["crc", flipCrc, /damaged gzip data: incorrect data check, the checksum does not match/],
    [
      "garbage",
      (gz) => Buffer.concat([gz, Buffer.from("left over bytes")]),
      /damaged gzip data: incorrect header check, bytes that are not gzip data/,
    ],
  ];
  for (const [name, damage, problem] of cases) {
    const file = damagedGzip(damage as (gz: Buffer) => Buffer);
    for (const lenient of [false, true]) {
      await assert.rejects(readRows([file], commitPackFtSpec, "python", lenient), (e: Error) => {
        assert.ok(
          e.message.startsWith(`${file}: cannot read after line `),
          `${name}: ${e.message}`,
        );
        assert.match(e.message, problem, name);
        return true;
      });
    }
  }
  // Every stream of the reader was closed with the error handled: nothing is left to throw later.
  await new Promise((r) => setTimeout(r, 50));
});

test("a 0-byte .jsonl.gz is an error naming the file, not an empty dataset", async () => {
  const file = damagedGzip(() => Buffer.alloc(0));
  for (const lenient of [false, true])
    await assert.rejects(
      readRows([file], commitPackFtSpec, "python", lenient),
      new RegExp(`^Error: ${file}: empty file, expected gzip data$`),
    );
  // A 0-byte plain .jsonl is still an empty file of rows.
  const plain = path.join(path.dirname(file), "python.jsonl");
  fs.writeFileSync(plain, "");
  assert.equal((await readRows([plain], commitPackFtSpec, "python", false)).rows.length, 0);
});

test("invalid UTF-8 is an error naming file, line and byte offset; lenient skips and counts the row", async () => {
  const dir = tmpDir();
  const good = Buffer.from(JSON.stringify(CSN_PYTHON[0]) + "\n");
  const bad = Buffer.from(JSON.stringify({ ...CSN_PYTHON[1], docstring: "Caf\u00e9 XX" }) + "\n");
  const at = bad.indexOf("XX");
  bad[at] = 0xc3; // a lead byte ...
  bad[at + 1] = 0x28; // ... not followed by a continuation byte
  const text = Buffer.concat([good, good, bad, good]);
  const where = `byte ${at} of the line, offset ${2 * good.length + at}`;
  for (const gzip of [false, true]) {
    const file = path.join(dir, "codesearchnet", gzip ? "python.jsonl.gz" : "python.jsonl");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, gzip ? zlib.gzipSync(text) : text);
    await assert.rejects(readRows([file], csnSpec(dir), "python", false), (e: unknown) => {
      assert.ok(e instanceof RowError);
      assert.equal(e.line, 3);
      assert.equal(
        e.message,
        `${file}: line 3: not valid UTF-8 (${where} in the ${gzip ? "decompressed " : ""}file)`,
      );
      return true;
    });
    const { rows, reports } = await readRows([file], csnSpec(dir), "python", true);
    assert.deepEqual(
      rows.map((r) => r.line),
      [1, 2, 4],
    );
    assert.ok(rows.every((r) => !r.row.docstring.includes("\ufffd")));
    assert.equal(reports[0].skipped, 1);
    assert.match(reports[0].firstErrors[0], /line 3: not valid UTF-8/);
    fs.rmSync(file);
  }
});

test("UTF-8 split across read chunks, CRLF and lone CR line ends read as before", async () => {
  const dir = tmpDir();
  const long = { ...CSN_PYTHON[0], docstring: "\u00e9\u4e2d\ud83d\ude00".repeat(40000) };
  const file = path.join(dir, "codesearchnet", "python.jsonl");
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const row = JSON.stringify(long);
  fs.writeFileSync(file, `${row}\r\n\r\n${row}\r{oops\n${row}`);
  const { rows, reports } = await readRows([file], csnSpec(dir), "python", true);
  assert.deepEqual(
    rows.map((r) => r.line),
    [1, 3, 5],
  );
  assert.equal(rows[2].row.docstring, long.docstring);
  assert.match(reports[0].firstErrors[0], /line 4: not valid JSON/);
});

test("invalidUtf8Offset finds the first byte of a bad sequence", () => {
  const cases: [number[], number][] = [
    [[0x61, 0xc3, 0xa9], -1],
    [[0xf0, 0x9f, 0x98, 0x80], -1],
    [[0x61, 0xc0, 0x80], 1], // overlong
    [[0xed, 0xa0, 0x80], 0], // surrogate
    [[0xf4, 0x90, 0x80, 0x80], 0], // above U+10FFFF
    [[0x61, 0x62, 0xe2, 0x82], 2], // truncated
    [[0x80], 0],
  ];
  for (const [bytes, at] of cases)
    assert.equal(invalidUtf8Offset(Uint8Array.from(bytes)), at, JSON.stringify(bytes));
});
