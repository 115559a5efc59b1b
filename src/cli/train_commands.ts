/** `narrator train | eval`: fine-tune a model on the narration tasks, and measure one. */
import { PROMPT_FORMATS } from "../data/prompts";
import { narrationSettings, trainingDefaults } from "../narrate/settings";
import { COMMIT_INPUTS } from "../data/commitpackft";
import {
  parseTrainConfig,
  TRAIN_TASKS,
  TrainConfigSchema,
  type TrainConfig,
  type TrainTask,
} from "../train/config";
import { evaluateModel, fixed, formatEvaluation } from "../train/evaluate";
import { progressPrinter } from "../train/progress";
import { train as runTraining, type TrainEvent } from "../train/trainer";
import {
  languagesOpt,
  numberOpt,
  required,
  schemaNumberRanges,
  targetModulesOpt,
  UsageError,
  type Command,
  type Options,
  type Values,
  memoryLimitOpt,
} from "./args";
import { DECODING_HELP, DECODING_OPTIONS, decodingOptions } from "./decoding_options";
import { stopOnSignal } from "./stop_signal";

/** Flags of `train` that carry a number, and the config field each sets. */
const NUMBER_FLAGS: Record<string, keyof TrainConfig> = {
  mix: "mix",
  "cocktail-size": "cocktailSize",
  "train-size": "trainSize",
  "extra-train-size": "extraTrainSize",
  "val-size": "valSize",
  "data-seed": "dataSeed",
  "max-len": "maxLen",
  "weight-decay": "weightDecay",
  "warmup-steps": "warmupSteps",
  "warmup-ratio": "warmupRatio",
  epochs: "epochs",
  "batch-size": "batchSize",
  "grad-accum": "gradAccum",
  lr: "lr",
  "max-grad-norm": "maxGradNorm",
  "lora-r": "loraR",
  "lora-alpha": "loraAlpha",
  "lora-dropout": "loraDropout",
  seed: "seed",
  "eval-every": "evalEvery",
  "eval-batch-size": "evalBatchSize",
  "checkpoint-every": "checkpointEvery",
  "attention-block": "attentionBlock",
};

/** Flags of `train` that carry a word, and the config field each sets. */
const STRING_FLAGS: Record<string, keyof TrainConfig> = {
  model: "model",
  data: "data",
  "extra-train": "extraTrain",
  "init-adapter": "initAdapter",
  out: "out",
  task: "task",
  optimizer: "optimizer",
  scheduler: "scheduler",
  quant: "quant",
  loss: "loss",
  prompt: "prompt",
  "commit-input": "commitInput",
};

/** Boolean flags of `train` and the config field each sets. */
const BOOLEAN_FLAGS: Record<string, keyof TrainConfig> = {
  full: "full",
  lenient: "lenient",
  "double-quant": "doubleQuant",
  "gradient-checkpointing": "gradientCheckpointing",
};

/** Each number field's bounds, from the config schema (whole numbers among them). */
const NUMBER_RANGES = schemaNumberRanges(TrainConfigSchema);

const FLAG_OF_FIELD = new Map<string, string>(
  Object.entries({ ...NUMBER_FLAGS, ...STRING_FLAGS, ...BOOLEAN_FLAGS }).map(([f, k]) => [k, f]),
);

/** The train config that the flags of `narrator train` describe; errors name the flag. */
export function trainConfigFromFlags(v: Values): TrainConfig {
  const raw: Record<string, unknown> = {};
  for (const [flag, field] of Object.entries(STRING_FLAGS))
    if (v[flag] !== undefined) raw[field] = v[flag];
  for (const [flag, field] of Object.entries(NUMBER_FLAGS)) {
    if (v[flag] !== undefined) raw[field] = numberOpt(v, flag, NaN, NUMBER_RANGES[field]);
  }
  for (const [flag, field] of Object.entries(BOOLEAN_FLAGS))
    if (v[flag] === true) raw[field] = true;
  if (v.languages !== undefined) raw.languages = languagesOpt(v);
  if (v["target-modules"] !== undefined) raw.targetModules = targetModulesOpt(v);
  if (v["memory-limit"] !== undefined) raw.memoryLimit = memoryLimitOpt(v);
  if (v["no-eval-at-start"] === true) raw.evalAtStart = false;
  try {
    return parseTrainConfig(raw, "narrator train");
  } catch (e) {
    // Name flags, not config fields.
    const msg = (e as Error).message.replace(/\b([a-zA-Z]+)(?=(\.\d+)?: )/g, (field) =>
      FLAG_OF_FIELD.has(field) ? `--${FLAG_OF_FIELD.get(field)}` : field,
    );
    throw new UsageError(msg);
  }
}

const trainOptions: Options = {
  ...Object.fromEntries(
    [...Object.keys(NUMBER_FLAGS), ...Object.keys(STRING_FLAGS)].map((f) => [
      f,
      { type: "string" },
    ]),
  ),
  ...Object.fromEntries(Object.keys(BOOLEAN_FLAGS).map((f) => [f, { type: "boolean" }])),
  languages: { type: "string" },
  "target-modules": { type: "string" },
  "memory-limit": { type: "string" },
  "no-eval-at-start": { type: "boolean" },
  resume: { type: "boolean" },
  json: { type: "boolean" },
};

