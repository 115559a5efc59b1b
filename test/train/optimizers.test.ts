import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../src/backend/backend";
import {
  clipGradNorm,
  createOptimizer,
  OptimizerConfig,
  resolveOptimizerConfig,
} from "../../src/train/optimizers";

before(async () => {
  await initBackend();
});

type Values = Record<string, number[]>;

function variables(values: Values): Map<string, tf.Variable> {
  return new Map(
    Object.entries(values).map(([k, v]) => [k, tf.variable(tf.tensor1d(v), false)] as const),
  );
}

function read(params: Map<string, tf.Variable>): Record<string, Float32Array> {
  return Object.fromEntries([...params].map(([k, v]) => [k, v.dataSync() as Float32Array]));
}

function disposeAll(params: Map<string, tf.Tensor>): void {
  for (const v of params.values()) v.dispose();
}

/** Run steps with the given gradients and learning rates; return the final values. */
function run(
  config: OptimizerConfig,
  init: Values,
  grads: Values[],
  lrs: number[],
): Record<string, Float32Array> {
  const params = variables(init);
  const opt = createOptimizer(config, params);
  grads.forEach((g, k) => {
    const gs = new Map(Object.entries(g).map(([name, v]) => [name, tf.tensor1d(v)] as const));
    opt.step(gs, lrs[k]);
    disposeAll(gs);
  });
  const out = read(params);
  opt.dispose();
  disposeAll(params);
  return out;
}

function assertClose(actual: ArrayLike<number>, expected: number[], tol: number, what: string) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    assert.ok(
      err <= tol * Math.max(1, Math.abs(expected[i])),
      `${what}[${i}]: ${actual[i]} vs expected ${expected[i]} (|diff| ${err} > ${tol})`,
    );
  }
}

