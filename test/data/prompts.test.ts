import { test } from "node:test";
import assert from "node:assert/strict";
import {
  DEEPSEEK_SYSTEM,
  formatExample,
  instructionFor,
  renderText,
  specialTokensOf,
} from "../../src/data/prompts";
import { collate, encodeExample, sequencePrefix } from "../../src/data/batches";
import { trainByteLevelBpe } from "../../src/tokenizer/train";
import { BOS, SPECIAL_TOKENS } from "../../src/tokenizer/special";
import type { Example } from "../../src/data/example";
import { c, charTokenizer } from "./char_tokenizer";

const fn: Example = {
  id: "f1",
  task: "codesearchnet",
  language: "python",
  split: "train",
  input: "ab",
  target: "xy",
};
const commit: Example = { ...fn, id: "c1", task: "commitpackft", language: "go", input: "+z" };

test("compact format: prompt tokens are masked out of the loss (counted by hand)", () => {
  const e = encodeExample(charTokenizer, fn, { format: "compact", maxLen: 64, start: [1] });
  // <|bos|>=1 <|code|>=4 a b <|summary|>=6 | x y <|eos|>=2
  assert.deepEqual(Array.from(e.ids), [1, 4, c("a"), c("b"), 6, c("x"), c("y"), 2]);
  assert.equal(e.promptLength, 5);
  const b = collate([e], 0);
  // Position t predicts token t+1: positions 0..3 predict prompt tokens (<|code|> a b <|summary|>),
  // positions 4..6 predict x, y, <|eos|>; position 7 has no next token.
  assert.deepEqual(Array.from(b.labels), [-100, -100, -100, -100, c("x"), c("y"), 2, -100]);
  assert.equal(b.tokens, 3);
  assert.equal(Array.from(b.labels).filter((l) => l === -100).length, 5);
});

test("compact format: commits use the diff and message markers", () => {
  const e = encodeExample(charTokenizer, commit, { format: "compact", maxLen: 64, start: [1] });
  // <|bos|> <|diff|>=5 + z <|message|>=7 x y <|eos|>
  assert.deepEqual(Array.from(e.ids), [1, 5, c("+"), c("z"), 7, c("x"), c("y"), 2]);
  assert.equal(e.promptLength, 5);
});

test("deepseek format: the finetune script's layout, trailing input whitespace stripped", () => {
  const ex = { ...fn, input: "x = 1\n\n" };
  const { prompt, target } = renderText(formatExample(ex, "deepseek"));
  const instruction = instructionFor("codesearchnet", "python");
  assert.equal(
    prompt,
    DEEPSEEK_SYSTEM + "\n### Instruction:\n" + instruction + "\nx = 1\n### Response:\n",
  );
  assert.equal(target, "xy\n<|EOT|>");
  assert.ok(
    DEEPSEEK_SYSTEM.startsWith("You are an AI programming assistant, utilizing the DeepSeek"),
  );
  assert.deepEqual(specialTokensOf("deepseek"), ["<|EOT|>"]);
});

test("deepseek format: label masks cover exactly the prompt", () => {
  const e = encodeExample(charTokenizer, fn, { format: "deepseek", maxLen: 4096, start: [1] });
  const promptText =
    DEEPSEEK_SYSTEM +
    "\n### Instruction:\n" +
    instructionFor("codesearchnet", "python") +
    "\nab\n### Response:\n";
  // one BOS + one id per prompt character; target: "xy\n" then <|EOT|> (id 3)
  assert.equal(e.promptLength, 1 + promptText.length);
  assert.deepEqual(Array.from(e.ids.slice(e.promptLength)), [c("x"), c("y"), c("\n"), 3]);
  const labels = Array.from(collate([e], 0).labels);
  assert.equal(labels.filter((l) => l !== -100).length, 4);
  assert.equal(labels.indexOf(c("x")), e.promptLength - 1);
});

test("instructions say what to explain and for whom", () => {
  const f = instructionFor("codesearchnet", "javascript");
  const m = instructionFor("commitpackft", "php");
  assert.match(f, /JavaScript function/);
  assert.match(m, /change to a PHP file/);
  for (const s of [f, m]) assert.match(s, /non-technical manager/);
});

test("with a trained BPE tokenizer the prompt and the target decode back to their texts", () => {
  const tok = trainByteLevelBpe(["def add(a, b): return a + b", "Adds two numbers."], {
    vocabSize: 300,
    specialTokens: [...SPECIAL_TOKENS],
    bosToken: BOS,
  });
  const ex = { ...fn, input: "def add(a, b): return a + b", target: "Adds two numbers." };
  const start = sequencePrefix(tok);
  assert.deepEqual(start, [tok.tokenToId(BOS)]);
  const e = encodeExample(tok, ex, { format: "compact", maxLen: 128, start });
  const ids = Array.from(e.ids);
  assert.equal(
    tok.decode(ids.slice(0, e.promptLength)),
    "<|bos|><|code|>" + ex.input + "<|summary|>",
  );
  assert.equal(tok.decode(ids.slice(e.promptLength)), ex.target + "<|eos|>");
});
