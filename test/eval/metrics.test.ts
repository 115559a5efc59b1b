import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  corpusRougeLCoco,
  corpusSmoothedBleu4,
  narrationTokens,
  ROUGE_L_BETA,
  rougeLCoco,
  smoothedBleu4,
} from "../../src/eval/metrics";

function assertNear(actual: number, expected: number, relTol: number, what: string) {
  assert.ok(
    Math.abs(actual - expected) <= relTol * Math.abs(expected),
    `${what}: ${actual}, expected ${expected}`,
  );
}

// The cross-checks "CodeXGLUE bleu.py gives …" were run once, locally, with the evaluator's
// splitPuncts/normalize/bleu functions under /usr/bin/python3 (3.11); the tests never call Python.

describe("narrationTokens (CodeXGLUE code-to-text tokenisation)", () => {
  it("lower-cases, splits punctuation and splits underscores into tokens of their own", () => {
    assert.deepEqual(narrationTokens("Get_user_by_id(UserID), returns None."), [
      "get",
      "_",
      "user",
      "_",
      "by",
      "_",
      "id",
      "(",
      "userid",
      ")",
      ",",
      "returns",
      "none",
      ".",
    ]);
  });

  it("keeps Unicode letters together, splits digits at '.', and uses Python's whitespace", () => {
    // NBSP and \x1c are whitespace to Python; U+FEFF is not (so it is a token, as in bleu.py).
    assert.deepEqual(narrationTokens("Größe ändern 3.14 a\u00a0b c\u001cd e\ufefff"), [
      "größe",
      "ändern",
      "3",
      ".",
      "14",
      "a",
      "b",
      "c",
      "d",
      "e",
      "\ufeff",
      "f",
    ]);
  });

  it("leaves nothing for bleu.py's <skipped>, -\\n and &amp; rules to join (they see split text)", () => {
    assert.deepEqual(narrationTokens("__init__ &amp; <skipped> x-\ny"), [
      ..."_ _ init _ _ & amp ; < skipped > x - y".split(" "),
    ]);
    assert.deepEqual(narrationTokens(" \t\n"), []);
  });
});

