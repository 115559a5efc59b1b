import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { dataStats } from "../../src/data/commands";
import type { Example, FunnelRecord } from "../../src/data/example";
import { funnelProblems } from "../../src/data/funnel";
import { LANGS } from "../../src/data/langs";
import { cacheKey, examplesOf, prepareDatasets } from "../../src/data/prepare";
import { MissingDataError, RowError } from "../../src/data/sources";
import { CPF_PYTHON, CSN_PYTHON } from "../fixtures/data/rows";

/** A data directory holding the hand-written python rows: CodeSearchNet gzipped, CommitPackFT plain. */
function fixtureDir(extraCpfLines: string[] = []): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-prepare-"));
  fs.mkdirSync(path.join(dir, "codesearchnet"));
  fs.mkdirSync(path.join(dir, "commitpackft"));
  fs.writeFileSync(
    path.join(dir, "codesearchnet", "python.jsonl.gz"),
    zlib.gzipSync(CSN_PYTHON.map((r) => JSON.stringify(r)).join("\n") + "\n"),
  );
  const cpf = [...CPF_PYTHON.map((r) => JSON.stringify(r)), ...extraCpfLines];
  fs.writeFileSync(path.join(dir, "commitpackft", "python.jsonl"), cpf.join("\n") + "\n");
  return dir;
}

const stages = (funnel: FunnelRecord[], dataset: string): [string, number, number][] =>
  funnel
    .filter((r) => r.dataset === dataset)
    .map((r) => [r.split ? `${r.stage}:${r.split}` : r.stage, r.in, r.out]);

const ids = (xs: readonly Example[]): string[] => xs.map((x) => x.id);

test("funnel on the hand-written rows: one row leaves at each stage the fixture comments name", async () => {
  const p = await prepareDatasets({
    dataDir: fixtureDir(),
    languages: ["python"],
    perLanguage: [5, 1, 1],
    seed: 1,
  });
  assert.deepEqual(stages(p.funnel, "codesearchnet"), [
    ["read", 12, 12],
    ["clean_docstring", 12, 11],
    ["summary_min_chars", 11, 10],
    ["summary_capitalised", 10, 9],
    ["summary_end_punctuation", 9, 8],
    ["summary_not_generic", 8, 7],
    ["dedup_exact", 7, 6],
    ["dedup_code", 6, 5],
    ["code_tokens", 5, 4],
    ["summary_tokens", 4, 4],
    ["subset:train", 2, 2],
    ["subset:val", 1, 1],
    ["subset:test", 1, 1],
  ]);
  assert.deepEqual(stages(p.funnel, "commitpackft"), [
    ["read", 14, 14],
    ["target_nonempty", 14, 13],
    ["changed", 13, 12],
    ["dedup_change", 12, 11],
    ["input_tokens", 11, 11],
    ["target_tokens", 11, 10],
    ["subset:train", 7, 5],
    ["subset:val", 1, 1],
    ["subset:test", 2, 1],
  ]);
  assert.deepEqual(funnelProblems(p.funnel), []);
  assert.deepEqual(
    p.warnings.map((w) => `${w.kind} ${w.dataset}/${w.language}/${w.split}`),
    ["subset_shortfall codesearchnet/python/train"],
  );
});

test("CodeSearchNet examples: cleaned summaries, docstring-free code, the published partition as split", async () => {
  const p = await prepareDatasets({
    dataDir: fixtureDir(),
    languages: ["python"],
    perLanguage: [5, 1, 1],
    seed: 1,
  });
  const csn = p.examples.codesearchnet;
  assert.deepEqual(csn.train.python.map((e) => e.target).sort(), [
    "Multiply every value in the list by the factor.",
    "Return the sum of two numbers given as arguments.",
  ]);
  assert.deepEqual(
    csn.val.python.map((e) => e.target),
    ["Return the additive inverse of the given number."],
  );
  assert.deepEqual(
    csn.test.python.map((e) => e.target),
    ["Return half of the given number as a float value."],
  );
  const add = csn.train.python.find((e) => e.target.startsWith("Return the sum"))!;
  assert.equal(add.input, "def add(a, b):\n    total = a + b\n    return total");
  assert.deepEqual(
    [add.task, add.language, add.split, add.meta?.partition],
    ["codesearchnet", "python", "train", "train"],
  );
  for (const lang of LANGS.filter((l) => l !== "python")) assert.deepEqual(csn.train[lang], []);
});

