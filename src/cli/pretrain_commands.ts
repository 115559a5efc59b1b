/** `narrator pretrain`: pretrain a small model on the code corpus, ship it, or write its random floor. */
import * as fs from "node:fs";
import { TASK_NAMES, TASKS } from "../data/example";
import {
  parsePretrainConfig,
  PRETRAIN_FLAGS,
  PretrainConfigSchema,
  type PretrainConfig,
} from "../pretrain/config";
import { pretrain as runPretraining, type PretrainEvent } from "../pretrain/pretrain";
import { shipCheckpoint, writeRandomFloor, type ShipOptions, type Shipped } from "../pretrain/ship";
import type { ValReport } from "../pretrain/validate";
import { progressPrinter } from "../train/progress";
import {
  languagesOpt,
  numberOpt,
  required,
  schemaNumberRanges,
  UsageError,
  type Command,
  type Options,
  type Values,
  memoryLimitOpt,
} from "./args";
import { stopOnSignal } from "./stop_signal";

/** Settings given as words; every other flag of PRETRAIN_FLAGS carries a number. */
const WORD_FIELDS = new Set(["model", "tokenizer", "corpus", "out", "initFrom", "scheduler"]);
const FLAG_OF_FIELD = new Map<string, string>(Object.entries(PRETRAIN_FLAGS));
/** Each number flag is held to the schema's own bounds (whole numbers refuse 1e3 and 2.0). */
const NUMBER_RANGES = schemaNumberRanges(PretrainConfigSchema);

/** The pretrain config that the flags of `narrator pretrain` describe; errors name the flag. */
export function pretrainConfigFromFlags(v: Values): PretrainConfig {
  const raw: Record<string, unknown> = {};
  for (const [field, flag] of Object.entries(PRETRAIN_FLAGS)) {
    if (v[flag] === undefined) continue;
    raw[field] = WORD_FIELDS.has(field) ? v[flag] : numberOpt(v, flag, NaN, NUMBER_RANGES[field]);
  }
  if (v["memory-limit"] !== undefined) raw.memoryLimit = memoryLimitOpt(v);
  if (v["gradient-checkpointing"] === true) raw.gradientCheckpointing = true;
  try {
    return parsePretrainConfig(raw, "narrator pretrain");
  } catch (e) {
    // Name flags, not config fields.
    const msg = (e as Error).message.replace(/\b([a-zA-Z]+)(?=: )/g, (field) =>
      FLAG_OF_FIELD.has(field) ? `--${FLAG_OF_FIELD.get(field)}` : field,
    );
    throw new UsageError(msg);
  }
}

/** The zero-shot data of the model card: --data DIR and --languages. */
function shipOptions(v: Values): ShipOptions {
  if (v.languages !== undefined && v.data === undefined) {
    throw new UsageError("--languages: only with --data (the languages of the zero-shot section)");
  }
  // Checked now, not after hours of training when the model is shipped.
  if (
    typeof v.data === "string" &&
    !fs.statSync(v.data, { throwIfNoEntry: false })?.isDirectory()
  ) {
    throw new UsageError(`--data ${v.data}: no such directory`);
  }
  return {
    data: v.data as string | undefined,
    ...(v.languages !== undefined ? { languages: languagesOpt(v) } : {}),
  };
}

/** Pretraining's own events as progress lines. */
function describeEvent(e: PretrainEvent): string | null {
  if (e.type === "eval") return `eval at step ${e.step}: ${describeCe(e)}`;
  if (e.type === "shipped") return `model written to ${e.dir}`;
  return null;
}

function describeCe(r: ValReport): string {
  const langs = Object.entries(r.byLanguage).map(([l, s]) => `${l} ${s.ce.toFixed(3)}`);
  return `val CE ${r.ce.toFixed(4)} (PPL ${r.ppl.toFixed(2)}; ${langs.join(", ")})`;
}

function describeShipped(s: Shipped): string {
  const zeroShot = s.zeroShot
    ? `; zero-shot CE ${TASKS.map((t) => `${TASK_NAMES[t]} ${s.zeroShot![t].ce.ce.toFixed(4)}`).join(", ")}`
    : "";
  return `${s.dir}: ${s.valCe ? describeCe(s.valCe) : "no validation windows"}${zeroShot}`;
}

