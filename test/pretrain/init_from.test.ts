import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { initBackend } from "../../src/backend/backend";
import { pretrainConfigFromFlags } from "../../src/cli/pretrain_commands";
import {
  parsePretrainConfig,
  pretrainCommand,
  type PretrainConfigInput,
} from "../../src/pretrain/config";
import { pretrain } from "../../src/pretrain/pretrain";
import { prepareRun } from "../../src/pretrain/setup";
import { shipCheckpoint } from "../../src/pretrain/ship";
import { BOS, SPECIAL_TOKENS } from "../../src/tokenizer/special";
import { trainByteLevelBpe } from "../../src/tokenizer/train";

// A hand-written corpus of two languages, one held-out file each.
const FILES: Record<string, { train: string[]; val: string[] }> = {
  python: {
    train: [
      "def area(w, h):\n    return w * h\n\n\ndef half(x):\n    return x / 2\n",
      "names = []\nfor n in range(5):\n    names.append(str(n))\nprint(names)\n",
    ],
    val: ["def double(x):\n    return x * 2\n"],
  },
  ruby: {
    train: [
      "def area(w, h)\n  w * h\nend\n\ndef half(x)\n  x / 2\nend\n",
      "names = []\n5.times do |n|\n  names << n.to_s\nend\nputs names\n",
    ],
    val: ["def double(x)\n  x * 2\nend\n"],
  },
};

let root: string;
let corpus: string;
let tokenizerFile: string;
let tiny: string;
let vocab: number;

function modelFile(name: string, hidden: number): string {
  const file = path.join(root, name);
  fs.writeFileSync(
    file,
    JSON.stringify({
      vocab_size: vocab,
      hidden_size: hidden,
      intermediate_size: 64,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      max_position_embeddings: 64,
      tie_word_embeddings: true,
    }),
  );
  return file;
}

before(async () => {
  await initBackend();
  root = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-init-from-"));
  corpus = path.join(root, "corpus");
  fs.mkdirSync(corpus);
  for (const [lang, splits] of Object.entries(FILES)) {
    for (const [split, texts] of Object.entries(splits)) {
      const rows = texts.map((text, i) => JSON.stringify({ path: `f${i}`, package: "h", text }));
      fs.writeFileSync(
        path.join(corpus, `${lang}.${split}.jsonl.gz`),
        zlib.gzipSync(rows.join("\n") + "\n"),
      );
    }
  }
  fs.writeFileSync(
    path.join(corpus, "MANIFEST.json"),
    JSON.stringify({ format: 1, contentHash: "two-language-corpus" }),
  );
  const tok = trainByteLevelBpe(
    Object.values(FILES).flatMap((f) => f.train),
    { vocabSize: 280, specialTokens: [...SPECIAL_TOKENS], bosToken: BOS },
  );
  tokenizerFile = path.join(root, "tokenizer.json");
  tok.save(tokenizerFile);
  vocab = tok.vocabSize;
  tiny = modelFile("tiny.json", 32);
});

after(() => fs.rmSync(root, { recursive: true, force: true }));

function run(name: string, overrides: Partial<PretrainConfigInput> = {}): PretrainConfigInput {
  return {
    model: tiny,
    tokenizer: tokenizerFile,
    corpus,
    out: path.join(root, name),
    steps: 8,
    seqLen: 16,
    batchSize: 4,
    lr: 1e-2,
    warmupSteps: 2,
    evalEvery: 0,
    evalWindows: 4,
    checkpointEvery: 4,
    ...overrides,
  };
}

const lines = (file: string) =>
  fs
    .readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
const stateOf = (dir: string) =>
  JSON.parse(fs.readFileSync(path.join(dir, "state.json"), "utf8")) as {
    optimizerSteps: Record<string, number>;
  };