test("CommitPackFT examples: diff input by default, subject as target, split 7/1/2 by seed", async () => {
  const p = await prepareDatasets({
    dataDir: fixtureDir(),
    languages: ["python"],
    perLanguage: [Infinity, Infinity, Infinity],
    seed: 1,
  });
  const cpf = p.examples.commitpackft;
  assert.deepEqual(
    [cpf.train.python.length, cpf.val.python.length, cpf.test.python.length],
    [7, 1, 2],
  );
  const all = [...cpf.train.python, ...cpf.val.python, ...cpf.test.python];
  assert.equal(new Set(ids(all)).size, 10);
  const v3 = all.find((e) => e.target === "Change the default of y in variant 3")!;
  assert.equal(
    v3.input,
    "--- pkg/util.py\n+++ pkg/util.py\n@@ -1,2 +1,2 @@\n x = 3\n-y = 1\n+y = 2\n",
  );
  assert.equal(v3.meta?.commit, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa4");
  for (const split of ["train", "val", "test"] as const)
    for (const e of cpf[split].python) assert.equal(e.split, split);
  const files = await prepareDatasets({
    dataDir: fixtureDir(),
    languages: ["python"],
    tasks: ["commitpackft"],
    commitInput: "files",
  });
  assert.match(
    examplesOf(files, "commitpackft", "train")[0].input,
    /^Before \(pkg\/util\.py\):\nx = \d\ny = 1\n\nAfter/,
  );
});

test("same seed, same splits, subsets and cocktail; another seed, others", async () => {
  const dir = fixtureDir();
  const run = (seed: number) =>
    prepareDatasets({
      dataDir: dir,
      languages: ["python"],
      perLanguage: [5, 1, 1],
      seed,
      cocktail: { mix: 0.5 },
    });
  const [a, b, c] = await Promise.all([run(1), run(1), run(2)]);
  const order = (p: Awaited<ReturnType<typeof run>>): string[] =>
    ids(["train", "val", "test"].flatMap((s) => p.examples.commitpackft[s as "train"].python));
  assert.deepEqual(order(a), order(b));
  assert.notDeepEqual(order(a), order(c));
  assert.deepEqual(ids(a.cocktail!.train), ids(b.cocktail!.train));
  // Cocktail: total = the smaller train set (CodeSearchNet: 2), half from each task.
  assert.deepEqual(
    [a.cocktail!.total, a.cocktail!.counts.codesearchnet, a.cocktail!.counts.commitpackft],
    [2, 1, 1],
  );
  assert.equal(a.dataHash, b.dataHash);
  assert.notEqual(a.dataHash, c.dataHash);
});

test("dataHash covers the raw bytes and the settings; cacheKey is order-independent", async () => {
  const dir = fixtureDir();
  const a = await prepareDatasets({ dataDir: dir, languages: ["python"] });
  const file = path.join(dir, "commitpackft", "python.jsonl");
  fs.appendFileSync(file, "\n"); // a blank line: same rows, other bytes
  const b = await prepareDatasets({ dataDir: dir, languages: ["python"] });
  assert.deepEqual(stages(a.funnel, "commitpackft"), stages(b.funnel, "commitpackft"));
  assert.notEqual(a.dataHash, b.dataHash);
  const c = await prepareDatasets({ dataDir: dir, languages: ["python"], commitInput: "both" });
  assert.notEqual(b.dataHash, c.dataHash);
  const report = b.files.find((f) => f.file === file)!;
  assert.equal(report.sha256, createHash("sha256").update(fs.readFileSync(file)).digest("hex"));
  assert.equal(
    cacheKey({ b: [1, 2], a: { d: 1, c: Infinity } }),
    cacheKey({ a: { c: Infinity, d: 1 }, b: [1, 2] }),
  );
  assert.equal(
    cacheKey({ b: 2, a: 1 }),
    createHash("sha256").update('{"a":1,"b":2}').digest("hex"),
  );
});

test("a malformed row stops the run, naming it; lenient mode counts it in the funnel and warns", async () => {
  const dir = fixtureDir(['{"commit": "x",']);
  const file = path.join(dir, "commitpackft", "python.jsonl");
  await assert.rejects(prepareDatasets({ dataDir: dir, languages: ["python"] }), (e: unknown) => {
    assert.ok(e instanceof RowError);
    assert.equal(e.file, file);
    assert.equal(e.line, 15);
    return true;
  });
  const p = await prepareDatasets({ dataDir: dir, languages: ["python"], lenient: true });
  assert.deepEqual(stages(p.funnel, "commitpackft")[0], ["read", 15, 14]);
  const skipped = p.warnings.filter((w) => w.kind === "skipped_rows");
  assert.equal(skipped.length, 1);
  assert.match(skipped[0].message, /skipped 1 malformed row.*line 15: not valid JSON/);
  assert.equal(p.files.find((f) => f.file === file)!.skipped, 1);
});

test("a row with invalid UTF-8 stops the run; lenient mode counts it in the funnel, no U+FFFD in any example", async () => {
  const dir = fixtureDir();
  const file = path.join(dir, "commitpackft", "python.jsonl");
  // A copy of a kept row whose subject holds a lone continuation byte.
  const row = Buffer.from(JSON.stringify({ ...CPF_PYTHON[0], commit: "f".repeat(40) }) + "\n");
  row[row.indexOf('"subject":"') + 11] = 0x80;
  fs.appendFileSync(file, row);
  await assert.rejects(prepareDatasets({ dataDir: dir, languages: ["python"] }), (e: unknown) => {
    assert.ok(e instanceof RowError);
    assert.equal(e.line, 15);
    assert.match(
      e.message,
      /line 15: not valid UTF-8 \(byte \d+ of the line, offset \d+ in the file\)/,
    );
    return true;
  });
  const p = await prepareDatasets({ dataDir: dir, languages: ["python"], lenient: true });
  assert.deepEqual(stages(p.funnel, "commitpackft")[0], ["read", 15, 14]);
  assert.match(
    p.warnings.find((w) => w.kind === "skipped_rows")!.message,
    /skipped 1 malformed row.*line 15: not valid UTF-8/,
  );
  const all = (["train", "val", "test"] as const).flatMap((s) => examplesOf(p, "commitpackft", s));
  assert.ok(all.length > 0 && all.every((x) => !JSON.stringify(x).includes("\ufffd")));
});

test("a missing dataset or language says how to get it; bad options are named", async () => {
  const dir = fixtureDir();
  await assert.rejects(
    prepareDatasets({ dataDir: dir, languages: ["java"] }),
    (e: unknown) =>
      e instanceof MissingDataError &&
      /java/.test(e.message) &&
      /narrator data download/.test(e.message),
  );
  await assert.rejects(
    prepareDatasets({ dataDir: path.join(dir, "nowhere") }),
    /codesearchnet data not found/,
  );
  await assert.rejects(prepareDatasets({ dataDir: dir, perLanguage: [1, -1, 1] }), /perLanguage/);
  await assert.rejects(
    prepareDatasets({ dataDir: dir, countTokens: (t) => t.length }),
    /tokenCounterId/,
  );
  await assert.rejects(
    prepareDatasets({ dataDir: dir, tasks: ["codesearchnet"], cocktail: {} }),
    /both tasks/,
  );
});

test("a plugged-in token counter drives the length ranges", async () => {
  const p = await prepareDatasets({
    dataDir: fixtureDir(),
    languages: ["python"],
    tasks: ["codesearchnet"],
    countTokens: (t) => t.length, // characters as tokens
    tokenCounterId: "chars",
    codesearchnet: { codeTokens: [0, 50] },
  });
  // Code lengths in characters, docstrings removed (counted by hand): add 49, scale 106, neg 35, half 39, f 21.
  const codeStage = p.funnel.find(
    (r) => r.dataset === "codesearchnet" && r.stage === "code_tokens",
  )!;
  assert.deepEqual([codeStage.in, codeStage.out], [5, 4]);
  assert.equal(p.settings.tokenCounter, "chars");
});

test("funnel check catches broken arithmetic and broken chaining", () => {
  const r = (stage: string, i: number, o: number, removed = i - o): FunnelRecord => ({
    dataset: "codesearchnet",
    language: "go",
    stage,
    in: i,
    out: o,
    removed,
  });
  assert.deepEqual(funnelProblems([r("read", 5, 5), r("a", 5, 4)]), []);
  assert.equal(funnelProblems([r("read", 5, 5), r("a", 5, 4, 2)]).length, 1);
  assert.equal(funnelProblems([r("read", 5, 5), r("a", 6, 4)]).length, 1);
  assert.equal(
    funnelProblems([
      r("read", 5, 4),
      { ...r("subset", 3, 3), split: "train" },
      { ...r("subset", 2, 1), split: "val" },
    ]).length,
    1,
  );
});

test("data stats: readable funnel and split tables, and one JSON object", async () => {
  const { text, json } = await dataStats({
    dataDir: fixtureDir(),
    languages: ["Python"],
    perLanguage: [5, 1, 1],
    seed: 1,
  });
  assert.match(text, /codesearchnet: funnel/);
  assert.match(text, /summary_min_chars\s+10 \(-1\)/);
  assert.match(text, /subset train\s+2/);
  assert.match(text, /python\s+2 of 2\s+1 of 1\s+1 of 1/);
  assert.match(text, /commitpackft \(input: diff\): funnel/);
  assert.match(text, /asked for 5 examples, only 2 remain/);
  const parsed = JSON.parse(JSON.stringify(json)) as {
    funnel: FunnelRecord[];
    stats: { field: string }[];
    dataHash: string;
  };
  assert.equal(parsed.funnel.length, 13 + 9);
  assert.ok(parsed.stats.some((s) => s.field === "target"));
  assert.match(parsed.dataHash, /^[0-9a-f]{64}$/);
});

// The shared sample sits beside the checkout (../shared/data); its README gives the row counts.
const SHARED = path.resolve(__dirname, "..", "..", "..", "shared", "data");
const README_ROWS = {
  codesearchnet: { python: 1044, java: 1200, javascript: 637, php: 937, ruby: 1132, go: 1594 },
  commitpackft: { python: 500, java: 390, javascript: 545, php: 1078, ruby: 1068, go: 775 },
};

test(
  "smoke: the real shared data prepares with a consistent funnel",
  { skip: !fs.existsSync(SHARED) && "no ../shared/data" },
  async () => {
    const p = await prepareDatasets({ dataDir: SHARED });
    assert.deepEqual(funnelProblems(p.funnel), []);
    for (const dataset of ["codesearchnet", "commitpackft"] as const)
      for (const lang of LANGS) {
        const read = p.funnel.find(
          (r) => r.dataset === dataset && r.language === lang && r.stage === "read",
        )!;
        assert.equal(read.in, README_ROWS[dataset][lang], `${dataset}/${lang} rows`);
        assert.equal(read.removed, 0);
      }
    for (const s of p.splitSizes) assert.ok(s.selected <= s.requested && s.selected <= s.available);
    for (const dataset of ["codesearchnet", "commitpackft"] as const) {
      const all = ["train", "val", "test"].flatMap((s) => examplesOf(p, dataset, s as "train"));
      assert.equal(new Set(ids(all)).size, all.length, `${dataset}: ids unique`);
      for (const e of all) assert.ok(e.target.trim().length > 0 && e.input.length > 0);
    }
    for (const e of ["train", "val", "test"].flatMap((s) =>
      examplesOf(p, "codesearchnet", s as "train"),
    )) {
      assert.ok(
        e.target.length >= 30 && /^[A-Z]/.test(e.target) && /[.!?]$/.test(e.target),
        e.target,
      );
      assert.ok(!/^\s*(@param|:param|@return)/m.test(e.target), e.target);
    }
  },
);
