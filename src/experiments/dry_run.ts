/**
 * What a sweep would cost before it runs (`narrator sweep --dry-run`): that the profile's models
 * are where it says, each planned trial's peak memory against this machine's ceiling (the same
 * estimates training and evaluation refuse by), and its time from step speeds measured here and
 * now on the model's own shape.
 *
 * Speeds are timed on random-weight models of the base's exact shape cut to one and to two
 * decoder layers (same width, heads, MLP and vocabulary, same quantization, LoRA rank and
 * sequence length): the difference is one layer's cost, the one-layer time less it the rest
 * (embeddings, head, loss, optimizer), and a model of L layers costs rest + L x layer. Trial time
 * counts every sequence at the full maximum length, an upper bound: padding to the longest
 * sequence of a batch makes real batches shorter.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend";
import { injectLora, loraParameters } from "../lora/model";
import { initTensors, modelFromTensors, trainableParameters } from "../model/checkpoint";
import { readLlamaConfig, type LlamaConfig } from "../model/config";
import { generate } from "../model/inference";
import type { Llama } from "../model/llama";
import {
  checkInferenceFits,
  estimateInferenceMemory,
  memoryCeiling,
  mib,
  tablesOffHeapByDefault,
  type MemoryCeiling,
} from "../model/memory";
import { CheckpointReader } from "../safetensors/checkpoint";
import { DTYPE_SIZE } from "../safetensors/safetensors";
import {
  checkTrainingFits,
  estimateTrainingMemory,
  MemoryRefusal,
  needsGradientCheckpointing,
  type MemoryEstimateInput,
} from "../train/memory";
import { createOptimizer } from "../train/optimizers";
import { formatDuration } from "../train/progress";
import { applyGrads, lossAndGradTensors, type TokenBatch } from "../train/step";
import { tasksOf } from "../train/task_data";
import { renderTable } from "../util/text_table";
import { Rng } from "../util/rng";
import { PROJECT_ROOT } from "./paths";
import type { Profile } from "./profile";
import type { PlannedTrial, SweepPhase } from "./sweep";
import type { TrainSettings, TrialSpec } from "./trials";

/**
 * Refuse a dry run whose profile names a model directory that holds no checkpoint, saying where
 * to put it and what it must hold (the Hugging Face layout).
 */
export function checkProfileModels(profile: Profile, root = PROJECT_ROOT): void {
  const missing: string[] = [];
  for (const [name, dir] of Object.entries(profile.models)) {
    const abs = path.resolve(root, dir);
    const has = (f: string) => fs.existsSync(path.join(abs, f));
    const lacks = [
      has("config.json") ? null : "config.json",
      has("model.safetensors") || has("model.safetensors.index.json")
        ? null
        : "model.safetensors (or its shards and model.safetensors.index.json)",
    ].filter((x): x is string => x !== null);
    if (lacks.length === 0) continue;
    missing.push(
      `${name}: put its Hugging Face checkpoint (config.json, model.safetensors or its shards, ` +
        `tokenizer.json) in ${dir} (${abs}); ` +
        (fs.existsSync(abs)
          ? `that directory has no ${lacks.join(" and no ")}`
          : "it does not exist"),
    );
  }
  if (missing.length > 0)
    throw new Error(
      `profile ${profile.name} needs ${missing.length === 1 ? "a model that is" : "models that are"} not here:\n  ${missing.join("\n  ")}`,
    );
}

/** Seconds per token of each kind of work, measured on one model shape and setting. */
export interface SpeedProbe {
  /** What was timed, in words. */
  what: string;
  /** A training step (forward, backward, update), per token of the batch. */
  trainS: number;
  /** A forward pass without gradients (evaluation's cross-entropy), per token. */
  forwardS: number;
  /** One greedily generated token with the KV cache. */
  generateS: number;
}

/** What a step's speed depends on (batch size and data do not: time is counted per token). */
interface SpeedSetting {
  quant: "nf4" | "none";
  doubleQuant: boolean;
  full: boolean;
  loraR: number;
  loraAlpha: number;
  targetModules: TrainSettings["targetModules"];
  seqLen: number;
  gradientCheckpointing: boolean;
  attentionBlock: number | undefined;
  /** Whether a training step is timed (untrained trials only evaluate). */
  trains: boolean;
}

