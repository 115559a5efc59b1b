import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import {
  loadPreparedCache,
  prepareCached,
  readTokenIds,
  type PrepareCachedOptions,
} from "../../src/data/cache";
import { dataPrepare } from "../../src/data/commands";
import { prepareDatasets } from "../../src/data/prepare";
import { trainByteLevelBpe } from "../../src/tokenizer/train";
import { CPF_PYTHON, CSN_PYTHON } from "../fixtures/data/rows";

const tmp = (prefix: string): string => fs.mkdtempSync(path.join(os.tmpdir(), prefix));

/** A data directory holding the hand-written python rows (as prepare.test.ts builds it). */
function fixtureDir(): string {
  const dir = tmp("narrator-cache-data-");
  fs.mkdirSync(path.join(dir, "codesearchnet"));
  fs.mkdirSync(path.join(dir, "commitpackft"));
  fs.writeFileSync(
    path.join(dir, "codesearchnet", "python.jsonl.gz"),
    zlib.gzipSync(CSN_PYTHON.map((r) => JSON.stringify(r)).join("\n") + "\n"),
  );
  fs.writeFileSync(
    path.join(dir, "commitpackft", "python.jsonl"),
    CPF_PYTHON.map((r) => JSON.stringify(r)).join("\n") + "\n",
  );
  return dir;
}

const SETTINGS = { languages: ["python"], perLanguage: [5, 1, 1], seed: 1 } as const;
const opts = (dataDir: string, cacheDir: string, more: Partial<PrepareCachedOptions> = {}) => ({
  dataDir,
  cacheDir,
  languages: [...SETTINGS.languages],
  perLanguage: [...SETTINGS.perLanguage] as [number, number, number],
  seed: SETTINGS.seed,
  ...more,
});