const options: Options = {
  ...Object.fromEntries(Object.values(PRETRAIN_FLAGS).map((f) => [f, { type: "string" }])),
  "memory-limit": { type: "string" },
  "gradient-checkpointing": { type: "boolean" },
  resume: { type: "boolean" },
  ship: { type: "string" },
  data: { type: "string" },
  languages: { type: "string" },
  "random-floor": { type: "string" },
  json: { type: "boolean" },
};

export const pretrain: Command = {
  summary: "pretrain a small Llama-format model on the code corpus (every parameter), and ship it",
  usage: `usage: narrator pretrain --preset narrator-2m|narrator-8m|CONFIG.json --tokenizer FILE --corpus DIR --out DIR
       [--init-from RUN_DIR|MODEL_DIR] [--steps N] [--seq-len N] [--batch-size N] [--lr X] [--scheduler cosine|linear] [--warmup-steps N]
       [--weight-decay X] [--max-grad-norm X] [--seed N] [--eval-every N] [--eval-windows N]
       [--checkpoint-every N] [--memory-limit GIB] [--gradient-checkpointing] [--attention-block N] [--resume] [--ship DIR] [--random-floor DIR] [--data DIR [--languages python,go,...]] [--json]

Trains every parameter from a seeded random initialisation on windows of --seq-len tokens cut from
the corpus (each file followed by <|eos|>, all languages shuffled together; the encoded corpus is
cached under DIR/tokens/). Defaults: 5000 steps, 8 x 256 tokens a step, AdamW (0.9, 0.95) with
weight decay 0.1 on matrices, lr 3e-3 with 2% warmup and cosine decay, gradient clip 1.0, seed 0,
validation CE on 64 held-out windows and a checkpoint every 250 steps.
Writes OUT/metrics.jsonl, OUT/checkpoint-<step>/, OUT/result.json and, at the end, OUT/model/
(config.json, model.safetensors in bfloat16, tokenizer.json, README.md model card).
--init-from RUN_DIR starts from the float32 weights and AdamW moments of RUN_DIR's latest checkpoint
(same model config) instead of random weights, then follows this run's own schedule and seed;
--init-from MODEL_DIR starts from a shipped model folder's bfloat16 weights with AdamW from zero
(the card lists the stages of its training.json before this one).
--resume continues OUT's last checkpoint (or starts when there is none) with the same settings;
SIGINT/SIGTERM stop at the next step with a checkpoint.
--gradient-checkpointing recomputes each decoder layer in the backward pass (turned on by itself
when the run would not fit otherwise). With native kernels attention runs fused by default (no
T x T scores kept); --attention-block N computes it N queries at a time instead (for plain wasm).
--ship DIR writes a model folder from OUT's latest checkpoint instead of training (same settings).
--random-floor DIR writes the untrained model of the same shape and seed instead of training.
--data DIR (the folder of codesearchnet/ and commitpackft/) adds the shipped weights' zero-shot CE
on both tasks' validation splits to the model card (100 examples per language, compact prompt;
--languages: which, default all six).`,
  options,
  async run(v) {
    for (const flag of ["preset", "tokenizer", "corpus", "out"]) required(v, flag, pretrain.usage);
    const config = pretrainConfigFromFlags(v);
    const log = (line: string) => process.stderr.write(line + "\n");
    const write = (value: unknown, text: string) =>
      process.stdout.write((v.json ? JSON.stringify(value, null, 2) : text) + "\n");
    const ship = shipOptions(v);
    if (typeof v.ship === "string" || typeof v["random-floor"] === "string") {
      if (typeof v["random-floor"] === "string") {
        const s = await writeRandomFloor(config, v["random-floor"], log, ship);
        write(s, `random floor ${describeShipped(s)}`);
      }
      if (typeof v.ship === "string") {
        const s = await shipCheckpoint(config, v.ship, log, ship);
        write(s, `shipped ${describeShipped(s)}`);
      }
      return;
    }
    const result = await runPretraining(config, {
      resume: v.resume === true,
      onEvent: progressPrinter(describeEvent),
      signal: stopOnSignal(),
      ship,
    });
    const lines = [
      `status: ${result.status} after ${result.steps}/${config.steps} steps, ${result.tokens} tokens (${result.wallTimeS.toFixed(1)} s)`,
      ...(result.final ? [`final ${describeCe(result.final)}`] : []),
      ...(result.outputs.model ? [`model: ${result.outputs.model}`] : []),
      `output: ${config.out}`,
    ];
    write(result, lines.join("\n"));
    if (result.status === "diverged") process.exitCode = 1;
  },
};
