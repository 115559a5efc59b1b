/**
 * Full-parameter pretraining of a small Llama-format model on the code corpus, as a library
 * function: `pretrain(config)` encodes the corpus (cached), initialises the model from the seed
 * (or, continuing another run, from its latest checkpoint: init_from.ts), and trains every parameter (embeddings included) on shuffled fixed-length windows with AdamW, a
 * warmup + cosine (or linear) schedule, gradient clipping and a guard against divergence. It
 * evaluates held-out CE on a fixed sample of validation windows, writes checkpoints for exact
 * resume and, at the end, a Hugging Face model folder with a model card (ship.ts).
 *
 * Output folder: metrics.jsonl (a line per step and per evaluation), checkpoint-<step>/ +
 * checkpoint.json, result.json (written atomically), model/ (the shipped model).
 *
 * Determinism: the initial weights and each epoch's window order are functions of the seed; a
 * checkpoint holds the weights, AdamW's moments and step counts, the sampler's position and the
 * counters, so a resumed run ends with the weights and metrics of one never interrupted.
 */
import * as fs from "node:fs";
import { round } from "../util/number";
import type { LifecycleEvent } from "../train/progress";
import * as os from "node:os";
import * as path from "node:path";
import { initBackend } from "../backend/backend";
import { initTensors, modelFromTensors, trainableParameters } from "../model/checkpoint";
import { mib } from "../model/memory";
import { writeJsonAtomic } from "../util/fs";
import {
  loadCheckpoint,
  restoreParams,
  saveCheckpoint,
  type RunState,
} from "../train/checkpoint_state";
import { estimateTrainingMemory, formatEstimate, type MemoryEstimate } from "../train/memory";
import { lrAtStep } from "../train/schedulers";
import { guardedUpdate, lossAndGrads } from "../train/step";
import { provenance, type Provenance } from "../train/trainer";
import {
  ADAMW_BETAS,
  parsePretrainConfig,
  type PretrainConfig,
  type PretrainConfigInput,
} from "./config";
import { loadInitCheckpoint, type InitSource } from "./init_from";
import { createPretrainOptimizer } from "./optimizer";
import { prepareRun } from "./setup";
import { shipModel, trainLossSummary, type ShipOptions } from "./ship";
import { validationCe, type ValReport } from "./validate";
import { windowBatch, windowCount, WindowSampler } from "./windows";

/** How a run ended: all steps done, loss no longer finite, or stopped early on request. */
export type PretrainStatus = "completed" | "diverged" | "stopped";

/** One metrics.jsonl line per optimizer step. */
export interface PretrainStepRecord {
  type: "step";
  /** Optimizer steps done, 1-based. */
  step: number;
  /** Learning rate of this step's update. */
  lr: number;
  /** Mean token loss of the batch; null when not finite (then `nonfinite` says what it was). */
  loss: number | null;
  nonfinite?: string;
  /** Global gradient norm before clipping. */
  grad_norm: number | null;
  /** Tokens predicted in this step (batch x sequence length). */
  tokens: number;
  /** Tokens predicted so far in the run. */
  tokens_total: number;
  tokens_per_s: number;
  elapsed_s: number;
}

/** One metrics.jsonl line per evaluation. */
export interface PretrainEvalRecord extends ValReport {
  type: "eval";
  step: number;
  split: "val";
}

/** What pretraining reports while it runs. */
export type PretrainEvent =
  LifecycleEvent | PretrainStepRecord | PretrainEvalRecord | { type: "shipped"; dir: string };

/** Options of a run that do not change its numbers. */
export interface PretrainOptions {
  onEvent?: (e: PretrainEvent) => void;
  /** Continue from OUT's checkpoint (a fresh start when it has none). */
  resume?: boolean;
  /** Stop after this many optimizer steps in this process, with a checkpoint (status "stopped"). */
  stopAfterSteps?: number;
  /** Stop at the next step boundary once aborted, with a checkpoint (status "stopped"). */
  signal?: AbortSignal;
  /** Narration data (and languages) for the zero-shot section of the shipped model's card. */
  ship?: ShipOptions;
}

/** result.json. */
export interface PretrainResult {
  status: PretrainStatus;
  config: PretrainConfig;
  steps: number;
  warmupSteps: number;
  parameters: number;
  /** Tokens predicted in training (this run's; a continued run's first stage is in `continuedFrom`). */
  tokens: number;
  wallTimeS: number;
  /** The checkpoint this run started from (null: random initialisation). */
  continuedFrom: InitSource | null;
  corpus: { manifestHash: string; tokensKey: string; trainTokens: number; valTokens: number };
  trainWindows: number;
  memory: MemoryEstimate & { limit: number };
  /** Validation CE of the float32 weights before the first step and after the last. */
  initial: ValReport | null;
  final: ValReport | null;
  /** Validation CE of the shipped bfloat16 weights (completed runs). */
  shipped: ValReport | null;
  outputs: { metrics: string; model?: string };
  provenance: Provenance;
}

