/**
 * Narration-quality metrics: the CodeXGLUE code-to-text smoothed BLEU-4 and ROUGE-L as
 * pycocoevalcap computes it, over one shared tokenisation.
 *
 * Tokenisation (`narrationTokens`) reproduces what the CodeXGLUE evaluator (code-to-text
 * `evaluator/bleu.py`) does to both sides: `splitPuncts(s.strip().lower())` keeps runs of Python `\w`
 * characters and makes every other non-space character a token; its NIST `normalize` then splits
 * off the punctuation it knows, which after splitPuncts only changes one thing: every `_` becomes a
 * token of its own (`get_user_id` -> `get _ user _ id`). Python's `\w` is `[\p{L}\p{N}_]` and its `\s`
 * is `str.isspace()`, spelt out below (it counts \x1c-\x1f and \x85 as space, not U+FEFF). Letters
 * and digits are those of the running Unicode version (Node's may be newer than a given Python's).
 */

/** One generated narration and its single reference. */
export interface NarrationPair {
  reference: string;
  hypothesis: string;
}

// Python's whitespace (str.isspace, also re's \s for str patterns).
const PY_WHITESPACE =
  "\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const TOKEN = new RegExp(`[\\p{L}\\p{N}]+|_|[^${PY_WHITESPACE}\\p{L}\\p{N}_]`, "gu");

/** Lower-cased tokens as the CodeXGLUE code-to-text evaluator sees them (see the module comment). */
export function narrationTokens(text: string): string[] {
  return text.toLowerCase().match(TOKEN) ?? [];
}

const MAX_ORDER = 4;
// Python's sys.float_info.min (smallest normal double), which bleu.py adds inside every log.
const PY_FLOAT_MIN = 2.2250738585072014e-308;

function ngramCounts(tokens: readonly string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  // Tokens never contain a space, so a space-joined n-gram is unambiguous.
  for (let i = 0; i + n <= tokens.length; i++) {
    const gram = tokens.slice(i, i + n).join(" ");
    counts.set(gram, (counts.get(gram) ?? 0) + 1);
  }
  return counts;
}

/** Smoothed BLEU-4 of token lists in [0, 1]: bleu.py's `bleu([ref], hyp)` with smooth=1. */
function sentenceBleu(ref: readonly string[], hyp: readonly string[]): number {
  let logBleu = 0;
  for (let n = 1; n <= MAX_ORDER; n++) {
    const refCounts = ngramCounts(ref, n);
    let correct = 0;
    for (const [gram, count] of ngramCounts(hyp, n)) {
      correct += Math.min(refCounts.get(gram) ?? 0, count);
    }
    const guess = Math.max(hyp.length - n + 1, 0);
    const addOne = n > 1 ? 1 : 0;
    logBleu += Math.log(correct + addOne + PY_FLOAT_MIN) - Math.log(guess + addOne + PY_FLOAT_MIN);
  }
  logBleu /= MAX_ORDER;
  const brevityPenalty = Math.min(0, 1 - (ref.length + 1) / (hyp.length + 1));
  return Math.exp(logBleu + brevityPenalty);
}

/**
 * Sentence-level smoothed BLEU-4 in [0, 100], the CodeXGLUE code-to-text variant (bleu.py from
 * MOSES via CodeXGLUE; `bleuFromMaps` on a one-pair map):
 * - clipped n-gram matches c_n over hypothesis n-grams g_n, n = 1..4;
 * - smoothing (Lin & Och 2004): +1 to numerator and denominator for n > 1 only, so p_1 = c_1 / g_1
 *   and p_n = (c_n + 1) / (g_n + 1); inside each log bleu.py adds 2.2e-308, so p_1 = 0 gives a
 *   score near 1e-77 rather than exactly 0, and an empty hypothesis has p_1 = 1;
 * - brevity penalty exp(min(0, 1 - (r + 1) / (c + 1))) with r, c the reference and hypothesis
 *   token counts (note the +1s: not the standard 1 - r / c);
 * - score = 100 * exp(mean log p_n + log BP).
 */
export function smoothedBleu4(reference: string, hypothesis: string): number {
  return sentenceBleu(narrationTokens(reference), narrationTokens(hypothesis)) * 100;
}

/**
 * Corpus smoothed BLEU-4 as CodeXGLUE reports it: the mean of sentence-level smoothed BLEU-4 over
 * the pairs (`bleuFromMaps`: sum of sentence scores * 100 / count), not a corpus-level BLEU.
 */
export function corpusSmoothedBleu4(pairs: readonly NarrationPair[]): number {
  if (pairs.length === 0) throw new Error("corpusSmoothedBleu4: no pairs to score");
  let sum = 0;
  for (const { reference, hypothesis } of pairs) {
    sum += sentenceBleu(narrationTokens(reference), narrationTokens(hypothesis));
  }
  return (sum * 100) / pairs.length;
}

/** The recall weight of pycocoevalcap's ROUGE-L F-measure (coco-caption `Rouge.beta`). */
export const ROUGE_L_BETA = 1.2;

function lcsLength(a: readonly string[], b: readonly string[]): number {
  let prev = new Array<number>(b.length + 1).fill(0);
  for (const x of a) {
    const row = new Array<number>(b.length + 1).fill(0);
    for (let j = 1; j <= b.length; j++) {
      row[j] = x === b[j - 1] ? prev[j - 1] + 1 : Math.max(prev[j], row[j - 1]);
    }
    prev = row;
  }
  return prev[b.length];
}

/**
 * ROUGE-L in [0, 1] as pycocoevalcap's `Rouge.calc_score` with one reference: LCS over tokens,
 * P = LCS / |hyp|, R = LCS / |ref|, F = (1 + beta^2) P R / (R + beta^2 P) with beta = 1.2 (not the
 * rouge-score F1, beta = 1); 0 when P or R is 0. Tokens are `narrationTokens` (pycocoevalcap itself
 * splits on single spaces); two empty texts score 1, one empty text 0.
 */
export function rougeLCoco(reference: string, hypothesis: string): number {
  const ref = narrationTokens(reference);
  const hyp = narrationTokens(hypothesis);
  if (ref.length === 0 || hyp.length === 0) return ref.length === hyp.length ? 1 : 0;
  const lcs = lcsLength(ref, hyp);
  const precision = lcs / hyp.length;
  const recall = lcs / ref.length;
  if (precision === 0 || recall === 0) return 0;
  const beta2 = ROUGE_L_BETA ** 2;
  return ((1 + beta2) * precision * recall) / (recall + beta2 * precision);
}

/** Corpus ROUGE-L (pycocoevalcap `Rouge.compute_score`): the mean of `rougeLCoco` over the pairs. */
export function corpusRougeLCoco(pairs: readonly NarrationPair[]): number {
  if (pairs.length === 0) throw new Error("corpusRougeLCoco: no pairs to score");
  let sum = 0;
  for (const { reference, hypothesis } of pairs) sum += rougeLCoco(reference, hypothesis);
  return sum / pairs.length;
}