describe("hand-worked updates", () => {
  // Float32 storage: hand values (in float64) are matched to 1e-6.
  const TOL = 1e-6;

  it("AdamW, one step, default betas/eps/weight decay", () => {
    // p = [1, -2, 0.5], g = [0.1, -0.2, 0.4], lr 0.1, wd 0.01:
    // decayed = p * (1 - 0.1*0.01) = [0.999, -1.998, 0.4995]
    // m = 0.1 g = [0.01, -0.02, 0.04]; v = 0.001 g^2 = [1e-5, 4e-5, 1.6e-4]
    // step_size = 0.1 / (1 - 0.9) = 1; denom = sqrt(v) / sqrt(0.001) + 1e-8 = |g| + 1e-8
    // p1 = decayed - m / denom = [0.999 - 0.01/0.10000001, -1.998 + 0.02/0.20000001, 0.4995 - 0.04/0.40000001]
    const out = run({ name: "adamw" }, { p: [1, -2, 0.5] }, [{ p: [0.1, -0.2, 0.4] }], [0.1]);
    assertClose(
      out.p,
      [0.999 - 0.01 / 0.10000001, -1.998 + 0.02 / 0.20000001, 0.4995 - 0.04 / 0.40000001],
      TOL,
      "p",
    );
  });

  it("AdamW, two steps with a constant gradient: each step moves lr * sign(g) (with and without decay)", () => {
    // Same g twice: m2 = 0.19 g, v2 = 0.001999 g^2, bias corrections 0.19 and 0.001999, so
    // step 2 is again lr * g / (|g| + 1e-8): the bias-corrected moments equal g and g^2.
    const g = [0.1, -0.2, 0.4];
    const p = [1, -2, 0.5];
    const step = (x: number, gi: number, lr: number, wd: number) =>
      x * (1 - lr * wd) - (lr * gi) / (Math.abs(gi) + 1e-8);
    for (const wd of [0, 0.01]) {
      const out = run({ name: "adamw", weightDecay: wd }, { p }, [{ p: g }, { p: g }], [0.1, 0.05]);
      // lr 0.1 then 0.05 (the scheduler's lr per step):
      // wd 0:    [1 - 0.1 - 0.05, -2 + 0.1 + 0.05, 0.5 - 0.1 - 0.05] = [0.85, -1.85, 0.35] (less eps terms)
      // wd 0.01: ((p * 0.999) - 0.1 s) * 0.9995 - 0.05 s, s = sign(g)
      const expected = p.map((x, i) => step(step(x, g[i], 0.1, wd), g[i], 0.05, wd));
      if (wd === 0) assertClose(expected, [0.85, -1.85, 0.35], 1e-6, "closed form");
      assertClose(out.p, expected, TOL, `p (wd ${wd})`);
    }
  });

  it("Adagrad, one step with defaults: p - lr * g / (|g| + 1e-10)", () => {
    // sum = g^2, std = |g| + 1e-10: p1 = [1 - 0.1, -2 + 0.1, 0.5 - 0.1] = [0.9, -1.9, 0.4]
    const out = run({ name: "adagrad" }, { p: [1, -2, 0.5] }, [{ p: [0.1, -0.2, 0.4] }], [0.1]);
    assertClose(out.p, [0.9, -1.9, 0.4], TOL, "p");
  });

  it("Adagrad, two steps with lr_decay 0.1 and initial accumulator 0.5", () => {
    // step 1: clr = 0.1, sum1 = 0.5 + g^2 = [0.51, 0.54, 0.66], p1 = p - 0.1 g / sqrt(sum1)
    // step 2: clr = 0.1 / (1 + 1*0.1), sum2 = 0.5 + 2 g^2 = [0.52, 0.58, 0.82],
    //         p2 = p1 - clr * g / sqrt(sum2)
    const g = [0.1, -0.2, 0.4];
    const p = [1, -2, 0.5];
    const sum1 = [0.51, 0.54, 0.66];
    const sum2 = [0.52, 0.58, 0.82];
    const expected = p.map(
      (x, i) => x - (0.1 * g[i]) / Math.sqrt(sum1[i]) - ((0.1 / 1.1) * g[i]) / Math.sqrt(sum2[i]),
    );
    const out = run(
      { name: "adagrad", lrDecay: 0.1, initialAccumulatorValue: 0.5 },
      { p },
      [{ p: g }, { p: g }],
      [0.1, 0.1],
    );
    assertClose(out.p, expected, TOL, "p");
  });

  it("SGD, momentum 0.9 + dampening 0.1 + weight decay 0.01, two steps", () => {
    // p = [1, -2], g = [0.1, -0.2], lr 0.1
    // step 1: d = g + 0.01 p = [0.11, -0.22]; buf = d; p1 = p - 0.1 d = [0.989, -1.978]
    // step 2: d = g + 0.01 p1 = [0.10989, -0.21978];
    //         buf = 0.9 [0.11, -0.22] + 0.9 d = [0.197901, -0.395802];
    //         p2 = p1 - 0.1 buf = [0.9692099, -1.9384198]
    const out = run(
      { name: "sgd", momentum: 0.9, dampening: 0.1, weightDecay: 0.01 },
      { p: [1, -2] },
      [{ p: [0.1, -0.2] }, { p: [0.1, -0.2] }],
      [0.1, 0.1],
    );
    assertClose(out.p, [0.9692099, -1.9384198], TOL, "p");
  });

  it("SGD, nesterov momentum 0.9, two steps", () => {
    // step 1: buf = g; d = g + 0.9 g = 1.9 g; p1 = p - 0.19 g = [0.981, -1.962]
    // step 2: buf = 0.9 g + g = 1.9 g; d = g + 0.9 * 1.9 g = 2.71 g; p2 = p1 - 0.271 g = [0.9539, -1.9078]
    const out = run(
      { name: "sgd", momentum: 0.9, nesterov: true },
      { p: [1, -2] },
      [{ p: [0.1, -0.2] }, { p: [0.1, -0.2] }],
      [0.1, 0.1],
    );
    assertClose(out.p, [0.9539, -1.9078], TOL, "p");
  });

  it("SGD, plain: p - lr g", () => {
    const out = run({ name: "sgd" }, { p: [1, -2] }, [{ p: [0.1, -0.2] }], [0.5]);
    assertClose(out.p, [0.95, -1.9], TOL, "p"); // [1 - 0.05, -2 + 0.1]
  });
});

