/**
 * Optimizers with PyTorch semantics and defaults (torch.optim `_single_tensor_adamw`,
 * `_single_tensor_adagrad`, `_single_tensor_sgd`), updating a fixed map of tfjs variables.
 *
 * The learning rate is an argument of every `step` (the scheduler owns it). Each parameter keeps its
 * own step count and slots, created at its first update, under torch's state names (`exp_avg`,
 * `exp_avg_sq`, `sum`, `momentum_buffer`). A parameter absent from a step's gradients is skipped
 * entirely, like a torch parameter whose `.grad` is None. Not supported: amsgrad, maximize,
 * sparse gradients, complex parameters.
 *
 * Arithmetic is float32 in the order of torch's kernels (e.g. addcdiv: p + (value * t1) / t2);
 * torch's vectorised kernels may fuse multiply-adds, so results agree to float32 rounding, not
 * always bit for bit. Resuming from `state()` is bit-identical to an uninterrupted run.
 */
import * as tf from "@tensorflow/tfjs-core";

/** The optimizers of the study (Fig. 2). */
export type OptimizerName = "adamw" | "adagrad" | "sgd";

/** AdamW (decoupled weight decay); PyTorch defaults. */
export interface AdamWConfig {
  name: "adamw";
  /** Default [0.9, 0.999]. */
  betas?: [number, number];
  /** Default 1e-8. */
  eps?: number;
  /** Default 0.01, applied as p *= 1 - lr * weightDecay before the Adam update. */
  weightDecay?: number;
}

/** Adagrad; PyTorch defaults. */
export interface AdagradConfig {
  name: "adagrad";
  /** Default 0: clr = lr / (1 + (t - 1) * lrDecay). */
  lrDecay?: number;
  /** Default 0 (L2: g += weightDecay * p). */
  weightDecay?: number;
  /** Default 0: the starting value of the squared-gradient sum. */
  initialAccumulatorValue?: number;
  /** Default 1e-10. */
  eps?: number;
}

/** SGD; PyTorch defaults (plain SGD). */
export interface SgdConfig {
  name: "sgd";
  /** Default 0 (no momentum buffer). */
  momentum?: number;
  /** Default 0. */
  dampening?: number;
  /** Default false; needs momentum > 0 and dampening 0. */
  nesterov?: boolean;
  /** Default 0 (L2: g += weightDecay * p). */
  weightDecay?: number;
}

/** Optimizer choice and hyperparameters; omitted fields take PyTorch defaults. */
export type OptimizerConfig = AdamWConfig | AdagradConfig | SgdConfig;
/** An `OptimizerConfig` with every default filled in. */
export type ResolvedOptimizerConfig =
  Required<AdamWConfig> | Required<AdagradConfig> | Required<SgdConfig>;

/** One parameter's state: updates applied to it and its slots (flat, row-major). */
export interface ParamState {
  step: number;
  slots: Record<string, Float32Array>;
}

/** Checkpointable optimizer state: plain numbers and Float32Arrays, keyed by parameter name. */
export interface OptimizerState {
  name: OptimizerName;
  params: Record<string, ParamState>;
}

/** An optimizer bound to its parameters at construction (see `createOptimizer`). */
export interface Optimizer {
  readonly name: OptimizerName;
  /** Hyperparameters in use (defaults filled in), for provenance. */
  readonly config: ResolvedOptimizerConfig;
  /** Apply one update with learning rate `lr`; `grads` stay owned by the caller. */
  step(grads: Map<string, tf.Tensor>, lr: number): void;
  /** A copy of the state, for checkpoints. */
  state(): OptimizerState;
  /** Replace the state with a copy of `s` (from `state()` of an optimizer of the same kind). */
  load(s: OptimizerState): void;
  /** Free the slot tensors. */
  dispose(): void;
}

/** One optimizer's update of one parameter, on tensors (run inside tf.tidy). */
interface UpdateRule {
  /** Slot names, in torch's spelling. */
  slotNames: readonly string[];
  /** Slot values before a parameter's first update. */
  initSlots(param: tf.Tensor): Record<string, tf.Tensor>;
  /** The parameter and slots after update number `step` (1-based) of this parameter. */
  update(
    param: tf.Tensor,
    grad: tf.Tensor,
    slots: Record<string, tf.Tensor>,
    step: number,
    lr: number,
  ): { param: tf.Tensor; slots: Record<string, tf.Tensor> };
}

