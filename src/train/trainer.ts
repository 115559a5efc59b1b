/**
 * The training loop, as a library function: `train(config)` reads the data, encodes it, estimates
 * memory (and refuses what will not fit), loads the base (NF4 or float) with a fresh LoRA adapter
 * (or every weight trainable with `full`), and runs epochs of length-bucketed batches with gradient
 * accumulation, a transformers learning-rate schedule, gradient clipping, periodic evaluation per
 * task and language, checkpoints for exact resume and a guard against divergence.
 *
 * Output directory: metrics.jsonl (one line per optimizer step and per evaluation), result.json
 * (config, final CE/PPL, status, provenance; written atomically), adapter/ (PEFT) or model/ (full),
 * checkpoint-<step>/ + checkpoint.json.
 *
 * Determinism: the batch order of epoch e is a function of (seed, e); adapter initialisation and
 * dropout come from the seed; a checkpoint holds everything else that changes (weights, optimizer
 * slots, dropout generator, counters). Same seed and backend give the same numbers, and a run
 * resumed from a checkpoint ends with the numbers of a run that was never interrupted.
 */
import * as tf from "@tensorflow/tfjs-core";
import * as fs from "node:fs";
import { round } from "../util/number";
import type { LifecycleEvent } from "./progress";
import * as os from "node:os";
import * as path from "node:path";
import { backendInfo, initBackend } from "../backend/backend";
import {
  collate,
  encodeExamples,
  epochBatches,
  padIdOf,
  sequencePrefix,
  type EncodedExample,
  type PromptTokenizer,
  type TruncationStats,
} from "../data/batches";
import type { Example } from "../data/example";
import {
  injectLora,
  loraParameters,
  saveAdapter,
  setTraining,
  type LoraModel,
} from "../lora/model";
import { loadModel, saveModel, trainableParameters } from "../model/checkpoint";
import { readLlamaConfig } from "../model/config";
import { mib } from "../model/memory";
import { tokenizerFor } from "../model/open";
import { readJson, writeJsonAtomic } from "../util/fs";
import { checkoutState } from "../util/git";
import { packageVersion } from "../util/packages";
import {
  dropoutRngOf,
  loadCheckpoint,
  restoreParams,
  saveCheckpoint,
  type RunState,
} from "./checkpoint_state";
import {
  parseTrainConfig,
  resumeKey,
  resumeKeyDifferences,
  type TrainConfig,
  type TrainConfigInput,
} from "./config";
import { evaluateCe, type CeReport } from "./evaluate";
import { estimateTrainingMemory, formatEstimate, type MemoryEstimate } from "./memory";
import { createOptimizer, type OptimizerConfig } from "./optimizers";
import { lrAtStep, resolveWarmupSteps } from "./schedulers";
import { guardedUpdate, lossAndGrads } from "./step";
import { loadTaskData } from "./task_data";

/** How a run ended: all steps done, loss no longer finite, or stopped early on request. */
export type RunStatus = "completed" | "diverged" | "stopped";

/** One metrics.jsonl line per optimizer step. */
export interface StepRecord {
  type: "step";
  /** Optimizer steps done, 1-based. */
  step: number;
  /** Fractional epoch at the end of this step (step / steps per epoch). */
  epoch: number;
  /** Learning rate this step's update used. */
  lr: number;
  /** Mean of the micro-batch losses; null when not finite (then `nonfinite` says what it was). */
  loss: number | null;
  nonfinite?: string;
  /** Target tokens whose loss counted in this step. */
  tokens: number;
  /** Target tokens so far in the run. */
  tokens_total: number;
  /** Global gradient norm before clipping. */
  grad_norm: number | null;
  /** Sequence tokens (prompt and target, no padding) processed per second in this step. */
  tokens_per_s: number;
  elapsed_s: number;
}

/** One metrics.jsonl line per evaluation. */
export interface EvalRecord extends CeReport {
  type: "eval";
  step: number;
  epoch: number;
  split: "val";
}

/** What the trainer reports while it runs. */
export type TrainEvent = LifecycleEvent | StepRecord | EvalRecord;

/** Where the numbers came from. */
export interface Provenance {
  gitCommit: string | null;
  gitDirty: boolean | null;
  backend: string;
  dataHash: string;
  seed: number;
  node: string;
  packages: Record<string, string>;
}

