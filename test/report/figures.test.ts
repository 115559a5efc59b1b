import { test } from "node:test";
import assert from "node:assert/strict";
import type { CurveRow, MetricRow, TrialRow } from "../../src/experiments/rows";
import { mean, sampleSd, spread } from "../../src/report/stats";
import { settingOrder } from "../../src/report/figures/style";
import { curvesFigure, sweepCeFigure } from "../../src/report/figures/sweep";
import { baselinesFigure } from "../../src/report/figures/baselines";
import { ratioFigure } from "../../src/report/figures/ratio";
import { sweepWinners, table1 } from "../../src/report/tables";
import { funnelPoints } from "../../src/report/figures/funnel";
import { crossLanguageFigure, transferCells } from "../../src/report/figures/cross_language";

/** A metric row with only what a figure reads varying. */
function metric(over: Partial<MetricRow>): MetricRow {
  return {
    experiment: "optimizers",
    key: `k${over.seed ?? 0}`,
    model: "m",
    trainedOn: "codesearchnet",
    seed: 1,
    label: "adamw",
    task: "codesearchnet",
    language: "all",
    split: "val",
    ce: 1,
    ppl: Math.E,
    tokens: 10,
    examples: 1,
    bleu: null,
    rougeL: null,
    ...over,
  };
}

test("mean and sample sd match hand-worked values", () => {
  // [1, 2, 3, 4]: mean 2.5; squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5; 5 / 3.
  assert.equal(mean([1, 2, 3, 4]), 2.5);
  assert.ok(Math.abs(sampleSd([1, 2, 3, 4])! - Math.sqrt(5 / 3)) < 1e-12);
  assert.equal(sampleSd([7]), null);
  assert.deepEqual(spread([7]), { mean: 7, sd: null, n: 1, lo: 7, hi: 7 });
});

test("sweep figure: one row per setting with the mean and sd of its seeds, in the given order", () => {
  // adagrad seeds 3, 1, 2 (out of order): CE 2.7, 2.0, 2.2 -> sorted by seed: 2.0, 2.2, 2.7.
  // mean 6.9 / 3 = 2.3; deviations -0.3, -0.1, 0.4; squares 0.09 + 0.01 + 0.16 = 0.26; sd = sqrt(0.13).
  const rows = [
    metric({ label: "adagrad", seed: 3, ce: 2.7 }),
    metric({ label: "adagrad", seed: 1, ce: 2.0 }),
    metric({ label: "adagrad", seed: 2, ce: 2.2 }),
    metric({ label: "adamw", seed: 1, ce: 3.0 }),
    // Other languages and splits are not part of this figure.
    metric({ label: "adamw", seed: 1, ce: 9, language: "python" }),
    metric({ label: "adamw", seed: 1, ce: 9, split: "test" }),
  ];
  const fig = sweepCeFigure(rows, {
    id: "fig2",
    title: "Figure 2",
    setting: "optimizer",
    order: ["adamw", "adagrad"],
  });
  const spec = fig.spec as unknown as {
    data: { values: Record<string, unknown>[] };
    facet: { column: { field: string } };
    spec: {
      layer: {
        mark: { type: string };
        encoding: Record<string, { field?: string; sort?: string[]; title?: string }>;
      }[];
    };
  };
  const values = spec.data.values;
  assert.deepEqual(
    values.map((v) => v.setting),
    ["adamw", "adagrad"],
  );
  const adagrad = values[1];
  assert.ok(Math.abs((adagrad.mean as number) - 2.3) < 1e-12);
  assert.ok(Math.abs((adagrad.sd as number) - Math.sqrt(0.13)) < 1e-12);
  assert.ok(Math.abs((adagrad.lo as number) - (2.3 - Math.sqrt(0.13))) < 1e-12);
  assert.ok(Math.abs((adagrad.hi as number) - (2.3 + Math.sqrt(0.13))) < 1e-12);
  assert.equal(adagrad.n, 3);
  assert.deepEqual(adagrad.seeds, [1, 2, 3]);
  assert.deepEqual(adagrad.ces, [2.0, 2.2, 2.7]);
  assert.equal(values[0].sd, null);
  assert.equal(values[0].task, "CodeSearchNet");

  assert.equal(spec.facet.column.field, "task");
  const [bars, dots, means] = spec.spec.layer;
  assert.equal(bars.mark.type, "errorbar");
  assert.equal(bars.encoding.y.field, "lo");
  assert.equal(bars.encoding.y2.field, "hi");
  assert.equal(dots.mark.type, "point");
  assert.equal(means.encoding.y.field, "mean");
  assert.equal(means.encoding.y.title, "validation cross-entropy (nats/token)");
  assert.deepEqual(means.encoding.x.sort, ["adamw", "adagrad"]);
});

