/**
 * Shipping a pretrained model as a Hugging Face model folder: config.json, model.safetensors in
 * bfloat16 (HF Llama tensor names), the tokenizer.json it was trained with, and README.md (the
 * model card, with the held-out CE measured on the shipped bfloat16 weights, and their zero-shot CE
 * on the narration tasks when a data directory is given). The folder is completed under a
 * temporary name and renamed, so a reader never sees half of it.
 *
 * Three sources: the live model at the end of a run, a run's latest checkpoint (`shipCheckpoint`,
 * also while the run is going on), and the random initialisation of the same shape and seed
 * (`writeRandomFloor`), the floor every trained model is compared with.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Lang } from "../data/langs";
import { backendInfo, initBackend } from "../backend/backend";
import {
  initTensors,
  loadModel,
  modelFromTensors,
  saveModel,
  trainableParameters,
} from "../model/checkpoint";
import type { Llama } from "../model/llama";
import { loadCheckpoint, restoreParams } from "../train/checkpoint_state";
import { checkoutPath, runName } from "../util/root";
import { provenance } from "../train/trainer";
import { modelCard, type ModelCardInfo } from "./card";
import {
  ADAMW_BETAS,
  backgroundCommand,
  parsePretrainConfig,
  pretrainCommand,
  type PretrainConfigInput,
} from "./config";
import { namedStages, STAGES_FILE, type StageSummary } from "./init_from";
import { prepareRun, type RunSetup } from "./setup";
import { validationCe, type ValReport } from "./validate";
import { zeroShotCe, type ZeroShotReport } from "./zero_shot";

/** What the card says about the weights being shipped. */
export interface ShipInfo {
  kind: ModelCardInfo["kind"];
  status: string;
  steps: number;
  tokensSeen: number;
  wallTimeS: number;
  trainLoss: ModelCardInfo["trainLoss"];
}

/** A shipped folder and the held-out CE of its weights. */
export interface Shipped {
  dir: string;
  valCe: ValReport | null;
  zeroShot: ZeroShotReport | null;
}

/** Where shipping reads the narration tasks from (absent: the card says zero-shot was not measured). */
export interface ShipOptions {
  data?: string;
  /** Languages of the zero-shot section (default all six). */
  languages?: readonly Lang[];
}

/** The folder a card's commands ship to: a run's own model/ by the run's name, else by checkoutPath. */
function shipTarget(dir: string, run: string): string {
  const inRun = path.relative(path.resolve(run), path.resolve(dir));
  return inRun === "model" ? `${runName(run)}/model` : checkoutPath(dir, "models");
}

