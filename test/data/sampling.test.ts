import { test } from "node:test";
import assert from "node:assert/strict";
import { mixCocktail } from "../../src/data/cocktail";
import type { Example, Split } from "../../src/data/example";
import {
  balancedSubset,
  randomSplit,
  rngFor,
  sampleSubset,
  splitCounts,
} from "../../src/data/sampling";

function examples(task: Example["task"], n: number, split: Split = "train"): Example[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `${task}-${i}`,
    task,
    language: "go",
    split,
    input: `in ${i}`,
    target: `out ${i}`,
  }));
}

const ids = (xs: readonly { id: string }[]): string[] => xs.map((x) => x.id);

test("split counts follow rounded boundaries at 70% and 80%", () => {
  assert.deepEqual(splitCounts(10, [0.7, 0.1, 0.2]), [7, 1, 2]);
  assert.deepEqual(splitCounts(545, [0.7, 0.1, 0.2]), [382, 54, 109]); // 381.5 -> 382, 436 -> 436
  assert.deepEqual(splitCounts(3, [0.7, 0.1, 0.2]), [2, 0, 1]); // 2.1 -> 2, 2.4 -> 2
  assert.deepEqual(splitCounts(0, [0.7, 0.1, 0.2]), [0, 0, 0]);
  assert.throws(() => splitCounts(10, [0.7, 0.2, 0.2]), /sum to 1/);
});

test("random split: a partition of the items, the same for the same seed, another for another seed", () => {
  const items = examples("commitpackft", 100);
  const a = randomSplit(items, [0.7, 0.1, 0.2], rngFor(7, "split/x"));
  const b = randomSplit(items, [0.7, 0.1, 0.2], rngFor(7, "split/x"));
  const c = randomSplit(items, [0.7, 0.1, 0.2], rngFor(8, "split/x"));
  assert.deepEqual([a.train.length, a.val.length, a.test.length], [70, 10, 20]);
  assert.deepEqual(ids([...a.train, ...a.val, ...a.test]).sort(), ids(items).sort());
  assert.deepEqual(ids(a.test), ids(b.test));
  assert.notDeepEqual(ids(a.test), ids(c.test));
  // Another label is another stream.
  assert.notDeepEqual(
    ids(randomSplit(items, [0.7, 0.1, 0.2], rngFor(7, "split/y")).test),
    ids(a.test),
  );
});

test("subsets: no repeats, deterministic by seed, a warning when a split is short", () => {
  const pools = {
    train: examples("codesearchnet", 50),
    val: examples("codesearchnet", 3, "val"),
    test: examples("codesearchnet", 8, "test"),
  };
  const a = balancedSubset("codesearchnet", "go", pools, [20, 5, 8], 1);
  const b = balancedSubset("codesearchnet", "go", pools, [20, 5, 8], 1);
  const c = balancedSubset("codesearchnet", "go", pools, [20, 5, 8], 2);
  assert.equal(a.examples.train.length, 20);
  assert.equal(new Set(ids(a.examples.train)).size, 20);
  assert.deepEqual(ids(a.examples.train), ids(b.examples.train));
  assert.notDeepEqual(ids(a.examples.train), ids(c.examples.train));
  // val: 5 asked, 3 exist -> all 3, never duplicated, and one warning.
  assert.deepEqual(ids(a.examples.val).sort(), ids(pools.val).sort());
  assert.deepEqual(
    a.warnings.map((w) => [w.kind, w.split]),
    [["subset_shortfall", "val"]],
  );
  assert.match(a.warnings[0].message, /asked for 5 examples, only 3 remain/);
  assert.deepEqual(
    a.sizes.map((s) => [s.split, s.available, s.requested, s.selected]),
    [
      ["train", 50, 20, 20],
      ["val", 3, 5, 3],
      ["test", 8, 8, 8],
    ],
  );
  assert.equal(sampleSubset(pools.train, Infinity, rngFor(1, "x")).length, 50);
});

test("cocktail: total = the smaller train set, round(mix * total) from CodeSearchNet", () => {
  const csn = examples("codesearchnet", 40);
  const cpf = examples("commitpackft", 30);
  const half = mixCocktail(csn, cpf, { seed: 3 });
  assert.deepEqual([half.total, half.counts.codesearchnet, half.counts.commitpackft], [30, 15, 15]);
  assert.equal(half.train.length, 30);
  assert.equal(new Set(ids(half.train)).size, 30);
  const m37 = mixCocktail(csn, cpf, { seed: 3, mix: 0.3 });
  assert.deepEqual([m37.counts.codesearchnet, m37.counts.commitpackft], [9, 21]);
  const m73 = mixCocktail(csn, cpf, { seed: 3, mix: 0.7 });
  assert.deepEqual([m73.counts.codesearchnet, m73.counts.commitpackft], [21, 9]);
  assert.equal(m73.train.filter((e) => e.task === "codesearchnet").length, 21);
  // A given total larger than a part can give: cut, with a warning, no duplicates.
  const big = mixCocktail(csn, cpf, { seed: 3, mix: 0.5, total: 70 });
  assert.deepEqual([big.counts.codesearchnet, big.counts.commitpackft], [35, 30]);
  assert.deepEqual(
    big.warnings.map((w) => w.dataset),
    ["commitpackft"],
  );
  assert.throws(() => mixCocktail(csn, cpf, { seed: 3, mix: 1.5 }), /mix must be a fraction/);
});

test("cocktail: same seed same mixture, another seed another", () => {
  const csn = examples("codesearchnet", 40);
  const cpf = examples("commitpackft", 30);
  assert.deepEqual(
    ids(mixCocktail(csn, cpf, { seed: 5 }).train),
    ids(mixCocktail(csn, cpf, { seed: 5 }).train),
  );
  assert.notDeepEqual(
    ids(mixCocktail(csn, cpf, { seed: 5 }).train),
    ids(mixCocktail(csn, cpf, { seed: 6 }).train),
  );
});
