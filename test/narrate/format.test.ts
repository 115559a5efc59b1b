import { test } from "node:test";
import assert from "node:assert/strict";
import type { FileExplanation, RangeExplanation } from "../../src/narrate/explain";
import { markdownText, renderExplanation } from "../../src/narrate/format";

const NOTE = "input truncated: kept 3 of 12 tokens";
const provenance = {
  model: "models/m",
  adapter: null,
  prompt: "deepseek",
  decoding: "greedy decoding, no repeated 3-grams",
};

const range: RangeExplanation = {
  commits: [
    {
      sha: "0123456789abcdef0123456789abcdef01234567",
      subject: "Raise y",
      author: "Ada",
      email: "ada@example.com",
      date: "2024-03-01T10:00:00+01:00",
      language: "python",
      files: [{ path: "a.py", insertions: 1, deletions: 1 }],
      insertions: 1,
      deletions: 1,
      explanation: "Changes the value of y.",
      notes: [NOTE],
      inputTokens: 12,
      keptInputTokens: 3,
      fileNarrations: [],
    },
  ],
  digest: "1 commit on 2024-03-01 by Ada.",
};

const file: FileExplanation = {
  kind: "file",
  file: "calc.py",
  function: "add",
  qualifiedName: "add",
  language: "python",
  startLine: 3,
  endLine: 5,
  explanation: "Adds two numbers.",
  notes: [NOTE],
  inputTokens: 12,
  keptInputTokens: 3,
};

test("--git JSON is {commits: [{sha, subject, explanation, ...}], digest}", () => {
  const out = JSON.parse(renderExplanation(range, "json", provenance));
  assert.deepEqual(Object.keys(out), ["commits", "digest", "provenance"]);
  assert.deepEqual(out.provenance, provenance);
  assert.equal(out.digest, range.digest);
  assert.equal(out.commits.length, 1);
  const c = out.commits[0];
  assert.deepEqual(Object.keys(c).slice(0, 3), ["sha", "subject", "explanation"]);
  assert.deepEqual(
    [c.sha, c.subject, c.explanation, c.author, c.date, c.insertions, c.deletions],
    [
      range.commits[0].sha,
      "Raise y",
      "Changes the value of y.",
      "Ada",
      "2024-03-01T10:00:00+01:00",
      1,
      1,
    ],
  );
  assert.deepEqual(c.files, [{ path: "a.py", insertions: 1, deletions: 1 }]);
  assert.deepEqual(c.notes, [NOTE]);
});

test("--file JSON has the documented keys", () => {
  const out = JSON.parse(renderExplanation(file, "json", provenance));
  assert.deepEqual(Object.keys(out), [
    "kind",
    "file",
    "function",
    "qualifiedName",
    "language",
    "startLine",
    "endLine",
    "explanation",
    "notes",
    "inputTokens",
    "keptInputTokens",
    "provenance",
  ]);
  assert.equal(out.provenance.decoding, "greedy decoding, no repeated 3-grams");
});

test("the truncation note shows in every format", () => {
  for (const e of [range, file]) {
    for (const format of ["text", "markdown", "json"] as const) {
      assert.ok(renderExplanation(e, format, provenance).includes(NOTE), `${format}`);
    }
  }
  assert.match(renderExplanation(file, "text", provenance), /^note: input truncated/m);
  assert.match(
    renderExplanation(file, "markdown", provenance),
    /^> \*\*Note:\*\* input truncated/m,
  );
});

test("Markdown escapes markup that comes from data", () => {
  assert.equal(markdownText("<script>x</script>"), "\\<script\\>x\\</script\\>");
  assert.equal(markdownText("# not a heading\n- not a list"), "\\# not a heading\n\\- not a list");
  assert.equal(markdownText("a_b*c [d](e)"), "a\\_b\\*c \\[d\\](e)");
});
