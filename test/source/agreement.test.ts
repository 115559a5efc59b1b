import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import { stripPythonDocstring } from "../../src/data/docstring";
import { mineRepos } from "../../src/data/mine";
import { changeLanguage, fileRequest } from "../../src/narrate/inputs";
import { listFunctions } from "../../src/source/functions";
import { FIXTURES, TS_FIXTURES, type ExpectedFunction, type Fixture } from "./fixtures";

/** The code a function's stated lines hold: those lines, each without the stated indentation. */
function statedCode(fixture: Fixture, fn: ExpectedFunction): string {
  const [first, last] = fn.lines;
  return fixture.source
    .split("\n")
    .slice(first - 1, last)
    .map((line) => line.slice(fn.indent))
    .join("\n");
}

const memberName = (f: { owner: string | null; name: string }) =>
  f.owner ? `${f.owner}.${f.name}` : f.name;

test("the scanner finds each language's functions on their stated lines, with their code and doc comments", () => {
  for (const fixture of [...FIXTURES, ...TS_FIXTURES]) {
    const found = listFunctions(fixture.source, fixture.lang, {
      jsx: fixture.path.endsWith(".tsx"),
    });
    assert.deepEqual(
      found.map((f) => [memberName(f), f.startLine, f.endLine, f.doc]),
      fixture.functions.map((e) => [e.funcName, ...e.lines, e.doc]),
      fixture.path,
    );
    found.forEach((f, k) =>
      assert.equal(f.text, statedCode(fixture, fixture.functions[k]), `${fixture.path} ${f.name}`),
    );
  }
});

/** A git repository holding every fixture, with a GitHub origin so that rows carry line anchors. */
function fixtureRepo(root: string): string {
  const dir = path.join(root, "shop");
  for (const f of FIXTURES) {
    fs.mkdirSync(path.dirname(path.join(dir, f.path)), { recursive: true });
    fs.writeFileSync(path.join(dir, f.path), f.source);
  }
  const env = {
    ...process.env,
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_AUTHOR_NAME: "Ann",
    GIT_AUTHOR_EMAIL: "ann@example.com",
    GIT_COMMITTER_NAME: "Ann",
    GIT_COMMITTER_EMAIL: "ann@example.com",
  };
  const git = (...args: string[]) => execFileSync("git", ["-C", dir, ...args], { env });
  git("init", "-q", "-b", "main");
  git("remote", "add", "origin", "https://github.com/demo/shop.git");
  git("add", "-A");
  git("commit", "-q", "-m", "Add the ledger in six languages");
  return dir;
}

function readRows(file: string): Record<string, string>[] {
  return gunzipSync(fs.readFileSync(file))
    .toString("utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l));
}

test("mined rows and explain --file agree on every function's lines, code and doc comment, in all six languages", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-agreement-"));
  try {
    const repo = fixtureRepo(root);
    const out = path.join(root, "out");
    mineRepos({ repos: [repo], outDir: out });
    for (const fixture of FIXTURES) {
      const rows = readRows(path.join(out, "codesearchnet", `${fixture.lang}.jsonl.gz`));
      const mined = fixture.functions.filter((f) => f.mined);
      assert.deepEqual(
        rows.map((r) => r.func_name),
        mined.map((f) => f.funcName),
        `${fixture.lang}: the documented functions of 3 lines or more, constructors left out`,
      );
      rows.forEach((row, k) => {
        const fn = mined[k];
        const what = `${fixture.lang} ${fn.funcName}`;
        // The row: the stated lines, code and doc comment.
        assert.equal(row.code, statedCode(fixture, fn), what);
        assert.equal(row.docstring, fn.doc, what);
        assert.ok(row.url.endsWith(`${fixture.path}#L${fn.lines[0]}-L${fn.lines[1]}`), row.url);
        // explain --file: the same lines, and the row's code as its input (Python without its
        // docstring, as training's input).
        const { request, subject } = fileRequest(`${path.join(repo, fixture.path)}:${fn.query}`);
        assert.deepEqual([subject.startLine, subject.endLine], fn.lines, what);
        assert.equal(subject.language, fixture.lang, what);
        const input = fixture.lang === "python" ? stripPythonDocstring(row.code) : row.code;
        assert.equal(request.input, input, what);
      });
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("explain --file reads TypeScript and TSX functions, and a change to .ts files is TypeScript", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-ts-"));
  try {
    for (const fixture of TS_FIXTURES) {
      const file = path.join(root, path.basename(fixture.path));
      fs.writeFileSync(file, fixture.source);
      for (const fn of fixture.functions) {
        const { request, subject } = fileRequest(`${file}:${fn.query}`);
        assert.equal(request.language, "typescript");
        assert.deepEqual([subject.startLine, subject.endLine], fn.lines, fn.funcName);
        assert.equal(request.input, statedCode(fixture, fn), fn.funcName);
      }
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
  const change = [
    { path: "src/source/functions.ts", changed: 12 },
    { path: "README.md", changed: 30 },
  ];
  assert.deepEqual(changeLanguage(change, "javascript"), { language: "typescript", note: null });
});
