import { test } from "node:test";
import assert from "node:assert/strict";
import { commitDiff, commitModelInput, commitTarget } from "../../src/data/commitpackft";
import { commitPackFtRowSchema } from "../../src/data/schemas";
import { cpfRow } from "../fixtures/data/rows";

test("target: the subject alone when the message has no body", () => {
  assert.equal(commitTarget("Fix the parser", "Fix the parser\n"), "Fix the parser");
  // The subject field is used as given, even when the message's first line has a prefix.
  assert.equal(commitTarget("Fix the parser", "parser: Fix the parser\n"), "Fix the parser");
});

test("target: subject plus body, trailers removed", () => {
  const message = [
    "cmd: Fix the parser",
    "",
    "The parser dropped the last token.  ",
    "",
    "",
    "",
    "It now keeps it.",
    "",
    "Fixes #12",
    "Closes: #3, #4",
    "See owner/repo#7",
    "Signed-off-by: A Person <a@example.invalid>",
    "Co-authored-by: B Person <b@example.invalid>",
    "co-authored-by: c person <c@example.invalid>",
    "Reviewed-by: D",
    "Change-Id: I0123",
    "(cherry picked from commit 0123abcd)",
    "",
  ].join("\r\n");
  assert.equal(
    commitTarget("Fix the parser", message),
    "Fix the parser\n\nThe parser dropped the last token.\n\nIt now keeps it.",
  );
});

test("target: issue numbers inside a sentence stay", () => {
  assert.equal(
    commitTarget(
      "Use syslog in the example",
      "Use syslog in the example\n\nThis reduces dependencies, fixes #809.\n",
    ),
    "Use syslog in the example\n\nThis reduces dependencies, fixes #809.",
  );
  assert.equal(commitTarget("", ""), "");
});

test("diff: unified, 3 lines of context, file headers only", () => {
  assert.equal(
    commitDiff("a.py", "a.py", "a\nb\nc\n", "a\nB\nc\n"),
    "--- a.py\n+++ a.py\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n",
  );
  // Ten lines, line 5 changed: the hunk holds lines 2-8 (3 before, 3 after).
  const lines = Array.from({ length: 10 }, (_, i) => `l${i + 1}`);
  const changed = lines.map((l, i) => (i === 4 ? "L5" : l));
  const expected =
    "--- old.go\n+++ new.go\n@@ -2,7 +2,7 @@\n l2\n l3\n l4\n-l5\n+L5\n l6\n l7\n l8\n";
  assert.equal(
    commitDiff("old.go", "new.go", lines.join("\n") + "\n", changed.join("\n") + "\n"),
    expected,
  );
});

test("model input: files, diff or both", () => {
  const row = commitPackFtRowSchema.parse(
    cpfRow({ commit: "c", old: "x = 1\n", new: "x = 2", subject: "Raise x to two" }),
  );
  const files = "Before (pkg/util.py):\nx = 1\n\nAfter (pkg/util.py):\nx = 2\n";
  const diff =
    "--- pkg/util.py\n+++ pkg/util.py\n@@ -1,1 +1,1 @@\n-x = 1\n+x = 2\n\\ No newline at end of file\n";
  assert.equal(commitModelInput(row, "files"), files);
  assert.equal(commitModelInput(row, "diff"), diff);
  assert.equal(commitModelInput(row, "both"), `${files}\nDiff:\n${diff}`);
});
