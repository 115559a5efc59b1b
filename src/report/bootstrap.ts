/**
 * Paired bootstrap percentile intervals for cross-entropy comparisons.
 *
 * Data: series (one setting on one task), each holding, per seed slot, the CE terms (summed NLL and
 * target tokens) of every example of the strata it uses (a stratum: one task and language, the same
 * examples in the same order for every series that uses it). The CE of a series is the mean over
 * seed slots of sum(nll) / sum(tokens) over its examples, as the tables compute it.
 *
 * A resample draws, in every stratum independently, as many examples as it holds with replacement,
 * and, when there are several seed slots, as many seed slots with replacement; every series is
 * computed on the same draw, so comparisons are paired by example and by seed. A quantity (a
 * difference or ratio of series CEs) gets its value at the data as drawn (the estimate) and the
 * percentile interval of its resampled values: [Q((1 - level) / 2), Q((1 + level) / 2)], with Q the
 * inverse of the resampled distribution function (the smallest value whose cumulative probability
 * reaches q).
 *
 * When every possible resample can be listed (at most EXACT_LIMIT distinct ones, counted as
 * multisets: a stratum of n examples has C(2n - 1, n)), they are enumerated with their multinomial
 * probabilities and the interval is exact; otherwise REPLICATES draws from a seeded generator.
 */
import { Rng } from "../util/rng";

/** The CE terms of one stratum in one series and seed slot, aligned with the stratum's examples. */
export interface StratumTerms {
  stratum: number;
  nll: readonly number[];
  tokens: readonly number[];
}

/** One series: for each seed slot, the terms of the strata it uses. */
export interface Series {
  seeds: readonly (readonly StratumTerms[])[];
}

/** What is resampled: stratum sizes, seed slots, and the series computed on each resample. */
export interface BootstrapInput {
  strata: readonly number[];
  seeds: number;
  series: readonly Series[];
}

/** How to resample. */
export interface BootstrapOptions {
  /** Coverage of the interval (default 0.95). */
  level?: number;
  /** Monte-Carlo draws (default REPLICATES). */
  replicates?: number;
  /** Seed of the draws (default 0). */
  seed?: number;
  /** Enumerate exactly up to this many distinct resamples (default EXACT_LIMIT; 0: never). */
  exactLimit?: number;
}

/** A quantity's estimate and percentile interval. */
export interface Interval {
  estimate: number;
  lo: number;
  hi: number;
}

/** The resampled distribution of each quantity: values[q][r] with probability weights[r]. */
export interface Distribution {
  estimates: number[];
  values: number[][];
  weights: number[];
  method: "exact" | "monte-carlo";
}

export const REPLICATES = 4000;
export const EXACT_LIMIT = 20000;
export const LEVEL = 0.95;

/** C(n, k) as a float (exact for the small values counted here). */
function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

/** Distinct resamples (as multisets) of stratum sizes and seed slots. */
export function distinctResamples(strata: readonly number[], seeds: number): number {
  let total = 1;
  for (const n of [...strata, seeds]) if (n > 1) total *= binomial(2 * n - 1, n);
  return total;
}

/**
 * Every way to draw n items from n with replacement, as counts per item, with its probability
 * n! / (prod c_i!) / n^n.
 */
export function compositions(n: number): { counts: number[]; p: number }[] {
  const out: { counts: number[]; p: number }[] = [];
  const fact = [1];
  for (let i = 1; i <= n; i++) fact.push(fact[i - 1] * i);
  const counts = new Array<number>(n).fill(0);
  const walk = (i: number, left: number) => {
    if (i === n - 1) {
      counts[i] = left;
      const denom = counts.reduce((d, c) => d * fact[c], 1);
      out.push({ counts: counts.slice(), p: fact[n] / denom / n ** n });
      return;
    }
    for (let c = left; c >= 0; c--) {
      counts[i] = c;
      walk(i + 1, left - c);
    }
  };
  if (n > 0) walk(0, n);
  return out;
}

/** CE of a series under example weights (per stratum) and seed-slot weights. */
function seriesCe(s: Series, exampleWeights: readonly Float64Array[], seedWeights: Float64Array) {
  let total = 0;
  let weight = 0;
  s.seeds.forEach((strata, j) => {
    const v = seedWeights[j];
    if (v === 0) return;
    let nll = 0;
    let tokens = 0;
    for (const t of strata) {
      const w = exampleWeights[t.stratum];
      for (let i = 0; i < w.length; i++) {
        if (w[i] === 0) continue;
        nll += w[i] * t.nll[i];
        tokens += w[i] * t.tokens[i];
      }
    }
    total += (v * nll) / tokens;
    weight += v;
  });
  return total / weight;
}