describe("three steps against torch 1.13", () => {
  // Reference values produced once with Debian's torch 1.13 (/usr/bin/python3, CPU, float32,
  // foreach=False): w = [0.5, -1, 2], b = [0.25, -0.75]; gradients per step
  // w: [0.1, -0.2, 0.3], [-0.05, 0.4, 0.1], [0.3, 0, -0.25]; b: [0.5, -0.4], [0.2, 0.3], [-0.1, 0.6];
  // param_group lr set to 0.1, 0.05, 0.02 before steps 1, 2, 3. Printed with repr().
  const init = { w: [0.5, -1.0, 2.0], b: [0.25, -0.75] };
  const grads = [
    { w: [0.1, -0.2, 0.3], b: [0.5, -0.4] },
    { w: [-0.05, 0.4, 0.1], b: [0.2, 0.3] },
    { w: [0.3, 0.0, -0.25], b: [-0.1, 0.6] },
  ];
  const lrs = [0.1, 0.05, 0.02];
  const cases: { torch: string; config: OptimizerConfig; w: number[]; b: number[] }[] = [
    {
      torch: "AdamW(lr=0.1)",
      config: { name: "adamw" },
      w: [0.37249621748924255, -0.9223323464393616, 1.8504949808120728],
      b: [0.09340205788612366, -0.6532648801803589],
    },
    {
      torch: "AdamW(lr=0.1, weight_decay=0.0)",
      config: { name: "adamw", weightDecay: 0 },
      w: [0.37327316403388977, -0.9239651560783386, 1.8538146018981934],
      b: [0.09374786168336868, -0.6544684171676636],
    },
    {
      torch: "Adagrad(lr=0.1, lr_decay=0.1, initial_accumulator_value=0.5, weight_decay=0.1)",
      config: { name: "adagrad", lrDecay: 0.1, initialAccumulatorValue: 0.5, weightDecay: 0.1 },
      w: [0.47215044498443604, -0.9757072925567627, 1.9286837577819824],
      b: [0.18091808259487152, -0.7146880626678467],
    },
    {
      torch: "Adagrad(lr=0.1)",
      config: { name: "adagrad" },
      w: [0.40361979603767395, -0.9447213411331177, 1.8965920209884644],
      b: [0.1350819617509842, -0.6953643560409546],
    },
    {
      torch: "SGD(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01)",
      config: { name: "sgd", momentum: 0.9, dampening: 0.1, weightDecay: 0.01 },
      w: [0.48034679889678955, -0.9898511171340942, 1.9452409744262695],
      b: [0.15840451419353485, -0.7129101753234863],
    },
    {
      torch: "SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)",
      config: { name: "sgd", momentum: 0.9, nesterov: true, weightDecay: 0.01 },
      w: [0.46771034598350525, -0.9915698766708374, 1.9170703887939453],
      b: [0.10819175839424133, -0.7052820920944214],
    },
    {
      torch: "SGD(lr=0.1)",
      config: { name: "sgd" },
      w: [0.48649999499320984, -1.0, 1.9700000286102295],
      b: [0.19200000166893005, -0.7369999885559082],
    },
  ];
  for (const c of cases) {
    it(`matches torch.optim.${c.torch} to float32 rounding`, () => {
      const out = run(c.config, init, grads, lrs);
      // A few float32 ulps (~6e-8 relative each): torch's kernels may fuse multiply-adds.
      assertClose(out.w, c.w, 3e-7, "w");
      assertClose(out.b, c.b, 3e-7, "b");
    });
  }
});

