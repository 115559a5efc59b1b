/**
 * Continued pretraining: a run with `initFrom` starts from another run's latest checkpoint (its
 * float32 weights and AdamW moments) or from a shipped model folder (its bfloat16 weights, with
 * fresh AdamW moments: the runs behind a shipped model need not be on this machine) instead of a
 * random initialisation, then follows its own schedule, window order and counters. The start is
 * identified by the sha256 of its files; that identity enters the resume key, so a continued run
 * resumes (or ships) only against the same start. What the card says about earlier stages is read
 * from those runs' own records (a shipped folder carries its chain in training.json), so a chain
 * of continuations (stage 3 from stage 2 from stage 1) reports every stage.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type * as tf from "@tensorflow/tfjs-core";
import { canonicalJson } from "../util/canonical_json";
import type { LlamaConfig } from "../model/config";
import { readLlamaConfig } from "../model/config";
import { SINGLE_FILE, loadCheckpointTensors } from "../safetensors/checkpoint";
import type { TensorEntry } from "../safetensors/safetensors";
import { initTensors } from "../model/checkpoint";
import { CHECKPOINT_POINTER, loadCheckpoint, restoreParams } from "../train/checkpoint_state";
import type { Optimizer } from "../train/optimizers";
import { readJson } from "../util/fs";
import { runName } from "../util/root";
import { parsePretrainConfig, pretrainCommand } from "./config";

/** The stage a continued run starts after, as its card reports it. */
export interface StageSummary {
  /** The run folder continued from. */
  run: string;
  steps: number;
  tokens: number;
  wallTimeS: number;
  /** Held-out CE at the checkpoint's step, from the run's metrics.jsonl (null: not evaluated then). */
  valCe: number | null;
  /** The command that reproduces the stage (foreground, resumable). */
  command: string;
  /** The stage this one continued in turn (absent: it started from random weights). */
  continuedFrom?: StageSummary;
}

/** The stages before a continued run, first stage first. */
export function stageChain(last: StageSummary): StageSummary[] {
  return [...(last.continuedFrom ? stageChain(last.continuedFrom) : []), last];
}

/** `stage` and the stages before it with their run folders by name (runs/<name>), machine-free. */
export function namedStages(stage: StageSummary): StageSummary {
  return {
    ...stage,
    run: runName(stage.run),
    ...(stage.continuedFrom ? { continuedFrom: namedStages(stage.continuedFrom) } : {}),
  };
}

/** Where a continued run starts: a run's latest checkpoint, or a shipped model folder. */
export interface InitSource {
  kind: "checkpoint" | "model";
  /** The checkpoint-<step>/ folder, or the model folder. */
  dir: string;
  /** sha256 over the checkpoint's state.json, trainable.safetensors and optimizer.safetensors, or
   * over the model folder's config.json and model.safetensors. */
  sha256: string;
  stage: StageSummary;
}

const CHECKPOINT_FILES = ["state.json", "trainable.safetensors", "optimizer.safetensors"];
const MODEL_FILES = ["config.json", SINGLE_FILE];
/** A shipped model folder's record of the stages that trained it (the last one shipped it). */
export const STAGES_FILE = "training.json";

/**
 * Where `from` (a run folder with a checkpoint, or a shipped model folder) leaves off, checked to
 * hold a model of shape `model` (the continued run's), with its identity and the summary of the
 * stage that produced it.
 */
export function initSource(from: string, out: string, model: LlamaConfig): InitSource {
  if (path.resolve(from) === path.resolve(out)) {
    throw new Error(`initFrom ${from} is the run's own output folder; continue into another --out`);
  }
  const pointer = path.join(from, CHECKPOINT_POINTER);
  if (fs.existsSync(pointer)) return checkpointSource(from, pointer, model);
  if (MODEL_FILES.every((f) => fs.existsSync(path.join(from, f)))) return modelSource(from, model);
  throw new Error(
    `initFrom ${from}: neither a run with a checkpoint (${CHECKPOINT_POINTER}) nor a model folder (${MODEL_FILES.join(" + ")})`,
  );
}

