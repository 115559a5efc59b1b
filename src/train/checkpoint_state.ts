/**
 * Training checkpoints for exact resume: the trainable weights, the optimizer's slots and step
 * counts, the dropout generator's state and the run's counters (optimizer step, tokens, time, how
 * far metrics.jsonl had been written). The trainer's data position needs no state of its own: each
 * epoch's batch order is a function of (seed, epoch), so the optimizer step says where the data
 * stands; pretraining's window sampler records its position (`sampler`).
 *
 * Layout: OUT/checkpoint-<step>/{state.json, trainable.safetensors, optimizer.safetensors} and
 * OUT/checkpoint.json naming the current one. A checkpoint directory is completed under a temporary
 * name and renamed, and only then does checkpoint.json point at it (written atomically), so an
 * interruption at any moment leaves the previous checkpoint usable.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import type { LoraModel } from "../lora/model";
import { fromFloat32, toFloat32 } from "../safetensors/float16";
import { readSafetensorsFile, writeSafetensorsFile } from "../safetensors/safetensors";
import { readJson, writeJsonAtomic } from "../util/fs";
import type { Rng } from "../util/rng";
import type { OptimizerState, ParamState } from "./optimizers";

/** The pointer file naming the current checkpoint directory. */
export const CHECKPOINT_POINTER = "checkpoint.json";

/** The run's counters at a checkpoint. */
export interface RunState {
  /** Optimizer steps done. */
  step: number;
  /** Target tokens trained on so far. */
  tokens: number;
  /** Training wall time so far, seconds. */
  elapsedS: number;
  /** Bytes of metrics.jsonl written up to this checkpoint (a resumed run truncates to it). */
  metricsBytes: number;
  /** The config's resume key (see config.ts); a resume with other settings is refused. */
  resumeKey: string;
  /** Dropout generator state (xoshiro128** words), null when there is no dropout. */
  dropoutRng: number[] | null;
  /**
   * Where a stream sampler stands (pretraining: epoch and windows already taken in it). The
   * trainer has none: its position follows from the optimizer step.
   */
  sampler?: { epoch: number; offset: number };
}

/** A checkpoint read back. */
export interface Checkpoint {
  dir: string;
  state: RunState;
  params: Map<string, Float32Array>;
  optimizer: OptimizerState;
}

interface StateFile extends RunState {
  version: 1;
  optimizerName: OptimizerState["name"];
  optimizerSteps: Record<string, number>;
}

const SLOT_SEP = "::";

/** Write a checkpoint of `params` and `optimizer` (see the module comment); returns its directory. */
export function saveCheckpoint(
  out: string,
  state: RunState,
  params: Map<string, tf.Variable>,
  optimizer: OptimizerState,
): string {
  const name = `checkpoint-${state.step}`;
  const final = path.join(out, name);
  const tmp = `${final}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  const weights = new Map(
    [...params].map(([k, v]) => [k, fromFloat32(v.dataSync() as Float32Array, "F32", v.shape)]),
  );
  writeSafetensorsFile(path.join(tmp, "trainable.safetensors"), weights);
  const slots = new Map<string, ReturnType<typeof fromFloat32>>();
  const optimizerSteps: Record<string, number> = {};
  for (const [param, ps] of Object.entries(optimizer.params)) {
    optimizerSteps[param] = ps.step;
    for (const [slot, values] of Object.entries(ps.slots)) {
      slots.set(`${param}${SLOT_SEP}${slot}`, fromFloat32(values, "F32", [values.length]));
    }
  }
  writeSafetensorsFile(path.join(tmp, "optimizer.safetensors"), slots);
  const file: StateFile = { version: 1, ...state, optimizerName: optimizer.name, optimizerSteps };
  writeJsonAtomic(path.join(tmp, "state.json"), file);
  fs.rmSync(final, { recursive: true, force: true });
  fs.renameSync(tmp, final);
  writeJsonAtomic(path.join(out, CHECKPOINT_POINTER), { dir: name, step: state.step });
  for (const entry of fs.readdirSync(out)) {
    if (entry.startsWith("checkpoint-") && entry !== name) {
      fs.rmSync(path.join(out, entry), { recursive: true, force: true });
    }
  }
  return final;
}

/** The current checkpoint of a run directory, or null when it has none. */
export function loadCheckpoint(out: string): Checkpoint | null {
  const pointer = path.join(out, CHECKPOINT_POINTER);
  if (!fs.existsSync(pointer)) return null;
  const { dir: name } = readJson<{ dir: string }>(pointer);
  const dir = path.join(out, name);
  const state = readJson<StateFile>(path.join(dir, "state.json"));
  if (state.version !== 1) throw new Error(`${dir}/state.json: unknown version ${state.version}`);
  const params = new Map<string, Float32Array>();
  for (const [k, t] of readSafetensorsFile(path.join(dir, "trainable.safetensors")).tensors) {
    params.set(k, toFloat32(t).slice());
  }
  const slots = readSafetensorsFile(path.join(dir, "optimizer.safetensors")).tensors;
  const optParams: Record<string, ParamState> = {};
  for (const [param, step] of Object.entries(state.optimizerSteps)) {
    optParams[param] = { step, slots: {} };
  }
  for (const [key, t] of slots) {
    const at = key.lastIndexOf(SLOT_SEP);
    const param = key.slice(0, at);
    if (!optParams[param])
      throw new Error(`${dir}/optimizer.safetensors: slot ${key} of no parameter`);
    optParams[param].slots[key.slice(at + SLOT_SEP.length)] = toFloat32(t).slice();
  }
  const { version: _v, optimizerName, optimizerSteps: _s, ...run } = state;
  return { dir, state: run, params, optimizer: { name: optimizerName, params: optParams } };
}

/** Put checkpointed values into the live variables; names and sizes must match exactly. */
export function restoreParams(
  params: Map<string, tf.Variable>,
  values: Map<string, Float32Array>,
  source: string,
): void {
  const missing = [...params.keys()].filter((k) => !values.has(k));
  const extra = [...values.keys()].filter((k) => !params.has(k));
  if (missing.length || extra.length) {
    throw new Error(
      `${source}: checkpoint parameters do not match the model (missing: ${missing.slice(0, 3).join(", ") || "none"}; unexpected: ${extra.slice(0, 3).join(", ") || "none"})`,
    );
  }
  for (const [k, v] of params) {
    const data = values.get(k)!;
    if (data.length !== v.size) {
      throw new Error(`${source}: ${k} holds ${data.length} values, the model's has ${v.size}`);
    }
    tf.tidy(() => v.assign(tf.tensor(data, v.shape, "float32")));
  }
}

/** The generator shared by the adapter's dropout layers (null without dropout). */
export function dropoutRngOf(lm: LoraModel): Rng | null {
  return lm.config.lora_dropout > 0 ? lm.dropoutRng : null;
}