const METRICS = "metrics.jsonl";
const RESULT = "result.json";

/** Pretrain as `input` says (see the module comment); resolves to what result.json holds. */
export async function pretrain(
  input: PretrainConfigInput,
  opts: PretrainOptions = {},
): Promise<PretrainResult> {
  const config = parsePretrainConfig(input);
  const emit = opts.onEvent ?? (() => undefined);
  const log = (message: string) => emit({ type: "info", message });
  await initBackend();
  const out = config.out;
  const metricsFile = path.join(out, METRICS);
  fs.mkdirSync(out, { recursive: true });
  const checkpoint = opts.resume ? loadCheckpoint(out) : null;
  if (!opts.resume && fs.existsSync(metricsFile)) {
    throw new Error(`${out} already holds a run (${METRICS}); resume it or choose another output`);
  }
  const setup = prepareRun(config, log);
  if (checkpoint && checkpoint.state.resumeKey !== setup.resumeKey) {
    throw new Error(
      `${checkpoint.dir}: saved with other settings, model, corpus or tokenizer than this run's; resume with the same ones or choose another output`,
    );
  }
  const { data, modelConfig } = setup;
  const { seqLen, batchSize } = config;
  const trainWindows = windowCount(data.train.tokens.length, seqLen);
  if (trainWindows < 1) {
    throw new Error(
      `${data.corpusDir}: ${data.train.tokens.length} train tokens hold no window of ${seqLen + 1}`,
    );
  }
  log(
    `corpus ${data.manifestHash.slice(0, 12)}: ${data.train.tokens.length} train tokens (${trainWindows} windows of ${seqLen}), ` +
      `${data.val.tokens.length} val tokens; ${setup.valSample.length} val windows evaluated`,
  );

  const memory = estimateTrainingMemory(modelConfig, {
    full: true,
    quant: "none",
    doubleQuant: false,
    loraR: 0,
    loraDropout: 0,
    targetModules: [],
    optimizer: "adamw",
    batchSize,
    seqLen,
  });
  const limit = config.memoryLimit ?? 0.8 * os.totalmem();
  log(formatEstimate(memory, limit));
  if (memory.total > limit) {
    throw new Error(
      `refusing to start: estimated peak memory ${mib(memory.total)} exceeds the limit ${mib(limit)}; lower the batch size or sequence length`,
    );
  }

  const model = modelFromTensors(
    modelConfig,
    initTensors(modelConfig, config.seed),
    { trainable: true },
    "init",
  );
  const params = trainableParameters(model);
  const optimizer = createPretrainOptimizer(params, {
    betas: ADAMW_BETAS,
    weightDecay: config.weightDecay,
  });
  const schedule = { warmupSteps: setup.warmupSteps, totalSteps: config.steps, lr: config.lr };

  let step = 0;
  let tokensTotal = 0;
  let elapsedBefore = 0;
  let sampler = new WindowSampler(trainWindows, config.seed);
  if (checkpoint) {
    restoreParams(params, checkpoint.params, checkpoint.dir);
    optimizer.load(checkpoint.optimizer);
    if (!checkpoint.state.sampler)
      throw new Error(`${checkpoint.dir}/state.json: no sampler position`);
    sampler = new WindowSampler(trainWindows, config.seed, checkpoint.state.sampler);
    ({ step, tokens: tokensTotal, elapsedS: elapsedBefore } = checkpoint.state);
    fs.truncateSync(metricsFile, checkpoint.state.metricsBytes);
    log(`resuming from ${checkpoint.dir} at step ${step}`);
  } else {
    if (setup.init) {
      loadInitCheckpoint(setup.init, params, optimizer);
      log(`starting from ${setup.init.dir} (sha256 ${setup.init.sha256.slice(0, 12)})`);
    }
    fs.writeFileSync(metricsFile, "");
  }
  const clockStart = Date.now();
  const elapsed = () => elapsedBefore + (Date.now() - clockStart) / 1000;
  const writeMetric = (rec: object) => fs.appendFileSync(metricsFile, JSON.stringify(rec) + "\n");

  const evaluate = (atStep: number): ValReport | null => {
    if (setup.valSample.length === 0) return null;
    const report = validationCe(model, data.val, setup.valSample, seqLen, batchSize);
    const rec: PretrainEvalRecord = { type: "eval", step: atStep, split: "val", ...report };
    writeMetric(rec);
    emit(rec);
    return report;
  };
  const writeCheckpoint = () => {
    const state: RunState = {
      step,
      tokens: tokensTotal,
      elapsedS: elapsed(),
      metricsBytes: fs.statSync(metricsFile).size,
      resumeKey: setup.resumeKey,
      dropoutRng: null,
      sampler: sampler.state(),
    };
    const dir = saveCheckpoint(out, state, params, optimizer.state());
    emit({ type: "checkpoint", step, dir });
  };

  if (!checkpoint) evaluate(0);
  emit({ type: "start", totalSteps: config.steps, startStep: step });
  let status: PretrainStatus = "completed";
  let stepsThisRun = 0;
  while (step < config.steps) {
    if (
      (opts.stopAfterSteps !== undefined && stepsThisRun >= opts.stopAfterSteps) ||
      opts.signal?.aborted
    ) {
      status = "stopped";
      break;
    }
    const t0 = Date.now();
    const batch = windowBatch(data.train.tokens, seqLen, sampler.next(batchSize));
    const { loss, grads } = lossAndGrads(model, params, batch);
    const lr = lrAtStep(config.scheduler, step, schedule);
    const { gradNorm, applied } = guardedUpdate(optimizer, grads, loss, lr, config.maxGradNorm);
    step++;
    stepsThisRun++;
    const tokens = batchSize * seqLen;
    tokensTotal += tokens;
    const rec: PretrainStepRecord = {
      type: "step",
      step,
      lr,
      loss: Number.isFinite(loss) ? loss : null,
      ...(applied ? {} : { nonfinite: `loss ${loss}, gradient norm ${gradNorm}` }),
      grad_norm: Number.isFinite(gradNorm) ? gradNorm : null,
      tokens,
      tokens_total: tokensTotal,
      tokens_per_s: tokens / Math.max((Date.now() - t0) / 1000, 1e-9),
      elapsed_s: round(elapsed(), 3),
    };
    writeMetric(rec);
    emit(rec);
    if (!applied) {
      status = "diverged";
      log(
        `diverged at step ${step}: ${rec.nonfinite}; the weights were not updated, the last checkpoint stands`,
      );
      break;
    }
    if (config.evalEvery > 0 && step % config.evalEvery === 0 && step < config.steps)
      evaluate(step);
    if (config.checkpointEvery > 0 && step % config.checkpointEvery === 0 && step < config.steps) {
      writeCheckpoint();
    }
  }

  const outputs: PretrainResult["outputs"] = { metrics: metricsFile };
  let final: ValReport | null = null;
  let shippedCe: ValReport | null = null;
  if (status === "stopped") writeCheckpoint();
  if (status === "completed") {
    // Checkpoint before the final evaluation, so that resuming a finished run only redoes the end.
    if (config.checkpointEvery > 0) writeCheckpoint();
    final = evaluate(step);
    outputs.model = path.join(out, "model");
    const shipped = await shipModel(
      outputs.model,
      model,
      setup,
      {
        kind: "pretrained",
        status,
        steps: step,
        tokensSeen: tokensTotal,
        wallTimeS: elapsed(),
        trainLoss: trainLossSummary(metricsFile),
      },
      opts.ship,
    );
    shippedCe = shipped.valCe;
    emit({ type: "shipped", dir: outputs.model });
  }
  const result: PretrainResult = {
    status,
    config,
    steps: step,
    warmupSteps: setup.warmupSteps,
    parameters: setup.parameters,
    tokens: tokensTotal,
    wallTimeS: round(elapsed(), 3),
    continuedFrom: setup.init,
    corpus: {
      manifestHash: data.manifestHash,
      tokensKey: data.key,
      trainTokens: data.train.tokens.length,
      valTokens: data.val.tokens.length,
    },
    trainWindows,
    memory: { ...memory, limit },
    initial: initialEval(metricsFile),
    final,
    shipped: shippedCe,
    outputs,
    provenance: provenance(data.manifestHash, config.seed),
  };
  writeJsonAtomic(path.join(out, RESULT), result);
  optimizer.dispose();
  model.dispose();
  return result;
}

/** The evaluation at step 0 recorded in metrics.jsonl, if any (also after a resume). */
function initialEval(metricsFile: string): ValReport | null {
  for (const line of fs.readFileSync(metricsFile, "utf8").split("\n")) {
    if (!line.startsWith('{"type":"eval"')) continue;
    const { type: _t, step, split: _s, ...report } = JSON.parse(line) as PretrainEvalRecord;
    if (step === 0) return report;
  }
  return null;
}
