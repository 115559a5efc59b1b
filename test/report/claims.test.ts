import { test } from "node:test";
import assert from "node:assert/strict";
import type { Claim } from "../../src/experiments/claims";
import type { ExampleRow, SettingValue, TrialRow } from "../../src/experiments/rows";
import { claimsRecord, formatEffect, reportClaims, verdictCounts } from "../../src/report/claims";
import type { ExperimentName, ExperimentResults, ReportInput } from "../../src/report/inputs";

const close = (got: number | undefined, want: number, what: string) =>
  assert.ok(got !== undefined && Math.abs(got - want) < 1e-12, `${what}: ${got} vs ${want}`);

const BEST: Claim = {
  id: "adagrad-best",
  kind: "best",
  text: "Adagrad is lowest",
  source: "Fig. 2",
  metric: "ce",
  setting: "optimizer",
  study: "adagrad",
  task: "codesearchnet",
  where: {},
};

const CHANGE: Claim = {
  id: "cocktail-lowers",
  kind: "change",
  text: "The cocktail lowers CE by 14%",
  source: "Table 1",
  metric: "ce",
  baseline: { task: "codesearchnet", where: { trainedOn: "base" }, heldOut: false },
  treatment: { task: "codesearchnet", where: { trainedOn: "cocktail" }, heldOut: false },
  study: { baseline: 2, treatment: 1.72 },
};

/** One trial per setting (seed 1), evaluated on three python examples of one token each. */
function results(
  experiment: ExperimentName,
  claim: Claim,
  settings: {
    label: string;
    trainedOn: TrialRow["trainedOn"];
    over: Record<string, SettingValue>;
  }[],
  nll: Record<string, number[]>,
  idsHash: (label: string) => string = () => "same",
): ExperimentResults {
  const trials: TrialRow[] = settings.map((s) => ({
    experiment,
    key: `${s.label}-key`,
    model: "narrator-2m",
    trainedOn: s.trainedOn,
    seed: 1,
    label: s.label,
    status: "completed",
    settings: s.over,
    wallTimeS: 1,
    error: null,
  }));
  const examples: ExampleRow[] = settings
    .filter((s) => nll[s.label])
    .map((s) => ({
      experiment,
      key: `${s.label}-key`,
      seed: 1,
      label: s.label,
      task: "codesearchnet",
      language: "python",
      split: "val",
      idsHash: idsHash(s.label),
      nll: nll[s.label],
      tokens: [1, 1, 1],
    }));
  return {
    definition: { name: experiment, claims: [claim], fixed: {} },
    trials,
    metrics: [],
    curves: [],
    samples: [],
    examples,
  };
}

const input = (name: ExperimentName, r: ExperimentResults): ReportInput => ({
  profile: "test",
  transfer: "study",
  experiments: { [name]: r },
  provenance: { gitCommit: null, gitDirty: null, node: null, packages: {} },
});

const optimizers = (adamw: number[], adagrad: number[]) =>
  reportClaims(
    input(
      "optimizers",
      results(
        "optimizers",
        BEST,
        [
          { label: "adamw", trainedOn: "codesearchnet", over: { optimizer: "adamw" } },
          { label: "adagrad", trainedOn: "codesearchnet", over: { optimizer: "adagrad" } },
        ],
        { adamw, adagrad },
      ),
    ),
    (name) => `${name}.html#fig`,
  )[0];

test("best setting: the verdict follows the paired interval, worked by hand", () => {
  // Differences adamw − adagrad per example: 1, 1.5, 2. Three examples: 10 distinct resamples;
  // the extremes (all of one example) have probability 1/27 > 0.025 each, so the 95% interval
  // runs from the smallest to the largest mean difference: [1, 2]; the estimate is 1.5.
  const agrees = optimizers([2, 2.5, 3], [1, 1, 1]);
  assert.equal(agrees.verdict, "agrees");
  close(agrees.estimate!, 1.5, "estimate");
  assert.deepEqual(agrees.interval, [1, 2]);
  assert.deepEqual(agrees.n, { examples: 3, seeds: 1 });
  assert.match(agrees.method!, /all 10 distinct resamples enumerated/);
  assert.equal(agrees.figure, "optimizers.html#fig");

  // The data turns: adamw is lower on every example. The verdict flips.
  const disagrees = optimizers([1, 1, 1], [2, 2.5, 3]);
  assert.equal(disagrees.verdict, "disagrees");
  assert.deepEqual(disagrees.interval, [-2, -1]);
  assert.match(disagrees.reason, /adamw is lower than adagrad/);

  // Differences −0.5, 0, 0.5: the interval [−0.5, 0.5] holds zero.
  const open = optimizers([0.5, 1, 1.5], [1, 1, 1]);
  assert.equal(open.verdict, "not resolved");
  assert.deepEqual(open.interval, [-0.5, 0.5]);
  assert.match(open.reason, /holds zero/);
});

