import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadTaskData, type TaskDataOptions } from "../../src/train/task_data";
import { csnRow, writePythonData } from "../fixtures/data/rows";

// Mined pairs as `corpus pairs` writes them: CodeSearchNet rows of partition train, one folder.
const MINED = [
  csnRow({
    code: "def clamp(x, lo, hi):\n    y = max(lo, x)\n    return min(y, hi)",
    docstring: "Limit the value to the closed range between both bounds.",
    func_name: "clamp",
  }),
  csnRow({
    code: "def mean(values):\n    total = sum(values)\n    return total / len(values)",
    docstring: "Return the arithmetic mean of a non-empty list of numbers.",
    func_name: "mean",
  }),
  // A mined row never enters evaluation, even one marked test.
  csnRow({
    code: "def square(x):\n    y = x * x\n    return y",
    docstring: "Return the given number multiplied by itself.",
    func_name: "square",
    partition: "test",
  }),
];

const roots: string[] = [];
after(() => roots.forEach((r) => fs.rmSync(r, { recursive: true, force: true })));

function dirs(): { base: string; extra: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-extra-train-"));
  roots.push(root);
  const base = writePythonData(path.join(root, "base"));
  const extra = path.join(root, "extra");
  fs.mkdirSync(path.join(extra, "codesearchnet"), { recursive: true });
  fs.writeFileSync(
    path.join(extra, "codesearchnet", "python.jsonl"),
    MINED.map((r) => JSON.stringify(r)).join("\n") + "\n",
  );
  return { base, extra };
}

const options = (data: string, over: Partial<TaskDataOptions> = {}): TaskDataOptions => ({
  data,
  task: "codesearchnet",
  languages: ["python"],
  sizes: [100, 100, 100],
  dataSeed: 42,
  mix: 0.5,
  commitInput: "diff",
  lenient: false,
  ...over,
});

const summaries = (xs: { target: string }[]) => xs.map((x) => x.target).sort();

test("extra train rows join the train set only, all of them, and change the data hash", async () => {
  const { base, extra } = dirs();
  const plain = await loadTaskData(options(base));
  // The fixture's funnel keeps 2 train, 1 val and 1 test row (rows.ts).
  assert.equal(plain.train.length, 2);
  const withExtra = await loadTaskData(options(base, { extraTrain: extra }));
  assert.deepEqual(
    summaries(withExtra.train),
    [
      ...summaries(plain.train),
      "Limit the value to the closed range between both bounds.",
      "Return the arithmetic mean of a non-empty list of numbers.",
    ].sort(),
  );
  assert.deepEqual(summaries(withExtra.val), summaries(plain.val));
  assert.deepEqual(summaries(withExtra.test), summaries(plain.test));
  assert.notEqual(withExtra.dataHash, plain.dataHash);

  // The cocktail mixes the base data as before and adds the extra rows after the mix.
  const cocktail = await loadTaskData(options(base, { task: "cocktail" }));
  const cocktailExtra = await loadTaskData(options(base, { task: "cocktail", extraTrain: extra }));
  assert.equal(cocktailExtra.train.length, cocktail.train.length + 2);
  assert.deepEqual(cocktailExtra.train.slice(0, cocktail.train.length), cocktail.train);
});

test("--extra-train-size draws at most that many extra rows per language, the same ones for the same seed", async () => {
  const { base, extra } = dirs();
  const one = (dataSeed: number) =>
    loadTaskData(options(base, { extraTrain: extra, extraTrainSize: 1, dataSeed }));
  const a = await one(42);
  assert.equal(a.train.length, 2 + 1);
  assert.deepEqual(summaries(a.train), summaries((await one(42)).train));
});

test("an extra directory without a folder of the run's tasks is refused, naming it", async () => {
  const { base, extra } = dirs();
  await assert.rejects(
    loadTaskData(options(base, { task: "commitpackft", extraTrain: extra })),
    /extraTrain .*extra: no commitpackft\/ folder of training rows/,
  );
});

test("the cocktail's size: by default the smaller task's train set in all; given, it can hold every train row of both tasks", async () => {
  const { base } = dirs();
  // The fixture keeps 2 CodeSearchNet and 7 CommitPackFT train rows (rows.ts).
  const byTask = (xs: { task: string }[]) =>
    xs.reduce<Record<string, number>>((n, x) => ({ ...n, [x.task]: (n[x.task] ?? 0) + 1 }), {});
  const study = await loadTaskData(options(base, { task: "cocktail" }));
  assert.deepEqual(byTask(study.train), { codesearchnet: 1, commitpackft: 1 });
  const all = await loadTaskData(options(base, { task: "cocktail", mix: 2 / 9, cocktailSize: 9 }));
  const single = async (task: "codesearchnet" | "commitpackft") =>
    summaries((await loadTaskData(options(base, { task }))).train);
  assert.deepEqual(
    summaries(all.train),
    [...(await single("codesearchnet")), ...(await single("commitpackft"))].sort(),
  );
  // Asking for more than a task has takes what it has, and says so.
  const short = await loadTaskData(options(base, { task: "cocktail", cocktailSize: 9 }));
  assert.deepEqual(byTask(short.train), { codesearchnet: 2, commitpackft: 4 });
  assert.match(
    short.warnings.map((w) => w.message).join("\n"),
    /asked for 5 codesearchnet train examples, only 2 exist/,
  );
});