test("baselines figure groups bars by model within each language", () => {
  const rows = [
    metric({ trainedOn: "base", model: "b", language: "go", ce: 3 }),
    metric({ trainedOn: "base", model: "a", language: "python", ce: 4 }),
    metric({ trainedOn: "codesearchnet", model: "a", language: "python", ce: 1 }),
  ];
  const spec = baselinesFigure(rows).spec as unknown as {
    data: { values: Record<string, unknown>[] };
    spec: {
      layer: {
        mark: { type: string };
        encoding: Record<string, { field?: string; scale?: { domain: string[] } }>;
      }[];
    };
  };
  // Trained rows are left out; Python comes before Go (the study's language order).
  assert.deepEqual(
    spec.data.values.map((v) => [v.language, v.model, v.mean]),
    [
      ["Python", "a", 4],
      ["Go", "b", 3],
    ],
  );
  const bars = spec.spec.layer[0];
  assert.equal(bars.mark.type, "bar");
  assert.equal(bars.encoding.xOffset.field, "model");
  assert.deepEqual(bars.encoding.color.scale!.domain, ["a", "b"]);
});

test("setting order: numbers numerically, text by code point", () => {
  const trial = (label: string, settings: TrialRow["settings"]) => ({ label, settings });
  assert.deepEqual(
    settingOrder([
      trial("lr=1e-3", { lr: 1e-3 }),
      trial("lr=2e-4", { lr: 2e-4 }),
      trial("lr=1e-4", { lr: 1e-4 }),
    ]),
    ["lr=1e-4", "lr=2e-4", "lr=1e-3"],
  );
  assert.deepEqual(
    settingOrder([
      trial("sgd", { o: "sgd" }),
      trial("adamw", { o: "adamw" }),
      trial("Z", { o: "Z" }),
    ]),
    ["Z", "adamw", "sgd"],
  );
});

test("curves: steps are averaged in windows per seed, then summarised across seeds", () => {
  const curve = (seed: number, step: number, loss: number): CurveRow => ({
    experiment: "e",
    key: `k${seed}`,
    model: "m",
    trainedOn: "codesearchnet",
    seed,
    label: "a",
    step,
    epoch: 0,
    lr: 1,
    loss,
    valCe: null,
  });
  // Max step 399: windows of ceil(400 / 200) = 2 steps. Window [0, 2): seed 1 has losses 4 and 6
  // (mean 5), seed 2 has 7 (mean 7): across seeds mean 6, sd sqrt(((5-6)^2 + (7-6)^2) / 1) = sqrt(2).
  const rows = [curve(1, 0, 4), curve(1, 1, 6), curve(2, 0, 7), curve(1, 399, 1)];
  const spec = curvesFigure(rows, { id: "x", title: "X", setting: "s", order: ["a"] })
    .spec as unknown as {
    data: { values: { step: number; mean: number; sd: number | null; n: number }[] };
  };
  const first = spec.data.values[0];
  assert.equal(first.step, 0);
  assert.equal(first.mean, 6);
  assert.ok(Math.abs(first.sd! - Math.SQRT2) < 1e-12);
  assert.equal(first.n, 2);
  assert.deepEqual(
    spec.data.values.map((v) => v.step),
    [0, 398],
  );
});

test("ratio figure reads the mix setting and rejects a trial without one", () => {
  const spec = ratioFigure([metric({ mix: 0.7, ce: 2 }), metric({ mix: 0.3, ce: 3 })])
    .spec as unknown as {
    data: { values: { mix: number; mean: number }[] };
  };
  assert.deepEqual(
    spec.data.values.map((v) => [v.mix, v.mean]),
    [
      [0.3, 3],
      [0.7, 2],
    ],
  );
  assert.throws(() => ratioFigure([metric({ key: "abc" })]), /trial abc: setting "mix"/);
});

test("Table 1: base and cocktail CE and PPL per task, over seeds", () => {
  // Cocktail on CodeSearchNet: CE 1.0 and 2.0 -> mean 1.5, sd sqrt(0.5); PPL e^1, e^2 -> mean (e + e^2) / 2.
  const rows = [
    metric({ trainedOn: "cocktail", seed: 1, ce: 1, ppl: Math.exp(1) }),
    metric({ trainedOn: "cocktail", seed: 2, ce: 2, ppl: Math.exp(2) }),
    metric({ trainedOn: "base", seed: 1, ce: 3, ppl: Math.exp(3) }),
    metric({ trainedOn: "codesearchnet", seed: 1, ce: 0.5 }),
  ];
  const [csn, cpft] = table1(rows, "val");
  assert.equal(csn.task, "codesearchnet");
  assert.equal(csn.cocktailCe!.mean, 1.5);
  assert.ok(Math.abs(csn.cocktailCe!.sd! - Math.sqrt(0.5)) < 1e-12);
  assert.ok(Math.abs(csn.cocktailPpl!.mean - (Math.E + Math.E ** 2) / 2) < 1e-12);
  assert.equal(csn.baseCe!.mean, 3);
  assert.equal(csn.baseCe!.sd, null);
  assert.deepEqual(csn.study, { baseCe: 2.08, cocktailCe: 1.79, basePpl: 8.04, cocktailPpl: 5.98 });
  assert.equal(cpft.cocktailCe, null);
  assert.equal(cpft.study.cocktailCe, 1.95);
});

