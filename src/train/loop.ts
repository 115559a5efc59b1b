/**
 * The one training loop behind fine-tuning (trainer.ts) and pretraining (pretrain/pretrain.ts).
 * Each says where its batches come from, how it evaluates and what a completed run ships; the loop
 * owns everything else: the run folder (fresh start or resume, temporaries of cut-short writes),
 * metrics.jsonl, gradient accumulation, the learning-rate schedule, the guard against divergence,
 * the evaluation and checkpoint schedules, and stopping early (a step count, or an AbortSignal such
 * as Ctrl-C) with a checkpoint.
 *
 * Order at the end of a completed run: the final checkpoint (so that no trained step can be lost
 * to what follows), the final evaluation, then the run's own outputs. A resume from that
 * checkpoint redoes only the end, and writes the final evaluation once.
 *
 * Determinism: a checkpoint holds the weights, optimizer slots, dropout generator, the batch
 * source's position and the counters, and metrics.jsonl is cut back to where it stood, so a resumed
 * run ends with the numbers and bytes of a run that was never interrupted.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend";
import { sequenceTokens, type TokenBatch } from "../data/token_batch";
import type { LlamaConfig } from "../model/config";
import type { Llama } from "../model/llama";
import { mib, type MemoryCeiling } from "../model/memory";
import { readJson, writeJsonAtomic } from "../util/fs";
import { round } from "../util/number";
import type { Rng } from "../util/rng";
import {
  loadCheckpoint,
  restoreParams,
  saveCheckpoint,
  type Checkpoint,
  type RunState,
} from "./checkpoint_state";
import {
  checkTrainingFits,
  estimateTrainingMemory,
  formatEstimate,
  needsGradientCheckpointing,
  type MemoryEstimate,
  type MemoryEstimateInput,
} from "./memory";
import type { Optimizer } from "./optimizers";
import { resolveRunRecord, runRecord, type RunPaths } from "./run_record";
import type { LifecycleEvent } from "./progress";
import { guardedUpdate, lossAndGrads } from "./step";

/** How a run ended: all steps done, loss no longer finite, or stopped early on request. */
export type RunStatus = "completed" | "diverged" | "stopped";

/** One metrics.jsonl line per optimizer step. */
export interface StepRecord {
  type: "step";
  /** Optimizer steps done, 1-based. */
  step: number;
  /** Fractional epoch at the end of this step (runs whose data has epochs of a known length). */
  epoch?: number;
  /** Learning rate this step's update used. */
  lr: number;
  /** Mean of the micro-batch losses; null when not finite (then `nonfinite` says what it was). */
  loss: number | null;
  nonfinite?: string;
  /** Tokens whose loss counted in this step. */
  tokens: number;
  /** Tokens counted so far in the run. */
  tokens_total: number;
  /** Global gradient norm before clipping. */
  grad_norm: number | null;
  /** Sequence tokens (no padding) processed per second in this step. */
  tokens_per_s: number;
  elapsed_s: number;
}

/** One metrics.jsonl line per evaluation: the run's report with where it was taken. */
export type EvalRecord<R> = { type: "eval"; step: number; epoch?: number; split: "val" } & R;

/** What the loop reports while it runs. */
export type LoopEvent<R> = LifecycleEvent | StepRecord | EvalRecord<R>;

/** A run's output folder, opened for a fresh start or a resume. */
export interface RunFolder {
  out: string;
  metricsFile: string;
  /** The checkpoint a resume continues from (null: a fresh start). */
  checkpoint: Checkpoint | null;
}

export const METRICS = "metrics.jsonl";
export const RESULT = "result.json";

/**
 * Open OUT: created when missing; a fresh start refuses a folder that already holds a run; a resume
 * reads its current checkpoint (none: a fresh start).
 */
export function openRunFolder(out: string, resume: boolean): RunFolder {
  const metricsFile = path.join(out, METRICS);
  fs.mkdirSync(out, { recursive: true });
  if (!resume && fs.existsSync(metricsFile)) {
    throw new Error(`${out} already holds a run (${METRICS}); resume it or choose another output`);
  }
  return { out, metricsFile, checkpoint: resume ? loadCheckpoint(out) : null };
}

