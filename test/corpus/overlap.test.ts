import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { corpusFile } from "../../src/corpus/files";
import { corpusOverlap, countInCorpus, CorpusIndex } from "../../src/corpus/overlap";
import { cpfRow, csnRow } from "../fixtures/data/rows";

test("a snippet is found when its whitespace-normalised text lies inside one corpus file", () => {
  const index = new CorpusIndex([
    "class Box:\n    def area(self):\n        return self.w * self.h\n",
    "def tail():\n    return 0\n",
  ]);
  assert.ok(index.contains("def area(self):\n    return self.w * self.h")); // re-indented
  assert.ok(index.contains("def   area(self):   return self.w * self.h")); // re-wrapped
  assert.ok(!index.contains("def area(self):\n    return self.w + self.h")); // one token differs
  assert.ok(!index.contains("return self.w * self.h def tail():")); // spans two files
  assert.ok(!index.contains("   \n ")); // empty after normalising
  assert.equal(
    countInCorpus(
      ["def tail(): return 0", "def head(): return 0", "return self.w * self.h"],
      index,
    ),
    2,
  );
});

function writeJsonl(file: string, rows: unknown[]): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, zlib.gzipSync(rows.map((r) => JSON.stringify(r)).join("\n") + "\n"));
}

const inCorpusFn =
  'def clamp(value, low, high):\n    """Limit the value to the closed range from low to high."""\n    if value < low:\n        return low\n    return min(value, high)';
const notInCorpusFn =
  'def lerp(a, b, t):\n    """Interpolate linearly between the two numbers by the factor."""\n    span = b - a\n    return a + span * t';

test("corpusOverlap counts prepared val/test functions and post-commit files found in the corpus", async () => {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-overlap-data-"));
  writeJsonl(path.join(data, "codesearchnet", "python.jsonl.gz"), [
    csnRow({
      code: inCorpusFn,
      docstring: "Limit the value to the closed range from low to high.",
      partition: "valid",
      func_name: "clamp",
    }),
    csnRow({
      code: notInCorpusFn,
      docstring: "Interpolate linearly between the two numbers by the factor.",
      partition: "valid",
      func_name: "lerp",
    }),
    csnRow({
      code: inCorpusFn.replace("clamp", "clamp2"),
      docstring: "Limit the value to the closed range from low to high.",
      partition: "test",
      func_name: "clamp2",
    }),
    csnRow({
      code: notInCorpusFn.replace("lerp", "lerp_train"),
      docstring: "Interpolate linearly between the two numbers by the factor.",
      partition: "train",
      func_name: "lerp_train",
    }),
  ]);
  const commits = Array.from({ length: 10 }, (_, i) =>
    cpfRow({
      commit: String(i).repeat(40).slice(0, 40),
      old: `def version():\n    return ${i}\n`,
      new: `def version():\n    return ${i + 100}\n`,
      subject: `Bump the reported version number to ${i + 100} now`,
    }),
  );
  writeJsonl(path.join(data, "commitpackft", "python.jsonl.gz"), commits);

  // The corpus holds the two clamp functions (re-indented, inside larger files) and every post-commit file.
  const corpus = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-overlap-corpus-"));
  const indent = (s: string) =>
    s
      .split("\n")
      .map((l) => "    " + l)
      .join("\n");
  const records = [
    { path: "a.py", package: "npm:a", text: `class Util:\n${indent(inCorpusFn)}\n` },
    {
      path: "b.py",
      package: "npm:a",
      text: `import os\n\n${inCorpusFn.replace("clamp", "clamp2")}\n`,
    },
    ...commits.map((c, i) => ({
      path: `v${i}.py`,
      package: "npm:b",
      text: String(c.new_contents),
    })),
  ];
  writeJsonl(corpusFile(corpus, "python", "train"), records);

  const report = await corpusOverlap(corpus, data, ["python"]);
  const get = (dataset: string, split: string) =>
    report.counts.find((c) => c.dataset === dataset && c.split === split)!;
  assert.deepEqual(get("codesearchnet", "val"), {
    dataset: "codesearchnet",
    language: "python",
    split: "val",
    items: 2,
    inCorpus: 1,
  });
  assert.deepEqual(get("codesearchnet", "test"), {
    dataset: "codesearchnet",
    language: "python",
    split: "test",
    items: 1,
    inCorpus: 1,
  });
  const val = get("commitpackft", "val");
  const testSplit = get("commitpackft", "test");
  assert.equal(val.items + testSplit.items, 3); // 10 rows split 70/10/20
  assert.equal(val.inCorpus, val.items);
  assert.equal(testSplit.inCorpus, testSplit.items);

  const empty = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-overlap-empty-"));
  const none = await corpusOverlap(empty, data, ["python"]);
  assert.ok(none.counts.every((c) => c.inCorpus === 0));
  assert.deepEqual(
    none.counts.map((c) => c.items),
    report.counts.map((c) => c.items),
  );
});
