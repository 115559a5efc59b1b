import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { initBackend } from "../../src/backend/backend";
import { initTensors, modelFromTensors, saveModel } from "../../src/model/checkpoint";
import { parseLlamaConfig } from "../../src/model/config";
import { explainDiff, explainFile } from "../../src/narrate/explain";
import { Narrator } from "../../src/narrate/narrator";
import { Tokenizer } from "../../src/tokenizer/tokenizer";
import { trainByteLevelBpe } from "../../src/tokenizer/train";
import { BOS, SPECIAL_TOKENS } from "../../src/tokenizer/special";
import { train } from "../../src/train/trainer";
import type { Example } from "../../src/data/example";

const RANDOM = "models/narrator-2m-random";
const root = fs.mkdtempSync(path.join(os.tmpdir(), "narrate-explain-"));
const GO = "package calc\n\n// Add adds.\nfunc Add(a, b int) int {\n\treturn a + b\n}\n";
const goFile = path.join(root, "calc.go");
let narrator: Narrator;

before(async () => {
  await initBackend();
  fs.writeFileSync(goFile, GO);
  narrator = await Narrator.open({ model: RANDOM, maxNewTokens: 3 });
});
after(() => {
  narrator.dispose();
  fs.rmSync(root, { recursive: true, force: true });
});

test("explain a Go function end to end with a shipped model: deterministic, lines and language kept", () => {
  const e = explainFile(narrator, `${goFile}:Add`);
  assert.deepEqual(
    [e.kind, e.function, e.qualifiedName, e.language, e.startLine, e.endLine],
    ["file", "Add", "Add", "go", 4, 6],
  );
  assert.equal(typeof e.explanation, "string");
  assert.deepEqual(
    e.notes.filter((n) => n.startsWith("input truncated")),
    [],
  );
  assert.equal(e.keptInputTokens, e.inputTokens);
  assert.deepEqual(explainFile(narrator, `${goFile}:Add`), e);
  assert.equal(narrator.settings.prompt, "deepseek");
  assert.equal(narrator.settings.quant, "none");
});

test("explain a diff as a commit: its files, and the language of its source files", () => {
  const diff =
    "--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n def add(a, b):\n-    return a + b\n+    return b + a\n";
  const e = explainDiff(narrator, diff, "javascript");
  assert.deepEqual([e.kind, e.files, e.language], ["diff", ["calc.py"], "python"]);
  assert.equal(e.keptInputTokens, e.inputTokens);
  assert.equal(typeof e.explanation, "string");
});

test("a capped input is cut with a note counting the input's own tokens", async () => {
  const capped = await Narrator.open({ model: RANDOM, maxNewTokens: 2, maxInputTokens: 5 });
  try {
    const e = explainFile(capped, goFile);
    const tok = Tokenizer.fromFile(path.join(RANDOM, "tokenizer.json"));
    // The deepseek layout strips the input's trailing whitespace (as the finetune script does).
    const total = tok.encode(GO.trimEnd(), { addSpecial: false }).length;
    assert.equal(e.keptInputTokens, 5);
    assert.ok(e.notes.includes(`input truncated: kept 5 of ${total} tokens`));
  } finally {
    capped.dispose();
  }
  const huge = await Narrator.open({ model: RANDOM, maxNewTokens: 2, maxInputTokens: 5000 });
  try {
    assert.throws(
      () => explainFile(huge, goFile),
      /--max-input-tokens 5000 does not fit: the model's context is 1024 tokens/,
    );
  } finally {
    huge.dispose();
  }
});

// Hand-written examples for a tiny adapter run (the trainer's own test uses the same kind).
const EXAMPLES: Example[] = [
  ["f1", "codesearchnet", "def add(a, b):\n    return a + b", "Adds two numbers."],
  ["f2", "codesearchnet", "def sub(a, b):\n    return a - b", "Subtracts b from a."],
  ["c1", "commitpackft", "-x = 1\n+x = 2", "Change the default value of x."],
  ["c2", "commitpackft", "-print(a)\n+log(a)", "Log the value instead of printing it."],
].map(([id, task, input, target]) => ({
  id,
  task: task as Example["task"],
  language: "python",
  split: "train",
  input,
  target,
}));

test("an adapter written by narrator train brings its run's prompt format, quantization and length", async () => {
  const base = path.join(root, "base");
  fs.mkdirSync(base);
  const tok = trainByteLevelBpe(
    EXAMPLES.flatMap((e) => [e.input, e.target]),
    { vocabSize: 300, specialTokens: [...SPECIAL_TOKENS], bosToken: BOS },
  );
  tok.save(path.join(base, "tokenizer.json"));
  const config = parseLlamaConfig({
    vocab_size: tok.vocabSize,
    hidden_size: 64,
    intermediate_size: 128,
    num_hidden_layers: 1,
    num_attention_heads: 4,
    max_position_embeddings: 128,
    tie_word_embeddings: true,
  });
  saveModel(base, modelFromTensors(config, initTensors(config, 1), {}, "init"));
  const out = path.join(root, "run");
  await train(
    {
      model: base,
      out,
      task: "cocktail",
      prompt: "compact",
      quant: "nf4",
      maxLen: 48,
      loraR: 4,
      batchSize: 2,
      evalAtStart: false,
      valSize: 1,
    },
    { data: { train: EXAMPLES, val: EXAMPLES.slice(0, 1), dataHash: "hand-written" } },
  );
  const adapter = path.join(out, "adapter");
  const n = await Narrator.open({ model: base, adapter, maxNewTokens: 4 });
  try {
    assert.deepEqual(
      [n.settings.prompt, n.settings.quant, n.settings.maxLen, n.settings.source],
      ["compact", "nf4", 48, path.join(out, "result.json")],
    );
    // Room for the input: 48 (the run's maxLen) - 3 (<|bos|><|code|>...<|summary|>) - 4 new tokens.
    const long = "def f(x):\n" + "    x = x + 1\n".repeat(20);
    const e = n.narrate({ task: "codesearchnet", language: "python", input: long });
    const total = tok.encode(long, { addSpecial: false }).length;
    assert.ok(e.notes.includes(`input truncated: kept 41 of ${total} tokens`), e.notes.join("; "));
  } finally {
    n.dispose();
  }
  await assert.rejects(
    Narrator.open({ model: base, adapter, overrides: { prompt: "deepseek" } }),
    /prompt deepseek disagrees with the adapter's training run \(.*result\.json: prompt compact\)/,
  );
});