/** result.json. */
export interface TrainResult {
  status: RunStatus;
  config: TrainConfig;
  steps: number;
  totalSteps: number;
  stepsPerEpoch: number;
  warmupSteps: number;
  /** Target tokens trained on. */
  tokens: number;
  wallTimeS: number;
  trainExamples: number;
  valExamples: number;
  truncation: { train: TruncationStats; val: TruncationStats };
  trainableParameters: number;
  memory: MemoryEstimate & { limit: number };
  /** Validation CE before the first step (when evaluated), and at the end (completed runs). */
  initial: CeReport | null;
  final: CeReport | null;
  outputs: { metrics: string; adapter?: string; model?: string };
  warnings: string[];
  provenance: Provenance;
}

/** Options of a run that do not change its numbers. */
export interface TrainOptions {
  onEvent?: (e: TrainEvent) => void;
  /** Continue from OUT's checkpoint (a fresh start when it has none). */
  resume?: boolean;
  /** Examples to use instead of reading the data directory (tests, notebooks). */
  data?: { train: Example[]; val: Example[]; dataHash?: string };
  /** Tokenizer to use instead of the model directory's tokenizer.json. */
  tokenizer?: PromptTokenizer;
  /** Stop after this many optimizer steps in this process, with a checkpoint (status "stopped"). */
  stopAfterSteps?: number;
}

const METRICS = "metrics.jsonl";
const RESULT = "result.json";

