/**
 * The training run's configuration: every setting that changes the numbers, validated with zod,
 * defaults filled in (the study's chosen hyperparameters where it names them: Adagrad, constant
 * schedule with warmup, 1 epoch, batch 4, lr 2e-4; QLoRA's for the rest). The resolved config is
 * written into result.json and checked on resume.
 */
import { z } from "zod";
import { parseWithSchema } from "../util/schema";
import { PROMPT_FORMATS } from "../data/prompts";
import { LANGS } from "../data/langs";
import { LINEAR_MODULES } from "../model/config";
import { canonicalJson } from "../util/canonical_json";
import { COMMIT_INPUTS } from "../data/commitpackft";

/** What to train on: one task, or the cocktail of both. */
export const TRAIN_TASKS = ["codesearchnet", "commitpackft", "cocktail"] as const;
export type TrainTask = (typeof TRAIN_TASKS)[number];

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();

export const TrainConfigSchema = z
  .object({
    /** Base model directory (config.json, model.safetensors, tokenizer.json). */
    model: z.string().min(1),
    /** Data directory; resolved as --data, else NARRATOR_DATA, else data/. */
    data: z.string().optional(),
    /**
     * A second data directory (codesearchnet/ and or commitpackft/ in the published formats, e.g.
     * written by `corpus pairs`) whose train rows are all added to the training set.
     */
    extraTrain: z.string().min(1).optional(),
    /** At most this many extra train rows per task and language, drawn with the data seed (default all). */
    extraTrainSize: positiveInt.optional(),
    /** Output directory: metrics.jsonl, result.json, adapter/ or model/, checkpoint/. */
    out: z.string().min(1),
    task: z.enum(TRAIN_TASKS),
    /** Cocktail: share of CodeSearchNet examples (0.5 = 50/50). */
    mix: z.number().min(0).max(1).default(0.5),
    /**
     * Cocktail: train examples in all (default: the smaller task's train set, the study's
     * definition, which leaves part of the larger one unused).
     */
    cocktailSize: positiveInt.optional(),
    languages: z
      .array(z.enum(LANGS))
      .min(1)
      .default([...LANGS]),
    /** Examples per language (the study's compact subsets: 2,100 train, 300 validation). */
    trainSize: positiveInt.default(2100),
    valSize: nonNegativeInt.default(300),
    /** Seed of the data splits and subsets (the data layer's default). */
    dataSeed: z.number().int().default(42),
    /** CommitPackFT model input. */
    commitInput: z.enum(COMMIT_INPUTS).default("diff"),
    /** Skip malformed data rows (counted and reported) instead of stopping. */
    lenient: z.boolean().default(false),
    prompt: z.enum(PROMPT_FORMATS).default("deepseek"),
    maxLen: positiveInt.default(512),

    optimizer: z.enum(["adamw", "adagrad", "sgd"]).default("adagrad"),
    weightDecay: z.number().nonnegative().optional(),
    scheduler: z
      .enum(["linear", "cosine", "constant_with_warmup", "polynomial", "constant"])
      .default("constant_with_warmup"),
    warmupSteps: nonNegativeInt.optional(),
    warmupRatio: z.number().min(0).max(1).optional(),
    epochs: positiveInt.default(1),
    batchSize: positiveInt.default(4),
    gradAccum: positiveInt.default(1),
    lr: z.number().positive().default(2e-4),
    /** Clip the global gradient norm to this (0: no clipping). QLoRA: 0.3. */
    maxGradNorm: z.number().nonnegative().default(0.3),
    loss: z.enum(["token-mean", "mftcoder"]).default("token-mean"),
    /** MFTCoder task weights (default 1 each). */
    taskWeights: z
      .object({ codesearchnet: z.number().positive(), commitpackft: z.number().positive() })
      .partial()
      .default({}),

    /** Train every weight (pretraining a base) instead of a LoRA adapter. */
    full: z.boolean().default(false),
    /** Frozen base format; default nf4, or none with `full`. */
    quant: z.enum(["nf4", "none"]).optional(),
    doubleQuant: z.boolean().default(false),
    /**
     * Start the adapter from this PEFT adapter directory instead of PEFT's initialisation
     * (training it further: a second stage, or the shipped adapter on your own data).
     */
    initAdapter: z.string().min(1).optional(),
    loraR: positiveInt.default(64),
    loraAlpha: z.number().positive().default(16),
    loraDropout: z.number().min(0).lt(1).default(0.05),
    targetModules: z
      .array(z.enum(LINEAR_MODULES))
      .min(1)
      .default([...LINEAR_MODULES]),

    /** Seed of data order, dropout and adapter initialisation. */
    seed: z.number().int().default(0),
    /** Evaluate every K optimizer steps (0: only at the start and the end). */
    evalEvery: nonNegativeInt.default(0),
    evalBatchSize: positiveInt.default(8),
    /** Evaluate the untrained model before the first step. */
    evalAtStart: z.boolean().default(true),
    /** Write a checkpoint every K optimizer steps (0: none but the final one). */
    checkpointEvery: nonNegativeInt.default(0),
    /** Batches per length bucket when ordering the data. */
    bucketBatches: positiveInt.default(8),
    /** Refuse to start above this estimated peak memory (bytes); default 80% of physical memory. */
    memoryLimit: z.number().positive().optional(),
    /**
     * Activation checkpointing per decoder layer (recompute each layer in the backward pass):
     * on or off; unset, on exactly when the run would not fit in memory without it.
     */
    gradientCheckpointing: z.boolean().optional(),
    /**
     * Attention computed this many queries at a time and recomputed in the backward pass, so no
     * layer holds every head's T x T scores (unset: all queries at once). Same numbers to float
     * rounding, so it is part of the resume key.
     */
    attentionBlock: positiveInt.optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.warmupSteps !== undefined && c.warmupRatio !== undefined) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ["warmupSteps"],
        message: "give warmupSteps or warmupRatio, not both",
      });
    }
    if (c.full && c.quant === "nf4") {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ["quant"],
        message: "full-parameter training needs float weights (quant none)",
      });
    }
    if (c.cocktailSize !== undefined && c.task !== "cocktail") {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ["cocktailSize"],
        message: `the cocktail's size is for task cocktail, not ${c.task}`,
      });
    }
    if (c.full && c.initAdapter !== undefined) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ["initAdapter"],
        message: "an adapter to start from is for adapter training, not full-parameter training",
      });
    }
  })
  .transform((c) => ({ ...c, quant: c.quant ?? (c.full ? ("none" as const) : ("nf4" as const)) }));

/** A config as given (defaults not yet filled in). */
export type TrainConfigInput = z.input<typeof TrainConfigSchema>;
/** A validated config with every default filled in. */
export type TrainConfig = z.output<typeof TrainConfigSchema>;

/** Validate a config; errors name each bad field. */
export function parseTrainConfig(raw: unknown, source = "train config"): TrainConfig {
  return parseWithSchema(TrainConfigSchema, raw, source, "train config");
}

/**
 * The settings that must match for a checkpoint to be resumed (where output goes does not), and
 * the sha256 of the starting adapter's weights (a path alone would not see it replaced).
 */
export function resumeKey(c: TrainConfig, initAdapterSha256?: string): string {
  const rest: Partial<TrainConfig> & { initAdapterSha256?: string } = { ...c };
  if (initAdapterSha256 !== undefined) rest.initAdapterSha256 = initAdapterSha256;
  delete rest.out;
  delete rest.data;
  delete rest.memoryLimit;
  // How memory is spent, not what is computed: checkpointed gradients are the plain ones.
  delete rest.gradientCheckpointing;
  return canonicalJson(rest);
}
