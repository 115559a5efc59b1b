import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { makeRepo } from "../narrate/repo";

const RANDOM = "models/narrator-2m-random";
const root = fs.mkdtempSync(path.join(os.tmpdir(), "cli-fs-"));
after(() => fs.rmSync(root, { recursive: true, force: true }));

function cli(args: string[]) {
  return spawnSync(process.execPath, ["bin/narrator.js", ...args], { encoding: "utf8" });
}

/** A failed command: exit code 1 and exactly one line on stderr (no stack trace). */
function failsWith(r: ReturnType<typeof cli>, line: string | RegExp): void {
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stderr.split("\n").length, 2, r.stderr);
  if (typeof line === "string") assert.equal(r.stderr, `narrator: ${line}\n`);
  else assert.match(r.stderr.trimEnd(), line);
}

const tmpFiles = (dir: string) => fs.readdirSync(dir).filter((f) => f.includes(".tmp-"));

test("score with a directory named model.safetensors: one line with the operation and EISDIR", () => {
  const model = path.join(root, "model");
  fs.mkdirSync(path.join(model, "model.safetensors"), { recursive: true });
  for (const f of ["config.json", "tokenizer.json"]) {
    fs.copyFileSync(path.join(RANDOM, f), path.join(model, f));
  }
  // The checkpoint reader reads through a file descriptor, whose error has no path to name.
  failsWith(
    cli(["score", "--model", model, "--text", "hi"]),
    /^narrator: cannot read( \S+)?: illegal operation on a directory \(EISDIR\)$/,
  );
});

test("explain --file naming a directory: the path, the operation and EISDIR", () => {
  const dir = path.join(root, "src.py");
  fs.mkdirSync(dir);
  failsWith(
    cli(["explain", "--model", RANDOM, "--max-new-tokens", "1", "--file", dir]),
    `cannot read ${dir}: illegal operation on a directory (EISDIR)`,
  );
});

test("quantize --out under a regular file: the directory it could not create and ENOTDIR", () => {
  const file = path.join(root, "plain");
  fs.writeFileSync(file, "");
  const out = path.join(file, "sub", "q");
  failsWith(
    cli(["quantize", "--model", RANDOM, "--out", out]),
    new RegExp(`^narrator: cannot create directory ${out}: .*\\(ENOTDIR\\)$`),
  );
});

test("digest --out: an existing directory or a path under a file fail naming it, leaving no temp file", () => {
  const repo = makeRepo(path.join(root, "repo"));
  const digest = (out: string) =>
    cli([
      "digest",
      "--model",
      RANDOM,
      "--max-new-tokens",
      "1",
      "--git",
      repo,
      "--range",
      "HEAD~1..HEAD",
      "--out",
      out,
    ]);
  const dir = path.join(root, "pages");
  fs.mkdirSync(dir);
  failsWith(digest(dir), `cannot write ${dir}: illegal operation on a directory (EISDIR)`);
  assert.deepEqual(tmpFiles(root), []);
  const file = path.join(root, "notes.txt");
  fs.writeFileSync(file, "");
  failsWith(
    digest(path.join(file, "digest.html")),
    `cannot create directory ${file}: a file of that name exists (EEXIST)`,
  );
});