/** Seconds of `fn`, the least of `times` runs after one warm-up run. */
function fastest(fn: () => void, times: number): number {
  fn();
  let best = Infinity;
  for (let i = 0; i < times; i++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return best;
}

/** Seconds of one training step, one forward pass and one generated token on a random model. */
function timeModel(config: LlamaConfig, s: SpeedSetting, ceiling: MemoryCeiling) {
  const model: Llama = modelFromTensors(
    config,
    initTensors(config, 0),
    {
      quant: s.full ? "none" : s.quant,
      doubleQuant: s.doubleQuant,
      trainable: s.full,
      tablesOffHeap: !s.full && tablesOffHeapByDefault(config, ceiling),
    },
    "a random model for timing",
  );
  const rng = new Rng(0);
  const ids = Array.from({ length: s.seqLen }, () => rng.int(config.vocab_size));
  try {
    const train = s.trains ? timeTrainingStep(model, s, ids) : 0;
    const forward = fastest(() => {
      // Nothing returned from tidy: it would walk a returned array element by element.
      tf.tidy(() => {
        model.forward(tf.tensor2d([ids], [1, s.seqLen], "int32")).logits.dataSync();
      });
    }, 2);
    const newTokens = 8;
    const generation = fastest(() => {
      generate(model, ids.slice(0, 8), { maxNewTokens: newTokens, stopTokens: [] });
    }, 1);
    return { train, forward, generation: generation / newTokens };
  } finally {
    model.dispose();
  }
}

/** Seconds of a training step on `ids` (batch 1), with LoRA adapters or every parameter trained. */
function timeTrainingStep(model: Llama, s: SpeedSetting, ids: number[]): number {
  const params = s.full
    ? trainableParameters(model)
    : loraParameters(
        injectLora(
          model,
          { r: s.loraR, lora_alpha: s.loraAlpha, lora_dropout: 0, target_modules: s.targetModules },
          0,
        ),
      );
  const optimizer = createOptimizer({ name: "adamw" }, params);
  const batch: TokenBatch = {
    ids: Int32Array.from(ids),
    labels: Int32Array.from(ids.map((_, i) => (i + 1 < ids.length ? ids[i + 1] : -100))),
    batch: 1,
    seqLen: ids.length,
  };
  try {
    return fastest(() => {
      const { loss, grads } = lossAndGradTensors(model, params, batch, s);
      applyGrads(optimizer, grads, 1e-4);
      loss.dataSync();
      loss.dispose();
    }, 2);
  } finally {
    optimizer.dispose();
  }
}

/**
 * Time a setting on `config`'s shape at one and two layers and extrapolate to its own depth
 * (see the module comment). Differences under timing noise are kept non-negative.
 */
export function probeSpeed(
  name: string,
  config: LlamaConfig,
  s: SpeedSetting,
  ceiling: MemoryCeiling,
): SpeedProbe {
  const one = timeModel({ ...config, num_hidden_layers: 1 }, s, ceiling);
  const two = timeModel({ ...config, num_hidden_layers: 2 }, s, ceiling);
  const L = config.num_hidden_layers;
  const at = (a: number, b: number) => {
    const layer = Math.max(b - a, 0);
    return a - layer + L * layer;
  };
  const base = s.quant === "nf4" ? "NF4 base" : "float32 base";
  const mode = !s.trains
    ? `${base}, untrained`
    : s.full
      ? "full-parameter"
      : `LoRA r ${s.loraR} on an ${base}`;
  const step = !s.trains
    ? ""
    : `${L}-layer step ${at(one.train, two.train).toFixed(2)} s (timed at 1 and 2 layers: ${one.train.toFixed(2)} s, ${two.train.toFixed(2)} s), `;
  return {
    what:
      `${name}, ${mode}, ${s.seqLen} tokens${s.gradientCheckpointing ? ", checkpointed" : ""}: ` +
      step +
      `forward ${at(one.forward, two.forward).toFixed(2)} s, generation ${(1 / at(one.generation, two.generation)).toFixed(1)} tokens/s`,
    trainS: at(one.train, two.train) / s.seqLen,
    forwardS: at(one.forward, two.forward) / s.seqLen,
    generateS: at(one.generation, two.generation),
  };
}

/** How much work a trial does, in tokens (every sequence at its full length). */
export interface TrialWork {
  trainSteps: number;
  trainTokens: number;
  /** Tokens of evaluation forward passes: the trainer's validations and the trial's own pass. */
  forwardTokens: number;
  generatedTokens: number;
}

/**
 * The work of a trial: training steps over `trainSize` examples per language (the cocktail mixes
 * to the same total), a validation at the start (unless off), every `evalEvery` steps before the
 * last and at the end, then the trial's evaluation pass and its generations.
 */
export function trialWork(spec: TrialSpec): TrialWork {
  const ev = spec.evaluate;
  const evalExamples = ev.size * ev.languages.length * ev.tasks.length;
  let forwardTokens = evalExamples * ev.maxLen;
  const generatedTokens = ev.generate ? evalExamples * (ev.maxNewTokens ?? 0) : 0;
  const t = spec.train;
  if (t === null) return { trainSteps: 0, trainTokens: 0, forwardTokens, generatedTokens };
  const examples = t.trainSize * t.languages.length;
  const steps = t.epochs * Math.ceil(Math.ceil(examples / t.batchSize) / t.gradAccum);
  // The loop validates every evalEvery steps before the last, then once at the end.
  const during = t.evalEvery > 0 ? Math.floor((steps - 1) / t.evalEvery) : 0;
  const validations = (t.evalAtStart ? 1 : 0) + during + 1;
  forwardTokens += validations * t.valSize * t.languages.length * tasksOf(t.task).length * t.maxLen;
  return {
    trainSteps: steps,
    trainTokens: t.epochs * examples * t.maxLen,
    forwardTokens,
    generatedTokens,
  };
}

/** Seconds of a trial's work at a probe's speeds. */
export function trialSeconds(work: TrialWork, speed: SpeedProbe): number {
  return (
    work.trainTokens * speed.trainS +
    work.forwardTokens * speed.forwardS +
    work.generatedTokens * speed.generateS
  );
}

/** A trial's estimated peak: training's (null for an untrained trial) and evaluation's. */
export interface TrialMemory {
  train: { heap: number; total: number; gradientCheckpointing: boolean } | null;
  evaluate: { heap: number; total: number };
  fits: boolean;
  /** Why training (else evaluation) would be refused, with what would fit, in the loop's words. */
  refusal: string | null;
}

/** Bytes per element of the stored embedding table (headers only are read). */
function tableBytes(modelDir: string): number {
  const reader = CheckpointReader.open(modelDir);
  try {
    const spec = reader.spec("model.embed_tokens.weight");
    return spec ? DTYPE_SIZE[spec.dtype] : 4;
  } finally {
    reader.close();
  }
}

/** The training input of the memory estimate, as the trainer makes it (at the full length). */
function trainingInput(
  config: LlamaConfig,
  t: TrainSettings,
  ceiling: MemoryCeiling,
): MemoryEstimateInput {
  return {
    ...t,
    seqLen: t.maxLen,
    tablesOffHeap: !t.full && tablesOffHeapByDefault(config, ceiling),
  };
}

/** A trial's memory against the ceiling; checkpointing as the training loop would decide it. */
export function trialMemory(
  config: LlamaConfig,
  spec: TrialSpec,
  ceiling: MemoryCeiling,
  storedTableBytes: number,
): TrialMemory {
  const ev = spec.evaluate;
  const inference = estimateInferenceMemory(config, {
    quant: ev.quant,
    doubleQuant: spec.train?.doubleQuant ?? false,
    tablesOffHeap: tablesOffHeapByDefault(config, ceiling),
    tableBytes: storedTableBytes,
    batchSize: ev.batchSize,
    seqLen: ev.maxLen + (ev.generate ? (ev.maxNewTokens ?? 0) : 0),
  });
  const evaluate = { heap: inference.heap, total: inference.total };
  let evalRefusal: string | null = null;
  try {
    checkInferenceFits(inference, ceiling, "evaluation", "lower the evaluation batch size");
  } catch (err) {
    evalRefusal = (err as Error).message;
  }
  if (spec.train === null)
    return { train: null, evaluate, fits: evalRefusal === null, refusal: evalRefusal };
  const input = trainingInput(config, spec.train, ceiling);
  const gradientCheckpointing =
    spec.train.gradientCheckpointing ?? needsGradientCheckpointing(config, input, ceiling);
  const e = estimateTrainingMemory(config, { ...input, gradientCheckpointing });
  let refusal: string | null = null;
  try {
    checkTrainingFits(config, { ...input, gradientCheckpointing }, ceiling);
  } catch (err) {
    if (!(err instanceof MemoryRefusal)) throw err;
    refusal = err.message;
  }
  return {
    train: { heap: e.heap, total: e.total, gradientCheckpointing },
    evaluate,
    fits: evalRefusal === null && refusal === null,
    refusal: refusal ?? evalRefusal,
  };
}

/** One planned trial with its estimates. */
export interface TrialEstimate {
  trial: PlannedTrial;
  memory: TrialMemory;
  work: TrialWork;
  seconds: number;
}

/** The dry run's estimates: per trial, the ceiling, and the probes the times come from. */
export interface DryRunEstimate {
  ceiling: MemoryCeiling;
  backend: string;
  trials: TrialEstimate[];
  probes: SpeedProbe[];
  /** Experiments of phases that cannot be planned yet (transfer experiments before their sweeps). */
  waiting: string[];
}

/** The speed setting of a trial (its training's, or its evaluation's for an untrained trial). */
function speedSetting(spec: TrialSpec, gradientCheckpointing: boolean): SpeedSetting {
  const t = spec.train;
  return {
    quant: spec.evaluate.quant,
    doubleQuant: t?.doubleQuant ?? false,
    full: t?.full ?? false,
    loraR: t?.loraR ?? 8,
    loraAlpha: t?.loraAlpha ?? 16,
    targetModules: t?.targetModules ?? ["q_proj", "v_proj"],
    seqLen: t?.maxLen ?? spec.evaluate.maxLen,
    gradientCheckpointing,
    attentionBlock: t?.attentionBlock,
    trains: t !== null,
  };
}

/**
 * Estimate every planned trial: memory against the ceiling, and time from speeds measured on
 * each distinct model shape and setting (one probe each, shared by the trials that use it).
 */
export async function estimateDryRun(
  phases: readonly SweepPhase[],
  root = PROJECT_ROOT,
): Promise<DryRunEstimate> {
  const backend = await initBackend();
  const ceiling = memoryCeiling();
  const configs = new Map<string, { config: LlamaConfig; tableBytes: number }>();
  const probes = new Map<string, SpeedProbe>();
  const trials: TrialEstimate[] = [];
  for (const trial of phases.flatMap((p) => p.trials)) {
    const spec = trial.record.spec;
    const dir = path.resolve(root, spec.modelDir);
    if (!configs.has(dir))
      configs.set(dir, { config: readLlamaConfig(dir), tableBytes: tableBytes(dir) });
    const { config, tableBytes: bytes } = configs.get(dir)!;
    const memory = trialMemory(config, spec, ceiling, bytes);
    const setting = speedSetting(spec, memory.train?.gradientCheckpointing ?? false);
    const probeKey = JSON.stringify([dir, setting]);
    if (!probes.has(probeKey))
      probes.set(probeKey, probeSpeed(spec.model, config, setting, ceiling));
    const work = trialWork(spec);
    trials.push({ trial, memory, work, seconds: trialSeconds(work, probes.get(probeKey)!) });
  }
  const waiting = phases.filter((p) => p.blocked !== null).flatMap((p) => p.experiments);
  return { ceiling, backend: backend.label, trials, probes: [...probes.values()], waiting };
}

/** The estimates as a table, with the ceiling, the probes and the totals. */
export function formatDryRun(
  e: DryRunEstimate,
  workers: number,
  status: (key: string) => string,
): string {
  const rows = e.trials.map(({ trial, memory, work, seconds }) => [
    trial.record.key.slice(0, 12),
    status(trial.record.key),
    trial.record.spec.trainedOn,
    trial.record.spec.model,
    String(trial.record.spec.seed),
    memory.train
      ? `${mib(memory.train.heap)}${memory.train.gradientCheckpointing ? " ckpt" : ""}`
      : "-",
    mib(memory.evaluate.heap),
    memory.fits ? "fits" : "DOES NOT FIT",
    String(work.trainSteps),
    formatDuration(seconds),
    trial.uses.map((u) => `${u.experiment}: ${u.label}`).join("; "),
  ]);
  const total = e.trials
    .filter((t) => status(t.trial.record.key) !== "completed")
    .reduce((s, t) => s + t.seconds, 0);
  const refused = e.trials.filter((t) => !t.memory.fits).length;
  const refusals = new Map<string, string[]>();
  for (const t of e.trials) {
    const why = t.memory.refusal;
    if (why !== null)
      refusals.set(why, [...(refusals.get(why) ?? []), t.trial.record.key.slice(0, 12)]);
  }
  return [
    renderTable(
      [
        "key",
        "status",
        "trainedOn",
        "model",
        "seed",
        "train heap",
        "eval heap",
        "memory",
        "steps",
        "time",
        "used by",
      ],
      rows,
    ),
    `memory: estimated peak on the ${e.ceiling.heapName} per trial (training with activation checkpointing where marked ckpt, as the training loop decides; evaluation); the ${e.ceiling.heapName} holds at most ${mib(e.ceiling.heap)}, the process may use ${mib(e.ceiling.process)} in all` +
      (refused > 0 ? `; ${refused} trial(s) would be refused` : ""),
    ...[...refusals].map(([why, keys]) => `  ${keys.join(", ")}: ${why}`),
    `time: from step speeds measured now on this machine (${e.backend}), every sequence at full length (an upper bound):`,
    ...e.probes.map((p) => `  ${p.what}`),
    `${e.trials.length} trial(s), ${formatDuration(total)} of trial time left (completed trials not counted); about ${formatDuration(total / workers)} with ${workers} worker(s)` +
      (e.waiting.length > 0
        ? `; not counted: ${e.waiting.join(", ")}, whose trials are planned once the sweeps they wait for have finished`
        : ""),
  ].join("\n");
}