/** result.json of a run that already ended, when resuming one, its outputs found under OUT. */
export function endedRun<T extends RunPaths>(folder: RunFolder, resume: boolean): T | null {
  const file = path.join(folder.out, RESULT);
  return resume && fs.existsSync(file) ? resolveRunRecord(readJson<T>(file), folder.out) : null;
}

/** A run's start, shared by fine-tuning and pretraining: the clock started, the backend up, OUT opened. */
export async function startRun(
  out: string,
  resume: boolean,
): Promise<{ folder: RunFolder; startedAt: number }> {
  const startedAt = Date.now();
  await initBackend();
  return { folder: openRunFolder(out, resume), startedAt };
}

/**
 * What a resume finds in OUT: a checkpoint or an ended run saved with other settings than `key` is
 * refused, naming them (an ended run may have no checkpoint to compare with; `savedKey` gives its
 * key from its result.json, named `where` in errors); a completed run is returned as it is, with
 * nothing to resume; otherwise null, and the run goes on.
 */
export function completedRun<R extends RunPaths & { status: RunStatus }>(
  folder: RunFolder,
  resume: boolean,
  key: string,
  savedKey: (ended: R, where: string) => string,
  log: (message: string) => void,
): R | null {
  const { checkpoint } = folder;
  if (checkpoint) refuseOtherSettings(checkpoint.dir, checkpoint.state.resumeKey, key);
  const ended = endedRun<R>(folder, resume);
  if (ended) {
    const where = path.join(folder.out, RESULT);
    refuseOtherSettings(where, savedKey(ended, where), key);
  }
  if (ended?.status !== "completed") return null;
  log(`${folder.out} already holds a completed run; nothing to resume`);
  return ended;
}

/** Write a run's result.json (atomically) as run_record.ts records it: no machine's folders. */
export function writeRunResult(result: RunPaths): void {
  writeJsonAtomic(path.join(result.config.out, RESULT), runRecord(result));
}

/**
 * Refuse to resume what `where` saved under the resume key `savedKey` when this run's key differs,
 * naming each setting that differs as "field: saved, now" (keys are canonical JSON objects, so
 * comparing them field by field names what a string comparison could only say differs).
 */
export function refuseOtherSettings(where: string, savedKey: string, key: string): void {
  const saved = JSON.parse(savedKey) as Record<string, unknown>;
  const now = JSON.parse(key) as Record<string, unknown>;
  const show = (v: unknown) => (v === undefined ? "unset" : JSON.stringify(v));
  const differences = [...new Set([...Object.keys(saved), ...Object.keys(now)])]
    .sort()
    .filter((k) => show(saved[k]) !== show(now[k]))
    .map((k) => `${k}: ${show(saved[k])} in the saved run, ${show(now[k])} now`);
  if (differences.length > 0) {
    throw new Error(
      `${where}: saved with other settings than this run's (${differences.join("; ")}); resume with the same settings or choose another output`,
    );
  }
}

/** How a run will use memory: its estimate, and whether it checkpoints activations. */
export interface MemoryPlan {
  memory: MemoryEstimate;
  gradientCheckpointing: boolean;
}

/**
 * Estimate a run against the backend's memory ceiling before anything is loaded. Activation
 * checkpointing is as `requested` says, or (unset) on exactly when the run fits with it and not
 * without, which the log says; a run that fits neither way is refused with what would fit.
 */
export function planMemory(
  model: LlamaConfig,
  input: MemoryEstimateInput,
  ceiling: MemoryCeiling,
  requested: boolean | undefined,
  log: (message: string) => void,
): MemoryPlan {
  const gradientCheckpointing = requested ?? needsGradientCheckpointing(model, input, ceiling);
  if (requested === undefined && gradientCheckpointing) {
    const plain = estimateTrainingMemory(model, { ...input, gradientCheckpointing: false });
    log(
      `activation checkpointing on (--gradient-checkpointing): without it the run needs an estimated ` +
        `${mib(plain.heap)} of the ${ceiling.heapName}, which holds at most ${mib(ceiling.heap)}`,
    );
  }
  const memory = checkTrainingFits(model, { ...input, gradientCheckpointing }, ceiling);
  log(formatEstimate(memory, ceiling));
  return { memory, gradientCheckpointing };
}

