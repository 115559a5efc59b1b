/**
 * Settings of a pretraining run, validated with zod, defaults filled in: sequences of 256 tokens,
 * batches of 8, AdamW (betas 0.9/0.95, weight decay 0.1 on matrices) at lr 3e-3 with warmup and a
 * cosine decay, gradients clipped to norm 1 (the Llama recipe at a small scale). The model is a
 * preset or a config.json whose vocabulary is the tokenizer's.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { canonicalJson } from "../util/canonical_json";
import { parseLlamaConfig, type LlamaConfig } from "../model/config";
import { PRESET_NAMES, presetConfig } from "../model/presets";
import { BOS, EOS, PAD } from "../tokenizer/special";
import type { Tokenizer } from "../tokenizer/tokenizer";
import { readJson } from "../util/fs";
import { runName } from "../util/root";
import { parseWithSchema } from "../util/schema";

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();

export const PretrainConfigSchema = z
  .object({
    /** A model preset name (see presets.ts), or a config.json (or the folder holding one). */
    model: z.string().min(1),
    /** tokenizer.json; the model's vocabulary is its vocabulary. */
    tokenizer: z.string().min(1),
    /** The corpus folder (MANIFEST.json and <lang>.<split>.jsonl.gz), or the folder above it. */
    corpus: z.string().min(1),
    /** Run folder: metrics.jsonl, checkpoints, result.json, model/. */
    out: z.string().min(1),
    /** Continue from this run folder's latest checkpoint instead of a random initialisation. */
    initFrom: z.string().min(1).optional(),
    /** Optimizer steps of the whole run (the schedule's length). */
    steps: positiveInt.default(5000),
    seqLen: positiveInt.default(256),
    batchSize: positiveInt.default(8),
    lr: z.number().positive().default(3e-3),
    scheduler: z.enum(["cosine", "linear"]).default("cosine"),
    /** Warmup steps; default 2% of the steps (rounded up). */
    warmupSteps: nonNegativeInt.optional(),
    /** AdamW decoupled weight decay of the matrices (norm weights are not decayed). */
    weightDecay: z.number().nonnegative().default(0.1),
    /** Clip the global gradient norm to this (0: no clipping). */
    maxGradNorm: z.number().nonnegative().default(1),
    /** Seed of the initial weights and of the window order. */
    seed: z.number().int().default(0),
    /** Validation CE every K steps (0: at the start and the end only). */
    evalEvery: nonNegativeInt.default(250),
    /** Validation windows in the fixed evaluation sample (spread evenly over the val stream). */
    evalWindows: positiveInt.default(64),
    /** Checkpoint every K steps (0: only when stopped and at the end). */
    checkpointEvery: nonNegativeInt.default(250),
    /** Refuse to start above this estimated peak memory (bytes); default 80% of physical memory. */
    memoryLimit: z.number().positive().optional(),
    /** Activation checkpointing per decoder layer; unset, on exactly when only it fits. */
    gradientCheckpointing: z.boolean().optional(),
    /** Attention this many queries at a time, recomputed in the backward pass (unset: at once). */
    attentionBlock: positiveInt.optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.warmupSteps !== undefined && c.warmupSteps > c.steps) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ["warmupSteps"],
        message: `${c.warmupSteps} warmup steps exceed the run's ${c.steps} steps`,
      });
    }
  });

/** A config as given (defaults not yet filled in). */
export type PretrainConfigInput = z.input<typeof PretrainConfigSchema>;
/** A validated config with every default filled in. */
export type PretrainConfig = z.output<typeof PretrainConfigSchema>;

/** AdamW's betas for pretraining (Llama: 0.9, 0.95). */
export const ADAMW_BETAS: [number, number] = [0.9, 0.95];

/** Validate a config; errors name each bad field. */
export function parsePretrainConfig(raw: unknown, source = "pretrain config"): PretrainConfig {
  return parseWithSchema(PretrainConfigSchema, raw, source, "pretrain config");
}

/** Warmup steps of a run: as given, else ceil(2% of the steps). */
export function warmupStepsOf(c: PretrainConfig): number {
  return c.warmupSteps ?? Math.ceil(0.02 * c.steps);
}

