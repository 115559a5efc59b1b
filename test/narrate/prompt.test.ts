import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { encodeExample, sequencePrefix } from "../../src/data/batches";
import { isLang } from "../../src/data/langs";
import type { PromptFormat } from "../../src/data/prompts";
import { Tokenizer } from "../../src/tokenizer/tokenizer";
import { BOS, CODE, SUMMARY } from "../../src/tokenizer/special";
import { commitRequest, diffRequest, fileRequest, normaliseDiff } from "../../src/narrate/inputs";
import { buildPrompt, truncationNote, type NarrationRequest } from "../../src/narrate/prompt";
import type { CommitRecord } from "../../src/narrate/git";

const tok = Tokenizer.fromFile("models/narrator-2m-random/tokenizer.json");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "narrate-prompt-"));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The prompt ids training gives an example: the encoder's ids before the target. */
function trainingPrompt(ex: NarrationRequest, format: PromptFormat) {
  assert.ok(isLang(ex.language), `${ex.language} is no dataset language`);
  const e = encodeExample(
    tok,
    { ...ex, language: ex.language, id: "hand", target: "Adds two numbers." },
    { format, maxLen: 100_000, start: sequencePrefix(tok) },
  );
  return Array.from(e.ids.subarray(0, e.promptLength));
}

// A Python function with a docstring, and (by hand) what CodeSearchNet's preparation makes of it.
const PY_FILE = [
  "import math",
  "",
  "def add(a, b):",
  '    """Add two numbers."""',
  "    return a + b",
  "",
].join("\n");
const PY_INPUT = "def add(a, b):\n    return a + b";

test("a function's prompt is training's prompt for the same example (docstring stripped), both formats", () => {
  const file = path.join(dir, "calc.py");
  fs.writeFileSync(file, PY_FILE);
  const { request, subject } = fileRequest(`${file}:add`);
  assert.deepEqual(request, { task: "codesearchnet", language: "python", input: PY_INPUT });
  assert.deepEqual([subject.startLine, subject.endLine], [3, 5]);
  for (const format of ["deepseek", "compact"] as const) {
    const p = buildPrompt(tok, request, format, 100_000);
    assert.deepEqual(p.ids, trainingPrompt(request, format), format);
    assert.equal(truncationNote(p), null);
  }
  // The compact layout, read back: <|bos|><|code|>{code}<|summary|>.
  const compact = buildPrompt(tok, request, "compact", 100_000);
  assert.equal(tok.decode(compact.ids), `${BOS}${CODE}${PY_INPUT}${SUMMARY}`);
});

test("a whole file is read as it is; an unknown extension needs --lang; binary, non-UTF-8 and empty files are refused", () => {
  const file = path.join(dir, "calc.py");
  fs.writeFileSync(file, PY_FILE);
  const { request, subject } = fileRequest(file);
  assert.equal(request.input, PY_FILE);
  assert.deepEqual([subject.function, subject.startLine, subject.endLine], [null, 1, 5]);
  const txt = path.join(dir, "notes.txt");
  fs.writeFileSync(txt, "x");
  assert.throws(() => fileRequest(txt), /notes\.txt: cannot tell the language .* pass --lang/);
  assert.equal(fileRequest(txt, "go").request.language, "go");
  assert.throws(() => fileRequest(path.join(dir, "missing.py")), /file not found/);
  const write = (name: string, bytes: Buffer) => {
    fs.writeFileSync(path.join(dir, name), bytes);
    return path.join(dir, name);
  };
  assert.throws(
    () => fileRequest(write("blob.py", Buffer.from([0x61, 0x62, 0x00, 0x63]))),
    /blob\.py: not text \(binary, or not UTF-8\), expected source code in UTF-8/,
  );
  assert.throws(
    () => fileRequest(write("latin1.py", Buffer.from("# caf\xe9\nx = 1\n", "latin1"))),
    /latin1\.py: not text \(binary, or not UTF-8\)/,
  );
  assert.throws(
    () => fileRequest(write("blank.py", Buffer.from(" \n\n"))),
    /blank\.py is empty: nothing to explain/,
  );
});

