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
import * as path from "node:path";
import { modelFromTensors, trainableParameters } from "../model/checkpoint";
import { memoryCeiling } from "../model/memory";
import {
  completedRun,
  planMemory,
  runLoop,
  startRun,
  writeRunResult,
  type EvalRecord,
  type LoopEvent,
  type RunStatus,
  type StepRecord,
} from "../train/loop";
import type { MemoryEstimate } from "../train/memory";
import { lrAtStep } from "../train/schedulers";
import { provenance, type Provenance } from "../train/trainer";
import {
  ADAMW_BETAS,
  parsePretrainConfig,
  pretrainResumeKey,
  resolveModelConfig,
  type PretrainConfig,
  type PretrainConfigInput,
} from "./config";
import { loadInitCheckpoint, startTensors, type InitSource } from "./init_from";
import { createPretrainOptimizer } from "./optimizer";
import { prepareRun } from "./setup";
import type { Tokenizer } from "../tokenizer/tokenizer";
import { shipModel, trainLossSummary, type ShipOptions } from "./ship";
import { validationCe, type ValReport } from "./validate";
import { windowBatch, windowCount, WindowSampler } from "./windows";

/** How a run ended: all steps done, loss no longer finite, or stopped early on request. */
export type PretrainStatus = RunStatus;

/** One metrics.jsonl line per optimizer step (every predicted token counts). */
export type PretrainStepRecord = StepRecord;

/** One metrics.jsonl line per evaluation. */
export type PretrainEvalRecord = EvalRecord<ValReport>;

/** What pretraining reports while it runs. */
export type PretrainEvent = LoopEvent<ValReport> | { type: "shipped"; dir: string };

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
  /** The estimate, the budget in all (`limit`) and the ceiling of the backend's heap. */
  memory: MemoryEstimate & { limit: number; heapLimit: number };
  /** Whether each decoder layer was recomputed in the backward pass (asked for, or needed to fit). */
  gradientCheckpointing: boolean;
  /** Validation CE of the float32 weights before the first step and after the last. */
  initial: ValReport | null;
  final: ValReport | null;
  /** Validation CE of the shipped bfloat16 weights (completed runs). */
  shipped: ValReport | null;
  outputs: { metrics: string; model?: string };
  provenance: Provenance;
}

