/**
 * Continued pretraining: a run with `initFrom` starts from another run's latest checkpoint (its
 * float32 weights and AdamW moments) instead of a random initialisation, then follows its own
 * schedule, window order and counters. The starting checkpoint is identified by the sha256 of its
 * files; that identity enters the resume key, so a continued run resumes (or ships) only against
 * the same start. What the card says about earlier stages is read from those runs' own records, so
 * a chain of continuations (stage 3 from stage 2 from stage 1) reports every stage.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type * as tf from "@tensorflow/tfjs-core";
import { canonicalJson } from "../util/canonical_json";
import type { LlamaConfig } from "../model/config";
import { CHECKPOINT_POINTER, loadCheckpoint, restoreParams } from "../train/checkpoint_state";
import type { Optimizer } from "../train/optimizers";
import { readJson } from "../util/fs";
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

/** The checkpoint a continued run starts from. */
export interface InitSource {
  /** Its checkpoint-<step>/ folder. */
  dir: string;
  /** sha256 over its state.json, trainable.safetensors and optimizer.safetensors. */
  sha256: string;
  stage: StageSummary;
}

const CHECKPOINT_FILES = ["state.json", "trainable.safetensors", "optimizer.safetensors"];

/**
 * The latest checkpoint of `run`, checked to hold a model of shape `model` (the continued run's),
 * with its identity and the summary of the stage that produced it.
 */
export function initSource(run: string, out: string, model: LlamaConfig): InitSource {
  if (path.resolve(run) === path.resolve(out)) {
    throw new Error(`initFrom ${run} is the run's own output folder; continue into another --out`);
  }
  const pointer = path.join(run, CHECKPOINT_POINTER);
  if (!fs.existsSync(pointer)) {
    throw new Error(`${pointer}: missing; initFrom needs a run with a checkpoint`);
  }
  const dir = path.join(run, readJson<{ dir: string }>(pointer).dir);
  const stateFile = path.join(dir, "state.json");
  const state = readJson<{ step: number; tokens: number; elapsedS: number; resumeKey: string }>(
    stateFile,
  );
  const theirs = (JSON.parse(state.resumeKey) as { model: LlamaConfig }).model;
  const differing = Object.keys({ ...theirs, ...model }).filter(
    (k) =>
      canonicalJson(theirs[k as keyof LlamaConfig]) !==
      canonicalJson(model[k as keyof LlamaConfig]),
  );
  if (differing.length > 0) {
    const show = (c: LlamaConfig, k: string) => canonicalJson(c[k as keyof LlamaConfig]);
    throw new Error(
      `${stateFile}: the checkpoint's model config differs from this run's (` +
        differing.map((k) => `${k} ${show(theirs, k)} there, ${show(model, k)} here`).join("; ") +
        ")",
    );
  }
  const hash = createHash("sha256");
  for (const name of CHECKPOINT_FILES)
    hash.update(name).update(fs.readFileSync(path.join(dir, name)));
  const resultFile = path.join(run, "result.json");
  const result = readJson<{ config: unknown; continuedFrom?: { stage: StageSummary } | null }>(
    resultFile,
  );
  const stageConfig = parsePretrainConfig(result.config, resultFile);
  return {
    dir,
    sha256: hash.digest("hex"),
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

/** Put the starting checkpoint's weights and AdamW moments into a fresh run's model and optimizer. */
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
