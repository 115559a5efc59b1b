import { test } from "node:test";
import assert from "node:assert/strict";
import {
  collate,
  encodeExample,
  encodeExamples,
  epochBatches,
  mftcoderWeights,
  padIdOf,
  sequencePrefix,
  type EncodedExample,
} from "../../src/data/batches";
import type { Example, Task } from "../../src/data/example";
import { c, charTokenizer } from "./char_tokenizer";

const ex = (id: string, input: string, target: string, task: Task = "codesearchnet"): Example => ({
  id,
  task,
  language: "python",
  split: "train",
  input,
  target,
});
const compact = (maxLen: number) => ({ format: "compact" as const, maxLen, start: [1] });

test("the tokenizer's sequence prefix is its BOS, and pad falls back to <|pad|>", () => {
  assert.deepEqual(sequencePrefix(charTokenizer), [1]);
  assert.equal(padIdOf(charTokenizer, "compact"), 0);
});

test("truncation cuts the input first and keeps the whole target", () => {
  // frame: <|bos|> <|code|> ... <|summary|> = 3 tokens; target x y <|eos|> = 3; input 8.
  const e = encodeExample(charTokenizer, ex("a", "abcdefgh", "xy"), compact(10));
  assert.deepEqual(Array.from(e.ids), [1, 4, c("a"), c("b"), c("c"), c("d"), 6, c("x"), c("y"), 2]);
  assert.equal(e.promptLength, 7);
  assert.equal(e.inputTruncated, true);
  assert.equal(e.targetTruncated, false);
});

test("when even an empty input leaves too little room, the target's end is cut and counted", () => {
  const e = encodeExample(charTokenizer, ex("b", "abcdefgh", "xy"), compact(5));
  assert.deepEqual(Array.from(e.ids), [1, 4, 6, c("x"), c("y")]);
  assert.equal(e.promptLength, 3);
  assert.equal(e.targetTruncated, true);
  const { stats } = encodeExamples(
    charTokenizer,
    [ex("a", "abcdefgh", "xy"), ex("b", "abcdefghijk", "vwxyz"), ex("c", "ab", "x")],
    compact(7),
  );
  // a: 3 + 8 + 3 > 7 -> input cut to 1 token; b: 3 + 6 > 7 even without input -> input gone and
  // target cut to 4 of its 6 tokens; c: 3 + 2 + 2 = 7 fits.
  assert.deepEqual(stats, { examples: 3, inputTruncated: 2, targetTruncated: 1 });
});

test("a maximum length that leaves no room for a target is an error", () => {
  assert.throws(() => encodeExample(charTokenizer, ex("a", "ab", "x"), compact(3)), /no room/);
});

test("a format's special token missing from the tokenizer is an error naming it", () => {
  const bare = { ...charTokenizer, tokenToId: () => undefined };
  assert.throws(() => encodeExample(bare, ex("a", "ab", "x"), compact(20)), /<\|code\|>/);
});