/** What a run plugs into the loop. */
export interface LoopHooks<R> {
  /** The micro-batches of optimizer step `step` (0-based), in order; their gradients are averaged. */
  batches(step: number): TokenBatch[];
  /** Where the batch source stands, when it keeps a position of its own (saved in checkpoints). */
  sourcePosition?(): RunState["sampler"];
  /** Evaluate the model as it stands; null when there is nothing to evaluate on. */
  evaluate(): R | null;
  /** The overall CE of a report and the tokens behind it (a CE that is not finite: diverged). */
  overall(report: R): { ce: number | null; tokens: number };
  /** Write what a completed run ships, after its final evaluation. */
  finish(end: { steps: number; tokens: number; elapsedS: number }): Promise<void> | void;
}

/** A run as the loop drives it. */
export interface LoopRun<R> {
  folder: RunFolder;
  /** When the run started (Date.now()), for its wall time. */
  startedAt: number;
  /** The settings a checkpoint must match to be resumed. */
  resumeKey: string;
  totalSteps: number;
  /** Steps in an epoch of the data, for the `epoch` field of records (omitted when unknown). */
  stepsPerEpoch?: number;
  /** The learning rate of the update at step `step` (0-based). */
  lrAt(step: number): number;
  /** Clip the global gradient norm to this (0: no clipping). */
  maxGradNorm: number;
  /** Evaluate every K steps (0: only at the start and the end). */
  evalEvery: number;
  /** Checkpoint every K steps (0: only when stopped early). */
  checkpointEvery: number;
  /** Evaluate before the first step of a fresh start. */
  evalAtStart: boolean;
  /** Recompute each decoder layer in the backward pass instead of keeping its activations. */
  gradientCheckpointing: boolean;
  /** Attention this many queries at a time, recomputed in the backward pass (unset: at once). */
  attentionBlock?: number;
  model: Llama;
  params: Map<string, tf.Variable>;
  optimizer: Optimizer;
  /** The dropout generator, saved in checkpoints (null: no dropout). */
  dropoutRng: Rng | null;
  /** Folders under OUT that the run writes, cleared of cut-short temporaries with OUT itself. */
  outputDirs: readonly string[];
  hooks: LoopHooks<R>;
  emit(e: LoopEvent<R>): void;
  /** Stop after this many optimizer steps in this process, with a checkpoint (status "stopped"). */
  stopAfterSteps?: number;
  /** Stop at the next step boundary once aborted, with a checkpoint (status "stopped"). */
  signal?: AbortSignal;
}

/** How the loop ended. */
export interface LoopEnd<R> {
  status: RunStatus;
  steps: number;
  tokens: number;
  wallTimeS: number;
  /** The evaluation before the first step (also after a resume), and the final one (completed). */
  initial: R | null;
  final: R | null;
}