/**
 * The model's Llama config: the preset (vocab_size set to the tokenizer's) or the config.json
 * (whose vocab_size must equal the tokenizer's), with bos/eos/pad ids taken from the tokenizer.
 */
export function resolveModelConfig(
  model: string,
  tok: Tokenizer,
  tokenizerFile: string,
): LlamaConfig {
  const ids = {
    bos_token_id: tok.tokenToId(BOS) ?? null,
    eos_token_id: tok.tokenToId(EOS) ?? null,
    pad_token_id: tok.tokenToId(PAD) ?? null,
  };
  if (PRESET_NAMES.includes(model)) {
    return presetConfig(model, { vocab_size: tok.vocabSize, ...ids, torch_dtype: "float32" });
  }
  const file = model.endsWith(".json") ? model : path.join(model, "config.json");
  if (!fs.existsSync(file)) {
    throw new Error(
      `${model}: neither a model preset (${PRESET_NAMES.join(", ")}) nor a config.json`,
    );
  }
  const config = parseLlamaConfig(readJson(file), file);
  if (config.vocab_size !== tok.vocabSize) {
    throw new Error(
      `${file}: vocab_size ${config.vocab_size} does not match the tokenizer ${tokenizerFile} (${tok.vocabSize} ids)`,
    );
  }
  return { ...config, ...ids };
}

/**
 * The settings that must match for a checkpoint to be resumed: the numbers (not where files live
 * or how often checkpoints are written), the resolved model config, the data key (corpus content
 * and tokenizer) and, for a continued run, the identity of the checkpoint it started from.
 */
export function pretrainResumeKey(
  c: PretrainConfig,
  model: LlamaConfig,
  dataKey: string,
  initSha256?: string,
): string {
  const {
    out: _o,
    tokenizer: _t,
    corpus: _c,
    model: _m,
    initFrom: _i,
    memoryLimit: _l,
    gradientCheckpointing: _g,
    checkpointEvery: _k,
    ...rest
  } = c;
  // A run from random weights keeps the key it always had, so its checkpoints stay resumable.
  const init = initSha256 === undefined ? {} : { init: initSha256 };
  return canonicalJson({ ...rest, warmupSteps: warmupStepsOf(c), model, data: dataKey, ...init });
}

/** The `narrator pretrain` flag of each setting. */
export const PRETRAIN_FLAGS = {
  model: "preset",
  tokenizer: "tokenizer",
  corpus: "corpus",
  out: "out",
  initFrom: "init-from",
  steps: "steps",
  seqLen: "seq-len",
  batchSize: "batch-size",
  lr: "lr",
  scheduler: "scheduler",
  warmupSteps: "warmup-steps",
  weightDecay: "weight-decay",
  maxGradNorm: "max-grad-norm",
  seed: "seed",
  evalEvery: "eval-every",
  evalWindows: "eval-windows",
  checkpointEvery: "checkpoint-every",
  attentionBlock: "attention-block",
} as const satisfies Partial<Record<keyof PretrainConfig, string>>;

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command line that runs `c` from the repository root (every setting spelled out, defaults
 * included), plus `extra` flags; run folders by their runName, so that cards name no machine's.
 */
export function pretrainCommand(c: PretrainConfig, extra: string[] = []): string {
  const settings: Record<string, unknown> = {
    ...c,
    out: runName(c.out),
    initFrom: c.initFrom === undefined ? undefined : runName(c.initFrom),
    warmupSteps: warmupStepsOf(c),
  };
  const args = Object.entries(PRETRAIN_FLAGS)
    .filter(([field]) => settings[field] !== undefined)
    .flatMap(([field, flag]) => [`--${flag}`, shellQuote(String(settings[field]))]);
  return ["node bin/narrator.js pretrain", ...args, ...extra].join(" ");
}

/** Start or continue `c` in the background (nohup), logging to OUT/pretrain.log. */
export function backgroundCommand(c: PretrainConfig): string {
  const out = runName(c.out);
  const log = shellQuote(`${out}/pretrain.log`);
  return `mkdir -p ${shellQuote(out)} && nohup ${pretrainCommand(c, ["--resume"])} >> ${log} 2>&1 &`;
}
