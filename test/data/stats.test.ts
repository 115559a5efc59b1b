import { test } from "node:test";
import assert from "node:assert/strict";
import type { Example } from "../../src/data/example";
import { describeNumbers, lengthStats, STATS_COLUMNS, toCsv } from "../../src/data/stats";
import { countTokensRegex } from "../../src/data/tokens";

test("distribution: mean, population std, median of the middle two", () => {
  const d = describeNumbers([4, 1, 3, 2]);
  assert.deepEqual(
    { ...d, std: undefined },
    { count: 4, mean: 2.5, std: undefined, min: 1, median: 2.5, max: 4 },
  );
  assert.ok(Math.abs(d.std - Math.sqrt(1.25)) < 1e-12); // deviations 1.5, 0.5, 0.5, 1.5 -> variance 5/4
  assert.deepEqual(describeNumbers([7]), { count: 1, mean: 7, std: 0, min: 7, median: 7, max: 7 });
  assert.equal(describeNumbers([5, 1, 9]).median, 5);
  assert.throws(() => describeNumbers([]), /no values/);
});

test("default token count: word runs and single punctuation marks", () => {
  assert.equal(countTokensRegex("def add(a, b):"), 8); // def add ( a , b ) :
  assert.equal(countTokensRegex("  x_1 = été  "), 3);
  assert.equal(countTokensRegex(""), 0);
});

test("length table per dataset, language and split, in chars and tokens", () => {
  const ex = (
    language: Example["language"],
    split: Example["split"],
    input: string,
    target: string,
  ): Example => ({
    id: input,
    task: "codesearchnet",
    language,
    split,
    input,
    target,
  });
  const rows = lengthStats(
    [
      ex("go", "train", "a b", "Xé."),
      ex("go", "train", "abcd", "Y."),
      ex("python", "test", "q", "Z."),
    ],
    countTokensRegex,
  );
  assert.equal(rows.length, 8); // 2 groups x 2 fields x 2 units
  const goInputChars = rows.find(
    (r) => r.language === "go" && r.field === "input" && r.unit === "chars",
  )!;
  assert.deepEqual(
    [goInputChars.count, goInputChars.mean, goInputChars.min, goInputChars.max],
    [2, 3.5, 3, 4],
  );
  const goTargetChars = rows.find(
    (r) => r.language === "go" && r.field === "target" && r.unit === "chars",
  )!;
  assert.deepEqual([goTargetChars.min, goTargetChars.max], [2, 3]); // "Xé." is 3 code points
  const goInputTokens = rows.find(
    (r) => r.language === "go" && r.field === "input" && r.unit === "tokens",
  )!;
  assert.deepEqual([goInputTokens.min, goInputTokens.max, goInputTokens.median], [1, 2, 1.5]);
  assert.deepEqual(
    rows.map((r) => r.language),
    ["python", "python", "python", "python", "go", "go", "go", "go"], // LANGS order
  );
});

test("CSV: header first, RFC 4180 quoting", () => {
  const csv = toCsv([
    { a: 1, b: "plain" },
    { a: 2.5, b: 'has "quotes", commas\nand newlines' },
  ]);
  assert.equal(csv, 'a,b\n1,plain\n2.5,"has ""quotes"", commas\nand newlines"\n');
  assert.equal(toCsv([], ["x", "y"]), "x,y\n");
  assert.equal(toCsv([{ dataset: "d" }], STATS_COLUMNS).split("\n")[0], STATS_COLUMNS.join(","));
});