/** The trainer's evaluations as progress lines. */
function describeEvent(e: TrainEvent): string | null {
  if (e.type !== "eval") return null;
  const parts = Object.entries(e.byTask).map(([t, s]) => `${t} CE ${fixed(s.ce, 4)}`);
  return `eval at step ${e.step}: ${parts.join(", ")} (all CE ${fixed(e.overall.ce, 4)}, PPL ${fixed(e.overall.ppl, 3)})`;
}

export const train: Command = {
  summary: "fine-tune a model (QLoRA adapter, or every weight with --full) on a narration task",
  usage: `usage: narrator train --model DIR --data DIR --task codesearchnet|commitpackft|cocktail --out DIR
       [--extra-train DIR [--extra-train-size N]] [--mix 0.5 [--cocktail-size N]] [--languages python,go,...] [--train-size N] [--val-size N]
       [--optimizer adamw|adagrad|sgd] [--scheduler linear|cosine|constant_with_warmup|polynomial|constant]
       [--warmup-steps N | --warmup-ratio R] [--epochs N] [--batch-size N] [--grad-accum N] [--lr X]
       [--lora-r N] [--lora-alpha N] [--lora-dropout P] [--target-modules q_proj,v_proj,...] [--init-adapter DIR]
       [--quant nf4|none] [--double-quant] [--full] [--seed N] [--eval-every N] [--checkpoint-every N]
       [--max-len N] [--loss token-mean|mftcoder] [--max-grad-norm X] [--weight-decay X]
       [--prompt deepseek|compact] [--commit-input ${COMMIT_INPUTS.join("|")}] [--data-seed N] [--lenient]
       [--eval-batch-size N] [--no-eval-at-start] [--memory-limit GIB] [--gradient-checkpointing] [--attention-block N]
       [--resume] [--json]

Defaults: the study's choices (adagrad, constant_with_warmup with warmup ratio 0.03, 1 epoch,
batch 4, lr 2e-4) and QLoRA's (nf4, r 64, alpha 16, dropout 0.05, all linear layers,
max grad norm 0.3); 2,100 train / 300 validation examples per language; max length 512.
--gradient-checkpointing recomputes each decoder layer in the backward pass instead of keeping
its activations (the same gradients, for a second forward pass of each layer); it turns on by
itself when the run would not fit in memory otherwise. With native kernels (backend wasm+native)
attention runs fused by default: no head's T x T scores are kept, only each query's output and
logsumexp, and the backward pass recomputes the rest. --attention-block N computes attention N
queries at a time instead, again in the backward pass, so no layer keeps every head's T x T
scores; it is for plain wasm, where attention otherwise keeps them all.
Data: --data, else NARRATOR_DATA, else data/ or ../shared/data. --extra-train DIR adds every train row of
DIR's codesearchnet/ and commitpackft/ (e.g. written by corpus pairs) to the training set, after the cocktail's mix
(--extra-train-size N: at most N per task and language, drawn with the data seed).
--cocktail-size N: the cocktail's train examples in all, round(mix x N) of them from CodeSearchNet
(default: the smaller task's train set, the study's definition).
--init-adapter DIR starts from a PEFT adapter (e.g. models/narrator-8m-cocktail/adapter, to train it
further on your own data) instead of a fresh one; its r, alpha, dropout and target modules must be the run's.
Tokenizer: the model directory's tokenizer.json.
Writes OUT/metrics.jsonl (a line per step and per evaluation), OUT/result.json, OUT/adapter
(PEFT) or OUT/model (--full), and checkpoints (--checkpoint-every; --resume continues the last).
SIGINT/SIGTERM (Ctrl-C) stop at the next step with a checkpoint that --resume continues.
Progress goes to stderr; the final CE/PPL table (or --json: result.json) to stdout.`,
  options: trainOptions,
  async run(v) {
    required(v, "model", train.usage);
    required(v, "task", train.usage);
    required(v, "out", train.usage);
    const config = trainConfigFromFlags(v);
    const result = await runTraining(config, {
      resume: v.resume === true,
      onEvent: progressPrinter(describeEvent),
      signal: stopOnSignal(),
    });
    if (v.json) {
      process.stdout.write(JSON.stringify(result, null, 2) + "\n");
    } else {
      const lines = [
        `status: ${result.status} after ${result.steps}/${result.totalSteps} steps (${result.wallTimeS.toFixed(1)} s)`,
      ];
      if (result.initial) lines.push("before training:", formatEvaluation(result.initial));
      if (result.final) lines.push("after training:", formatEvaluation(result.final));
      lines.push(`output: ${config.out}`);
      process.stdout.write(lines.join("\n") + "\n");
    }
    if (result.status === "diverged") process.exitCode = 1;
  },
};

function oneOf<T extends string>(v: unknown, name: string, allowed: readonly T[], fallback: T): T {
  if (v === undefined) return fallback;
  if (allowed.includes(v as T)) return v as T;
  throw new UsageError(`--${name} expects ${allowed.join("|")}, got '${String(v)}'`);
}

