import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  codeVersion,
  FileHashes,
  specId,
  trialKey,
  type KeyInputs,
} from "../../src/experiments/key";
import { parseShard, selectShard } from "../../src/experiments/plan";
import { parseDefinition } from "../../src/experiments/definition";
import { expandTrials, type TrialSpec } from "../../src/experiments/trials";
import { sweepDef, testProfile, tmp } from "./helpers";

const INPUTS: KeyInputs = {
  dataHash: "d".repeat(64),
  modelHash: "m".repeat(64),
  codeVersion: "c".repeat(64),
};

function oneTrial(): TrialSpec {
  const def = parseDefinition(sweepDef("optimizers", { optimizer: ["adamw"] }), "optimizers");
  return expandTrials(def, testProfile())[0];
}

/** The same JSON with every object's keys in reverse order. */
function reordered<T>(value: T): T {
  if (Array.isArray(value)) return value.map(reordered) as T;
  if (value && typeof value === "object")
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([k, v]) => [k, reordered(v)]),
    ) as T;
  return value;
}

test("key: the same spec gives the same key, whatever the key order of its JSON", () => {
  const a = oneTrial();
  const b = reordered(structuredClone(a));
  assert.notEqual(JSON.stringify(a), JSON.stringify(b));
  assert.equal(trialKey(a, INPUTS), trialKey(b, INPUTS));
  assert.match(trialKey(a, INPUTS), /^[0-9a-f]{64}$/);
  assert.equal(specId(a), specId(b));
});

test("key: any change to what determines the numbers changes it; labels do not", () => {
  const base = oneTrial();
  const key = trialKey(base, INPUTS);
  const changed: [string, (s: TrialSpec) => void][] = [
    ["seed", (s) => (s.seed = 1)],
    ["lr", (s) => (s.train!.lr = 3e-4)],
    ["optimizer", (s) => (s.train!.optimizer = "sgd")],
    ["languages", (s) => (s.train!.languages = ["python"])],
    ["evaluation split", (s) => (s.evaluate.split = "test")],
    ["evaluation size", (s) => (s.evaluate.size = 3)],
    ["model directory", (s) => (s.modelDir = "models/narrator-2m")],
    ["trainedOn", (s) => (s.trainedOn = "cocktail")],
  ];
  for (const [what, change] of changed) {
    const s = structuredClone(base);
    change(s);
    assert.notEqual(trialKey(s, INPUTS), key, what);
    assert.notEqual(specId(s), specId(base), what);
  }
  for (const field of ["dataHash", "modelHash", "codeVersion"] as const) {
    assert.notEqual(trialKey(base, { ...INPUTS, [field]: "e".repeat(64) }), key, field);
  }
  const relabelled = {
    ...structuredClone(base),
    experiment: "other",
    label: "another label",
    settings: { lr: 1 },
    model: "renamed",
  };
  assert.equal(trialKey(relabelled, INPUTS), key);
  assert.equal(specId(relabelled), specId(base));
});

test("code version: a hash of the files under the source folder only", () => {
  const root = tmp("code");
  const src = path.join(root, "src");
  fs.mkdirSync(path.join(src, "a"), { recursive: true });
  fs.writeFileSync(path.join(src, "a", "x.ts"), "export const x = 1;\n");
  fs.writeFileSync(path.join(src, "y.ts"), "export const y = 2;\n");
  const v1 = codeVersion(src);
  // The expected value, computed independently: sorted relative paths with each file's sha256.
  const sha = (t: string) => createHash("sha256").update(t).digest("hex");
  const expected = sha(
    `a/x.ts\t${sha("export const x = 1;\n")}\n` + `y.ts\t${sha("export const y = 2;\n")}\n`,
  );
  assert.equal(v1, expected);
  fs.writeFileSync(path.join(root, "README.md"), "docs\n");
  assert.equal(codeVersion(src), v1, "a file outside src/ does not count");
  fs.mkdirSync(path.join(src, "report"));
  fs.writeFileSync(path.join(src, "report", "page.ts"), "export const p = 1;\n");
  assert.equal(codeVersion(src), v1, "a presentation folder does not count");
  fs.writeFileSync(path.join(src, "y.ts"), "export const y = 3;\n");
  assert.notEqual(codeVersion(src), v1);
});

test("file hashes are cached by path, size and mtime, and saved", async () => {
  const dir = tmp("hashes");
  const file = path.join(dir, "data.jsonl");
  fs.writeFileSync(file, "abc\n");
  // Whole seconds, which utimes can restore exactly.
  fs.utimesSync(file, 1_700_000_000, 1_700_000_000);
  const cacheFile = path.join(dir, "cache.json");
  const sha = createHash("sha256").update("abc\n").digest("hex");
  const h = new FileHashes(cacheFile);
  assert.equal(await h.of(file), sha);
  h.save();
  // Same size and mtime, other content: the cached hash is returned (the file is not read again).
  fs.writeFileSync(file, "xyz\n");
  fs.utimesSync(file, 1_700_000_000, 1_700_000_000);
  assert.equal(await new FileHashes(cacheFile).of(file), sha);
  // Another size: hashed again.
  fs.writeFileSync(file, "abcd\n");
  assert.equal(
    await new FileHashes(cacheFile).of(file),
    createHash("sha256").update("abcd\n").digest("hex"),
  );
});

test("shards: i/n parts are disjoint, cover every key, and do not depend on the input order", () => {
  const records = Array.from({ length: 23 }, (_, i) => ({
    key: createHash("sha256").update(String(i)).digest("hex"),
  }));
  const n = 4;
  const parts = Array.from({ length: n }, (_, i) => selectShard(records, { index: i, count: n }));
  const all = parts.flat().map((r) => r.key);
  assert.equal(all.length, 23);
  assert.equal(new Set(all).size, 23);
  // Sizes: 23 = 6 + 6 + 6 + 5.
  assert.deepEqual(
    parts.map((p) => p.length),
    [6, 6, 6, 5],
  );
  const shuffled = [...records].reverse();
  for (let i = 0; i < n; i++)
    assert.deepEqual(
      new Set(selectShard(shuffled, { index: i, count: n }).map((r) => r.key)),
      new Set(parts[i].map((r) => r.key)),
    );
  // The 0th part starts with the smallest key.
  const smallest = records.map((r) => r.key).sort()[0];
  assert.ok(parts[0].some((r) => r.key === smallest));
  assert.deepEqual(parseShard("2/4"), { index: 2, count: 4 });
  for (const bad of ["4/4", "1/0", "a/b", "1"])
    assert.throws(() => parseShard(bad), /--shard expects i\/n/);
});
