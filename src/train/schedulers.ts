/**
 * Learning-rate schedules, exactly as Hugging Face transformers defines them
 * (`transformers/optimization.py`: the `lr_lambda` of each `get_*_schedule_with_warmup`).
 *
 * Each schedule is a multiplier of the base learning rate, evaluated at a step `s` (w = warmup
 * steps, T = total steps):
 * - `constant`: 1 (warmup is ignored, as `get_scheduler("constant")` ignores it);
 * - `constant_with_warmup`: s < w ? s / max(1, w) : 1;
 * - `linear`: s < w ? s / max(1, w) : max(0, (T - s) / max(1, T - w));
 * - `cosine`: s < w ? s / max(1, w) : max(0, 0.5 * (1 + cos(pi * numCycles * 2 * (s - w) / max(1, T - w))));
 *   progress is not clamped, so past T the default half cosine rises again (as in transformers);
 * - `polynomial`: s < w ? s / max(1, w) : s > T ? lrEnd / lr :
 *   ((lr - lrEnd) * (1 - (s - w) / (T - w))^power + lrEnd) / lr, and lr must exceed lrEnd.
 *
 * Step semantics. transformers wraps the multiplier in torch's `LambdaLR`, whose constructor already
 * takes one step to s = 0; the Trainer then calls `optimizer.step()` before `scheduler.step()`. So
 * optimizer update number k (0-based) runs with `lr * multiplier(s = k)`: the first update of a
 * schedule with warmup uses lr 0. `lrAtStep` gives exactly that learning rate.
 */

/** The schedule names, as transformers' `SchedulerType` spells them. */
export type SchedulerKind =
  "linear" | "cosine" | "constant_with_warmup" | "polynomial" | "constant";

/** Every `SchedulerKind`, for validation and listings. */
export const SCHEDULER_KINDS: readonly SchedulerKind[] = [
  "linear",
  "cosine",
  "constant_with_warmup",
  "polynomial",
  "constant",
];

/** Schedule parameters (transformers names: num_warmup_steps, num_training_steps, lr_end, power, num_cycles). */
export interface ScheduleOptions {
  /** Warmup steps w (see `resolveWarmupSteps`). */
  warmupSteps: number;
  /** Total optimizer updates T. */
  totalSteps: number;
  /** Base (peak) learning rate; only the polynomial schedule's multiplier depends on it. */
  lr: number;
  /** Polynomial: final learning rate (transformers default 1e-7). */
  lrEnd?: number;
  /** Polynomial: power of the decay (default 1, linear decay to lrEnd). */
  power?: number;
  /** Cosine: number of waves (default 0.5, a half cosine from 1 to 0). */
  numCycles?: number;
}

function checkStepCount(value: number, field: string): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`scheduler: ${field} must be a non-negative integer, got ${value}`);
  }
}

function warmupMultiplier(step: number, warmupSteps: number): number {
  return step / Math.max(1, warmupSteps);
}

/** Multiplier of the base learning rate at scheduler step `step` (transformers' `lr_lambda`). */
export function lrMultiplier(kind: SchedulerKind, step: number, opts: ScheduleOptions): number {
  checkStepCount(step, "step");
  checkStepCount(opts.warmupSteps, "warmupSteps");
  checkStepCount(opts.totalSteps, "totalSteps");
  const w = opts.warmupSteps;
  const T = opts.totalSteps;
  switch (kind) {
    case "constant":
      return 1;
    case "constant_with_warmup":
      return step < w ? warmupMultiplier(step, w) : 1;
    case "linear":
      if (step < w) return warmupMultiplier(step, w);
      return Math.max(0, (T - step) / Math.max(1, T - w));
    case "cosine": {
      if (step < w) return warmupMultiplier(step, w);
      const numCycles = opts.numCycles ?? 0.5;
      const progress = (step - w) / Math.max(1, T - w);
      return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * numCycles * 2 * progress)));
    }
    case "polynomial": {
      const lrEnd = opts.lrEnd ?? 1e-7;
      const power = opts.power ?? 1;
      if (!(opts.lr > lrEnd)) {
        throw new Error(
          `scheduler polynomial: lrEnd (${lrEnd}) must be smaller than the initial lr (${opts.lr})`,
        );
      }
      if (step < w) return warmupMultiplier(step, w);
      if (step > T) return lrEnd / opts.lr;
      if (T === w) {
        // transformers divides by T - w here and raises ZeroDivisionError.
        throw new Error(
          `scheduler polynomial: totalSteps (${T}) equals warmupSteps, the decay has zero length`,
        );
      }
      const pctRemaining = 1 - (step - w) / (T - w);
      return ((opts.lr - lrEnd) * pctRemaining ** power + lrEnd) / opts.lr;
    }
    default:
      throw new Error(
        `scheduler: unknown kind '${String(kind)}'; expected one of ${SCHEDULER_KINDS.join(", ")}`,
      );
  }
}

/**
 * Learning rate used by optimizer update number `update` (0-based), as in a transformers Trainer
 * run: `lr * lrMultiplier(kind, update)` (the LambdaLR product, in that order).
 */
export function lrAtStep(kind: SchedulerKind, update: number, opts: ScheduleOptions): number {
  return opts.lr * lrMultiplier(kind, update, opts);
}

/**
 * Warmup steps as transformers' `TrainingArguments.get_warmup_steps`: `warmupSteps` when > 0,
 * else `ceil(totalSteps * warmupRatio)` (so 0.07 of 100 steps is 8, from 100 * 0.07 = 7.000000000000001).
 */
export function resolveWarmupSteps(
  spec: { warmupSteps?: number; warmupRatio?: number },
  totalSteps: number,
): number {
  checkStepCount(totalSteps, "totalSteps");
  const steps = spec.warmupSteps ?? 0;
  const ratio = spec.warmupRatio ?? 0;
  checkStepCount(steps, "warmupSteps");
  if (!(ratio >= 0 && ratio <= 1)) {
    throw new Error(`scheduler: warmupRatio must lie in [0, 1], got ${ratio}`);
  }
  return steps > 0 ? steps : Math.ceil(totalSteps * ratio);
}
