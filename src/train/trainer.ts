/**
 * The training loop, as a library function: `train(config)` reads the data, encodes it, estimates
 * memory (and refuses what will not fit), loads the base (NF4 or float) with a fresh LoRA adapter
 * (or every weight trainable with `full`), and runs epochs of length-bucketed batches with gradient
 * accumulation, a transformers learning-rate schedule, gradient clipping, periodic evaluation per
 * task and language, checkpoints for exact resume and a guard against divergence.
 *
 * Output directory: metrics.jsonl (one line per optimizer step and per evaluation), result.json
 * (config, final CE/PPL, status, provenance; written atomically, naming the run and its outputs by
 * the run's name rather than a machine's folders: see run_record.ts), adapter/ (PEFT) or model/
 * (full), checkpoint-<step>/ + checkpoint.json.
 *
 * Determinism: the batch order of epoch e is a function of (seed, e); adapter initialisation and
 * dropout come from the seed; a checkpoint holds everything else that changes (weights, optimizer
 * slots, dropout generator, counters). Same seed and backend give the same numbers, and a run
 * resumed from a checkpoint ends with the numbers of a run that was never interrupted.
 */
import * as tf from "@tensorflow/tfjs-core";
import * as fs from "node:fs";
import * as path from "node:path";
import { backendInfo } from "../backend/backend";
import {
  collate,
  encodeExamples,
  epochBatches,
  padIdOf,
  sequencePrefix,
  type PromptTokenizer,
  type TruncationStats,
} from "../data/batches";
import type { Example } from "../data/example";
import type { TokenBatch } from "../data/token_batch";
import {
  ADAPTER_CONFIG,
  adapterWeightsSha256,
  injectLora,
  loadAdapter,
  loraParameters,
  readAdapterConfig,
  saveAdapter,
  setTraining,
  type LoraModel,
} from "../lora/model";
import { loadModel, saveModel, trainableParameters } from "../model/checkpoint";
import { readLlamaConfig } from "../model/config";
import { memoryCeiling, tablesOffHeapByDefault } from "../model/memory";
import { tokenizerFor } from "../model/open";
import { checkoutState, type CheckoutState } from "../util/git";
import { packageVersion } from "../util/packages";
import { dropoutRngOf } from "./checkpoint_state";
import { parseTrainConfig, resumeKey, type TrainConfig, type TrainConfigInput } from "./config";
import { evaluateCe, type CeReport } from "./evaluate";
import {
  completedRun,
  planMemory,
  runLoop,
  startRun,
  writeRunResult,
  type EvalRecord as LoopEvalRecord,
  type LoopEvent,
  type RunStatus,
} from "./loop";
import type { MemoryEstimate } from "./memory";
import { createOptimizer, type OptimizerConfig } from "./optimizers";
import { lrAtStep, resolveWarmupSteps } from "./schedulers";
import { loadTaskData } from "./task_data";

export type { RunStatus, StepRecord } from "./loop";

/** One metrics.jsonl line per evaluation: CE per task and language. */
export type EvalRecord = LoopEvalRecord<CeReport>;

/** What the trainer reports while it runs. */
export type TrainEvent = LoopEvent<CeReport>;

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

/** A run's result: paths under config.out as given (result.json records them by run name). */
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
  /** The estimate, the budget in all (`limit`) and the ceiling of the backend's heap. */
  memory: MemoryEstimate & { limit: number; heapLimit: number };
  /** Whether each decoder layer was recomputed in the backward pass (asked for, or needed to fit). */
  gradientCheckpointing: boolean;
  /** Validation CE before the first step (when evaluated), and at the end (completed runs). */
  initial: CeReport | null;
  final: CeReport | null;
  outputs: { metrics: string; adapter?: string; model?: string };
  warnings: string[];
  provenance: Provenance;
  /** With --init-adapter: the sha256 of the starting adapter's weights file. */
  initAdapterSha256?: string;
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
  /** Stop at the next step boundary once aborted, with a checkpoint (status "stopped"). */
  signal?: AbortSignal;
}