/** PyTorch's default hyperparameters (the learning rate comes from the scheduler). */
export const OPTIMIZER_DEFAULTS: {
  readonly adamw: Readonly<Required<AdamWConfig>>;
  readonly adagrad: Readonly<Required<AdagradConfig>>;
  readonly sgd: Readonly<Required<SgdConfig>>;
} = {
  adamw: { name: "adamw", betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 },
  adagrad: { name: "adagrad", lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10 },
  sgd: { name: "sgd", momentum: 0, dampening: 0, nesterov: false, weightDecay: 0 },
};

/** `defaults` overridden by the defined fields of `config`; unknown fields are an error. */
function withDefaults<T extends ResolvedOptimizerConfig>(defaults: Readonly<T>, config: object): T {
  const out = { ...defaults } as Record<string, unknown>;
  for (const [field, value] of Object.entries(config)) {
    if (!(field in defaults)) {
      throw new Error(
        `optimizer ${defaults.name}: unknown field '${field}'; expected ${Object.keys(defaults).join(", ")}`,
      );
    }
    if (value !== undefined) out[field] = value;
  }
  return out as T;
}

function requireNonNegative(config: ResolvedOptimizerConfig, field: string, value: number): void {
  if (!(value >= 0) || !Number.isFinite(value)) {
    throw new Error(
      `optimizer ${config.name}: ${field} must be a finite number >= 0, got ${value}`,
    );
  }
}

/** Fill in PyTorch defaults and check ranges as torch's constructors do. */
export function resolveOptimizerConfig(config: OptimizerConfig): ResolvedOptimizerConfig {
  switch (config.name) {
    case "adamw": {
      const c = withDefaults(OPTIMIZER_DEFAULTS.adamw, config);
      requireNonNegative(c, "eps", c.eps);
      requireNonNegative(c, "weightDecay", c.weightDecay);
      if (!Array.isArray(c.betas) || c.betas.length !== 2) {
        throw new Error(
          `optimizer adamw: betas must be [beta1, beta2], got ${JSON.stringify(c.betas)}`,
        );
      }
      c.betas.forEach((b, i) => {
        if (!(b >= 0 && b < 1)) {
          throw new Error(`optimizer adamw: betas[${i}] must lie in [0, 1), got ${b}`);
        }
      });
      return { ...c, betas: [c.betas[0], c.betas[1]] };
    }
    case "adagrad": {
      const c = withDefaults(OPTIMIZER_DEFAULTS.adagrad, config);
      requireNonNegative(c, "lrDecay", c.lrDecay);
      requireNonNegative(c, "weightDecay", c.weightDecay);
      requireNonNegative(c, "initialAccumulatorValue", c.initialAccumulatorValue);
      requireNonNegative(c, "eps", c.eps);
      return c;
    }
    case "sgd": {
      const c = withDefaults(OPTIMIZER_DEFAULTS.sgd, config);
      requireNonNegative(c, "momentum", c.momentum);
      requireNonNegative(c, "dampening", c.dampening);
      requireNonNegative(c, "weightDecay", c.weightDecay);
      if (c.nesterov && (c.momentum <= 0 || c.dampening !== 0)) {
        throw new Error("optimizer sgd: nesterov momentum requires momentum > 0 and dampening 0");
      }
      return c;
    }
    default:
      throw new Error(
        `optimizer: unknown name '${String((config as { name: unknown }).name)}'; expected adamw, adagrad or sgd`,
      );
  }
}

