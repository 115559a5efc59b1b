import { test } from "node:test";
import assert from "node:assert/strict";
import * as aq from "arquero";
import type { Example } from "../../src/data/example";
import {
  frameToCsv,
  frameToJson,
  lengthsFrame,
  statsFrame,
  summarise,
  type GroupKey,
} from "../../src/data/frame";
import { STATS_COLUMNS } from "../../src/data/stats";
import { countTokensRegex } from "../../src/data/tokens";

const ex = (
  task: Example["task"],
  language: Example["language"],
  split: Example["split"],
  input: string,
  target: string,
): Example => ({ id: `${language}/${input}`, task, language, split, input, target });

// Lengths in code points / regex tokens, counted by hand beside each text.
const EXAMPLES: Example[] = [
  ex("commitpackft", "go", "val", "-a\n+b", "Use b."), // 5 / 4 (- a + b), 6 / 3 (Use b .)
  ex("codesearchnet", "go", "train", "a b", "Xé."), // 3 / 2, 3 / 2 (Xé .)
  ex("codesearchnet", "python", "test", "q", "Z."), // 1 / 1, 2 / 2
  ex("codesearchnet", "go", "train", "abcd", "Y."), // 4 / 1, 2 / 2
  ex("codesearchnet", "python", "test", "def f", "Ok."), // 5 / 2, 3 / 2
  ex("codesearchnet", "go", "train", "f(x)", "Do it now."), // 4 / 4 (f ( x )), 10 / 4
];

type Stats = [count: number, mean: number, std: number, min: number, median: number, max: number];

/** Hand-worked statistics (population std) of each group of EXAMPLES, in the expected row order. */
const EXPECTED: [string, Stats][] = [
  // python test: inputs [1, 5] / [1, 2], targets [2, 3] / [2, 2].
  ["codesearchnet,python,test,input,chars", [2, 3, 2, 1, 3, 5]],
  ["codesearchnet,python,test,input,tokens", [2, 1.5, 0.5, 1, 1.5, 2]],
  ["codesearchnet,python,test,target,chars", [2, 2.5, 0.5, 2, 2.5, 3]],
  ["codesearchnet,python,test,target,tokens", [2, 2, 0, 2, 2, 2]],
  // go train: input chars [3, 4, 4]: deviations -2/3, 1/3, 1/3 -> variance 2/9.
  ["codesearchnet,go,train,input,chars", [3, 11 / 3, Math.sqrt(2) / 3, 3, 4, 4]],
  // input tokens [2, 1, 4]: deviations -1/3, -4/3, 5/3 -> variance 14/9.
  ["codesearchnet,go,train,input,tokens", [3, 7 / 3, Math.sqrt(14) / 3, 1, 2, 4]],
  // target chars [3, 2, 10]: deviations -2, -3, 5 -> variance 38/3.
  ["codesearchnet,go,train,target,chars", [3, 5, Math.sqrt(38 / 3), 2, 3, 10]],
  // target tokens [2, 2, 4]: deviations -2/3, -2/3, 4/3 -> variance 8/9.
  ["codesearchnet,go,train,target,tokens", [3, 8 / 3, Math.sqrt(8) / 3, 2, 2, 4]],
  ["commitpackft,go,val,input,chars", [1, 5, 0, 5, 5, 5]],
  ["commitpackft,go,val,input,tokens", [1, 4, 0, 4, 4, 4]],
  ["commitpackft,go,val,target,chars", [1, 6, 0, 6, 6, 6]],
  ["commitpackft,go,val,target,tokens", [1, 3, 0, 3, 3, 3]],
];

const KEY_COLUMNS = 5;
const keyOf = (r: object, cols: readonly string[]): string =>
  cols.map((c) => (r as Record<string, unknown>)[c]).join(",");
const statsOf = (r: object): Stats =>
  (["count", "mean", "std", "min", "median", "max"] as const).map(
    (c) => (r as Record<string, number>)[c],
  ) as Stats;

function assertClose(actual: Stats, expected: Stats, what: string): void {
  actual.forEach((a, i) =>
    assert.ok(Math.abs(a - expected[i]) < 1e-12, `${what}: got ${actual}, expected ${expected}`),
  );
}