/** Train as `input` says (see the module comment); resolves to what result.json holds. */
export async function train(
  input: TrainConfigInput,
  opts: TrainOptions = {},
): Promise<TrainResult> {
  const config = parseTrainConfig(input);
  // The code that runs is the code checked out now: commits made during a long run are not its.
  const checkout = checkoutState();
  if (config.initAdapter !== undefined) checkStartingAdapter(config.initAdapter, config);
  const initAdapterSha256 =
    config.initAdapter === undefined ? undefined : adapterWeightsSha256(config.initAdapter);
  const key = resumeKey(config, initAdapterSha256);
  const emit = opts.onEvent ?? (() => undefined);
  const log = (message: string) => emit({ type: "info", message });
  const resume = opts.resume === true;
  const { folder, startedAt } = await startRun(config.out, resume);
  const done = completedRun<TrainResult>(
    folder,
    resume,
    key,
    (ended, where) => resumeKey(parseTrainConfig(ended.config, where), ended.initAdapterSha256),
    log,
  );
  if (done) return done;

  // Data and tokens.
  const data = opts.data ? { warnings: [], ...opts.data } : await readData(config);
  const tok = opts.tokenizer ?? tokenizerFor(config.model);
  const encodeOpts = { format: config.prompt, maxLen: config.maxLen, start: sequencePrefix(tok) };
  const padId = padIdOf(tok, config.prompt);
  const trainSet = encodeExamples(tok, data.train, encodeOpts);
  const valSet = encodeExamples(tok, data.val, encodeOpts);
  if (trainSet.examples.length === 0) throw new Error("no training examples");
  log(
    `examples: ${trainSet.examples.length} train, ${valSet.examples.length} val; truncated to ${config.maxLen} tokens: ${describeTruncation(trainSet.stats)} (train), ${describeTruncation(valSet.stats)} (val)`,
  );

  // Memory: the estimate against the backend's ceiling; activation checkpointing when needed.
  const modelConfig = readLlamaConfig(config.model);
  const ceiling = memoryCeiling(config.memoryLimit);
  const longest = Math.max(...trainSet.examples.map((e) => e.ids.length));
  const { memory, gradientCheckpointing } = planMemory(
    modelConfig,
    {
      ...config,
      seqLen: Math.min(config.maxLen, longest),
      tablesOffHeap: !config.full && tablesOffHeapByDefault(modelConfig, ceiling),
    },
    ceiling,
    config.gradientCheckpointing,
    log,
  );

  // Model, trainable parameters, optimizer.
  const model = loadModel(config.model, {
    quant: config.full ? "none" : config.quant,
    doubleQuant: config.doubleQuant,
    trainable: config.full,
  });
  const lora: LoraModel | null = config.full
    ? null
    : config.initAdapter !== undefined
      ? loadAdapter(config.initAdapter, model, config.seed)
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

  // Each epoch's batch order is a function of (seed, epoch): the step says where the data stands.
  const lengths = trainSet.examples.map((e) => e.ids.length);
  let orderEpoch = -1;
  let order: number[][] = [];
  const batches = (step: number): TokenBatch[] => {
    const epoch = Math.floor(step / stepsPerEpoch);
    if (orderEpoch !== epoch) {
      order = epochBatches(lengths, config.batchSize, config.seed, epoch, config.bucketBatches);
      orderEpoch = epoch;
    }
    const inEpoch = step - epoch * stepsPerEpoch;
    return order.slice(inEpoch * config.gradAccum, (inEpoch + 1) * config.gradAccum).map((idx) =>
      collate(
        idx.map((i) => trainSet.examples[i]),
        padId,
        config.loss,
        config.taskWeights,
      ),
    );
  };

  const outputs: TrainResult["outputs"] = { metrics: folder.metricsFile };
  training(true);
  const end = await runLoop<CeReport>({
    folder,
    startedAt,
    resumeKey: key,
    totalSteps,
    stepsPerEpoch,
    lrAt: (step) => lrAtStep(config.scheduler, step, schedule),
    maxGradNorm: config.maxGradNorm,
    evalEvery: config.evalEvery,
    checkpointEvery: config.checkpointEvery,
    evalAtStart: config.evalAtStart,
    gradientCheckpointing,
    attentionBlock: config.attentionBlock,
    model,
    params,
    optimizer,
    dropoutRng: lora ? dropoutRngOf(lora) : null,
    outputDirs: ["adapter", "model"],
    emit,
    stopAfterSteps: opts.stopAfterSteps,
    signal: opts.signal,
    hooks: {
      batches,
      evaluate: () => {
        if (valSet.examples.length === 0) return null;
        training(false);
        const report = evaluateCe(model, valSet.examples, {
          batchSize: config.evalBatchSize,
          padId,
        });
        training(true);
        return report;
      },
      overall: (report) => report.overall,
      finish: () => {
        if (lora) {
          outputs.adapter = path.join(config.out, "adapter");
          saveAdapter(outputs.adapter, lora, config.model);
        } else {
          outputs.model = path.join(config.out, "model");
          saveFullModel(outputs.model, model, config.model);
        }
      },
    },
  });
  const result: TrainResult = {
    status: end.status,
    config,
    steps: end.steps,
    totalSteps,
    stepsPerEpoch,
    warmupSteps,
    tokens: end.tokens,
    wallTimeS: end.wallTimeS,
    trainExamples: trainSet.examples.length,
    valExamples: valSet.examples.length,
    truncation: { train: trainSet.stats, val: valSet.stats },
    trainableParameters: trainCount,
    memory: { ...memory, limit: ceiling.process, heapLimit: ceiling.heap },
    gradientCheckpointing,
    initial: end.initial,
    final: end.final,
    outputs,
    warnings: data.warnings,
    provenance: provenance(data.dataHash ?? "unknown", config.seed, checkout),
    ...(initAdapterSha256 === undefined ? {} : { initAdapterSha256 }),
  };
  writeRunResult(result);
  optimizer.dispose();
  model.dispose();
  if (lora) for (const l of lora.layers.values()) l.dispose();
  return result;
}

