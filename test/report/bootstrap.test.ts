import { test } from "node:test";
import assert from "node:assert/strict";
import {
  bootstrap,
  bootstrapDistribution,
  compositions,
  distinctResamples,
  seedOf,
  weightedQuantile,
  type Series,
} from "../../src/report/bootstrap";

const close = (got: number, want: number, what: string, tol = 1e-12) =>
  assert.ok(Math.abs(got - want) <= tol, `${what}: ${got} vs ${want}`);

/** One seed slot, one stratum: a series of examples with these NLL sums and token counts. */
const series = (nll: number[], tokens: number[]): Series => ({
  seeds: [[{ stratum: 0, nll, tokens }]],
});

test("compositions of n draws from n: counts and multinomial probabilities, worked by hand", () => {
  // n = 2: (2,0) and (0,2) with 1/4 each, (1,1) with 2!/(1!1!)/2^2 = 1/2.
  assert.deepEqual(
    compositions(2).map((c) => [c.counts, c.p]),
    [
      [[2, 0], 0.25],
      [[1, 1], 0.5],
      [[0, 2], 0.25],
    ],
  );
  // n = 3: C(5, 3) = 10 multisets; (3,0,0) has 1/27, (2,1,0) 3/27, (1,1,1) 3!/27 = 6/27.
  const three = compositions(3);
  assert.equal(three.length, 10);
  const p = (counts: number[]) => three.find((c) => c.counts.join() === counts.join())!.p;
  close(p([3, 0, 0]), 1 / 27, "3,0,0");
  close(p([2, 1, 0]), 3 / 27, "2,1,0");
  close(p([1, 1, 1]), 6 / 27, "1,1,1");
  close(
    three.reduce((s, c) => s + c.p, 0),
    1,
    "sum",
  );
  // Strata of 2 and 3 examples, 2 seed slots: 3 * 10 * 3; a stratum of one example adds nothing.
  assert.equal(distinctResamples([2, 3, 1], 2), 90);
});

test("weighted quantile: the smallest value whose cumulative weight reaches q", () => {
  const values = [3, 1, 2];
  const weights = [0.25, 0.25, 0.5];
  // Sorted: 1 (0.25), 2 (0.75), 3 (1.0).
  assert.equal(weightedQuantile(values, weights, 0.025), 1);
  assert.equal(weightedQuantile(values, weights, 0.25), 1);
  assert.equal(weightedQuantile(values, weights, 0.26), 2);
  assert.equal(weightedQuantile(values, weights, 0.75), 2);
  assert.equal(weightedQuantile(values, weights, 0.975), 3);
  assert.ok(Number.isNaN(weightedQuantile([1, NaN], [0.5, 0.5], 0.5)));
});

test("one series, two examples: the exact bootstrap of CE = sum(nll) / sum(tokens)", () => {
  // Examples (nll 1, 1 token) and (nll 6, 2 tokens). Resamples: both of the first, CE 2/2 = 1
  // (p 1/4); one of each, 7/3 (p 1/2); both of the second, 12/4 = 3 (p 1/4). Estimate 7/3.
  const input = { strata: [2], seeds: 1, series: [series([1, 6], [1, 2])] };
  const d = bootstrapDistribution(input, (ce) => ce);
  assert.equal(d.method, "exact");
  const byValue = d.values[0].map((v, i) => [v, d.weights[i]]).sort((a, b) => a[0] - b[0]);
  assert.equal(byValue.length, 3);
  [
    [1, 0.25],
    [7 / 3, 0.5],
    [3, 0.25],
  ].forEach(([v, w], i) => {
    close(byValue[i][0], v, `value ${i}`);
    close(byValue[i][1], w, `weight ${i}`);
  });
  const [ci] = bootstrap(input, (ce) => ce).intervals;
  close(ci.estimate, 7 / 3, "estimate");
  assert.deepEqual([ci.lo, ci.hi], [1, 3]);
  // At level 0.5 the interval is [Q(0.25), Q(0.75)] = [1, 7/3].
  const [half] = bootstrap(input, (ce) => ce, { level: 0.5 }).intervals;
  assert.equal(half.lo, 1);
  close(half.hi, 7 / 3, "Q(0.75)");
});