describe("smoothedBleu4 (CodeXGLUE variant, 0..100)", () => {
  it("identical texts score 100, whatever the case", () => {
    assert.equal(
      smoothedBleu4("Returns the sum of two numbers.", "Returns the sum of two numbers."),
      100,
    );
    assert.equal(smoothedBleu4("Returns X.", "returns x."), 100);
    // Shorter than 4 tokens: higher orders are (0 + 1) / (0 + 1).
    assert.equal(smoothedBleu4("ok", "ok"), 100);
  });

  it("disjoint texts score a tiny positive number (bleu.py's 2.2e-308 inside the log)", () => {
    // ref: open the file (3 tokens); hyp: close a socket now (4 tokens)
    // p1 = (0 + 2.2e-308) / 4, p2 = (0+1)/(3+1), p3 = (0+1)/(2+1), p4 = (0+1)/(1+1); BP: hyp longer -> 0
    // log = (ln(2.2250738585072014e-308) - ln 4 - ln 4 - ln 3 - ln 2) / 4
    //     = (-708.3964185322641 - 1.3862943611198906 * 2 - 1.0986122886681098 - 0.6931471805599453) / 4
    //     = -178.2401916 -> 100 * exp(.) = 3.90e-76 (CodeXGLUE bleu.py gives 3.9018296049478594e-76)
    const expected =
      100 *
      Math.exp(
        (-708.3964185322641 - 2 * 1.3862943611198906 - 1.0986122886681098 - 0.6931471805599453) / 4,
      );
    const got = smoothedBleu4("open the file", "close a socket now");
    assertNear(got, expected, 1e-9, "disjoint");
    assertNear(got, 3.9018296049478594e-76, 1e-9, "disjoint vs bleu.py");
  });

  it("partial overlap, worked by n-gram counts", () => {
    // ref: returns the sum of two integers .   hyp: return the sum of two numbers .   (7 tokens each)
    // 1-grams: the, sum, of, two, . match              -> 5 / 7
    // 2-grams: the sum, sum of, of two (of 6)          -> (3 + 1) / (6 + 1) = 4 / 7
    // 3-grams: the sum of, sum of two (of 5)           -> (2 + 1) / (5 + 1) = 1 / 2
    // 4-grams: the sum of two (of 4)                   -> (1 + 1) / (4 + 1) = 2 / 5
    // BP: 1 - (7 + 1) / (7 + 1) = 0
    // BLEU = (5/7 * 4/7 * 1/2 * 2/5)^(1/4) = (4/49)^(1/4) = sqrt(2/7) -> 53.452248382484875
    const got = smoothedBleu4("Returns the sum of two integers.", "Return the sum of two numbers.");
    assertNear(got, 100 * Math.sqrt(2 / 7), 1e-12, "partial");
  });

  it("brevity penalty uses (r + 1) / (c + 1)", () => {
    // ref 7 tokens (as above), hyp: the sum of two (4 tokens, all n-grams match):
    // p1 = 4/4, p2 = (3+1)/(3+1), p3 = (2+1)/(2+1), p4 = (1+1)/(1+1): log mean 0
    // BP: 1 - (7 + 1) / (4 + 1) = -0.6 -> 100 * exp(-0.6) = 54.88116360940264
    const got = smoothedBleu4("Returns the sum of two integers.", "the sum of two");
    assertNear(got, 100 * Math.exp(-0.6), 1e-12, "brevity");
  });

  it("smoothing keeps a longer hypothesis with no 3- or 4-gram match above 0", () => {
    // ref: the sum (2); hyp: the sum of two (4): p1 = 2/4, p2 = (1+1)/(3+1), p3 = (0+1)/(2+1),
    // p4 = (0+1)/(1+1); BP 0 (hyp longer). BLEU = (1/2 * 1/2 * 1/3 * 1/2)^(1/4) = (1/24)^(1/4)
    assertNear(smoothedBleu4("the sum", "the sum of two"), 100 * (1 / 24) ** 0.25, 1e-12, "smooth");
  });

  it("counts underscores as tokens", () => {
    // ref: get _ user (3); hyp: get user (2): p1 = 2/2, p2 = (0+1)/(1+1), p3 = p4 = (0+1)/(0+1)
    // BP: 1 - 4/3 = -1/3. BLEU = 2^(-1/4) e^(-1/3) = 60.2528610478545 (bleu.py: 60.252861047854545)
    assertNear(
      smoothedBleu4("get_user", "get user"),
      100 * 2 ** -0.25 * Math.exp(-1 / 3),
      1e-12,
      "_",
    );
  });

  it("clips repeated n-grams to their count in the reference", () => {
    // ref: the cat (2 tokens); hyp: the the the the (4 tokens)
    // 1-grams: "the" x4 in hyp, x1 in ref -> clipped 1 -> p1 = 1/4 (unclipped would be 4/4)
    // 2-grams: "the the" x3, none in ref -> p2 = (0+1)/(3+1) = 1/4
    // 3-grams: x2 -> p3 = (0+1)/(2+1) = 1/3; 4-grams: x1 -> p4 = (0+1)/(1+1) = 1/2
    // BP: hyp longer -> min(0, 1 - 3/5) = 0
    // BLEU = (1/4 * 1/4 * 1/3 * 1/2)^(1/4) = 96^(-1/4) = 0.3194715521231362 -> 31.95
    // (without clipping: (1 * 1/4 * 1/3 * 1/2)^(1/4) = 24^(-1/4) -> 45.18)
    const got = smoothedBleu4("the cat", "the the the the");
    assertNear(got, 31.94715521231362, 1e-12, "clipped");
    assert.equal(Math.round(got * 100) / 100, 31.95);
  });

  it("an empty hypothesis scores 100 * exp(-r) (p_1 = (0 + tiny) / (0 + tiny) = 1)", () => {
    // ref: open a file (3): logs all 0, BP = 1 - (3 + 1) / (0 + 1) = -3 -> 4.978706836786395
    assertNear(smoothedBleu4("open a file", ""), 100 * Math.exp(-3), 1e-12, "empty hyp");
    assert.equal(smoothedBleu4("", ""), 100);
  });
});