/** Refuse a start whose model shape differs from the continued run's, naming each field. */
function checkSameShape(
  theirs: LlamaConfig,
  model: LlamaConfig,
  source: string,
  whose: string,
): void {
  const show = (c: LlamaConfig, k: string) => canonicalJson(c[k as keyof LlamaConfig]);
  // The storage dtype of a shipped folder's weights is not part of the shape.
  const differing = Object.keys({ ...theirs, ...model }).filter(
    (k) => k !== "torch_dtype" && show(theirs, k) !== show(model, k),
  );
  if (differing.length > 0) {
    throw new Error(
      `${source}: ${whose} model config differs from this run's (` +
        differing.map((k) => `${k} ${show(theirs, k)} there, ${show(model, k)} here`).join("; ") +
        ")",
    );
  }
}

function filesSha256(dir: string, names: string[]): string {
  const hash = createHash("sha256");
  for (const name of names) hash.update(name).update(fs.readFileSync(path.join(dir, name)));
  return hash.digest("hex");
}

/** A shipped model folder: its weights and the stage chain its training.json records. */
function modelSource(dir: string, model: LlamaConfig): InitSource {
  checkSameShape(readLlamaConfig(dir), model, path.join(dir, "config.json"), "the folder's");
  const stagesFile = path.join(dir, STAGES_FILE);
  if (!fs.existsSync(stagesFile)) {
    throw new Error(
      `${stagesFile}: missing; a model folder to continue from records the stages that trained it`,
    );
  }
  const stage = readJson<{ stage: StageSummary }>(stagesFile).stage;
  return { kind: "model", dir, sha256: filesSha256(dir, MODEL_FILES), stage };
}

function checkpointSource(run: string, pointer: string, model: LlamaConfig): InitSource {
  const dir = path.join(run, readJson<{ dir: string }>(pointer).dir);
  const stateFile = path.join(dir, "state.json");
  const state = readJson<{ step: number; tokens: number; elapsedS: number; resumeKey: string }>(
    stateFile,
  );
  const theirs = (JSON.parse(state.resumeKey) as { model: LlamaConfig }).model;
  checkSameShape(theirs, model, stateFile, "the checkpoint's");
  const resultFile = path.join(run, "result.json");
  const result = readJson<{ config: unknown; continuedFrom?: { stage: StageSummary } | null }>(
    resultFile,
  );
  const stageConfig = parsePretrainConfig(result.config, resultFile);
  return {
    kind: "checkpoint",
    dir,
    sha256: filesSha256(dir, CHECKPOINT_FILES),
    stage: {
      run,
      steps: state.step,
      tokens: state.tokens,
      wallTimeS: state.elapsedS,
      valCe: valCeAt(path.join(run, "metrics.jsonl"), state.step),
      command: pretrainCommand(stageConfig, ["--resume"]),
      ...(result.continuedFrom ? { continuedFrom: result.continuedFrom.stage } : {}),
    },
  };
}

/** The last held-out CE recorded at `step` in a metrics.jsonl, or null. */
function valCeAt(metricsFile: string, step: number): number | null {
  let ce: number | null = null;
  for (const line of fs.readFileSync(metricsFile, "utf8").split("\n")) {
    if (!line.startsWith('{"type":"eval"')) continue;
    const rec = JSON.parse(line) as { step: number; ce: number };
    if (rec.step === step) ce = rec.ce;
  }
  return ce;
}

/**
 * The tensors a fresh run's model is built from: a model folder's own weights (Hugging Face
 * layout, widened from bfloat16 as the model loads them), else the seed's random initialisation.
 */
export function startTensors(
  init: InitSource | null,
  model: LlamaConfig,
  seed: number,
): Map<string, TensorEntry> {
  return init?.kind === "model" ? loadCheckpointTensors(init.dir) : initTensors(model, seed);
}

/** Put a starting checkpoint's weights and AdamW moments into a fresh run's model and optimizer. */
export function loadInitCheckpoint(
  init: InitSource,
  params: Map<string, tf.Variable>,
  optimizer: Optimizer,
): void {
  const checkpoint = loadCheckpoint(init.stage.run);
  if (checkpoint?.dir !== init.dir) {
    throw new Error(`${init.stage.run}: its latest checkpoint is no longer ${init.dir}`);
  }
  restoreParams(params, checkpoint.params, checkpoint.dir);
  optimizer.load(checkpoint.optimizer);
}