/** Train as `input` says (see the module comment); resolves to what result.json holds. */
export async function train(
  input: TrainConfigInput,
  opts: TrainOptions = {},
): Promise<TrainResult> {
  const config = parseTrainConfig(input);
  const emit = opts.onEvent ?? (() => undefined);
  const clockStart = Date.now();
  await initBackend();
  const out = config.out;
  const metricsFile = path.join(out, METRICS);
  fs.mkdirSync(out, { recursive: true });
  const checkpoint = opts.resume ? loadCheckpoint(out) : null;
  if (!opts.resume && fs.existsSync(metricsFile)) {
    throw new Error(`${out} already holds a run (${METRICS}); resume it or choose another output`);
  }
  if (checkpoint) refuseOtherSettings(checkpoint.dir, checkpoint.state.resumeKey, config);
  // A finished run is never overwritten by a resume with other settings (it may have no
  // checkpoint to compare with); with the same settings, a completed one is returned as it is.
  const resultFile = path.join(out, RESULT);
  const done = opts.resume && fs.existsSync(resultFile) ? readJson<TrainResult>(resultFile) : null;
  if (done) {
    refuseOtherSettings(resultFile, resumeKey(parseTrainConfig(done.config, resultFile)), config);
  }
  const stale = removeStaleTemps(out);
  if (stale.length > 0) {
    emit({ type: "info", message: `removed what interrupted writes left: ${stale.join(", ")}` });
  }
  if (done?.status === "completed") {
    emit({ type: "info", message: `${out} already holds a completed run; nothing to resume` });
    return done;
  }

  // Data and tokens.
  const data = opts.data ? { warnings: [], ...opts.data } : await readData(config);
  const tok = opts.tokenizer ?? tokenizerFor(config.model);
  const encodeOpts = { format: config.prompt, maxLen: config.maxLen, start: sequencePrefix(tok) };
  const padId = padIdOf(tok, config.prompt);
  const trainSet = encodeExamples(tok, data.train, encodeOpts);
  const valSet = encodeExamples(tok, data.val, encodeOpts);
  if (trainSet.examples.length === 0) throw new Error("no training examples");
  emit({
    type: "info",
    message: `examples: ${trainSet.examples.length} train, ${valSet.examples.length} val; truncated to ${config.maxLen} tokens: ${describeTruncation(trainSet.stats)} (train), ${describeTruncation(valSet.stats)} (val)`,
  });

  // Memory.
  const longest = Math.max(...trainSet.examples.map((e) => e.ids.length));
  const memory = estimateTrainingMemory(readLlamaConfig(config.model), {
    ...config,
    seqLen: Math.min(config.maxLen, longest),
  });
  const limit = config.memoryLimit ?? 0.8 * os.totalmem();
  emit({ type: "info", message: formatEstimate(memory, limit) });
  if (memory.total > limit) {
    throw new Error(
      `refusing to start: estimated peak memory ${mib(memory.total)} exceeds the limit ${mib(limit)}; ` +
        `lower the batch size or maximum length, quantize the base (nf4), or raise the memory limit`,
    );
  }

  // Model, trainable parameters, optimizer.
  const model = loadModel(config.model, {
    quant: config.full ? "none" : config.quant,
    doubleQuant: config.doubleQuant,
    trainable: config.full,
  });
  const lora: LoraModel | null = config.full
    ? null
    : injectLora(
        model,
        {
          r: config.loraR,
          lora_alpha: config.loraAlpha,
          lora_dropout: config.loraDropout,
          target_modules: config.targetModules,
          base_model_name_or_path: config.model,
        },
        config.seed,
      );
  const params = lora ? loraParameters(lora) : trainableParameters(model);
  const trainCount = [...params.values()].reduce((s, v) => s + v.size, 0);
  const optimizer = createOptimizer(optimizerConfig(config), params);
  const dropoutRng = lora ? dropoutRngOf(lora) : null;
  const training = (on: boolean) => {
    if (lora) setTraining(lora, on);
  };

  // Schedule.
  const batchesPerEpoch = Math.ceil(trainSet.examples.length / config.batchSize);
  const stepsPerEpoch = Math.ceil(batchesPerEpoch / config.gradAccum);
  const totalSteps = config.epochs * stepsPerEpoch;
  const warmupSteps = resolveWarmupSteps(
    config.warmupSteps !== undefined
      ? { warmupSteps: config.warmupSteps }
      : { warmupRatio: config.warmupRatio ?? 0.03 },
    totalSteps,
  );
  const schedule = { warmupSteps, totalSteps, lr: config.lr };

  // Fresh start or resume.
  let step = 0;
  let tokensTotal = 0;
  let elapsedBefore = 0;
  if (checkpoint) {
    restoreParams(params, checkpoint.params, checkpoint.dir);
    optimizer.load(checkpoint.optimizer);
    if (dropoutRng && checkpoint.state.dropoutRng) dropoutRng.setState(checkpoint.state.dropoutRng);
    ({ step, tokens: tokensTotal, elapsedS: elapsedBefore } = checkpoint.state);
    fs.truncateSync(metricsFile, checkpoint.state.metricsBytes);
    emit({ type: "info", message: `resuming from ${checkpoint.dir} at step ${step}` });
  } else {
    fs.writeFileSync(metricsFile, "");
  }
  const writeMetric = (rec: object) => fs.appendFileSync(metricsFile, JSON.stringify(rec) + "\n");
  const elapsed = () => elapsedBefore + (Date.now() - clockStart) / 1000;
  const epochAt = (s: number) => round(s / stepsPerEpoch, 6);

  // Evaluations the kept part of metrics.jsonl already records (a resume from the final
  // checkpoint has the final one): reused, so that each step's evaluation is written once.
  const recorded = recordedEvals(metricsFile);
  const evaluate = (atStep: number): CeReport | null => {
    if (valSet.examples.length === 0) return null;
    const before = recorded.get(atStep);
    if (before) return before;
    training(false);
    const report = evaluateCe(model, valSet.examples, { batchSize: config.evalBatchSize, padId });
    training(true);
    const rec: EvalRecord = {
      type: "eval",
      step: atStep,
      epoch: epochAt(atStep),
      split: "val",
      ...report,
    };
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
      resumeKey: resumeKey(config),
      dropoutRng: dropoutRng ? dropoutRng.state() : null,
    };
    const dir = saveCheckpoint(out, state, params, optimizer.state());
    emit({ type: "checkpoint", step, dir });
  };

  // A validation CE that is not finite means the model no longer gives numbers: the run diverged.
  const evalDiverged = (report: CeReport | null, atStep: number): boolean => {
    if (!report || report.overall.tokens === 0 || Number.isFinite(report.overall.ce)) return false;
    emit({
      type: "info",
      message: `loss became non-finite at step ${atStep} (validation CE ${report.overall.ce}); stopping`,
    });
    return true;
  };

  let status: RunStatus = "completed";
  training(true);
  if (!checkpoint && config.evalAtStart && evalDiverged(evaluate(0), 0)) status = "diverged";
  emit({ type: "start", totalSteps, startStep: step });

  const lengths = trainSet.examples.map((e) => e.ids.length);
  let orderEpoch = -1;
  let batches: number[][] = [];
  let stepsThisRun = 0;
  while (status === "completed" && step < totalSteps) {
    if (opts.stopAfterSteps !== undefined && stepsThisRun >= opts.stopAfterSteps) {
      status = "stopped";
      break;
    }
    const epoch = Math.floor(step / stepsPerEpoch);
    if (orderEpoch !== epoch) {
      batches = epochBatches(lengths, config.batchSize, config.seed, epoch, config.bucketBatches);
      orderEpoch = epoch;
    }
    const inEpoch = step - epoch * stepsPerEpoch;
    const group = batches.slice(inEpoch * config.gradAccum, (inEpoch + 1) * config.gradAccum);
    const t0 = Date.now();
    const { loss, tokens, seqTokens, grads } = accumulate(
      group.map((idx) => idx.map((i) => trainSet.examples[i])),
      (rows) => {
        const batch = collate(rows, padId, config.loss, config.taskWeights);
        return { ...lossAndGrads(model, params, batch), seqTokens: sumMask(batch.attentionMask) };
      },
    );
    const lr = lrAtStep(config.scheduler, step, schedule);
    const { gradNorm, applied: finite } = guardedUpdate(
      optimizer,
      grads,
      loss,
      lr,
      config.maxGradNorm,
    );
    step++;
    stepsThisRun++;
    tokensTotal += tokens;
    const seconds = Math.max((Date.now() - t0) / 1000, 1e-9);
    const rec: StepRecord = {
      type: "step",
      step,
      epoch: epochAt(step),
      lr,
      loss: Number.isFinite(loss) ? loss : null,
      ...(finite ? {} : { nonfinite: `loss ${loss}, gradient norm ${gradNorm}` }),
      tokens,
      tokens_total: tokensTotal,
      grad_norm: Number.isFinite(gradNorm) ? gradNorm : null,
      tokens_per_s: seqTokens / seconds,
      elapsed_s: round(elapsed(), 3),
    };
    writeMetric(rec);
    emit(rec);
    if (!finite) {
      status = "diverged";
      const what = Number.isFinite(loss) ? "gradient norm" : "loss";
      emit({
        type: "info",
        message: `${what} became non-finite at step ${step} (${rec.nonfinite}); stopping`,
      });
      break;
    }
    if (config.evalEvery > 0 && step % config.evalEvery === 0 && step < totalSteps) {
      if (evalDiverged(evaluate(step), step)) {
        status = "diverged";
        break;
      }
    }
    if (config.checkpointEvery > 0 && step % config.checkpointEvery === 0 && step < totalSteps) {
      writeCheckpoint();
    }
  }

  const outputs: TrainResult["outputs"] = { metrics: metricsFile };
  let final: CeReport | null = null;
  if (status === "stopped") writeCheckpoint();
  if (status === "completed") {
    final = evaluate(step);
    if (evalDiverged(final, step)) {
      status = "diverged";
      final = null;
    }
  }
  if (status === "completed") {
    if (lora) {
      outputs.adapter = path.join(out, "adapter");
      saveAdapter(outputs.adapter, lora, config.model);
    } else {
      outputs.model = path.join(out, "model");
      saveFullModel(outputs.model, model, config.model);
    }
    if (config.checkpointEvery > 0) writeCheckpoint();
  }
  const result: TrainResult = {
    status,
    config,
    steps: step,
    totalSteps,
    stepsPerEpoch,
    warmupSteps,
    tokens: tokensTotal,
    wallTimeS: round(elapsed(), 3),
    trainExamples: trainSet.examples.length,
    valExamples: valSet.examples.length,
    truncation: { train: trainSet.stats, val: valSet.stats },
    trainableParameters: trainCount,
    memory: { ...memory, limit },
    initial: recordedEvals(metricsFile).get(0) ?? null,
    final,
    outputs,
    warnings: data.warnings,
    provenance: provenance(data.dataHash ?? "unknown", config.seed),
  };
  writeJsonAtomic(path.join(out, RESULT), result);
  optimizer.dispose();
  model.dispose();
  if (lora) for (const l of lora.layers.values()) l.dispose();
  return result;
}