/** Train `run` from where its folder stands to its last step (see the module comment). */
export async function runLoop<R extends object>(run: LoopRun<R>): Promise<LoopEnd<R>> {
  const { folder, hooks, emit, params, optimizer, dropoutRng, totalSteps } = run;
  const { metricsFile, checkpoint } = folder;
  const log = (message: string) => emit({ type: "info", message });
  const stale = removeStaleTemps([
    folder.out,
    ...run.outputDirs.map((d) => path.join(folder.out, d)),
  ]);
  if (stale.length > 0) log(`removed what interrupted writes left: ${stale.join(", ")}`);

  let step = 0;
  let tokensTotal = 0;
  let elapsedBefore = 0;
  if (checkpoint) {
    restoreParams(params, checkpoint.params, checkpoint.dir);
    optimizer.load(checkpoint.optimizer);
    if (dropoutRng && checkpoint.state.dropoutRng) dropoutRng.setState(checkpoint.state.dropoutRng);
    ({ step, tokens: tokensTotal, elapsedS: elapsedBefore } = checkpoint.state);
    fs.truncateSync(metricsFile, checkpoint.state.metricsBytes);
    log(`resuming from ${checkpoint.dir} at step ${step}`);
  } else {
    fs.writeFileSync(metricsFile, "");
  }
  let checkpointedAt = checkpoint ? step : -1;
  const elapsed = () => elapsedBefore + (Date.now() - run.startedAt) / 1000;
  const epochOf = (s: number) =>
    run.stepsPerEpoch === undefined ? {} : { epoch: round(s / run.stepsPerEpoch, 6) };
  const writeMetric = (rec: object) => fs.appendFileSync(metricsFile, JSON.stringify(rec) + "\n");

  const evaluate = (atStep: number): R | null => {
    const report = hooks.evaluate();
    if (report === null) return null;
    const rec = { type: "eval", step: atStep, ...epochOf(atStep), split: "val", ...report };
    writeMetric(rec);
    emit(rec as EvalRecord<R>);
    return report;
  };
  // A validation CE that is not finite means the model no longer gives numbers: the run diverged.
  const evalDiverged = (report: R | null, atStep: number): boolean => {
    if (report === null) return false;
    const { ce, tokens } = hooks.overall(report);
    if (tokens === 0 || (ce !== null && Number.isFinite(ce))) return false;
    log(`loss became non-finite at step ${atStep} (validation CE ${ce}); stopping`);
    return true;
  };
  const writeCheckpoint = () => {
    if (checkpointedAt === step) return;
    const position = hooks.sourcePosition?.();
    const state: RunState = {
      step,
      tokens: tokensTotal,
      elapsedS: elapsed(),
      metricsBytes: fs.statSync(metricsFile).size,
      resumeKey: run.resumeKey,
      dropoutRng: dropoutRng ? dropoutRng.state() : null,
      ...(position ? { sampler: position } : {}),
    };
    const dir = saveCheckpoint(folder.out, state, params, optimizer.state());
    checkpointedAt = step;
    emit({ type: "checkpoint", step, dir });
  };

  let status: RunStatus = "completed";
  if (!checkpoint && run.evalAtStart && evalDiverged(evaluate(0), 0)) status = "diverged";
  emit({ type: "start", totalSteps, startStep: step });
  let stepsThisRun = 0;
  while (status === "completed" && step < totalSteps) {
    // Steps run synchronously: let signal handlers (Ctrl-C) run between them.
    await new Promise((resolve) => setImmediate(resolve));
    if (
      (run.stopAfterSteps !== undefined && stepsThisRun >= run.stopAfterSteps) ||
      run.signal?.aborted
    ) {
      status = "stopped";
      break;
    }
    const t0 = Date.now();
    const { loss, tokens, seqTokens, grads } = accumulate(hooks.batches(step), (batch) => ({
      ...lossAndGrads(run.model, params, batch, {
        gradientCheckpointing: run.gradientCheckpointing,
        attentionBlock: run.attentionBlock,
      }),
      seqTokens: sequenceTokens(batch),
    }));
    const lr = run.lrAt(step);
    const { gradNorm, applied } = guardedUpdate(optimizer, grads, loss, lr, run.maxGradNorm);
    step++;
    stepsThisRun++;
    tokensTotal += tokens;
    const rec: StepRecord = {
      type: "step",
      step,
      ...epochOf(step),
      lr,
      loss: Number.isFinite(loss) ? loss : null,
      ...(applied ? {} : { nonfinite: `loss ${loss}, gradient norm ${gradNorm}` }),
      tokens,
      tokens_total: tokensTotal,
      grad_norm: Number.isFinite(gradNorm) ? gradNorm : null,
      tokens_per_s: seqTokens / Math.max((Date.now() - t0) / 1000, 1e-9),
      elapsed_s: round(elapsed(), 3),
    };
    writeMetric(rec);
    emit(rec);
    if (!applied) {
      status = "diverged";
      const what = Number.isFinite(loss) ? "gradient norm" : "loss";
      log(
        `${what} became non-finite at step ${step} (${rec.nonfinite}); stopping: the weights were not updated, the last checkpoint stands`,
      );
      break;
    }
    if (run.evalEvery > 0 && step % run.evalEvery === 0 && step < totalSteps) {
      if (evalDiverged(evaluate(step), step)) {
        status = "diverged";
        break;
      }
    }
    if (run.checkpointEvery > 0 && step % run.checkpointEvery === 0 && step < totalSteps) {
      writeCheckpoint();
    }
  }

  let final: R | null = null;
  if (status === "stopped") writeCheckpoint();
  if (status === "completed") {
    if (run.checkpointEvery > 0) writeCheckpoint();
    final = evaluate(step);
    if (evalDiverged(final, step)) {
      status = "diverged";
      final = null;
    }
  }
  if (status === "completed") {
    await hooks.finish({ steps: step, tokens: tokensTotal, elapsedS: elapsed() });
  }
  return {
    status,
    steps: step,
    tokens: tokensTotal,
    wallTimeS: round(elapsed(), 3),
    initial: recordedEval<R>(metricsFile, 0),
    final,
  };
}

