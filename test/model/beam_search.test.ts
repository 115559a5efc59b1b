/**
 * Beam search against hand-worked cases on a hand-written next-token table over five tokens
 * (0 = END, 1 = a, 2 = b, 3 = c, 4 = d): the table gives p(next | tokens generated so far), and
 * the fake model's logits are the natural logs of those probabilities. Scores below are worked
 * by hand with ln .5 = -0.693, ln .45 = -0.799, ln .4 = -0.916, ln .35 = -1.050, ln .3 = -1.204,
 * ln .2 = -1.609, ln .1 = -2.303, ln .9 = -0.105.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../src/backend/backend";
import { beamSearch } from "../../src/model/beam_search";
import { describeDecoding, sampleDecode, type TokenStepper } from "../../src/model/decoding";
import { loadModel } from "../../src/model/checkpoint";
import { generate, modelStepper } from "../../src/model/inference";
import type { Llama } from "../../src/model/llama";

const END = 0;
const [a, b, c, d] = [1, 2, 3, 4];

type Table = Record<string, Partial<Record<number, number>>>;

/** A stepper over a table keyed by the generated tokens joined with ","; unlisted prefixes end. */
function tableStepper(table: Table, steps: number[][] = []): TokenStepper {
  let rows: number[][] = [[]];
  const logits = (seq: number[]) => {
    const p = table[seq.join(",")] ?? { [END]: 1 };
    return Float32Array.from({ length: 5 }, (_, t) => Math.log(p[t] ?? 0));
  };
  return {
    start: () => logits([]),
    step(parents, tokens) {
      rows = parents.map((p, i) => [...rows[p], tokens[i]]);
      steps.push(rows.map((r) => r.length));
      return rows.map(logits);
    },
    dispose: () => undefined,
  };
}

// Greedy: a (.5), c (.45), END (.9): sum -1.597.
// Beam 2, step 1: a -0.693, b -0.916 run. Step 2: b END -1.022 (rank 0: finished, length 2),
// a c -1.492 and a d -1.743 run. Step 3: a c END -1.597 (length 3), a d END -1.848 (length 3)
// finish; three hypotheses, the worst is dropped; two are finished, so the search stops.
// Length penalty 1: b END -1.022/2 = -0.511 beats a c END -1.597/3 = -0.532.
// Length penalty 2: a c END -1.597/9 = -0.177 beats a d END -0.205 and b END -0.256 (dropped).
const TABLE: Table = {
  "": { [END]: 0.1, [a]: 0.5, [b]: 0.4 },
  [`${a}`]: { [END]: 0.2, [c]: 0.45, [d]: 0.35 },
  [`${b}`]: { [END]: 0.9, [c]: 0.1 },
  [`${a},${c}`]: { [END]: 0.9, [d]: 0.1 },
  [`${a},${d}`]: { [END]: 0.9, [c]: 0.1 },
};
const stopTokens = [END];

test("greedy and beam search differ on a hand-worked table, and the length penalty picks the winner", () => {
  assert.deepEqual(sampleDecode(tableStepper(TABLE), { stopTokens }), [a, c, END]);
  assert.deepEqual(beamSearch(tableStepper(TABLE), { beams: 2, stopTokens }), [b, END]);
  assert.deepEqual(beamSearch(tableStepper(TABLE), { beams: 2, stopTokens, lengthPenalty: 2 }), [
    a,
    c,
    END,
  ]);
  // Length penalty 0: raw sums, -1.022 against -1.597.
  assert.deepEqual(beamSearch(tableStepper(TABLE), { beams: 2, stopTokens, lengthPenalty: 0 }), [
    b,
    END,
  ]);
});

test("early stopping: the search ends at step 3, once two hypotheses are finished", () => {
  const steps: number[][] = [];
  beamSearch(tableStepper(TABLE, steps), { beams: 2, stopTokens });
  // Two calls to step: rows of length 1 (a, b) and of length 2 (a c, a d); no third.
  assert.deepEqual(steps, [
    [1, 1],
    [2, 2],
  ]);
});

test("one beam is greedy decoding", () => {
  assert.deepEqual(beamSearch(tableStepper(TABLE), { beams: 1, stopTokens }), [a, c, END]);
});

test("the token limit: unfinished beams join the hypotheses with their own scores", () => {
  // Two new tokens at most. Step 2 finishes b END (-0.511); a c (-1.492/2 = -0.746) and a d
  // (-1.743/2 = -0.871) are still running when the limit comes; b END stays best.
  assert.deepEqual(beamSearch(tableStepper(TABLE), { beams: 2, stopTokens, maxNewTokens: 2 }), [
    b,
    END,
  ]);
  // One new token: a (-0.693) and b (-0.916) both unfinished; a wins.
  assert.deepEqual(beamSearch(tableStepper(TABLE), { beams: 2, stopTokens, maxNewTokens: 1 }), [a]);
});