test("a continued run starts from the first run's weights and moments and follows its own schedule", async () => {
  const stage1 = run("stage1");
  await pretrain(stage1);
  const evals1 = lines(path.join(stage1.out!, "metrics.jsonl")).filter((r) => r.type === "eval");
  const end1 = evals1.at(-1)!;
  assert.equal(end1.step, 8);

  const stage2 = run("stage2", { initFrom: stage1.out, steps: 6, lr: 5e-3, seed: 1 });
  const r = await pretrain(stage2);
  assert.equal(r.status, "completed");
  const log2 = lines(path.join(stage2.out!, "metrics.jsonl"));
  // The first evaluation of the continued run is of the weights the first run ended with.
  assert.equal(log2[0].type, "eval");
  assert.equal(log2[0].step, 0);
  assert.equal(log2[0].ce, end1.ce);
  assert.deepEqual(log2[0].byLanguage, end1.byLanguage);
  // Its own warmup (2 steps to 5e-3) and cosine to 0 at its own 6 steps.
  const steps2 = log2.filter((x) => x.type === "step");
  const cosine = (k: number) => 0.005 * 0.5 * (1 + Math.cos((Math.PI * (k - 2)) / 4));
  const expected = [0, 0.0025, 0.005, cosine(3), cosine(4), cosine(5)];
  assert.equal(steps2.length, 6);
  steps2.forEach((x, k) => assert.ok(Math.abs((x.lr as number) - expected[k]) < 1e-12, `${k}`));
  assert.equal(r.tokens, 6 * 64);
  // AdamW's step counts went on from the first run's 8.
  const ck2 = path.join(stage2.out!, "checkpoint-6");
  for (const n of Object.values(stateOf(ck2).optimizerSteps)) assert.equal(n, 8 + 6);

  // The card of the run's end, and of its last checkpoint shipped afterwards, tell both stages.
  const shipped = await shipCheckpoint(stage2, path.join(root, "stage2-shipped"));
  const ce1 = (end1.ce as number).toFixed(4);
  for (const dir of [r.outputs.model!, shipped.dir]) {
    assertCard(dir, [
      `Stage 2 of a continued run: it started from the float32 weights and AdamW moments of the last checkpoint of runs/stage1 `,
      `| 1 | runs/stage1 | 8 | 512 | ${ce1} | `,
      "| optimizer steps | 6 of 6 in this stage, after 8 in stage 1 |",
      "| tokens seen | 896 (",
      "over both stages: 512 in stage 1, 384 in this one |",
      "# stage 1, run to its end first",
      `--out runs/stage1 --steps 8 `,
      "# stage 2: pretrain in the background",
      `--init-from runs/stage1 --steps 6 `,
    ]);
  }

  // A third stage from the second: its card reports the whole chain, totals over three stages.
  const end2 = log2.filter((x) => x.type === "eval").at(-1)!;
  assert.equal(end2.step, 6);
  const stage3 = run("stage3", { initFrom: stage2.out, steps: 4, seed: 2 });
  const r3 = await pretrain(stage3);
  assert.equal(r3.status, "completed");
  assertCard(r3.outputs.model!, [
    `Stage 3 of a continued run: it started from the float32 weights and AdamW moments of the last checkpoint of runs/stage2 `,
    `| 1 | runs/stage1 | 8 | 512 | ${ce1} | `,
    `| 2 | runs/stage2 | 6 | 384 | ${(end2.ce as number).toFixed(4)} | `,
    "| optimizer steps | 4 of 4 in this stage, after 14 in stages 1-2 |",
    "| tokens seen | 1,152 (",
    "over 3 stages: 896 in stages 1-2, 256 in this one |",
    "# stage 1, run to its end first",
    "# stage 2, run to its end first",
    "# stage 3: pretrain in the background",
    `--init-from runs/stage2 --steps 4 `,
  ]);
});