describe("state", () => {
  const init = { w: [0.5, -1.0, 2.0], b: [0.25, -0.75] };
  const grads = (k: number) => ({
    w: [0.1 * Math.sin(k + 1), -0.2 * Math.cos(k), 0.05 * (k - 2)],
    b: [0.3 - 0.1 * k, 0.01 * k * k],
  });
  const configs: OptimizerConfig[] = [
    { name: "adamw" },
    { name: "adagrad", lrDecay: 0.1, initialAccumulatorValue: 0.5, weightDecay: 0.1 },
    { name: "sgd", momentum: 0.9, dampening: 0.1, weightDecay: 0.01 },
    { name: "sgd", momentum: 0.9, nesterov: true },
    { name: "sgd" },
  ];
  const N = 5;
  const K = 2;
  const lr = (k: number) => 0.1 / (k + 1);

  function stepN(opt: ReturnType<typeof createOptimizer>, from: number, to: number) {
    for (let k = from; k < to; k++) {
      const gs = new Map(
        Object.entries(grads(k)).map(([name, v]) => [name, tf.tensor1d(v)] as const),
      );
      opt.step(gs, lr(k));
      disposeAll(gs);
    }
  }

  for (const config of configs) {
    it(`${JSON.stringify(config)}: K steps + save/restore + N-K steps equals N steps, bit for bit`, () => {
      const straight = variables(init);
      const a = createOptimizer(config, straight);
      stepN(a, 0, N);

      const first = variables(init);
      const b = createOptimizer(config, first);
      stepN(b, 0, K);
      // The checkpoint: parameter values and a structured clone of the optimizer state.
      const saved = structuredClone(b.state());
      const savedParams = read(first);
      b.dispose();
      disposeAll(first);

      const resumed = new Map(
        Object.entries(savedParams).map(([k, v]) => [k, tf.variable(tf.tensor1d(v), false)]),
      );
      const c = createOptimizer(config, resumed);
      c.load(saved);
      stepN(c, K, N);

      const x = read(straight);
      const y = read(resumed);
      for (const k of Object.keys(x)) assert.deepEqual(y[k], x[k], `parameter ${k}`);
      assert.deepEqual(c.state(), a.state());
      for (const o of [a, c]) o.dispose();
      disposeAll(straight);
      disposeAll(resumed);
    });
  }

  it("is a plain object of step counts and Float32Arrays under torch's slot names", () => {
    const params = variables({ w: [1, 2] });
    const opt = createOptimizer({ name: "adamw" }, params);
    assert.deepEqual(opt.state(), { name: "adamw", params: {} });
    opt.step(new Map([["w", tf.tensor1d([0.5, -0.5])]]), 0.1);
    const s = opt.state();
    assert.equal(s.params.w.step, 1);
    // exp_avg = 0.1 g, exp_avg_sq = 0.001 g^2
    assertClose(s.params.w.slots.exp_avg, [0.05, -0.05], 1e-7, "exp_avg");
    assertClose(s.params.w.slots.exp_avg_sq, [0.00025, 0.00025], 1e-7, "exp_avg_sq");
    assert.ok(s.params.w.slots.exp_avg instanceof Float32Array);
    opt.dispose();
    disposeAll(params);
  });

  it("load rejects a state of another optimizer, parameter, slot set or size", () => {
    const params = variables({ w: [1, 2] });
    const opt = createOptimizer({ name: "sgd", momentum: 0.9 }, params);
    const slot = (n: number) => ({ momentum_buffer: new Float32Array(n) });
    assert.throws(() => opt.load({ name: "adamw", params: {} }), /saved by optimizer 'adamw'/);
    assert.throws(
      () => opt.load({ name: "sgd", params: { v: { step: 1, slots: slot(2) } } }),
      /parameter 'v': no such parameter/,
    );
    assert.throws(
      () => opt.load({ name: "sgd", params: { w: { step: 1, slots: slot(3) } } }),
      /slot 'momentum_buffer' must be a Float32Array of 2 values/,
    );
    assert.throws(
      () =>
        opt.load({ name: "sgd", params: { w: { step: 1, slots: { sum: new Float32Array(2) } } } }),
      /slots \[sum\], expected \[momentum_buffer\]/,
    );
    opt.dispose();
    disposeAll(params);
  });
});

describe("step", () => {
  it("skips parameters without a gradient, like torch's .grad = None", () => {
    const params = variables({ w: [1, 2], b: [3] });
    const opt = createOptimizer({ name: "adamw" }, params);
    opt.step(new Map([["w", tf.tensor1d([1, 1])]]), 0.1);
    assert.deepEqual([...read(params).b], [3]); // no weight decay either
    assert.deepEqual(Object.keys(opt.state().params), ["w"]);
    opt.dispose();
    disposeAll(params);
  });

  it("rejects unknown or misshapen gradients and a bad lr before changing anything", () => {
    const params = variables({ w: [1, 2] });
    const opt = createOptimizer({ name: "sgd" }, params);
    const ok = tf.tensor1d([1, 1]);
    const bad = tf.tensor1d([1, 1, 1]);
    assert.throws(() => opt.step(new Map([["x", ok]]), 0.1), /unknown parameter 'x'/);
    assert.throws(
      () =>
        opt.step(
          new Map([
            ["w", ok],
            ["w2", bad],
          ]),
          0.1,
        ),
      /unknown parameter 'w2'/,
    );
    assert.throws(
      () => opt.step(new Map([["w", bad]]), 0.1),
      /'w' is float32 \[3\], expected float32 \[2\]/,
    );
    assert.throws(() => opt.step(new Map([["w", ok]]), NaN), /lr must be/);
    assert.deepEqual([...read(params).w], [1, 2]);
    for (const t of [ok, bad]) t.dispose();
    opt.dispose();
    disposeAll(params);
  });

  it("leaks no tensors across steps", () => {
    for (const config of [
      { name: "adamw" },
      { name: "adagrad", weightDecay: 0.1 },
      { name: "sgd", momentum: 0.9, weightDecay: 0.1 },
    ] as OptimizerConfig[]) {
      const params = variables({ w: [1, 2, 3], b: [4] });
      const opt = createOptimizer(config, params);
      const g = new Map([
        ["w", tf.tensor1d([0.1, 0.2, 0.3])],
        ["b", tf.tensor1d([-0.1])],
      ]);
      opt.step(g, 0.1); // creates the slots
      const before = tf.memory().numTensors;
      for (let i = 0; i < 10; i++) opt.step(g, 0.1);
      assert.equal(tf.memory().numTensors, before, `${config.name}: tensors after 10 more steps`);
      const s = opt.state();
      opt.load(s);
      assert.equal(tf.memory().numTensors, before, `${config.name}: tensors after load`);
      disposeAll(g);
      opt.dispose();
      disposeAll(params);
    }
  });
});