test("funnel: splits of a stage are summed; each dataset keeps its own stage order", () => {
  const rec = (
    dataset: "codesearchnet" | "commitpackft",
    stage: string,
    rowsIn: number,
    out: number,
    split?: "train" | "val",
  ) => ({
    dataset,
    language: "go" as const,
    stage,
    in: rowsIn,
    out,
    removed: rowsIn - out,
    ...(split ? { split } : {}),
  });
  const points = funnelPoints([
    rec("codesearchnet", "read", 100, 90),
    rec("codesearchnet", "subset", 60, 6, "train"),
    rec("codesearchnet", "subset", 30, 3, "val"),
    rec("commitpackft", "read", 50, 50),
    rec("commitpackft", "changed", 50, 40),
    rec("commitpackft", "subset", 40, 4, "train"),
  ]);
  assert.deepEqual(
    points.map((p) => [p.dataset, p.stage, p.stageIndex, p.rowsIn, p.rowsOut]),
    [
      ["CodeSearchNet", "read", 0, 100, 90],
      ["CodeSearchNet", "subset", 1, 90, 9],
      ["CommitPackFT", "read", 0, 50, 50],
      ["CommitPackFT", "changed", 1, 50, 40],
      ["CommitPackFT", "subset", 2, 40, 4],
    ],
  );
});

test("sweep winners: lowest mean on the judged task, ties kept, other tasks ignored", () => {
  const rows = [
    // CodeSearchNet adapters are judged on CodeSearchNet only: b's low CommitPackFT CE does not count.
    metric({ label: "a", seed: 1, ce: 2 }),
    metric({ label: "a", seed: 2, ce: 4 }),
    metric({ label: "b", seed: 1, ce: 3.5 }),
    metric({ label: "b", seed: 1, ce: 0.1, task: "commitpackft" }),
    metric({ label: "c", seed: 1, ce: 3 }),
  ];
  // Means: a 3, b 3.5, c 3 -> a and c tie.
  assert.deepEqual(sweepWinners(rows, ["a", "b", "c"], "val"), ["a", "c"]);
  // A cocktail is judged on both tasks: (1 + 5) / 2 = 3 against 3.2.
  const cocktail = [
    metric({ label: "x", trainedOn: "cocktail", ce: 1 }),
    metric({ label: "x", trainedOn: "cocktail", ce: 5, task: "commitpackft" }),
    metric({ label: "y", trainedOn: "cocktail", ce: 3.2 }),
    metric({ label: "y", trainedOn: "cocktail", ce: 3.2, task: "commitpackft" }),
  ];
  assert.deepEqual(sweepWinners(cocktail, ["x", "y"], "val"), ["x"]);
  assert.deepEqual(sweepWinners([], ["x"], "val"), []);
});

test("cross-language cells: each adapter against the base model on each evaluated language", () => {
  const row = (
    trainedOn: MetricRow["trainedOn"],
    trainLanguage: string,
    language: MetricRow["language"],
    seed: number,
    ce: number,
  ): MetricRow => ({
    experiment: "cross-language",
    key: `${trainedOn}-${trainLanguage}-${seed}`,
    model: "m",
    trainedOn,
    seed,
    label: `${trainedOn}, ${trainLanguage}`,
    trainLanguage,
    task: trainedOn === "commitpackft" ? "commitpackft" : "codesearchnet",
    language,
    split: "val",
    ce,
    ppl: Math.exp(ce),
    tokens: 10,
    examples: 1,
    bleu: null,
    rougeL: null,
  });
  const metrics = [
    // The base model's two labels share one run: CE 4 on Go, 5 on Python (seeds 0 and 1).
    row("base", "python", "go", 0, 4),
    row("base", "go", "go", 0, 4),
    row("base", "python", "python", 0, 5),
    row("base", "python", "go", 1, 4),
    row("base", "python", "python", 1, 5),
    // Trained on Python: Go 3.6 and 3.8 over seeds (mean 3.7: −7.5%), Python 4 (−20%).
    row("codesearchnet", "python", "go", 0, 3.6),
    row("codesearchnet", "python", "go", 1, 3.8),
    row("codesearchnet", "python", "python", 0, 4),
    row("codesearchnet", "python", "all", 0, 1),
  ];
  const cells = transferCells(metrics, "val");
  const at = (trained: string, evaluated: string) =>
    cells.find((c) => c.trained === trained && c.evaluated === evaluated)!;
  assert.equal(cells.length, 2);
  assert.ok(Math.abs(at("Python", "Go").change - -7.5) < 1e-9);
  assert.equal(at("Python", "Go").base, 4);
  assert.equal(at("Python", "Go").seeds, 2);
  assert.ok(Math.abs(at("Python", "Python").change - -20) < 1e-9);
  assert.equal(crossLanguageFigure(metrics, "val").id, "cross-language-heatmap");
});