/** Pretrain as `input` says (see the module comment); resolves to what result.json holds. */
export async function pretrain(
  input: PretrainConfigInput,
  opts: PretrainOptions = {},
): Promise<PretrainResult> {
  const config = parsePretrainConfig(input);
  const emit = opts.onEvent ?? (() => undefined);
  const log = (message: string) => emit({ type: "info", message });
  const resume = opts.resume === true;
  const { folder, startedAt } = await startRun(config.out, resume);
  const { checkpoint } = folder;
  const setup = prepareRun(config, log);
  // As fine-tuning: a finished run is never overwritten by a resume with other settings, and a
  // completed one is returned as it is.
  const done = completedRun<PretrainResult>(
    folder,
    resume,
    setup.resumeKey,
    (ended, where) => savedResumeKey(ended, setup.tokenizer, where),
    log,
  );
  if (done) return done;
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

  // Activation checkpointing as asked, or by itself when the run would not fit without it.
  const ceiling = memoryCeiling(config.memoryLimit);
  const { memory, gradientCheckpointing } = planMemory(
    modelConfig,
    {
      full: true,
      quant: "none",
      doubleQuant: false,
      loraR: 0,
      loraDropout: 0,
      targetModules: [],
      optimizer: "adamw",
      batchSize,
      seqLen,
    },
    ceiling,
    config.gradientCheckpointing,
    log,
  );

  const model = modelFromTensors(
    modelConfig,
    startTensors(checkpoint ? null : setup.init, modelConfig, config.seed),
    { trainable: true },
    "init",
  );
  const params = trainableParameters(model);
  const optimizer = createPretrainOptimizer(params, {
    betas: ADAMW_BETAS,
    weightDecay: config.weightDecay,
  });
  const schedule = { warmupSteps: setup.warmupSteps, totalSteps: config.steps, lr: config.lr };

  // The sampler keeps its own position (saved in checkpoints): windows are drawn epoch by epoch.
  let sampler = new WindowSampler(trainWindows, config.seed);
  if (checkpoint) {
    if (!checkpoint.state.sampler) {
      throw new Error(`${checkpoint.dir}/state.json: no sampler position`);
    }
    sampler = new WindowSampler(trainWindows, config.seed, checkpoint.state.sampler);
  } else if (setup.init) {
    // A model folder's weights are in the model already; it has no AdamW moments to load.
    if (setup.init.kind === "checkpoint") loadInitCheckpoint(setup.init, params, optimizer);
    log(`starting from ${setup.init.dir} (sha256 ${setup.init.sha256.slice(0, 12)})`);
  }

  const outputs: PretrainResult["outputs"] = { metrics: folder.metricsFile };
  let shippedCe: ValReport | null = null;
  const end = await runLoop<ValReport>({
    folder,
    startedAt,
    resumeKey: setup.resumeKey,
    totalSteps: config.steps,
    lrAt: (step) => lrAtStep(config.scheduler, step, schedule),
    maxGradNorm: config.maxGradNorm,
    evalEvery: config.evalEvery,
    checkpointEvery: config.checkpointEvery,
    evalAtStart: true,
    gradientCheckpointing,
    attentionBlock: config.attentionBlock,
    model,
    params,
    optimizer,
    dropoutRng: null,
    outputDirs: ["model"],
    emit,
    stopAfterSteps: opts.stopAfterSteps,
    signal: opts.signal,
    hooks: {
      batches: () => [windowBatch(data.train.tokens, seqLen, sampler.next(batchSize))],
      sourcePosition: () => sampler.state(),
      evaluate: () =>
        setup.valSample.length === 0
          ? null
          : validationCe(model, data.val, setup.valSample, seqLen, batchSize),
      overall: (report) => report,
      finish: async ({ steps, tokens, elapsedS }) => {
        outputs.model = path.join(config.out, "model");
        const shipped = await shipModel(
          outputs.model,
          model,
          setup,
          {
            kind: "pretrained",
            status: "completed",
            steps,
            tokensSeen: tokens,
            wallTimeS: elapsedS,
            trainLoss: trainLossSummary(folder.metricsFile),
          },
          opts.ship,
        );
        shippedCe = shipped.valCe;
        emit({ type: "shipped", dir: outputs.model });
      },
    },
  });
  const result: PretrainResult = {
    status: end.status,
    config,
    steps: end.steps,
    warmupSteps: setup.warmupSteps,
    parameters: setup.parameters,
    tokens: end.tokens,
    wallTimeS: end.wallTimeS,
    continuedFrom: setup.init,
    corpus: {
      manifestHash: data.manifestHash,
      tokensKey: data.key,
      trainTokens: data.train.tokens.length,
      valTokens: data.val.tokens.length,
    },
    trainWindows,
    memory: { ...memory, limit: ceiling.process, heapLimit: ceiling.heap },
    gradientCheckpointing,
    initial: end.initial,
    final: end.final,
    shipped: shippedCe,
    outputs,
    provenance: provenance(data.manifestHash, config.seed, setup.checkout),
  };
  writeRunResult(result);
  optimizer.dispose();
  model.dispose();
  return result;
}

/** The resume key of the run a result.json records (its settings, model shape, corpus, start). */
function savedResumeKey(done: PretrainResult, tok: Tokenizer, where: string): string {
  const saved = parsePretrainConfig(done.config, where);
  const model = resolveModelConfig(saved.model, tok, saved.tokenizer);
  return pretrainResumeKey(saved, model, done.corpus.tokensKey, done.continuedFrom?.sha256);
}