// No token twice within a beam (n = 1). Step 1: a -0.693, b -0.916 run. Step 2, beam a may not
// repeat a: a END -1.897, a b -2.996; beam b may not repeat b: b a -1.609, b END -2.526.
// Ranked: b a (runs), a END (rank 1: finished, -1.897/2 = -0.949), b END (rank 2: skipped),
// a b (runs). Step 3: b a END -1.609/3 = -0.536, a b END -2.996/3 = -0.999 (dropped): b a END.
// Without the rule: a a -1.204 and b a -1.609 run, a a END -1.204/3 = -0.401 wins.
const REPEAT: Table = {
  "": { [END]: 0.1, [a]: 0.5, [b]: 0.4 },
  [`${a}`]: { [a]: 0.6, [END]: 0.3, [b]: 0.1 },
  [`${b}`]: { [a]: 0.5, [b]: 0.3, [END]: 0.2 },
};

test("the no-repeat-n-gram rule applies to each beam's own tokens", () => {
  assert.deepEqual(
    beamSearch(tableStepper(REPEAT), { beams: 2, stopTokens, noRepeatNgramSize: 1 }),
    [b, a, END],
  );
  assert.deepEqual(beamSearch(tableStepper(REPEAT), { beams: 2, stopTokens }), [a, a, END]);
});

// At least two new tokens (END ruled out at steps 1 and 2, after the log-softmax). Step 2: a c
// -1.492 and a d -1.743 run (b c -3.219 ranks third); step 3: a c END -1.597/3 = -0.532 and a d END
// -1.848/3 = -0.616 finish: a c END, where b END won without the rule. Greedy with three: a, c,
// then d (.1) since END may not come yet, then END.
test("no stop token before the minimum number of new tokens", () => {
  assert.deepEqual(beamSearch(tableStepper(TABLE), { beams: 2, stopTokens, minNewTokens: 2 }), [
    a,
    c,
    END,
  ]);
  assert.deepEqual(sampleDecode(tableStepper(TABLE), { stopTokens, minNewTokens: 3 }), [
    a,
    c,
    d,
    END,
  ]);
});

test("decoding settings are checked and named", () => {
  assert.throws(
    () => beamSearch(tableStepper(TABLE), { beams: 2, minNewTokens: 5, maxNewTokens: 4 }),
    /at least 5 new tokens cannot fit in at most 4/,
  );
  assert.throws(() => beamSearch(tableStepper(TABLE), { minNewTokens: 1.5 }), /minNewTokens/);
  assert.equal(
    describeDecoding({ beams: 2, lengthPenalty: 0, minNewTokens: 8 }),
    "beam search (2 beams, length penalty 0, early stopping), at least 8 new tokens",
  );
  assert.throws(
    () => beamSearch(tableStepper(TABLE), { beams: 2, temperature: 0.7 }),
    /temperature/,
  );
  assert.throws(() => beamSearch(tableStepper(TABLE), { beams: 0 }), /beams must be/);
  assert.equal(
    describeDecoding({ beams: 4, lengthPenalty: 0.6, noRepeatNgramSize: 3 }),
    "beam search (4 beams, length penalty 0.6, early stopping), no repeated 3-grams",
  );
  assert.equal(describeDecoding({}), "greedy decoding");
  assert.equal(
    describeDecoding({ temperature: 0.8, topK: 40, seed: 2 }),
    "sampling (temperature 0.8, top-k 40, seed 2)",
  );
});

/** A stepper that reruns each row's whole sequence without a cache. */
function recomputingStepper(model: Llama, prompt: number[]): TokenStepper {
  let rows: number[][] = [[...prompt]];
  const last = (seq: number[]) =>
    tf.tidy(() => {
      const { logits } = model.forward(tf.tensor2d(seq, [1, seq.length], "int32"));
      return tf.slice(logits, [seq.length - 1, 0], [1, -1]).dataSync() as Float32Array;
    });
  return {
    start: () => last(rows[0]),
    step(parents, tokens) {
      rows = parents.map((p, i) => [...rows[p], tokens[i]]);
      return rows.map(last);
    },
    dispose: () => undefined,
  };
}

test("beam search on a model: the reordered KV cache gives what rerunning every beam gives", async () => {
  await initBackend();
  const model = loadModel(path.join(__dirname, "..", "fixtures", "llama", "gqa-untied-scaled"));
  const prompt = [3, 17, 9, 40];
  const opts = { beams: 3, maxNewTokens: 8, stopTokens: [5, 11] };
  const cached = generate(model, prompt, opts);
  const plain = beamSearch(recomputingStepper(model, prompt), opts);
  assert.deepEqual(cached, plain);
  assert.equal(cached.length > 0, true);
  // One beam through the model path equals greedy decoding through the model path.
  const stepper = modelStepper(model, prompt);
  const oneBeam = beamSearch(stepper, { ...opts, beams: 1 });
  stepper.dispose();
  assert.deepEqual(oneBeam, generate(model, prompt, { maxNewTokens: 8, stopTokens: [5, 11] }));
  model.dispose();
});