/** A temporary name of this run's writers (atomic files, checkpoint folders): `<name>.tmp-<pid>`. */
const TEMP_NAME = /\.tmp-\d+$/;

/**
 * Remove temporaries that an interrupted or failed write (a kill, a full disk) left in the run's
 * folders: the output folder and the adapter/ and model/ it writes. Returns the paths removed.
 */
function removeStaleTemps(out: string): string[] {
  const removed: string[] = [];
  for (const dir of [out, path.join(out, "adapter"), path.join(out, "model")]) {
    if (!fs.existsSync(dir)) continue;
    for (const entry of fs.readdirSync(dir)) {
      if (!TEMP_NAME.test(entry)) continue;
      fs.rmSync(path.join(dir, entry), { recursive: true, force: true });
      removed.push(path.join(dir, entry));
    }
  }
  return removed;
}

/** Refuse to resume what `where` saved with other settings, naming each setting that differs. */
function refuseOtherSettings(where: string, savedKey: string, config: TrainConfig): void {
  const differences = resumeKeyDifferences(savedKey, config);
  if (differences.length > 0) {
    throw new Error(
      `${where}: saved with other settings than this run's (${differences.join("; ")}); resume with the same settings or choose another output`,
    );
  }
}

/** The examples of the configured task, with warnings as lines. */
async function readData(
  config: TrainConfig,
): Promise<{ train: Example[]; val: Example[]; dataHash: string; warnings: string[] }> {
  const d = await loadTaskData({
    data: config.data,
    task: config.task,
    languages: config.languages,
    sizes: [config.trainSize, config.valSize, 0],
    dataSeed: config.dataSeed,
    mix: config.mix,
    commitInput: config.commitInput,
    lenient: config.lenient,
  });
  return {
    train: d.train,
    val: d.val,
    dataHash: d.dataHash,
    warnings: d.warnings.map((w) => w.message),
  };
}

