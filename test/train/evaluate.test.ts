import { createHash } from "node:crypto";
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { initBackend } from "../../src/backend/backend";
import { encodeExamples } from "../../src/data/batches";
import type { Example, Task } from "../../src/data/example";
import type { Lang } from "../../src/data/langs";
import { corpusRougeLCoco, corpusSmoothedBleu4 } from "../../src/eval/metrics";
import { initTensors, modelFromTensors } from "../../src/model/checkpoint";
import { parseLlamaConfig } from "../../src/model/config";
import { sequenceLogprobs } from "../../src/model/inference";
import type { Llama } from "../../src/model/llama";
import { evaluateCe, evaluateGeneration, formatEvaluation } from "../../src/train/evaluate";
import { charTokenizer } from "../data/char_tokenizer";

let model: Llama;

before(async () => {
  await initBackend();
  const config = parseLlamaConfig({
    vocab_size: 256,
    hidden_size: 16,
    intermediate_size: 32,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    max_position_embeddings: 128,
    tie_word_embeddings: true,
    initializer_range: 0.5, // far from uniform, so that padding mistakes change the numbers
  });
  model = modelFromTensors(config, initTensors(config, 3), {}, "test model");
});

const ex = (id: string, task: Task, language: Lang, input: string, target: string): Example => ({
  id,
  task,
  language,
  split: "val",
  input,
  target,
});

const EXAMPLES = [
  ex("1", "codesearchnet", "python", "def f(): pass", "Does nothing."),
  ex("2", "codesearchnet", "python", "x", "Returns x, a very long description"),
  ex("3", "codesearchnet", "go", "func g() {}", "Empty."),
  ex("4", "commitpackft", "go", "-a\n+b", "Use b."),
  ex("5", "commitpackft", "go", "+import x", "Import x for the parser."),
];

test("CE per task and language equals per-example log-probabilities summed independently", () => {
  const { examples: encoded } = encodeExamples(charTokenizer, EXAMPLES, {
    format: "compact",
    maxLen: 64,
    start: [1],
  });
  // Batches of 3 mix lengths, so padding and masking are exercised.
  const report = evaluateCe(model, encoded, { batchSize: 3, padId: 0 });
  // Independent path: one unpadded sequence at a time; logprobs[j] = log p(ids[j+1] | ids[..j]).
  const sums = new Map<string, { nll: number; n: number }>();
  const add = (key: string, nll: number, n: number) => {
    const s = sums.get(key) ?? { nll: 0, n: 0 };
    sums.set(key, { nll: s.nll + nll, n: s.n + n });
  };
  for (const e of encoded) {
    const lp = sequenceLogprobs(model, Array.from(e.ids));
    const target = lp.slice(e.promptLength - 1);
    const nll = -target.reduce((a, b) => a + b, 0);
    add(`${e.task}/${e.language}`, nll, target.length);
    add(e.task, nll, target.length);
    add("all", nll, target.length);
  }
  const close = (got: number, key: string) => {
    const s = sums.get(key)!;
    assert.ok(Math.abs(got - s.nll / s.n) < 1e-4, `${key}: ${got} vs ${s.nll / s.n}`);
  };
  close(report.byTaskLanguage.codesearchnet!.python!.ce, "codesearchnet/python");
  close(report.byTaskLanguage.codesearchnet!.go!.ce, "codesearchnet/go");
  close(report.byTaskLanguage.commitpackft!.go!.ce, "commitpackft/go");
  close(report.byTask.codesearchnet!.ce, "codesearchnet");
  close(report.byTask.commitpackft!.ce, "commitpackft");
  close(report.overall.ce, "all");
  assert.equal(
    report.byTaskLanguage.codesearchnet!.python!.tokens,
    sums.get("codesearchnet/python")!.n,
  );
  assert.equal(report.byTaskLanguage.codesearchnet!.python!.examples, 2);
  assert.equal(report.byTaskLanguage.commitpackft!.python, undefined);
  assert.ok(Math.abs(report.overall.ppl - Math.exp(report.overall.ce)) < 1e-9);
  const table = formatEvaluation(report);
  assert.match(table, /commitpackft\s+go\s+2\s+/);
});

test("per-example CE terms: each example's NLL and tokens, in input order, ids hashed per language", () => {
  const { examples: encoded } = encodeExamples(charTokenizer, EXAMPLES, {
    format: "compact",
    maxLen: 64,
    start: [1],
  });
  const report = evaluateCe(model, encoded, { batchSize: 3, padId: 0, perExample: true });
  assert.equal(evaluateCe(model, encoded, { batchSize: 3, padId: 0 }).perExample, undefined);
  const per = report.perExample!;
  assert.deepEqual(Object.keys(per).sort(), ["codesearchnet", "commitpackft"]);
  assert.deepEqual(Object.keys(per.codesearchnet!).sort(), ["go", "python"]);
  for (const [task, lang, ids] of [
    ["codesearchnet", "python", ["1", "2"]],
    ["codesearchnet", "go", ["3"]],
    ["commitpackft", "go", ["4", "5"]],
  ] as const) {
    const terms = per[task]![lang]!;
    // Independent path: one unpadded sequence per example.
    ids.forEach((id, k) => {
      const e = encoded.find((x) => x.id === id)!;
      const lp = sequenceLogprobs(model, Array.from(e.ids)).slice(e.promptLength - 1);
      const nll = -lp.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(terms.nll[k] - nll) < 1e-4, `${id}: ${terms.nll[k]} vs ${nll}`);
      assert.equal(terms.tokens[k], lp.length);
    });
    const hash = createHash("sha256").update(ids.join("\n")).digest("hex").slice(0, 16);
    assert.equal(terms.idsHash, hash);
    // The terms add up to the language's CE.
    const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
    const stat = report.byTaskLanguage[task]![lang]!;
    assert.ok(Math.abs(sum(terms.nll) / sum(terms.tokens) - stat.ce) < 1e-9);
  }
});

test("generation: greedy narrations scored per task and language, variants named", () => {
  const { examples: encoded } = encodeExamples(charTokenizer, EXAMPLES, {
    format: "compact",
    maxLen: 64,
    start: [1],
  });
  const report = evaluateGeneration(model, charTokenizer, EXAMPLES, encoded, {
    format: "compact",
    maxNewTokens: 4,
  });
  assert.equal(report.samples.length, EXAMPLES.length);
  assert.match(report.metrics.bleu4, /smoothed BLEU-4, CodeXGLUE/);
  assert.match(report.metrics.rougeL, /ROUGE-L/);
  for (const s of report.samples) assert.ok([...s.hypothesis].length <= 4);
  const pairs = (f: (s: (typeof report.samples)[number]) => boolean) =>
    report.samples.filter(f).map((s) => ({ reference: s.reference, hypothesis: s.hypothesis }));
  const cs = pairs((s) => s.task === "codesearchnet");
  assert.equal(report.byTask.codesearchnet!.bleu4, corpusSmoothedBleu4(cs));
  assert.equal(report.byTask.codesearchnet!.rougeL, corpusRougeLCoco(cs) * 100);
  const goCommits = pairs((s) => s.task === "commitpackft" && s.language === "go");
  assert.equal(report.byTaskLanguage.commitpackft!.go!.bleu4, corpusSmoothedBleu4(goCommits));
  assert.equal(report.byTaskLanguage.commitpackft!.go!.examples, 2);
  assert.deepEqual(
    report.samples.map((s) => s.reference),
    EXAMPLES.map((e) => e.target),
  );
});