/**
 * Run the micro-batches of one optimizer step and average their gradients (and losses): the step's
 * update is the mean gradient over its micro-batches, as with a loss divided by the accumulation
 * count.
 */
function accumulate(
  microBatches: TokenBatch[],
  run: (batch: TokenBatch) => {
    loss: number;
    tokens: number;
    seqTokens: number;
    grads: Map<string, tf.Tensor>;
  },
): { loss: number; tokens: number; seqTokens: number; grads: Map<string, tf.Tensor> } {
  let sum: Map<string, tf.Tensor> | null = null;
  let loss = 0;
  let tokens = 0;
  let seqTokens = 0;
  for (const batch of microBatches) {
    const r = run(batch);
    loss += r.loss;
    tokens += r.tokens;
    seqTokens += r.seqTokens;
    if (sum === null) {
      sum = r.grads;
      continue;
    }
    for (const [k, g] of r.grads) {
      const prev = sum.get(k)!;
      sum.set(k, tf.add(prev, g));
      prev.dispose();
      g.dispose();
    }
  }
  const n = microBatches.length;
  if (sum === null) throw new Error("a training step with no batches");
  if (n > 1) {
    for (const [k, g] of sum) {
      sum.set(k, tf.mul(g, 1 / n));
      g.dispose();
    }
  }
  return { loss: loss / n, tokens, seqTokens, grads: sum };
}

/** The first evaluation metrics.jsonl records at `step`, without its record fields. */
function recordedEval<R>(metricsFile: string, step: number): R | null {
  for (const line of fs.readFileSync(metricsFile, "utf8").split("\n")) {
    if (!line.startsWith('{"type":"eval"')) continue;
    const {
      type: _t,
      step: at,
      epoch: _e,
      split: _s,
      ...report
    } = JSON.parse(line) as EvalRecord<Record<string, unknown>>;
    if (at === step) return report as R;
  }
  return null;
}

/** A temporary name of this run's writers (atomic files, checkpoint folders): `<name>.tmp-<pid>`. */
const TEMP_NAME = /\.tmp-\d+$/;

/**
 * Remove temporaries that an interrupted or failed write (a kill, a full disk) left in `dirs`.
 * Returns the paths removed.
 */
function removeStaleTemps(dirs: readonly string[]): string[] {
  const removed: string[] = [];
  for (const dir of dirs) {
    if (!fs.existsSync(dir)) continue;
    for (const entry of fs.readdirSync(dir)) {
      if (!TEMP_NAME.test(entry)) continue;
      fs.rmSync(path.join(dir, entry), { recursive: true, force: true });
      removed.push(path.join(dir, entry));
    }
  }
  return removed;
}