const cocktail = (base: number[], treated: number[], idsHash?: (label: string) => string) =>
  reportClaims(
    input(
      "cocktail",
      results(
        "cocktail",
        CHANGE,
        [
          { label: "base", trainedOn: "base", over: { trainedOn: "base" } },
          { label: "cocktail", trainedOn: "cocktail", over: { trainedOn: "cocktail" } },
        ],
        { base, cocktail: treated },
        idsHash,
      ),
    ),
    () => "cocktail.html#fig",
  )[0];

test("relative change: agrees, flips to disagrees, and needs the same examples", () => {
  // Base CE 2 on every example; treated 1, 1.5, 1.8: the change is mean(treated) / 2 − 1 =
  // −0.28333; its interval runs from 1/2 − 1 = −0.5 to 1.8/2 − 1 = −0.1 (the extremes again).
  const lower = cocktail([2, 2, 2], [1, 1.5, 1.8]);
  assert.equal(lower.verdict, "agrees");
  close(lower.estimate!, 4.3 / 3 / 2 - 1, "estimate");
  close(lower.interval![0], -0.5, "lo");
  close(lower.interval![1], -0.1, "hi");
  // The study's 1.72 / 2 − 1 = −14% lies inside [−50%, −10%].
  assert.equal(lower.study.value, 1.72 / 2 - 1);
  assert.match(lower.reason, /the study's −14\.0% is inside our interval/);

  const higher = cocktail([2, 2, 2], [2.2, 2.5, 3]);
  assert.equal(higher.verdict, "disagrees");
  close(higher.interval![0], 0.1, "lo");
  close(higher.interval![1], 0.5, "hi");

  // Treated 1, 1.5, 2: the largest resample reaches 2 / 2 − 1 = 0, so zero is inside.
  assert.equal(cocktail([2, 2, 2], [1, 1.5, 2]).verdict, "not resolved");

  const other = cocktail([2, 2, 2], [1, 1.5, 1.8], (label) => label);
  assert.equal(other.verdict, "not resolved");
  assert.equal(other.interval, null);
  assert.match(other.reason, /evaluated on different CodeSearchNet python examples/i);
});

test("unfinished trials and results without per-example terms leave a claim open, with the reason", () => {
  const r = results(
    "optimizers",
    BEST,
    [
      { label: "adamw", trainedOn: "codesearchnet", over: { optimizer: "adamw" } },
      { label: "adagrad", trainedOn: "codesearchnet", over: { optimizer: "adagrad" } },
    ],
    { adamw: [1, 1, 1] },
  );
  const missing = reportClaims(input("optimizers", r), () => "x")[0];
  assert.equal(missing.verdict, "not resolved");
  assert.match(
    missing.reason,
    /per-example data missing.*narrator sweep optimizers --profile test/,
  );
  const failed = {
    ...r,
    trials: r.trials.map((t) => (t.label === "adagrad" ? { ...t, status: "failed" as const } : t)),
  };
  const open = reportClaims(input("optimizers", failed), () => "x")[0];
  assert.match(open.reason, /1 of 1 trials of optimizer adagrad are not completed \(failed\)/);
  assert.deepEqual(verdictCounts([missing, open]), {
    agrees: 0,
    disagrees: 0,
    "not resolved": 2,
  });
  // claims.json rounds to 6 decimals and keeps the reason.
  const record = claimsRecord("test", [optimizers([2, 2.5, 3], [1, 1, 1]), missing]) as {
    claims: { estimate: number | null; interval: number[] | null; verdict: string }[];
  };
  assert.deepEqual(
    record.claims.map((c) => [c.estimate, c.interval, c.verdict]),
    [
      [1.5, [1, 2], "agrees"],
      [null, null, "not resolved"],
    ],
  );
});

test("held-out slices read the held-out dataset's evaluation, not the trial's own split", () => {
  const heldOutClaim: Claim = {
    ...CHANGE,
    id: "cocktail-lowers-held-out",
    baseline: { ...CHANGE.baseline, heldOut: true },
    treatment: { ...CHANGE.treatment, heldOut: true },
    study: "lower",
  };
  const own = results(
    "cocktail",
    heldOutClaim,
    [
      { label: "base", trainedOn: "base", over: { trainedOn: "base" } },
      { label: "cocktail", trainedOn: "cocktail", over: { trainedOn: "cocktail" } },
    ],
    { base: [2, 2, 2], cocktail: [1, 1.5, 1.8] },
  );
  const judge = (r: ExperimentResults) => reportClaims(input("cocktail", r), () => "x")[0];
  // Only the trial's own split: the held-out claim waits for a held-out dataset.
  const waiting = judge(own);
  assert.equal(waiting.verdict, "not resolved");
  assert.match(
    waiting.reason,
    /no held-out evaluation of the baseline: give a held-out dataset \(--eval-data DIR/,
  );
  // On held-out repositories the cocktail is higher: (2.2, 2.5, 3) against 2, so it disagrees,
  // while the in-distribution rows (which agree) are left out.
  const heldOut: ExampleRow[] = own.examples!.map((r) => ({
    ...r,
    split: "held-out",
    idsHash: "other repositories",
    nll: r.label === "base" ? [2, 2, 2] : [2.2, 2.5, 3],
  }));
  const judged = judge({ ...own, examples: [...own.examples!, ...heldOut] });
  assert.equal(judged.verdict, "disagrees");
  close(judged.interval![0], 0.1, "lo");
  close(judged.interval![1], 0.5, "hi");
});

test("a run shared by several trials (the base model under two labels) counts its examples once", () => {
  // As in cross-language: the base model's trial under trainLanguage python and go is one run.
  const claim: Claim = {
    ...CHANGE,
    baseline: { ...CHANGE.baseline, where: { trainedOn: "base", trainLanguage: "python" } },
  };
  const r = results(
    "cocktail",
    claim,
    [
      { label: "base", trainedOn: "base", over: { trainedOn: "base", trainLanguage: "python" } },
      { label: "cocktail", trainedOn: "cocktail", over: { trainedOn: "cocktail" } },
    ],
    { base: [2, 2, 2], cocktail: [1, 1.5, 1.8] },
  );
  const twin = {
    ...r.trials[0],
    label: "base, go",
    settings: { trainedOn: "base", trainLanguage: "go" },
  };
  const rows = r
    .examples!.filter((e) => e.key === twin.key)
    .map((e) => ({ ...e, label: twin.label }));
  const judged = reportClaims(
    input("cocktail", { ...r, trials: [...r.trials, twin], examples: [...r.examples!, ...rows] }),
    () => "x",
  )[0];
  assert.equal(judged.verdict, "agrees", judged.reason);
  close(judged.interval![0], -0.5, "lo");
  assert.deepEqual(judged.n, { examples: 3, seeds: 1 });
});

test("effects read with their sign: percent (two decimals below 1%) or nats", () => {
  assert.equal(formatEffect(-0.002593, "relative"), "−0.26%");
  assert.equal(formatEffect(-0.13942, "relative"), "−13.9%");
  assert.equal(formatEffect(0.0339, "nats"), "+0.034");
  assert.equal(formatEffect(0, "nats"), "0.000");
});

test("transfer: the setting lowest on one task beyond the noise must also be lowest on the other", () => {
  const TRANSFER: Claim = {
    id: "mix-transfers",
    kind: "transfer",
    text: "The best mix on CodeSearchNet is the best on CommitPackFT",
    source: "test",
    metric: "ce",
    setting: "mix",
    study: 0.5,
    from: { task: "codesearchnet", where: {}, heldOut: false },
    to: { task: "commitpackft", where: {}, heldOut: false },
  };
  const judge = (commits: Record<string, number[]>) => {
    const r = results(
      "cocktail-ratios",
      TRANSFER,
      [
        { label: "a", trainedOn: "cocktail", over: { mix: 0.3 } },
        { label: "b", trainedOn: "cocktail", over: { mix: 0.5 } },
      ],
      // CodeSearchNet: mix 0.5 (b) is lower than 0.3 (a) by 1 on every example.
      { a: [2, 2.5, 3], b: [1, 1.5, 2] },
    );
    const onCommits = r.examples!.map((e) => ({
      ...e,
      task: "commitpackft" as const,
      nll: commits[e.label],
    }));
    return reportClaims(
      input("cocktail-ratios", { ...r, examples: [...r.examples!, ...onCommits] }),
      () => "x",
    )[0];
  };
  // On commits b is lower too, by 0.5 to 1 per example: the same setting is lowest on both.
  const same = judge({ a: [2, 2, 2], b: [1, 1.5, 1] });
  assert.equal(same.verdict, "agrees", same.reason);
  // On commits a is lower by 0.5 to 1: b, lowest on CodeSearchNet, is beaten beyond the noise.
  const flipped = judge({ a: [1, 1.5, 1], b: [2, 2, 2] });
  assert.equal(flipped.verdict, "disagrees", flipped.reason);
  // a − b on commits per example: 1, 0.5, 1; its interval is [0.5, 1] here, [-1, -0.5] flipped.
  assert.deepEqual(same.interval, [0.5, 1]);
  assert.deepEqual(flipped.interval, [-1, -0.5]);
});