describe("corpusSmoothedBleu4", () => {
  it("is the mean of sentence scores (bleuFromMaps), not a corpus-level BLEU", () => {
    // (1 + exp(-0.6)) * 100 / 2 = 77.44058180470132
    const got = corpusSmoothedBleu4([
      {
        reference: "Returns the sum of two numbers.",
        hypothesis: "Returns the sum of two numbers.",
      },
      { reference: "Returns the sum of two integers.", hypothesis: "the sum of two" },
    ]);
    assertNear(got, ((1 + Math.exp(-0.6)) * 100) / 2, 1e-12, "corpus");
  });

  it("rejects an empty corpus", () => {
    assert.throws(() => corpusSmoothedBleu4([]), /no pairs/);
  });
});

describe("rougeLCoco (pycocoevalcap ROUGE-L, beta 1.2)", () => {
  it("uses beta = 1.2", () => {
    assert.equal(ROUGE_L_BETA, 1.2);
  });

  it("identical = 1, disjoint = 0", () => {
    assert.equal(
      rougeLCoco("Returns the sum of two numbers.", "returns the sum of two numbers ."),
      1,
    );
    assert.equal(rougeLCoco("open the file", "close a socket now"), 0);
  });

  it("equal precision and recall give that value", () => {
    // LCS(returns the sum of two integers ., return the sum of two numbers .) = the sum of two . = 5
    // P = R = 5/7: F = (1 + b^2) P^2 / ((1 + b^2) P) = 5/7
    assertNear(
      rougeLCoco("Returns the sum of two integers.", "Return the sum of two numbers."),
      5 / 7,
      1e-12,
      "P = R",
    );
  });

  it("weighs recall by beta^2 = 1.44", () => {
    // ref 7 tokens, hyp: the sum of two: LCS 4, P = 1, R = 4/7:
    // F = 2.44 * 1 * 4/7 / (4/7 + 1.44) = 9.76 / 14.08 = 61/88 (F1 would be 8/11)
    assertNear(
      rougeLCoco("Returns the sum of two integers.", "the sum of two"),
      61 / 88,
      1e-12,
      "short",
    );
    // ref: the sum; hyp: the sum of two: LCS 2, P = 1/2, R = 1: F = 2.44 * 0.5 / (1 + 0.72) = 61/86
    assertNear(rougeLCoco("the sum", "the sum of two"), 61 / 86, 1e-12, "long");
  });

  it("uses a subsequence, not a substring", () => {
    // LCS(a b c d e, a x c y e z) = a c e = 3; P = 3/6, R = 3/5:
    // F = 2.44 * 0.5 * 0.6 / (0.6 + 1.44 * 0.5) = 0.732 / 1.32 = 61/110
    assertNear(rougeLCoco("a b c d e", "a x c y e z"), 61 / 110, 1e-12, "lcs");
  });

  it("a repeated hypothesis token matches a reference token once in the LCS", () => {
    // ref: the cat; hyp: the the the the: LCS = 1 (one "the"), P = 1/4, R = 1/2:
    // F = 2.44 * 1/4 * 1/2 / (1/2 + 1.44 * 1/4) = 0.305 / 0.86 = 61/172
    assertNear(rougeLCoco("the cat", "the the the the"), 61 / 172, 1e-12, "repeat hyp");
    // ref: a a b; hyp: a b b: LCS = a b = 2 (not 3), P = R = 2/3
    assertNear(rougeLCoco("a a b", "a b b"), 2 / 3, 1e-12, "repeat both");
  });

  it("empty texts: both empty 1, one empty 0", () => {
    assert.equal(rougeLCoco("", ""), 1);
    assert.equal(rougeLCoco("a", ""), 0);
    assert.equal(rougeLCoco("", "a"), 0);
  });

  it("corpus score is the mean", () => {
    // (1 + 61/88) / 2 = 149/176
    const got = corpusRougeLCoco([
      { reference: "same words", hypothesis: "Same words" },
      { reference: "Returns the sum of two integers.", hypothesis: "the sum of two" },
    ]);
    assertNear(got, 149 / 176, 1e-12, "corpus");
    assert.throws(() => corpusRougeLCoco([]), /no pairs/);
  });
});