test("stats frame: hand-worked count, mean, population std, min, median, max per group, in LANGS order", () => {
  const frame = statsFrame(EXAMPLES, countTokensRegex);
  assert.deepEqual(frame.columnNames(), [...STATS_COLUMNS]);
  const rows = frameToJson(frame);
  const keyCols = STATS_COLUMNS.slice(0, KEY_COLUMNS);
  assert.deepEqual(
    rows.map((r) => keyOf(r, keyCols)),
    EXPECTED.map(([k]) => k),
  );
  rows.forEach((r, i) => assertClose(statsOf(r), EXPECTED[i][1], EXPECTED[i][0]));
});

test("summaries pool the lengths of every group they merge, never fields or units", () => {
  const lengths = lengthsFrame(EXAMPLES, countTokensRegex);
  assert.equal(lengths.numRows(), EXAMPLES.length * 4); // 2 fields x 2 units
  const byLang = frameToJson(summarise(lengths, ["language"]));
  assert.deepEqual(
    byLang.map((r) => keyOf(r, ["language", "field", "unit"])),
    ["python", "go"].flatMap((l) =>
      ["input,chars", "input,tokens", "target,chars", "target,tokens"].map((fu) => `${l},${fu}`),
    ),
  );
  // go inputs in chars, both datasets: [3, 4, 4, 5] -> mean 4, deviations -1, 0, 0, 1 -> variance 1/2.
  assertClose(statsOf(byLang[4]), [4, 4, Math.SQRT1_2, 3, 4, 5], "go input chars");
  // go targets in tokens: [2, 2, 4, 3] -> mean 11/4, median 2.5, squares of deviations 9/16 * 2 + 25/16 + 1/16 -> variance 11/16.
  assertClose(statsOf(byLang[7]), [4, 11 / 4, Math.sqrt(11) / 4, 2, 2.5, 4], "go target tokens");
  const bySplit = frameToJson(summarise(lengths, ["split", "dataset"]));
  assert.deepEqual(frameToJson(summarise(lengths, ["dataset", "split"])), bySplit);
  assert.deepEqual(
    [...new Set(bySplit.map((r) => keyOf(r, ["dataset", "split"])))],
    ["codesearchnet,train", "codesearchnet,test", "commitpackft,val"],
  );
  const all = frameToJson(summarise(lengths, []));
  assert.deepEqual(
    all.map((r) => [r.field, r.unit, r.count]),
    [
      ["input", "chars", 6],
      ["input", "tokens", 6],
      ["target", "chars", 6],
      ["target", "tokens", 6],
    ],
  );
  assert.throws(() => summarise(lengths, ["field" as GroupKey]), /cannot group by 'field'/);
});

test("CSV of a two-row frame, written out by hand; RFC 4180 quoting; an empty frame is its header", () => {
  const two = statsFrame(
    [
      ex("codesearchnet", "python", "train", "a", "B."), // input 1 char, 1 token
      ex("codesearchnet", "python", "train", "a+", "C."), // input 2 chars, 2 tokens (a +)
    ],
    countTokensRegex,
  ).filter(aq.escape((d: { field: string }) => d.field === "input"));
  assert.equal(
    frameToCsv(two),
    "dataset,language,split,field,unit,count,mean,std,min,median,max\n" +
      "codesearchnet,python,train,input,chars,2,1.5,0.5,1,1.5,2\n" +
      "codesearchnet,python,train,input,tokens,2,1.5,0.5,1,1.5,2\n",
  );
  assert.equal(
    frameToCsv(aq.table({ a: [1, 2.5], b: ["plain", 'has "quotes", commas\nand newlines'] })),
    'a,b\n1,plain\n2.5,"has ""quotes"", commas\nand newlines"\n',
  );
  assert.equal(frameToCsv(statsFrame([], countTokensRegex)), STATS_COLUMNS.join(",") + "\n");
});

test("JSON rows are plain objects with the stats columns in order", () => {
  const rows = frameToJson(
    statsFrame([ex("commitpackft", "ruby", "test", "x", "Y.")], countTokensRegex),
  );
  assert.deepEqual(JSON.parse(JSON.stringify(rows[0])), {
    dataset: "commitpackft",
    language: "ruby",
    split: "test",
    field: "input",
    unit: "chars",
    count: 1,
    mean: 1,
    std: 0,
    min: 1,
    median: 1,
    max: 1,
  });
  assert.deepEqual(Object.keys(rows[0]), [...STATS_COLUMNS]);
  assert.equal(rows.length, 4);
});