test("a run continues from a shipped model folder: its bfloat16 weights, AdamW from zero, its stages on the card", async () => {
  // The second stage's shipped folder (previous test) records both stages in training.json.
  const shipped = path.join(root, "stage2", "model");
  const record = JSON.parse(fs.readFileSync(path.join(shipped, "training.json"), "utf8")) as {
    stage: { run: string; steps: number; tokens: number; valCe: number; continuedFrom: unknown };
  };
  assert.equal(record.stage.run, "runs/stage2");
  assert.equal(record.stage.steps, 6);
  assert.equal(record.stage.tokens, 384);
  assert.equal((record.stage.continuedFrom as { run: string }).run, "runs/stage1");
  const card = fs.readFileSync(path.join(shipped, "README.md"), "utf8");
  assert.ok(card.includes(`**${record.stage.valCe.toFixed(4)} nats/token**`), card);

  const next = run("from-folder", { initFrom: shipped, steps: 4, seed: 3 });
  const r = await pretrain(next);
  assert.equal(r.status, "completed");
  const log = lines(path.join(next.out!, "metrics.jsonl"));
  // The first evaluation is of the shipped bfloat16 weights, as their card measured them.
  assert.equal(log[0].step, 0);
  assert.ok(
    Math.abs((log[0].ce as number) - record.stage.valCe) < 1e-6,
    `${String(log[0].ce)} vs ${record.stage.valCe}`,
  );
  // A model folder carries no optimizer state: AdamW counts this run's steps only.
  for (const n of Object.values(stateOf(path.join(next.out!, "checkpoint-4")).optimizerSteps))
    assert.equal(n, 4);
  assertCard(r.outputs.model!, [
    "Stage 3 of a continued run: it started from the bfloat16 weights of models/model (AdamW moments from zero)",
    "| 1 | runs/stage1 | 8 | 512 | ",
    "| 2 | runs/stage2 | 6 | 384 | ",
    "| optimizer steps | 4 of 4 in this stage, after 14 in stages 1-2 |",
  ]);

  // A folder without its record of stages, or of another shape, is refused before training.
  const bare = path.join(root, "bare-model");
  fs.cpSync(shipped, bare, { recursive: true });
  fs.rmSync(path.join(bare, "training.json"));
  await assert.rejects(
    pretrain(run("from-bare", { initFrom: bare })),
    /bare-model\/training\.json: missing; a model folder to continue from records the stages/,
  );
  await assert.rejects(
    pretrain(run("from-wide", { initFrom: shipped, model: modelFile("wide2.json", 48) })),
    /model\/config\.json: the folder's model config differs from this run's \(hidden_size 32 there, 48 here\)/,
  );
});

function assertCard(dir: string, facts: string[]): void {
  const card = fs.readFileSync(path.join(dir, "README.md"), "utf8");
  // Run folders outside the checkout are named runs/<name>: the card holds no machine's run folders.
  const runs = path.join(root, "stage");
  assert.ok(!card.includes(runs), `the card names a run folder under ${root}`);
  for (const fact of facts) assert.ok(card.includes(fact), `card lacks: ${fact}\n${card}`);
}

test("a first run of another model shape is refused, naming its checkpoint's state.json", async () => {
  const wide = modelFile("wide.json", 48);
  await assert.rejects(
    pretrain(run("wide-stage2", { model: wide, initFrom: path.join(root, "stage1") })),
    /stage1\/checkpoint-8\/state\.json: the checkpoint's model config differs from this run's \(hidden_size 32 there, 48 here\)/,
  );
  await assert.rejects(
    pretrain(run("no-stage1", { initFrom: path.join(root, "missing") })),
    /initFrom .*missing: neither a run with a checkpoint \(checkpoint\.json\) nor a model folder/,
  );
});

test("the resume key follows the starting checkpoint's content, not its folder", async () => {
  const other = run("stage1-seed2", { seed: 2 });
  await pretrain(other);
  const copy = path.join(root, "stage1-copy");
  fs.cpSync(path.join(root, "stage1"), copy, { recursive: true });
  const keyFrom = (initFrom: string) =>
    prepareRun(parsePretrainConfig(run("keys", { initFrom })), () => undefined).resumeKey;
  assert.equal(keyFrom(copy), keyFrom(path.join(root, "stage1")));
  assert.notEqual(keyFrom(copy), keyFrom(other.out!));
  assert.notEqual(
    keyFrom(copy),
    prepareRun(parsePretrainConfig(run("keys")), () => undefined).resumeKey,
  );

  // A continued run resumes against the same start, and is refused once the start has changed.
  const stage2 = run("stage2-resumed", { initFrom: copy, steps: 6 });
  await pretrain(stage2, { stopAfterSteps: 4 });
  fs.rmSync(copy, { recursive: true });
  fs.cpSync(other.out!, copy, { recursive: true });
  await assert.rejects(pretrain(stage2, { resume: true }), /saved with other settings/);
  fs.rmSync(copy, { recursive: true });
  fs.cpSync(path.join(root, "stage1"), copy, { recursive: true });
  assert.equal((await pretrain(stage2, { resume: true })).status, "completed");
});

test("--init-from is a setting of the command line and of the printed command", () => {
  const flags = {
    preset: "narrator-8m",
    tokenizer: "t.json",
    corpus: "c",
    out: "o2",
    "init-from": "runs/o1",
  };
  const config = pretrainConfigFromFlags(flags);
  assert.equal(config.initFrom, "runs/o1");
  assert.match(pretrainCommand(config), / --out o2 --init-from runs\/o1 --steps 5000 /);
  assert.doesNotMatch(
    pretrainCommand(pretrainConfigFromFlags({ ...flags, "init-from": undefined })),
    /init-from/,
  );
});