function optimizerConfig(c: TrainConfig): OptimizerConfig {
  return c.weightDecay === undefined
    ? { name: c.optimizer }
    : { name: c.optimizer, weightDecay: c.weightDecay };
}

function describeTruncation(s: TruncationStats): string {
  return `${s.inputTruncated} of ${s.examples} inputs cut, ${s.targetTruncated} targets cut`;
}

/**
 * Run the micro-batches of one optimizer step and average their gradients (and losses): the step's
 * update is the mean gradient over its micro-batches, as with a loss divided by the accumulation
 * count.
 */
function accumulate(
  microBatches: EncodedExample[][],
  run: (rows: EncodedExample[]) => {
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
  for (const rows of microBatches) {
    const r = run(rows);
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
  const grads = sum!;
  if (n > 1) {
    for (const [k, g] of grads) {
      grads.set(k, tf.mul(g, 1 / n));
      g.dispose();
    }
  }
  return { loss: loss / n, tokens, seqTokens, grads };
}

function sumMask(mask: Float32Array | undefined): number {
  let n = 0;
  if (mask) for (let i = 0; i < mask.length; i++) n += mask[i];
  return n;
}

/** The evaluations recorded in metrics.jsonl, by step (the first one of each step). */
function recordedEvals(metricsFile: string): Map<number, CeReport> {
  const out = new Map<number, CeReport>();
  for (const line of fs.readFileSync(metricsFile, "utf8").split("\n")) {
    if (!line.startsWith('{"type":"eval"')) continue;
    const rec = JSON.parse(line) as EvalRecord;
    if (!out.has(rec.step))
      out.set(rec.step, {
        overall: rec.overall,
        byTask: rec.byTask,
        byTaskLanguage: rec.byTaskLanguage,
      });
  }
  return out;
}

/** A complete model directory: weights, config, and the base's tokenizer files. */
function saveFullModel(dir: string, model: Parameters<typeof saveModel>[1], base: string): void {
  saveModel(dir, model);
  for (const f of ["tokenizer.json", "tokenizer_config.json", "generation_config.json"]) {
    const src = path.join(base, f);
    if (fs.existsSync(src)) fs.copyFileSync(src, path.join(dir, f));
  }
}

/** Where this run's numbers came from. */
export function provenance(dataHash: string, seed: number): Provenance {
  const backend = backendInfo();
  return {
    ...checkoutState(),
    backend: backend.label,
    dataHash,
    seed,
    node: process.version,
    packages: {
      "@tensorflow/tfjs-core": tf.version_core,
      [backend.package]: packageVersion(backend.package),
    },
  };
}
