import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  lrAtStep,
  lrMultiplier,
  resolveWarmupSteps,
  ScheduleOptions,
  SchedulerKind,
} from "../../src/train/schedulers";

// Every case below: warmup w = 10, total T = 100, base lr 2e-4 (the study's LR).
const opts: ScheduleOptions = { warmupSteps: 10, totalSteps: 100, lr: 2e-4 };

function expectMultipliers(
  kind: SchedulerKind,
  cases: [step: number, expected: number][],
  o: ScheduleOptions = opts,
) {
  for (const [step, expected] of cases) {
    const got = lrMultiplier(kind, step, o);
    assert.ok(
      Math.abs(got - expected) <= 1e-12,
      `${kind} at step ${step}: ${got}, expected ${expected}`,
    );
  }
}

describe("lrMultiplier (transformers lr_lambda)", () => {
  it("linear", () => {
    expectMultipliers("linear", [
      [0, 0], // warmup: 0 / 10
      [5, 0.5], // 5 / 10
      [10, 1], // end of warmup: (100 - 10) / 90
      [55, 0.5], // (100 - 55) / 90 = 45 / 90
      [100, 0], // (100 - 100) / 90
      [120, 0], // max(0, -20 / 90)
    ]);
  });

  it("cosine (half cosine by default, and not clamped past T)", () => {
    expectMultipliers("cosine", [
      [0, 0],
      [5, 0.5],
      [10, 1], // progress 0: 0.5 (1 + cos 0)
      [40, 0.75], // progress 30/90 = 1/3: 0.5 (1 + cos(pi/3)) = 0.5 * 1.5
      [55, 0.5], // progress 1/2: 0.5 (1 + cos(pi/2))
      [100, 0], // progress 1: 0.5 (1 + cos pi)
      // progress 110/90 = 11/9: 0.5 (1 + cos(11 pi / 9)) = 0.5 (1 - cos(40 deg)) = 0.5 (1 - 0.766044443118978)
      [120, 0.116977778440511],
    ]);
    // One full wave: progress 1/2 gives 0.5 (1 + cos(pi)) = 0.
    expectMultipliers("cosine", [[55, 0]], { ...opts, numCycles: 1 });
  });

  it("constant_with_warmup", () => {
    expectMultipliers("constant_with_warmup", [
      [0, 0],
      [5, 0.5],
      [10, 1],
      [55, 1],
      [100, 1],
      [120, 1],
    ]);
  });

  it("constant ignores warmup", () => {
    expectMultipliers("constant", [
      [0, 1],
      [5, 1],
      [100, 1],
      [120, 1],
    ]);
  });

  it("polynomial (lr_end 1e-7, power 1 and 2)", () => {
    // decay: ((lr - lrEnd) * pct^power + lrEnd) / lr, pct = 1 - (s - 10) / 90
    expectMultipliers("polynomial", [
      [0, 0],
      [5, 0.5],
      [10, 1], // pct 1: (1.999e-4 + 1e-7) / 2e-4
      [55, 0.50025], // pct 1/2: (0.9995e-4 + 0.001e-4) / 2e-4 = 1.0005e-4 / 2e-4
      [100, 5e-4], // pct 0: 1e-7 / 2e-4
      [120, 5e-4], // past T: lrEnd / lr
    ]);
    // power 2, pct 1/2: (1.999e-4 / 4 + 1e-7) / 2e-4 = 0.50075e-4 / 2e-4
    expectMultipliers("polynomial", [[55, 0.250375]], { ...opts, power: 2 });
    // lrEnd 1e-5: pct 1/2: (1.9e-4 / 2 + 1e-5) / 2e-4 = 1.05e-4 / 2e-4
    expectMultipliers("polynomial", [[55, 0.525]], { ...opts, lrEnd: 1e-5 });
  });

  it("polynomial needs lr > lrEnd, and a decay of non-zero length", () => {
    for (const lr of [1e-7, 5e-8]) {
      assert.throws(
        () => lrMultiplier("polynomial", 50, { ...opts, lr }),
        /lrEnd \(1e-7\) must be smaller than the initial lr/,
      );
    }
    const flat = { warmupSteps: 10, totalSteps: 10, lr: 2e-4 };
    assert.throws(() => lrMultiplier("polynomial", 10, flat), /zero length/);
    assert.equal(lrMultiplier("polynomial", 11, flat), 1e-7 / 2e-4);
  });

  it("without warmup the first step already has the full rate", () => {
    const noWarmup = { ...opts, warmupSteps: 0 };
    expectMultipliers("linear", [[0, 1]], noWarmup); // (100 - 0) / max(1, 100)
    expectMultipliers("cosine", [[0, 1]], noWarmup);
    expectMultipliers("constant_with_warmup", [[0, 1]], noWarmup);
  });

  it("rejects negative or fractional steps and unknown kinds", () => {
    assert.throws(() => lrMultiplier("linear", -1, opts), /step must be a non-negative integer/);
    assert.throws(() => lrMultiplier("linear", 1.5, opts), /step must be/);
    assert.throws(
      () => lrMultiplier("linear", 1, { ...opts, totalSteps: -5 }),
      /totalSteps must be/,
    );
    assert.throws(
      () => lrMultiplier("cosine_with_restarts" as SchedulerKind, 1, opts),
      /unknown kind 'cosine_with_restarts'/,
    );
  });
});

describe("lrAtStep (lr of optimizer update k, 0-based)", () => {
  it("is lr * multiplier(k): update 0 of a warmup schedule runs at lr 0", () => {
    assert.equal(lrAtStep("constant_with_warmup", 0, opts), 0);
    assert.equal(lrAtStep("constant_with_warmup", 1, opts), 2e-4 * 0.1); // the 2nd update: 1 / 10
    assert.equal(lrAtStep("constant_with_warmup", 10, opts), 2e-4);
    assert.equal(lrAtStep("cosine", 40, opts), 2e-4 * 0.75);
    assert.equal(lrAtStep("linear", 0, { ...opts, warmupSteps: 0 }), 2e-4);
  });
});

describe("resolveWarmupSteps (TrainingArguments.get_warmup_steps)", () => {
  it("takes warmupSteps when > 0, else ceil(total * ratio)", () => {
    assert.equal(resolveWarmupSteps({ warmupRatio: 0.03 }, 1000), 30); // 1000 * 0.03 = 30
    assert.equal(resolveWarmupSteps({ warmupRatio: 0.03 }, 525), 16); // 15.75 -> 16
    // 100 * 0.07 is 7.000000000000001 in float64, so HF (math.ceil) warms up for 8 steps.
    assert.equal(resolveWarmupSteps({ warmupRatio: 0.07 }, 100), 8);
    assert.equal(resolveWarmupSteps({ warmupSteps: 5, warmupRatio: 0.5 }, 100), 5);
    assert.equal(resolveWarmupSteps({ warmupSteps: 0, warmupRatio: 0.5 }, 100), 50);
    assert.equal(resolveWarmupSteps({}, 100), 0);
  });

  it("rejects a ratio outside [0, 1] and negative steps", () => {
    assert.throws(() => resolveWarmupSteps({ warmupRatio: 1.5 }, 100), /warmupRatio must lie in/);
    assert.throws(() => resolveWarmupSteps({ warmupSteps: -1 }, 100), /warmupSteps must be/);
  });
});