// One commit, one file: y = 2 -> y = 3. The diff is written by hand in training's layout
// (src/data/commitpackft.ts commitDiff: file headers only, 3 lines of context).
const OLD = "x = 1\ny = 2\n";
const NEW = "x = 1\ny = 3\n";
const HAND_DIFF = "--- a.py\n+++ a.py\n@@ -1,2 +1,2 @@\n x = 1\n-y = 2\n+y = 3\n";
const commit: CommitRecord = {
  sha: "c".repeat(40),
  parents: ["p".repeat(40)],
  author: "Ada",
  email: "ada@example.com",
  date: "2024-03-01T10:00:00+01:00",
  subject: "Raise y",
  message: "Raise y",
  files: [
    { path: "a.py", insertions: 1, deletions: 1 },
    { path: "NOTES.md", insertions: 5, deletions: 0 },
  ],
  insertions: 6,
  deletions: 1,
};

test("a commit's prompt is training's prompt for the same change (diff, and whole files)", () => {
  const changes = [{ path: "a.py", oldContents: OLD, newContents: NEW }];
  const { request, note } = commitRequest(commit, changes, "diff", "/repo", "javascript");
  // The .md file has more changed lines, but only a.py is in a known language.
  assert.deepEqual(request, { task: "commitpackft", language: "python", input: HAND_DIFF });
  assert.equal(note, null);
  for (const format of ["deepseek", "compact"] as const) {
    assert.deepEqual(
      buildPrompt(tok, request, format, 100_000).ids,
      trainingPrompt(request, format),
    );
  }
  const files = commitRequest(commit, changes, "files", "/repo", "javascript").request.input;
  assert.equal(files, `Before (a.py):\n${OLD}\nAfter (a.py):\n${NEW}`);
});

test("a git diff on stdin is laid out as training's diffs; no six-language file falls back with a note", () => {
  const gitDiff = [
    "diff --git a/a.py b/a.py",
    "index 1111111..2222222 100644",
    "--- a/a.py",
    "+++ b/a.py",
    "@@ -1,2 +1,2 @@",
    " x = 1",
    "-y = 2",
    "+y = 3",
    "",
  ].join("\n");
  assert.equal(normaliseDiff(gitDiff).diff, HAND_DIFF);
  // The same without git's header lines, and from diff -u (no prefixes, dated headers).
  assert.equal(normaliseDiff(gitDiff.split("\n").slice(2).join("\n")).diff, HAND_DIFF);
  const plain = gitDiff
    .split("\n")
    .slice(2)
    .join("\n")
    .replace("--- a/a.py", "--- a.py\t2024-03-01 10:00:00")
    .replace("+++ b/a.py", "+++ a.py\t2024-03-01 11:00:00");
  assert.equal(normaliseDiff(plain).diff, HAND_DIFF);
  assert.deepEqual(normaliseDiff(plain).files, [{ path: "a.py", changed: 2 }]);
  const created = "--- /dev/null\n+++ b/new.py\n@@ -0,0 +1 @@\n+z = 0\n";
  assert.equal(
    normaliseDiff(`diff --git a/new.py b/new.py\n${created}`).diff,
    "--- new.py\n+++ new.py\n@@ -0,0 +1,1 @@\n+z = 0\n",
  );
  const md = diffRequest("--- a/README\n+++ b/README\n@@ -1 +1 @@\n-a\n+b\n", "diff", "ruby");
  assert.equal(md.request.language, "ruby");
  assert.match(md.note ?? "", /none of the changed files .* assumes Ruby \(--lang\)/);
  assert.throws(() => diffRequest("hello", "diff", "go"), /stdin holds no unified diff/);
  assert.throws(() => diffRequest(gitDiff, "files", "go"), /trained on commit input 'files'/);
});

test("a long input keeps its head, as training cuts it, and says so", () => {
  const request = { task: "codesearchnet" as const, language: "python" as const, input: PY_INPUT };
  const inputIds = tok.encode(PY_INPUT, { addSpecial: false });
  const p = buildPrompt(tok, request, "compact", 3);
  const id = (t: string) => tok.tokenToId(t)!;
  assert.deepEqual(p.ids, [id(BOS), id(CODE), ...inputIds.slice(0, 3), id(SUMMARY)]);
  // Training's encoder with room for exactly 3 input tokens: 3 frame + 3 input + <|eos|>.
  const e = encodeExample(
    tok,
    { ...request, id: "t", target: "" },
    { format: "compact", maxLen: 7, start: [id(BOS)] },
  );
  assert.ok(e.inputTruncated);
  assert.deepEqual(p.ids, Array.from(e.ids.subarray(0, e.promptLength)));
  assert.equal(truncationNote(p), `input truncated: kept 3 of ${inputIds.length} tokens`);
});
