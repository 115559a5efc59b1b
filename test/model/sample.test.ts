/**
 * Next-token sampling on a hand-written logits vector. With logits ln([1, 4, 2, 3]) the softmax at
 * temperature 1 is [0.1, 0.4, 0.2, 0.3]; sorted by probability the tokens are 1, 3, 2, 0.
 * Order of the filters as in Hugging Face generation: temperature, then top-k, then top-p over
 * what top-k kept (renormalized), keeping the smallest prefix whose mass reaches top_p.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { sample, type GenerateOptions } from "../../src/model/decoding";
import { Rng } from "../../src/util/rng";

const LOGITS = Float32Array.from([1, 4, 2, 3].map(Math.log));

function draws(opts: GenerateOptions, n: number, seed: number, logits = LOGITS): number[] {
  const counts = new Array<number>(logits.length).fill(0);
  const rng = new Rng(seed);
  for (let i = 0; i < n; i++) counts[sample(logits, opts, rng)]++;
  return counts;
}

/** Every count within 5 binomial standard deviations of n * p (p = 0: never drawn). */
function assertFrequencies(counts: number[], probs: number[], what: string): void {
  const n = counts.reduce((a, b) => a + b, 0);
  probs.forEach((p, i) => {
    if (p === 0) {
      assert.equal(counts[i], 0, `${what}: token ${i} has probability 0, drawn ${counts[i]} times`);
      return;
    }
    const sd = Math.sqrt(n * p * (1 - p));
    assert.ok(
      Math.abs(counts[i] - n * p) <= 5 * sd,
      `${what}: token ${i} drawn ${counts[i]} of ${n}, expected ${n * p} +- ${5 * sd}`,
    );
  });
}

/** The tokens drawn at least once. */
function support(counts: number[]): number[] {
  return counts.flatMap((c, i) => (c > 0 ? [i] : []));
}

test("temperature 0 (the default) is greedy: the argmax, the first one on ties, no randomness", () => {
  const rng = new Rng(1);
  for (let i = 0; i < 20; i++) assert.equal(sample(LOGITS, {}, rng), 1);
  assert.equal(sample(LOGITS, { temperature: 0, topK: 3, topP: 0.2 }, rng), 1);
  assert.equal(sample(Float32Array.from([0.5, 2, 2, -1]), { temperature: 0 }, rng), 1);
  // Greedy draws nothing from the generator: it is where it was.
  const a = new Rng(9);
  const b = new Rng(9);
  sample(LOGITS, { temperature: 0 }, a);
  assert.equal(a.next(), b.next());
});

test("temperature -> 0 approaches the argmax", () => {
  // T = 0.01: p(3) / p(1) = (3/4)^100 = 3.2e-13; nothing but token 1 in 2000 draws.
  assert.deepEqual(draws({ temperature: 0.01 }, 2000, 2), [0, 2000, 0, 0]);
});

test("temperature 1: frequencies match softmax [0.1, 0.4, 0.2, 0.3]", () => {
  assertFrequencies(draws({ temperature: 1 }, 20000, 3), [0.1, 0.4, 0.2, 0.3], "T = 1");
});

test("temperature 0.5 squares the odds: [1, 16, 4, 9] / 30", () => {
  // softmax(l / 0.5) = [1, 4, 2, 3]^2 / (1 + 16 + 4 + 9)
  assertFrequencies(
    draws({ temperature: 0.5 }, 20000, 4),
    [1 / 30, 16 / 30, 4 / 30, 9 / 30],
    "T = 0.5",
  );
});

test("temperature 2 takes square roots of the odds", () => {
  const w = [1, 4, 2, 3].map(Math.sqrt);
  const z = w.reduce((a, b) => a + b, 0);
  assertFrequencies(
    draws({ temperature: 2 }, 20000, 5),
    w.map((v) => v / z),
    "T = 2",
  );
});

test("top-k = 2 keeps tokens 1 and 3, renormalized to 4/7 and 3/7", () => {
  const counts = draws({ temperature: 1, topK: 2 }, 20000, 6);
  assert.deepEqual(support(counts), [1, 3]);
  assertFrequencies(counts, [0, 4 / 7, 0, 3 / 7], "top-k 2");
});

test("top-p: the smallest prefix (by probability) whose mass reaches p", () => {
  // Cumulative mass in order 1, 3, 2, 0: 0.4, 0.7, 0.9, 1.0.
  // p = 0.3: 0.4 reaches it -> {1}; p = 0.5: 0.7 -> {1, 3}; p = 0.75: 0.9 -> {1, 3, 2}.
  assert.deepEqual(support(draws({ temperature: 1, topP: 0.3 }, 2000, 7)), [1]);
  const half = draws({ temperature: 1, topP: 0.5 }, 20000, 8);
  assertFrequencies(half, [0, 4 / 7, 0, 3 / 7], "top-p 0.5");
  const most = draws({ temperature: 1, topP: 0.75 }, 20000, 9);
  assertFrequencies(most, [0, 4 / 9, 2 / 9, 3 / 9], "top-p 0.75");
  // top_p = 1 keeps everything.
  assert.deepEqual(support(draws({ temperature: 1, topP: 1 }, 2000, 10)), [0, 1, 2, 3]);
});

test("top-p applies to what top-k kept, renormalized", () => {
  // top-k 2 -> {1: 4/7 = 0.571, 3: 3/7}; top-p 0.5 over these: 0.571 reaches it -> {1} only.
  // (top-p over the full distribution first would keep {1, 3}: 0.4 < 0.5.)
  assert.deepEqual(support(draws({ temperature: 1, topK: 2, topP: 0.5 }, 2000, 11)), [1]);
  // top-k 3 -> {1: 4/9, 3: 3/9, 2: 2/9}; top-p 0.6: 4/9 = 0.444 < 0.6, 7/9 reaches it -> {1, 3}.
  const counts = draws({ temperature: 1, topK: 3, topP: 0.6 }, 20000, 12);
  assertFrequencies(counts, [0, 4 / 7, 0, 3 / 7], "top-k 3 + top-p 0.6");
});

test("top-k and top-p act on the tempered distribution", () => {
  // T = 0.5: [1, 16, 4, 9] / 30, cumulative in order 1, 3, 2, 0: 0.533, 0.833, 0.967, 1.
  // top-p 0.8 -> {1, 3} with 16/25 and 9/25 (at T = 1 it would also keep token 2: 0.7 < 0.8).
  const counts = draws({ temperature: 0.5, topP: 0.8 }, 20000, 13);
  assertFrequencies(counts, [0, 16 / 25, 0, 9 / 25], "T 0.5 + top-p 0.8");
});

test("sampling is reproducible for a seed", () => {
  const opts = { temperature: 1, topK: 3 };
  assert.deepEqual(draws(opts, 500, 42), draws(opts, 500, 42));
});