describe("config", () => {
  it("fills in PyTorch defaults", () => {
    assert.deepEqual(resolveOptimizerConfig({ name: "adamw" }), {
      name: "adamw",
      betas: [0.9, 0.999],
      eps: 1e-8,
      weightDecay: 0.01,
    });
    assert.deepEqual(resolveOptimizerConfig({ name: "adagrad" }), {
      name: "adagrad",
      lrDecay: 0,
      weightDecay: 0,
      initialAccumulatorValue: 0,
      eps: 1e-10,
    });
    assert.deepEqual(resolveOptimizerConfig({ name: "sgd", momentum: 0.9 }), {
      name: "sgd",
      momentum: 0.9,
      dampening: 0,
      nesterov: false,
      weightDecay: 0,
    });
  });

  it("rejects what torch rejects, and unknown fields", () => {
    assert.throws(
      () => resolveOptimizerConfig({ name: "sgd", momentum: 0.9, dampening: 0.1, nesterov: true }),
      /nesterov momentum requires momentum > 0 and dampening 0/,
    );
    assert.throws(() => resolveOptimizerConfig({ name: "sgd", nesterov: true }), /nesterov/);
    assert.throws(() => resolveOptimizerConfig({ name: "adamw", betas: [0.9, 1] }), /betas\[1\]/);
    assert.throws(() => resolveOptimizerConfig({ name: "adagrad", eps: -1 }), /eps must be/);
    assert.throws(
      () =>
        resolveOptimizerConfig({ name: "adamw", weight_decay: 0 } as unknown as OptimizerConfig),
      /unknown field 'weight_decay'/,
    );
    assert.throws(
      () => resolveOptimizerConfig({ name: "lion" } as unknown as OptimizerConfig),
      /unknown name 'lion'/,
    );
  });
});

describe("clipGradNorm", () => {
  function clip(values: Values, maxNorm: number) {
    const grads = new Map(Object.entries(values).map(([k, v]) => [k, tf.tensor1d(v)] as const));
    const out = clipGradNorm(grads, maxNorm);
    const result = {
      totalNorm: out.totalNorm,
      grads: Object.fromEntries([...out.grads].map(([k, t]) => [k, [...t.dataSync()]])),
    };
    disposeAll(grads);
    disposeAll(out.grads);
    return result;
  }

  it("scales by max_norm / (total + 1e-6) when the norm is too large", () => {
    // total = sqrt(3^2 + 0^2 + 4^2) = 5; coef = 1 / (5 + 1e-6) = 0.19999996;
    // a = [3, 0] * coef = [0.59999988, 0], b = [4] * coef = [0.79999984].
    // torch 1.13 (clip_grad_norm_(…, 1.0), float32) gives 0.5999999046325684 and 0.7999998331069946.
    const r = clip({ a: [3, 0], b: [4] }, 1);
    assert.equal(r.totalNorm, 5);
    assertClose(r.grads.a, [3 / 5.000001, 0], 1e-7, "a");
    assertClose(r.grads.b, [4 / 5.000001], 1e-7, "b");
    assertClose(r.grads.a, [0.5999999046325684, 0], 1e-7, "a vs torch");
    assertClose(r.grads.b, [0.7999998331069946], 1e-7, "b vs torch");
  });

  it("leaves gradients unchanged (coef clamped to 1) when the norm is within bounds", () => {
    // total = sqrt(0.3^2 + 0.4^2) = 0.5 < 1: coef = min(1, 1 / 0.500001) = 1
    const r = clip({ a: [0.3], b: [-0.4] }, 1);
    assertClose([r.totalNorm], [0.5], 1e-7, "totalNorm");
    assert.deepEqual(r.grads, { a: [Math.fround(0.3)], b: [Math.fround(-0.4)] });
  });

  it("handles no gradients and leaks nothing", () => {
    assert.deepEqual(clip({}, 1), { totalNorm: 0, grads: {} });
    const before = tf.memory().numTensors;
    clip({ a: [1, 2, 2] }, 0.3);
    assert.equal(tf.memory().numTensors, before);
  });
});