/** Every file under a directory with its modification time and inode. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const rel of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const st = fs.statSync(path.join(dir, rel));
    out.set(rel, `${st.mtimeMs}/${st.ino}`);
  }
  return out;
}

test("written once, then reused without a rewrite; the cache reads back as prepareDatasets' result", async () => {
  const data = fixtureDir();
  const cache = tmp("narrator-cache-");
  const first = await prepareCached(opts(data, cache));
  assert.equal(first.reused, false);
  assert.equal(first.dir, path.join(cache, first.key));
  assert.match(first.key, /^[0-9a-f]{64}$/);
  assert.deepEqual(fs.readdirSync(cache), [first.key]); // no temporary directory left behind
  // Counts from the fixture's comments (see prepare.test.ts): CodeSearchNet keeps train 2, val 1,
  // test 1; CommitPackFT 7/1/2 available, subset 5/1/1.
  assert.deepEqual(
    first.manifest.groups.map((g) => `${g.task}/${g.split}/${g.language}=${g.examples}`),
    [
      "codesearchnet/train/python=2",
      "codesearchnet/val/python=1",
      "codesearchnet/test/python=1",
      "commitpackft/train/python=5",
      "commitpackft/val/python=1",
      "commitpackft/test/python=1",
    ],
  );
  assert.deepEqual(
    first.warnings.map((w) => w.kind),
    ["subset_shortfall"],
  );
  const before = snapshot(first.dir);
  await new Promise((r) => setTimeout(r, 30));

  const second = await prepareCached(
    opts(data, cache, {
      beforeCommit: () => assert.fail("a reused cache must not be written again"),
    }),
  );
  assert.equal(second.reused, true);
  assert.equal(second.dir, first.dir);
  assert.deepEqual(second.manifest, first.manifest);
  assert.deepEqual(second.warnings, first.warnings);
  assert.deepEqual(snapshot(first.dir), before);

  const direct = await prepareDatasets({
    dataDir: data,
    languages: ["python"],
    perLanguage: [5, 1, 1],
    seed: 1,
  });
  const loaded = loadPreparedCache(first.dir);
  assert.deepEqual(loaded.examples, direct.examples);
  assert.deepEqual(loaded.funnel, direct.funnel);
  assert.deepEqual(loaded.warnings, direct.warnings);
  assert.deepEqual(loaded.splitSizes, direct.splitSizes);
  assert.equal(loaded.manifest.dataHash, direct.dataHash);
  assert.deepEqual(loaded.manifest.settings.perLanguage, [5, 1, 1]);
});

test("a changed setting or input file gives a new key; moving the data does not", async () => {
  const data = fixtureDir();
  const cache = tmp("narrator-cache-");
  const base = await prepareCached(opts(data, cache));
  const seed = await prepareCached(opts(data, cache, { seed: 2 }));
  const input = await prepareCached(opts(data, cache, { commitInput: "both" }));
  const all = await prepareCached(opts(data, cache, { perLanguage: [Infinity, 1, 1] }));
  assert.equal(new Set([base.key, seed.key, input.key, all.key]).size, 4);
  assert.ok([seed, input, all].every((r) => !r.reused));
  assert.deepEqual(loadPreparedCache(all.dir).manifest.settings.perLanguage, [Infinity, 1, 1]);

  const moved = tmp("narrator-cache-moved-");
  fs.cpSync(data, moved, { recursive: true });
  const again = await prepareCached(opts(moved, cache));
  assert.deepEqual([again.key, again.reused], [base.key, true]);

  fs.appendFileSync(path.join(moved, "commitpackft", "python.jsonl"), "\n"); // same rows, other bytes
  const edited = await prepareCached(opts(moved, cache));
  assert.notEqual(edited.key, base.key);
  assert.equal(edited.reused, false);
  assert.equal(fs.readdirSync(cache).length, 5);
});

test("with a tokenizer: its ids of every input and target, little-endian int32; another tokenizer, another key", async () => {
  const data = fixtureDir();
  const cache = tmp("narrator-cache-");
  const texts = [...CSN_PYTHON, ...CPF_PYTHON].map((r) => JSON.stringify(r));
  const tokFile = path.join(tmp("narrator-cache-tok-"), "tokenizer.json");
  const tok = trainByteLevelBpe(texts, { vocabSize: 320, specialTokens: ["<|bos|>"] });
  tok.save(tokFile);

  const plain = await prepareCached(opts(data, cache));
  const withIds = await prepareCached(opts(data, cache, { tokenizer: tokFile }));
  assert.notEqual(withIds.key, plain.key);
  assert.equal(plain.manifest.groups[0].tokens, undefined);
  const loaded = loadPreparedCache(withIds.dir);
  for (const g of withIds.manifest.groups) {
    const examples = loaded.examples[g.task][g.split][g.language];
    const ids = readTokenIds(withIds.dir, g);
    assert.equal(ids.length, examples.length);
    examples.forEach((e, i) => {
      assert.deepEqual([...ids[i].input], tok.encode(e.input, { addSpecial: false }));
      assert.deepEqual([...ids[i].target], tok.encode(e.target, { addSpecial: false }));
    });
  }
  // The layout, read by hand: lengths [input, target] per example, then the ids one after another.
  const g = withIds.manifest.groups[0];
  const first = loaded.examples[g.task][g.split][g.language][0];
  const lengths = fs.readFileSync(path.join(withIds.dir, g.tokens!.lengths));
  const idsFile = fs.readFileSync(path.join(withIds.dir, g.tokens!.ids));
  const nInput = tok.encode(first.input, { addSpecial: false }).length;
  assert.equal(lengths.readInt32LE(0), nInput);
  assert.equal(idsFile.readInt32LE(nInput * 4), tok.encode(first.target, { addSpecial: false })[0]);
  assert.throws(() => readTokenIds(plain.dir, plain.manifest.groups[0]), /no token ids/);

  const other = trainByteLevelBpe(texts, { vocabSize: 300, specialTokens: ["<|bos|>"] });
  other.save(tokFile);
  const retrained = await prepareCached(opts(data, cache, { tokenizer: tokFile }));
  assert.notEqual(retrained.key, withIds.key);
});

test("an interrupted write leaves no directory named by the key; the next run writes it whole", async () => {
  const data = fixtureDir();
  const cache = tmp("narrator-cache-");
  let seen = "";
  await assert.rejects(
    prepareCached(
      opts(data, cache, {
        beforeCommit: (dir) => {
          seen = dir;
          assert.ok(fs.existsSync(path.join(dir, "manifest.json")));
          throw new Error("interrupted");
        },
      }),
    ),
    /interrupted/,
  );
  assert.equal(path.dirname(seen), cache);
  assert.deepEqual(fs.readdirSync(cache), []);
  const r = await prepareCached(opts(data, cache));
  assert.equal(r.reused, false);
  assert.notEqual(r.dir, seen);
  assert.equal(loadPreparedCache(r.dir).examples.commitpackft.train.python.length, 5);
  // A directory named by the key but without a manifest is not taken for a complete one.
  fs.rmSync(path.join(r.dir, "manifest.json"));
  await assert.rejects(prepareCached(opts(data, cache)), /holds no manifest\.json/);
});

test("data prepare report: where, written or reused, counts per language and split", async () => {
  const data = fixtureDir();
  const cache = tmp("narrator-cache-");
  const args = {
    dataDir: data,
    cacheDir: cache,
    languages: ["Python"],
    perLanguage: [5, 1, 1] as [number, number, number],
    seed: 1,
  };
  const a = await dataPrepare(args);
  assert.match(a.text, /^cache: .+ \(written\)$/m);
  assert.match(
    a.text,
    /commitpackft: examples\nlanguage\s+train\s+val\s+test\n[- ]+\npython\s+5\s+1\s+1/,
  );
  assert.match(a.text, /codesearchnet: examples\n.*\n.*\npython\s+2\s+1\s+1/);
  assert.match(a.text, /warnings \(1\):/);
  const b = await dataPrepare(args);
  assert.match(b.text, /^cache: .+ \(reused\)$/m);
  const json = b.json as { reused: boolean; key: string; cacheDir: string };
  assert.equal(json.reused, true);
  assert.equal(json.cacheDir, path.join(cache, json.key));
});

test("a truncated or changed cache file is found when reusing: damaged, rebuilt whole", async () => {
  const data = fixtureDir();
  const cache = tmp("narrator-cache-");
  const first = await prepareCached(opts(data, cache));
  const examples = path.join(first.dir, "examples", "commitpackft", "train", "python.jsonl.gz");
  const whole = fs.readFileSync(examples);
  const damages: [string, () => void, RegExp][] = [
    [
      "truncated examples",
      () => fs.writeFileSync(examples, whole.subarray(0, whole.length >> 1)),
      /^examples\/commitpackft\/train\/python\.jsonl\.gz: \d+ bytes, the manifest says \d+$/,
    ],
    [
      "same size, other bytes",
      () => {
        const file = path.join(first.dir, "split_sizes.json");
        fs.writeFileSync(
          file,
          fs.readFileSync(file, "utf8").replace(/"selected": 5/, '"selected": 6'),
        );
      },
      /^split_sizes\.json: content differs from the manifest's sha256$/,
    ],
    [
      "missing file",
      () => fs.rmSync(path.join(first.dir, "warnings.json")),
      /^warnings\.json: missing$/,
    ],
    [
      "truncated manifest",
      () => {
        const file = path.join(first.dir, "manifest.json");
        fs.writeFileSync(file, fs.readFileSync(file, "utf8").slice(0, 100));
      },
      /^manifest\.json: not valid JSON/,
    ],
  ];
  for (const [name, damage, reason] of damages) {
    damage();
    assert.throws(
      () => loadPreparedCache(first.dir),
      /damaged .*run narrator data prepare again|manifest\.json: not valid JSON/,
    );
    const again = await prepareCached(opts(data, cache));
    assert.equal(again.reused, false, name);
    assert.match(again.damaged ?? "", reason, name);
    assert.equal(again.dir, first.dir);
    assert.deepEqual(again.manifest, first.manifest, name);
    assert.deepEqual(loadPreparedCache(first.dir).examples, loadPreparedCache(again.dir).examples);
    assert.deepEqual(fs.readFileSync(examples), whole, name);
    assert.deepEqual(fs.readdirSync(cache), [first.key], name); // nothing left beside it
    const third = await prepareCached(opts(data, cache));
    assert.deepEqual([third.reused, third.damaged], [true, undefined], name);
  }
  // The report says so.
  fs.writeFileSync(examples, whole.subarray(0, 10));
  const report = await dataPrepare({ ...opts(data, cache), languages: ["python"] });
  assert.match(
    report.text,
    /^cache: .+ \(damaged, rebuilt: examples\/commitpackft\/train\/python\.jsonl\.gz: 10 bytes, the manifest says \d+\)$/m,
  );
  assert.match(String((report.json as { damaged: string }).damaged), /10 bytes/);
});