/** Write `model` as a model folder at `dir` (replacing it); returns the CE of the shipped weights. */
export async function shipModel(
  dir: string,
  model: Llama,
  setup: RunSetup,
  info: ShipInfo,
  opts: ShipOptions = {},
): Promise<Shipped> {
  const { config } = setup;
  const prov = provenance(setup.data.manifestHash, config.seed, setup.checkout);
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  try {
    saveModel(tmp, model, { dtype: "BF16" });
    fs.copyFileSync(config.tokenizer, path.join(tmp, "tokenizer.json"));
    // Measure what a user of the folder gets: the bfloat16 weights as loaded back.
    const shipped = loadModel(tmp);
    const valCe =
      setup.valSample.length > 0
        ? validationCe(shipped, setup.data.val, setup.valSample, config.seqLen, config.batchSize)
        : null;
    shipped.dispose();
    const zeroShot =
      opts.data === undefined ? null : await zeroShotCe(tmp, opts.data, opts.languages);
    const dataFlag = [
      ...(opts.data === undefined ? [] : ["--data", opts.data]),
      ...(opts.languages === undefined ? [] : ["--languages", opts.languages.join(",")]),
    ];
    const floor = info.kind === "random-floor";
    const target = shipTarget(dir, config.out);
    const card: ModelCardInfo = {
      kind: info.kind,
      model: config.model,
      config: setup.modelConfig,
      parameters: setup.parameters,
      corpus: {
        dir: config.corpus,
        manifestHash: setup.data.manifestHash,
        trainTokens: setup.data.train.tokens.length,
        valTokens: setup.data.val.tokens.length,
        languages: setup.data.train.spans.map((s) => {
          const v = setup.data.val.spans.find((x) => x.lang === s.lang);
          return { lang: s.lang, train: s.end - s.start, val: v ? v.end - v.start : 0 };
        }),
      },
      tokenizer: {
        file: config.tokenizer,
        sha256: setup.data.tokenizerSha256,
        vocabSize: setup.tokenizer.vocabSize,
      },
      training: {
        status: info.status,
        steps: info.steps,
        totalSteps: floor ? 0 : config.steps,
        warmupSteps: setup.warmupSteps,
        seqLen: config.seqLen,
        batchSize: config.batchSize,
        lr: config.lr,
        scheduler: config.scheduler,
        weightDecay: config.weightDecay,
        maxGradNorm: config.maxGradNorm,
        betas: ADAMW_BETAS,
        seed: config.seed,
        tokensSeen: info.tokensSeen,
      },
      trainLoss: info.trainLoss,
      valCe,
      zeroShot,
      wallTimeS: info.wallTimeS,
      ...(setup.init && !floor ? { continuedFrom: setup.init.stage } : {}),
      ...(setup.init?.kind === "model" && !floor
        ? { continuedFromModel: checkoutPath(setup.init.dir, "models") }
        : {}),
      backend: backendInfo().label,
      git: { commit: prov.gitCommit, dirty: prov.gitDirty },
      commands: floor
        ? { floor: pretrainCommand(config, ["--random-floor", target, ...dataFlag]) }
        : {
            background: backgroundCommand(config),
            ship: pretrainCommand(config, ["--ship", target, ...dataFlag]),
          },
    };
    fs.writeFileSync(path.join(tmp, "README.md"), modelCard(card));
    if (!floor) {
      // The stage chain a later run continuing from this folder reports on its own card.
      const stage: StageSummary = {
        run: runName(config.out),
        steps: info.steps,
        tokens: info.tokensSeen,
        wallTimeS: info.wallTimeS,
        valCe: valCe?.ce ?? null,
        command: pretrainCommand(config, ["--resume"]),
        ...(setup.init ? { continuedFrom: namedStages(setup.init.stage) } : {}),
      };
      fs.writeFileSync(path.join(tmp, STAGES_FILE), JSON.stringify({ stage }, null, 2) + "\n");
    }
    fs.mkdirSync(path.dirname(path.resolve(dir)), { recursive: true });
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
    return { dir, valCe, zeroShot };
  } catch (e) {
    // A failed evaluation leaves no half-written folder behind; the shipped one is untouched.
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

/**
 * The training loss at the last step of metrics.jsonl (read up to `bytes` when given) and its
 * mean over the last `over` steps with a finite loss; null without steps.
 */
export function trainLossSummary(
  metricsFile: string,
  bytes?: number,
  over = 50,
): ShipInfo["trainLoss"] {
  const text = fs.readFileSync(metricsFile).subarray(0, bytes).toString("utf8");
  const losses: number[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith('{"type":"step"')) continue;
    const loss = (JSON.parse(line) as { loss: number | null }).loss;
    if (loss !== null) losses.push(loss);
  }
  if (losses.length === 0) return null;
  const tail = losses.slice(-over);
  return {
    last: losses[losses.length - 1],
    mean: tail.reduce((a, b) => a + b, 0) / tail.length,
    over: tail.length,
  };
}

/**
 * Ship a model of the run's shape built from its seed's initial weights, after `fill` has set
 * them (or not) and said what the card states about them.
 */
async function shipFromInit(
  setup: RunSetup,
  dir: string,
  opts: ShipOptions,
  trainable: boolean,
  fill: (model: Llama) => ShipInfo,
): Promise<Shipped> {
  const { modelConfig, config } = setup;
  const model = modelFromTensors(
    modelConfig,
    initTensors(modelConfig, config.seed),
    trainable ? { trainable: true } : {},
    "init",
  );
  try {
    return await shipModel(dir, model, setup, fill(model), opts);
  } finally {
    model.dispose();
  }
}

/** Writes a model folder at `dir` for the run `input` describes (same settings as the run). */
type ShipFrom = (
  input: PretrainConfigInput,
  dir: string,
  log?: (line: string) => void,
  opts?: ShipOptions,
) => Promise<Shipped>;

/** Ship the latest checkpoint of the run. */
export const shipCheckpoint: ShipFrom = async (input, dir, log = () => undefined, opts = {}) => {
  const config = parsePretrainConfig(input);
  await initBackend();
  const checkpoint = loadCheckpoint(config.out);
  if (!checkpoint)
    throw new Error(
      `${config.out}: no checkpoint to ship (train first, with --checkpoint-every > 0)`,
    );
  const setup = prepareRun(config, log);
  if (checkpoint.state.resumeKey !== setup.resumeKey) {
    throw new Error(
      `${checkpoint.dir}: saved with other settings, model, corpus or tokenizer than the ones given`,
    );
  }
  return shipFromInit(setup, dir, opts, true, (model) => {
    // The checkpoint holds the trainable variables (linear weights as W^T): restore them as resume does.
    restoreParams(trainableParameters(model), checkpoint.params, checkpoint.dir);
    const { step, tokens, elapsedS, metricsBytes } = checkpoint.state;
    return {
      kind: "pretrained",
      status:
        step >= config.steps ? "completed" : `checkpoint at step ${step} of a run in progress`,
      steps: step,
      tokensSeen: tokens,
      wallTimeS: elapsedS,
      trainLoss: trainLossSummary(path.join(config.out, "metrics.jsonl"), metricsBytes),
    };
  });
};

/** Write the untrained model of the run's shape and seed (zero steps), with its card. */
export const writeRandomFloor: ShipFrom = async (input, dir, log = () => undefined, opts = {}) => {
  const config = parsePretrainConfig(input);
  await initBackend();
  const setup = prepareRun(config, log);
  return shipFromInit(setup, dir, opts, false, () => ({
    kind: "random-floor",
    status: "not trained",
    steps: 0,
    tokensSeen: 0,
    wallTimeS: 0,
    trainLoss: null,
  }));
};