test("pairing: both series are computed on the same resample of examples", () => {
  // A: nll (1, 3), B: nll (2, 3), one token each. B − A on the three resamples:
  // (2,0): 2 − 1 = 1 (p 1/4); (1,1): 2.5 − 2 = 0.5 (p 1/2); (0,2): 3 − 3 = 0 (p 1/4).
  // Unpaired resampling would also give values such as 3 − 1 = 2 and 2 − 3 = −1.
  const input = {
    strata: [2],
    seeds: 1,
    series: [series([1, 3], [1, 1]), series([2, 3], [1, 1])],
  };
  const d = bootstrapDistribution(input, ([a, b]) => [b - a]);
  assert.deepEqual(d.values[0].map((v, i) => `${v}:${d.weights[i]}`).sort(), [
    "0.5:0.5",
    "0:0.25",
    "1:0.25",
  ]);
  const [diff] = bootstrap(input, ([a, b]) => [b - a]).intervals;
  assert.deepEqual(diff, { estimate: 0.5, lo: 0, hi: 1 });
  const [mid] = bootstrap(input, ([a, b]) => [b - a], { level: 0.5 }).intervals;
  assert.deepEqual([mid.lo, mid.hi], [0, 0.5]);
});

test("seeds: slots are resampled too, and a series' CE is the mean over its drawn slots", () => {
  // One example per stratum (nothing to resample there), two seed slots with CE 1 and 3:
  // slots (2,0): 1 (p 1/4); (1,1): (1 + 3) / 2 = 2 (p 1/2); (0,2): 3 (p 1/4).
  const input = {
    strata: [1],
    seeds: 2,
    series: [
      {
        seeds: [[{ stratum: 0, nll: [2], tokens: [2] }], [{ stratum: 0, nll: [6], tokens: [2] }]],
      },
    ],
  };
  const b = bootstrap(input, (ce) => ce, { level: 0.5 });
  assert.equal(b.resamples, 3);
  assert.deepEqual(b.intervals[0], { estimate: 2, lo: 1, hi: 2 });
  // Two strata: each stratum's examples are drawn on their own, CE pools the tokens of both.
  const two = bootstrap(
    {
      strata: [1, 2],
      seeds: 1,
      series: [
        {
          seeds: [
            [
              { stratum: 0, nll: [4], tokens: [2] },
              { stratum: 1, nll: [0, 6], tokens: [1, 1] },
            ],
          ],
        },
      ],
    },
    (ce) => ce,
  );
  // Resamples of stratum 1: (0, 0) -> 4/4 = 1 (1/4); (0, 6) -> 10/4 = 2.5 (1/2); (6, 6) -> 16/4 = 4.
  assert.deepEqual(two.intervals[0], { estimate: 2.5, lo: 1, hi: 4 });
});

test("Monte Carlo: seeded, reproducible, and close to the exact interval", () => {
  // 20 examples, CE per example 1 + i / 10: the exact enumeration is out of reach.
  const nll = Array.from({ length: 20 }, (_, i) => 1 + i / 10);
  const tokens = nll.map(() => 1);
  const input = { strata: [20], seeds: 1, series: [series(nll, tokens)] };
  const a = bootstrap(input, (ce) => ce, { seed: 7 });
  const b = bootstrap(input, (ce) => ce, { seed: 7 });
  assert.equal(a.method, "monte-carlo");
  assert.deepEqual(a, b);
  assert.notDeepEqual(bootstrap(input, (ce) => ce, { seed: 8 }).intervals, a.intervals);
  // Mean 1.95, population sd sqrt((20^2 - 1) / 12) / 10 = 0.5766; the mean of 20 draws has
  // sd 0.5766 / sqrt(20) = 0.1289, so the interval is about 1.95 ± 1.96 * 0.1289 = ± 0.2527.
  close(a.intervals[0].estimate, 1.95, "estimate", 1e-12);
  close(a.intervals[0].lo, 1.95 - 0.2527, "lo", 0.02);
  close(a.intervals[0].hi, 1.95 + 0.2527, "hi", 0.02);
  assert.equal(a.resamples, 4000);
});

test("inputs that do not line up are refused", () => {
  assert.throws(
    () => bootstrap({ strata: [3], seeds: 1, series: [series([1, 2], [1, 1])] }, (ce) => ce),
    /series 0, stratum 0: not 3 examples/,
  );
  assert.throws(
    () => bootstrap({ strata: [2], seeds: 2, series: [series([1, 2], [1, 1])] }, (ce) => ce),
    /series 0 has 1 seed slots, not 2/,
  );
  assert.equal(seedOf("a"), 0xe40c292c); // FNV-1a of "a", the published test vector
});