test("collate: right padding, attention mask and shifted labels, worked by hand", () => {
  const rows: EncodedExample[] = [
    { ...meta("A"), ids: Int32Array.from([10, 11, 12, 13, 14]), promptLength: 3 },
    { ...meta("B"), ids: Int32Array.from([20, 21, 22]), promptLength: 2 },
  ];
  const b = collate(rows, 0);
  assert.equal(b.batch, 2);
  assert.equal(b.seqLen, 5);
  assert.deepEqual(Array.from(b.ids), [10, 11, 12, 13, 14, 20, 21, 22, 0, 0]);
  assert.deepEqual(Array.from(b.attentionMask!), [1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
  // A: targets are ids 13, 14 (positions 3, 4), predicted at positions 2, 3.
  // B: target is id 22 (position 2), predicted at position 1.
  assert.deepEqual(Array.from(b.labels), [-100, -100, 13, 14, -100, -100, 22, -100, -100, -100]);
  assert.equal(b.tokens, 3);
  assert.deepEqual(b.tasks, ["codesearchnet", "commitpackft"]);
  assert.deepEqual(b.exampleIds, ["A", "B"]);
  assert.equal(b.weights, undefined);
});

function meta(id: string) {
  return {
    id,
    task: (id === "A" ? "codesearchnet" : "commitpackft") as Task,
    language: "go" as const,
    inputTruncated: false,
    targetTruncated: false,
  };
}

const LENGTHS = [5, 9, 3, 7, 7, 2, 8, 1, 6, 4, 9, 3, 5, 8, 2, 6, 7, 1, 4, 5, 6, 3, 8];

test("batch order: same seed and epoch give the same batches, another seed or epoch others", () => {
  const a = epochBatches(LENGTHS, 4, 7, 0, 2);
  assert.deepEqual(epochBatches(LENGTHS, 4, 7, 0, 2), a);
  assert.notDeepEqual(epochBatches(LENGTHS, 4, 8, 0, 2), a);
  assert.notDeepEqual(epochBatches(LENGTHS, 4, 7, 1, 2), a);
  // Every example exactly once; 23 = 5 batches of 4 + one of 3.
  assert.deepEqual(
    a.flat().sort((x, y) => x - y),
    LENGTHS.map((_, i) => i),
  );
  assert.deepEqual(a.map((b) => b.length).sort(), [3, 4, 4, 4, 4, 4]);
  // Within a batch, lengths are sorted longest first (they come from a sorted bucket).
  for (const b of a) {
    const ls = b.map((i) => LENGTHS[i]);
    assert.deepEqual(
      ls,
      [...ls].sort((x, y) => y - x),
    );
  }
});

test("MFTCoder case3 weights on a hand-worked two-task batch", () => {
  const I = -100;
  // 3 rows, T = 4: codesearchnet rows 0 and 2 (2 + 1 counted tokens), commitpackft row 1 (1 token).
  const labels = Int32Array.from([I, 5, 6, I, I, I, 7, I, 8, I, I, I]);
  const tasks: Task[] = ["codesearchnet", "commitpackft", "codesearchnet"];
  // Equal weights: W = 2; codesearchnet 1 / (3 * 2) = 1/6 per token, commitpackft 1 / (1 * 2) = 1/2.
  const w = mftcoderWeights(labels, tasks, 4);
  const s = 1 / 6;
  const expected = [0, s, s, 0, 0, 0, 0.5, 0, s, 0, 0, 0];
  expected.forEach((v, i) => assert.ok(Math.abs(w[i] - v) < 1e-7, `weight ${i}: ${w[i]} vs ${v}`));
  // With per-position losses 1, 2 (row 0), 4 (row 1), 3 (row 2): case3 = (mean(1,2,3) + 4) / 2 = 3.
  const nll = [0, 1, 2, 0, 0, 0, 4, 0, 3, 0, 0, 0];
  assert.ok(Math.abs(nll.reduce((acc, v, i) => acc + v * w[i], 0) - 3) < 1e-6);
  // Weights 3 : 1 -> W = 4; codesearchnet 3 / (3 * 4) = 1/4, commitpackft 1 / (1 * 4) = 1/4.
  const w31 = mftcoderWeights(labels, tasks, 4, { codesearchnet: 3 });
  const q = 0.25;
  assert.deepEqual(Array.from(w31), [0, q, q, 0, 0, 0, q, 0, q, 0, 0, 0]);
});

test("collate with mftcoder weighting attaches weights that sum to one", () => {
  const rows = [ex("a", "ab", "xyz"), ex("b", "cd", "w", "commitpackft")].map((e) =>
    encodeExample(charTokenizer, e, compact(32)),
  );
  const b = collate(rows, 0, "mftcoder");
  // codesearchnet: x y z <|eos|> = 4 tokens -> 1 / (4 * 2); commitpackft: w <|eos|> = 2 -> 1 / (2 * 2).
  const w = Array.from(b.weights!);
  assert.equal(w.filter((v) => Math.abs(v - 1 / 8) < 1e-7).length, 4);
  assert.equal(w.filter((v) => Math.abs(v - 1 / 4) < 1e-7).length, 2);
  assert.ok(Math.abs(w.reduce((a, v) => a + v, 0) - 1) < 1e-6);
});