/** The adapter a run starts from (--init-adapter) must have the run's LoRA settings. */
function checkStartingAdapter(dir: string, config: TrainConfig): void {
  const found = readAdapterConfig(dir);
  const wanted = {
    r: config.loraR,
    lora_alpha: config.loraAlpha,
    lora_dropout: config.loraDropout,
    target_modules: [...config.targetModules].sort().join(","),
  };
  const has = { ...found, target_modules: [...found.target_modules].sort().join(",") };
  for (const [field, value] of Object.entries(wanted)) {
    const got = has[field as keyof typeof wanted];
    if (got !== value) {
      throw new Error(
        `${path.join(dir, ADAPTER_CONFIG)}: ${field} is ${got}, this run's is ${value}; ` +
          `train with the adapter's LoRA settings to start from it`,
      );
    }
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
    cocktailSize: config.cocktailSize,
    commitInput: config.commitInput,
    lenient: config.lenient,
    extraTrain: config.extraTrain,
    extraTrainSize: config.extraTrainSize,
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

/** A complete model directory: weights, config, and the base's tokenizer files. */
function saveFullModel(dir: string, model: Parameters<typeof saveModel>[1], base: string): void {
  saveModel(dir, model);
  for (const f of ["tokenizer.json", "tokenizer_config.json", "generation_config.json"]) {
    const src = path.join(base, f);
    if (fs.existsSync(src)) fs.copyFileSync(src, path.join(dir, f));
  }
}

/** Where this run's numbers came from; `checkout` is taken as the run began. */
export function provenance(dataHash: string, seed: number, checkout: CheckoutState): Provenance {
  const backend = backendInfo();
  return {
    ...checkout,
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
