import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { CPF_PYTHON, CSN_PYTHON } from "../fixtures/data/rows";
import { tinyRepo } from "./tiny_repo";

const BIN = path.resolve(__dirname, "..", "..", "bin", "narrator.js");

/** Run the narrator command line as a user does. */
function cli(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], {
    encoding: "utf8",
    env: { ...process.env, NARRATOR_DEBUG: "" },
  });
}

/** A data directory with the python rows, CodeSearchNet's gzip file damaged by `damage`. */
function dataDir(damage: (gz: Buffer) => Buffer): { dir: string; file: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-cli-data-"));
  fs.mkdirSync(path.join(dir, "codesearchnet"));
  fs.mkdirSync(path.join(dir, "commitpackft"));
  const file = path.join(dir, "codesearchnet", "python.jsonl.gz");
  const gz = zlib.gzipSync(CSN_PYTHON.map((r) => JSON.stringify(r)).join("\n") + "\n");
  fs.writeFileSync(file, damage(gz));
  fs.writeFileSync(
    path.join(dir, "commitpackft", "python.jsonl"),
    CPF_PYTHON.map((r) => JSON.stringify(r)).join("\n") + "\n",
  );
  return { dir, file };
}

test("data stats on damaged gzip: one line naming the file, exit 1, no stack trace", () => {
  const damages: [string, (gz: Buffer) => Buffer, string][] = [
    [
      "crc",
      (gz) => {
        const out = Buffer.from(gz);
        out[out.length - 8] ^= 0xff;
        return out;
      },
      "incorrect data check",
    ],
    ["garbage", (gz) => Buffer.concat([gz, Buffer.from("xyz")]), "incorrect header check"],
    ["empty", () => Buffer.alloc(0), "empty file, expected gzip data"],
  ];
  for (const [name, damage, problem] of damages) {
    const { dir, file } = dataDir(damage);
    try {
      // readRows' tests cover every damage in both modes; here the crc one is run in both.
      for (const lenient of name === "crc" ? [[], ["--lenient"]] : [[]]) {
        const r = cli(["data", "stats", "--data", dir, "--languages", "python", ...lenient]);
        assert.equal(r.status, 1, `${name}: ${r.stderr}`);
        const lines = r.stderr.split("\n").filter((l) => l !== "");
        assert.equal(lines.length, 1, `${name}: ${r.stderr}`);
        assert.ok(lines[0].startsWith(`narrator: ${file}: `), `${name}: ${r.stderr}`);
        assert.ok(lines[0].includes(problem), `${name}: ${r.stderr}`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
});

test("data mine and data download go through the common parser: --flag=value works, unknown flags are named", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-cli-mine-"));
  try {
    const repo = tinyRepo(root);
    const out = path.join(root, "out");
    const ok = cli(["data", "mine", `--out=${out}`, "--languages=python", repo]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^wrote .*codesearchnet\/python\.jsonl\.gz \(1 rows\)$/m);
    assert.match(ok.stdout, /^no rows, so no file: commitpackft\/python$/m);

    const again = cli(["data", "mine", "--out", out, "--languages", "python", repo]);
    assert.equal(again.status, 1, again.stderr);
    assert.match(again.stderr, /already exists; give --force to replace them/);

    const unknown = cli(["data", "download", "--data-dirr=/tmp/x"]);
    assert.equal(unknown.status, 2, unknown.stderr);
    assert.match(unknown.stderr, /^narrator: Unknown option '--data-dirr'/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