function adamwRule(c: Required<AdamWConfig>): UpdateRule {
  const [beta1, beta2] = c.betas;
  return {
    slotNames: ["exp_avg", "exp_avg_sq"],
    initSlots: (p) => ({ exp_avg: tf.zerosLike(p), exp_avg_sq: tf.zerosLike(p) }),
    update(p, g, s, step, lr) {
      const decayed = tf.mul(p, 1 - lr * c.weightDecay);
      const expAvg = tf.add(tf.mul(s.exp_avg, beta1), tf.mul(g, 1 - beta1));
      const expAvgSq = tf.add(tf.mul(s.exp_avg_sq, beta2), tf.mul(tf.mul(g, 1 - beta2), g));
      const stepSize = lr / (1 - beta1 ** step);
      const biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** step);
      const denom = tf.add(tf.div(tf.sqrt(expAvgSq), biasCorrection2Sqrt), c.eps);
      const param = tf.add(decayed, tf.div(tf.mul(expAvg, -stepSize), denom));
      return { param, slots: { exp_avg: expAvg, exp_avg_sq: expAvgSq } };
    },
  };
}

function adagradRule(c: Required<AdagradConfig>): UpdateRule {
  return {
    slotNames: ["sum"],
    initSlots: (p) => ({ sum: tf.fill(p.shape, c.initialAccumulatorValue) }),
    update(p, g, s, step, lr) {
      const grad = c.weightDecay !== 0 ? tf.add(g, tf.mul(p, c.weightDecay)) : g;
      const clr = lr / (1 + (step - 1) * c.lrDecay);
      const sum = tf.add(s.sum, tf.mul(grad, grad));
      const std = tf.add(tf.sqrt(sum), c.eps);
      const param = tf.add(p, tf.div(tf.mul(grad, -clr), std));
      return { param, slots: { sum } };
    },
  };
}

function sgdRule(c: Required<SgdConfig>): UpdateRule {
  const hasMomentum = c.momentum !== 0;
  return {
    slotNames: hasMomentum ? ["momentum_buffer"] : [],
    initSlots: (p): Record<string, tf.Tensor> =>
      hasMomentum ? { momentum_buffer: tf.zerosLike(p) } : {},
    update(p, g, s, step, lr) {
      let d = c.weightDecay !== 0 ? tf.add(g, tf.mul(p, c.weightDecay)) : g;
      const slots: Record<string, tf.Tensor> = {};
      if (hasMomentum) {
        // torch starts the buffer as a copy of the first (decayed) gradient.
        const buf =
          step === 1
            ? d
            : tf.add(tf.mul(s.momentum_buffer, c.momentum), tf.mul(d, 1 - c.dampening));
        slots.momentum_buffer = buf;
        d = c.nesterov ? tf.add(d, tf.mul(buf, c.momentum)) : buf;
      }
      return { param: tf.add(p, tf.mul(d, -lr)), slots };
    },
  };
}

interface LiveParamState {
  step: number;
  slots: Record<string, tf.Variable>;
}

class RuleOptimizer implements Optimizer {
  private readonly states = new Map<string, LiveParamState>();

  constructor(
    readonly config: ResolvedOptimizerConfig,
    private readonly rule: UpdateRule,
    private readonly params: Map<string, tf.Variable>,
  ) {}

  get name(): OptimizerName {
    return this.config.name;
  }

  step(grads: Map<string, tf.Tensor>, lr: number): void {
    if (!(lr >= 0) || !Number.isFinite(lr)) {
      throw new Error(`optimizer ${this.name}: lr must be a finite number >= 0, got ${lr}`);
    }
    // Check every gradient before touching any parameter, so a bad call changes nothing.
    for (const [key, g] of grads) {
      const p = this.params.get(key);
      if (!p) throw new Error(`optimizer ${this.name}: gradient for unknown parameter '${key}'`);
      if (!tf.util.arraysEqual(p.shape, g.shape) || g.dtype !== "float32") {
        throw new Error(
          `optimizer ${this.name}: gradient '${key}' is ${g.dtype} [${g.shape}], expected float32 [${p.shape}]`,
        );
      }
    }
    for (const [key, g] of grads) {
      const p = this.params.get(key)!;
      const st = this.states.get(key) ?? this.createState(key, p);
      st.step += 1;
      tf.tidy(() => {
        const out = this.rule.update(p, g, st.slots, st.step, lr);
        p.assign(out.param);
        for (const name of this.rule.slotNames) st.slots[name].assign(out.slots[name]);
      });
    }
  }