export const evalCmd: Command = {
  summary: "cross-entropy/perplexity (and BLEU-4/ROUGE-L with --generate) per task and language",
  usage: `usage: narrator eval --model DIR [--adapter DIR] [--data DIR] --task codesearchnet|commitpackft|cocktail
       --split val|test [--generate] [--json] [--languages python,go,...] [--size N]
       [--quant none|nf4] [--prompt deepseek|compact] [--max-len N] [--batch-size N]
       [--max-new-tokens N] [--data-seed N] [--commit-input ${COMMIT_INPUTS.join("|")}] [--lenient]
       [--beams N [--length-penalty X]] [--min-new-tokens N] [--no-repeat-ngram N]

CE is the mean NLL per target token (nats), PPL = exp(CE), per task and language.
--generate decodes each target (greedily by default) and scores it with the CodeXGLUE smoothed
BLEU-4 and pycocoevalcap ROUGE-L (variants and decoding named in the output). --size: examples
per language (default: the study's 300 validation / 600 test).
With an adapter written by \`narrator train\` (OUT/adapter beside OUT/result.json), the prompt
format, commit input, quantization and max length are the run's; a flag that disagrees is used
as given, with a warning naming both values. Otherwise the flags, else the training defaults
(prompt ${trainingDefaults().prompt}, commit input ${trainingDefaults().commitInput}, quant none for a bare model and ${trainingDefaults().quant} with an adapter,
max length ${trainingDefaults().maxLen}).
${DECODING_HELP}
  --no-repeat-ngram N       never generate an N-token sequence twice (default 0: off; per beam)`,
  options: {
    model: { type: "string" },
    adapter: { type: "string" },
    data: { type: "string" },
    task: { type: "string" },
    split: { type: "string" },
    generate: { type: "boolean" },
    json: { type: "boolean" },
    languages: { type: "string" },
    size: { type: "string" },
    quant: { type: "string" },
    prompt: { type: "string" },
    "max-len": { type: "string" },
    "batch-size": { type: "string" },
    "max-new-tokens": { type: "string" },
    "data-seed": { type: "string" },
    "commit-input": { type: "string" },
    lenient: { type: "boolean" },
    "no-repeat-ngram": { type: "string" },
    ...DECODING_OPTIONS,
  },
  async run(v) {
    const model = required(v, "model", evalCmd.usage);
    const int = { integer: true, min: 1 };
    const given = <T extends string>(name: string, allowed: readonly T[]) =>
      v[name] === undefined ? undefined : oneOf(v[name], name, allowed, allowed[0]);
    const settings = narrationSettings(
      v.adapter as string | undefined,
      {
        prompt: given("prompt", PROMPT_FORMATS),
        commitInput: given("commit-input", COMMIT_INPUTS),
        quant: given("quant", ["none", "nf4"] as const),
        maxLen: numberOpt(v, "max-len", undefined, int),
      },
      { kind: "warn", warn: (m) => process.stderr.write(`narrator eval: warning: ${m}\n`) },
    );
    const maxLen = settings.maxLen ?? trainingDefaults().maxLen;
    const noRepeatNgramSize = numberOpt(v, "no-repeat-ngram", 0, { integer: true, min: 0 });
    const task = oneOf<TrainTask>(
      required(v, "task", evalCmd.usage),
      "task",
      TRAIN_TASKS,
      "cocktail",
    );
    const split = oneOf(
      required(v, "split", evalCmd.usage),
      "split",
      ["val", "test"] as const,
      "val",
    );
    const result = await evaluateModel({
      model,
      adapter: v.adapter as string | undefined,
      quant: settings.quant,
      data: v.data as string | undefined,
      task,
      split,
      languages: languagesOpt(v),
      size: numberOpt(v, "size", split === "val" ? 300 : 600, int),
      dataSeed: numberOpt(v, "data-seed", 42, { integer: true }),
      mix: 0.5,
      commitInput: settings.commitInput,
      lenient: v.lenient === true,
      prompt: settings.prompt,
      maxLen,
      batchSize: numberOpt(v, "batch-size", 8, int),
      generate: v.generate === true,
      maxNewTokens: numberOpt(v, "max-new-tokens", 64, int),
      decoding: { noRepeatNgramSize, ...decodingOptions(v) },
    });
    const used = {
      prompt: settings.prompt,
      commitInput: settings.commitInput,
      quant: settings.quant,
      maxLen,
      source: settings.source,
    };
    if (v.json) process.stdout.write(JSON.stringify({ ...result, settings: used }, null, 2) + "\n");
    else {
      const head = `${result.model}${result.adapter ? ` + ${result.adapter}` : ""} on ${split} (${result.examples} examples, backend ${result.backend})`;
      const how = `prompt ${used.prompt}, commit input ${used.commitInput}, quant ${used.quant}, max length ${maxLen} (from ${used.source})`;
      process.stdout.write(`${head}\n${how}\n${formatEvaluation(result.ce, result.generation)}\n`);
    }
  },
};
