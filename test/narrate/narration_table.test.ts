/**
 * The README's narration table: the examples are valid and each function is found where the
 * table says, the table's text is escaped, and only the text between the markers is replaced.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileRequest, normaliseDiff } from "../../src/narrate/inputs";
import {
  EXAMPLES_DIR,
  readExamples,
  renderTable,
  replaceTable,
  TABLE_END,
  TABLE_START,
} from "../../src/narrate/narration_table";
import type { FileExplanation } from "../../src/narrate/explain";

test("six functions in six languages and two diffs, each readable as explain reads it", () => {
  const ex = readExamples(EXAMPLES_DIR);
  const langs = ex.functions.map(
    (f) => fileRequest(`${path.join(EXAMPLES_DIR, f.file)}:${f.function}`).subject.language,
  );
  assert.deepEqual([...langs].sort(), ["go", "java", "javascript", "php", "python", "ruby"]);
  assert.equal(ex.diffs.length, 2);
  for (const d of ex.diffs) {
    const diff = fs.readFileSync(path.join(EXAMPLES_DIR, d.file), "utf8");
    assert.ok(normaliseDiff(diff).files.length > 0, d.file);
  }
});

test("the table escapes what the model wrote and replaces only the text between the markers", () => {
  const e: FileExplanation = {
    kind: "file",
    file: "a.py",
    function: "f",
    qualifiedName: "f",
    language: "python",
    startLine: 1,
    endLine: 2,
    explanation: "Adds a | b\nand <b>c</b>",
    notes: ["input truncated: kept 3 of 9 tokens"],
    inputTokens: 9,
    keptInputTokens: 3,
  };
  const table = renderTable(
    [{ example: "`f` in a.py", language: "Python", what: "adds", said: [e, { ...e, notes: [] }] }],
    "Written by m.",
  );
  const row = table.split("\n")[2];
  assert.equal(
    row,
    '| `f` in a.py | Python | adds | "Adds a \\| b and \\<b\\>c\\</b\\>" *(input truncated: kept 3 of 9 tokens)* | "Adds a \\| b and \\<b\\>c\\</b\\>" |',
  );
  const readme = `# T\n\nbefore\n${TABLE_START}\nold table\n${TABLE_END}\nafter\n`;
  assert.equal(
    replaceTable(readme, "NEW"),
    `# T\n\nbefore\n${TABLE_START}\nNEW\n${TABLE_END}\nafter\n`,
  );
  assert.throws(() => replaceTable("# no markers\n", "NEW"), /expected the markers/);
});