function check(input: BootstrapInput): void {
  if (input.seeds < 1) throw new Error("bootstrap: at least one seed slot");
  for (const [k, s] of input.series.entries()) {
    if (s.seeds.length !== input.seeds)
      throw new Error(
        `bootstrap: series ${k} has ${s.seeds.length} seed slots, not ${input.seeds}`,
      );
    for (const slot of s.seeds)
      for (const t of slot) {
        const n = input.strata[t.stratum];
        if (n === undefined || t.nll.length !== n || t.tokens.length !== n)
          throw new Error(`bootstrap: series ${k}, stratum ${t.stratum}: not ${n} examples`);
      }
  }
}

/** The resampled distribution of `quantities` (a function of the series' CEs, in input order). */
export function bootstrapDistribution(
  input: BootstrapInput,
  quantities: (ce: readonly number[]) => readonly number[],
  opts: BootstrapOptions = {},
): Distribution {
  check(input);
  const evaluate = (ew: readonly Float64Array[], sw: Float64Array) =>
    quantities(input.series.map((s) => seriesCe(s, ew, sw)));
  const ones = input.strata.map((n) => new Float64Array(n).fill(1));
  const estimates = [...evaluate(ones, new Float64Array(input.seeds).fill(1))];
  const values: number[][] = estimates.map(() => []);
  const weights: number[] = [];
  const push = (ew: readonly Float64Array[], sw: Float64Array, p: number) => {
    evaluate(ew, sw).forEach((v, q) => values[q].push(v));
    weights.push(p);
  };
  const limit = opts.exactLimit ?? EXACT_LIMIT;
  if (distinctResamples(input.strata, input.seeds) <= limit) {
    // Exact: every combination of one composition per stratum and one of the seed slots.
    const dims = [...input.strata, input.seeds].map((n) =>
      n > 1 ? compositions(n) : [{ counts: new Array<number>(n).fill(1), p: 1 }],
    );
    const pick = new Array<number>(dims.length).fill(0);
    for (;;) {
      const chosen = dims.map((d, i) => d[pick[i]]);
      const ew = chosen.slice(0, -1).map((c) => Float64Array.from(c.counts));
      const sw = Float64Array.from(chosen[chosen.length - 1].counts);
      push(
        ew,
        sw,
        chosen.reduce((p, c) => p * c.p, 1),
      );
      let i = 0;
      while (i < dims.length && ++pick[i] === dims[i].length) pick[i++] = 0;
      if (i === dims.length) break;
    }
    return { estimates, values, weights, method: "exact" };
  }
  const rng = new Rng(opts.seed ?? 0);
  const draw = (n: number) => {
    const counts = new Float64Array(n);
    for (let i = 0; i < n; i++) counts[rng.int(n)]++;
    return counts;
  };
  const replicates = opts.replicates ?? REPLICATES;
  for (let r = 0; r < replicates; r++) {
    const ew = input.strata.map(draw);
    push(ew, input.seeds > 1 ? draw(input.seeds) : Float64Array.of(1), 1 / replicates);
  }
  return { estimates, values, weights, method: "monte-carlo" };
}

/**
 * The q-quantile of a weighted sample: the smallest value whose cumulative weight (values sorted
 * ascending) reaches q of the total. NaN when any value is not finite.
 */
export function weightedQuantile(
  values: readonly number[],
  weights: readonly number[],
  q: number,
): number {
  if (values.length === 0 || values.some((v) => !Number.isFinite(v))) return NaN;
  const order = values.map((_, i) => i).sort((a, b) => values[a] - values[b]);
  const total = weights.reduce((s, w) => s + w, 0);
  // A relative tolerance keeps sums of probabilities that should reach q exactly from missing it.
  const target = q * total * (1 - 1e-12);
  let cum = 0;
  for (const i of order) {
    cum += weights[i];
    if (cum >= target) return values[i];
  }
  return values[order[order.length - 1]];
}

/** Estimates and percentile intervals of `quantities` (see the module comment). */
export function bootstrap(
  input: BootstrapInput,
  quantities: (ce: readonly number[]) => readonly number[],
  opts: BootstrapOptions = {},
): { intervals: Interval[]; method: Distribution["method"]; resamples: number } {
  const level = opts.level ?? LEVEL;
  const d = bootstrapDistribution(input, quantities, opts);
  const tail = (1 - level) / 2;
  return {
    intervals: d.estimates.map((estimate, q) => ({
      estimate,
      lo: weightedQuantile(d.values[q], d.weights, tail),
      hi: weightedQuantile(d.values[q], d.weights, 1 - tail),
    })),
    method: d.method,
    resamples: d.weights.length,
  };
}

/** A 32-bit seed from a text (FNV-1a), so that each claim draws its own reproducible resamples. */
export function seedOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