  state(): OptimizerState {
    const params: Record<string, ParamState> = {};
    for (const [key, st] of this.states) {
      const slots: Record<string, Float32Array> = {};
      for (const name of this.rule.slotNames) {
        slots[name] = Float32Array.from(st.slots[name].dataSync() as Float32Array);
      }
      params[key] = { step: st.step, slots };
    }
    return { name: this.name, params };
  }

  load(s: OptimizerState): void {
    if (s.name !== this.name) {
      throw new Error(`optimizer ${this.name}: cannot load state saved by optimizer '${s.name}'`);
    }
    // Validate everything first, then replace.
    for (const [key, ps] of Object.entries(s.params)) {
      const p = this.params.get(key);
      const where = `optimizer ${this.name} state, parameter '${key}'`;
      if (!p) throw new Error(`${where}: no such parameter in this optimizer`);
      if (!Number.isInteger(ps.step) || ps.step < 1) {
        throw new Error(`${where}: step must be an integer >= 1, got ${ps.step}`);
      }
      const names = Object.keys(ps.slots).sort();
      if (names.join(",") !== [...this.rule.slotNames].sort().join(",")) {
        throw new Error(`${where}: slots [${names}], expected [${this.rule.slotNames}]`);
      }
      for (const name of names) {
        const values = ps.slots[name];
        if (!(values instanceof Float32Array) || values.length !== p.size) {
          throw new Error(`${where}: slot '${name}' must be a Float32Array of ${p.size} values`);
        }
      }
    }
    this.dispose();
    for (const [key, ps] of Object.entries(s.params)) {
      const p = this.params.get(key)!;
      const slots: Record<string, tf.Variable> = {};
      for (const name of this.rule.slotNames) {
        slots[name] = tf.tidy(() =>
          tf.variable(tf.tensor(Float32Array.from(ps.slots[name]), p.shape, "float32"), false),
        );
      }
      this.states.set(key, { step: ps.step, slots });
    }
  }

  dispose(): void {
    for (const st of this.states.values()) {
      for (const v of Object.values(st.slots)) v.dispose();
    }
    this.states.clear();
  }

  private createState(key: string, p: tf.Variable): LiveParamState {
    const slots: Record<string, tf.Variable> = {};
    tf.tidy(() => {
      const init = this.rule.initSlots(p);
      for (const name of this.rule.slotNames) slots[name] = tf.variable(init[name], false);
    });
    const st = { step: 0, slots };
    this.states.set(key, st);
    return st;
  }
}

/** An optimizer over `params` (updated in place); hyperparameters default as in PyTorch. */
export function createOptimizer(
  config: OptimizerConfig,
  params: Map<string, tf.Variable>,
): Optimizer {
  const c = resolveOptimizerConfig(config);
  const rule =
    c.name === "adamw" ? adamwRule(c) : c.name === "adagrad" ? adagradRule(c) : sgdRule(c);
  return new RuleOptimizer(c, rule, params);
}

/**
 * Scale gradients to a total L2 norm of at most `maxNorm`, as torch.nn.utils.clip_grad_norm_:
 * total = ||(||g_i||)_i||, coef = min(1, maxNorm / (total + 1e-6)), every g_i multiplied by coef
 * (float32). Returns new tensors (the caller disposes both maps) and the norm before clipping.
 */
export function clipGradNorm(
  grads: Map<string, tf.Tensor>,
  maxNorm: number,
): { grads: Map<string, tf.Tensor>; totalNorm: number } {
  if (!(maxNorm > 0) || !Number.isFinite(maxNorm)) {
    throw new Error(`clipGradNorm: maxNorm must be a finite number > 0, got ${maxNorm}`);
  }
  const keys = [...grads.keys()];
  if (keys.length === 0) return { grads: new Map(), totalNorm: 0 };
  const [totalNorm, ...clipped] = tf.tidy(() => {
    const norms = keys.map((k) => tf.norm(grads.get(k)!));
    const total = tf.norm(tf.stack(norms));
    const coef = tf.minimum(tf.div(maxNorm, tf.add(total, 1e-6)), 1);
    return [total, ...keys.map((k) => tf.mul(grads.get(k)!, coef))];
  });
  const norm = totalNorm.dataSync()[0];
  totalNorm.dispose();
  return { grads: new Map(keys.map((k, i) => [k, clipped[i]])), totalNorm: norm };
}
