/**
 * The reference training step of the benchmark: d=256, 4 layers, 4 heads, seq 128, batch 8,
 * vocab 8192, LoRA r=8 on all seven projections over an NF4 base; plus the same shape trained
 * in full (all parameters, as pretraining needs). Random weights and tokens, fixed seeds.
 */
import * as tf from "@tensorflow/tfjs-core";
import { presetConfig } from "../src/model/presets";
import {
  initTensors,
  modelFromTensors,
  trainableParameters,
  type QuantMode,
} from "../src/model/checkpoint";
import { injectLora, loraParameters, setTraining } from "../src/lora/model";
import { createOptimizer, type Optimizer } from "../src/train/optimizers";
import type { Llama } from "../src/model/llama";
import { applyGrads, lossAndGradTensors, type TokenBatch } from "../src/train/step";
import { tokenNll } from "../src/train/loss";
import { Rng } from "../src/util/rng";

export const REFERENCE = { batch: 8, seqLen: 128, loraR: 8, preset: "bench" } as const;

export interface StepFigures {
  tokensPerSecond: number;
  msPerStep: number;
  loss: number;
  peakTensorMB: number;
}

function randomBatch(vocab: number, seed: number): TokenBatch {
  const { batch, seqLen } = REFERENCE;
  const rng = new Rng(seed);
  const ids = Int32Array.from({ length: batch * seqLen }, () => rng.int(vocab));
  const labels = new Int32Array(batch * seqLen);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < seqLen; t++) {
      labels[b * seqLen + t] = t + 1 < seqLen ? ids[b * seqLen + t + 1] : -100;
    }
  }
  return { ids, labels, batch, seqLen };
}

/** Reads values asynchronously: a GPU backend cannot read synchronously in Node. */
async function timeSteps(run: () => Promise<number>, warmup: number, steps: number) {
  for (let i = 0; i < warmup; i++) await run();
  let peak = tf.memory().numBytes;
  const times: number[] = [];
  let loss = NaN;
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    loss = await run();
    times.push(performance.now() - t0);
    peak = Math.max(peak, tf.memory().numBytes);
  }
  times.sort((a, b) => a - b);
  const ms = times[Math.floor(times.length / 2)];
  const tokens = REFERENCE.batch * REFERENCE.seqLen;
  return {
    tokensPerSecond: (tokens / ms) * 1000,
    msPerStep: ms,
    loss,
    peakTensorMB: peak / 2 ** 20,
  };
}

/** Gradient clipping reads the norm synchronously, which a GPU backend cannot do in Node. */
const clipNorm = (norm: number) => (tf.getBackend() === "webgpu" ? 0 : norm);

/** One optimizer step; resolves to its loss. */
async function step(
  model: Llama,
  params: Map<string, tf.Variable>,
  opt: Optimizer,
  batch: TokenBatch,
  maxGradNorm: number,
) {
  const { loss, grads } = lossAndGradTensors(model, params, batch);
  applyGrads(opt, grads, 2e-4, clipNorm(maxGradNorm));
  const value = (await loss.data())[0];
  loss.dispose();
  return value;
}

/** The reference LoRA step (forward + backward + AdamW update), ready to run again and again. */
export interface LoraStepper {
  model: Llama;
  batch: TokenBatch;
  /** One optimizer step; resolves to its loss. */
  run(): Promise<number>;
  /** Turns adapter dropout on (training) or off (scoring). */
  setTraining(on: boolean): void;
  dispose(): void;
}

/** A fresh model of the reference shape with LoRA adapters, an AdamW optimizer and a batch. */
export function loraStepper(quant: QuantMode = "nf4"): LoraStepper {
  const config = presetConfig(REFERENCE.preset);
  const model = modelFromTensors(config, initTensors(config, 0), { quant }, "bench");
  const lm = injectLora(model, { r: REFERENCE.loraR, lora_alpha: 16 }, 0);
  setTraining(lm, true);
  const params = loraParameters(lm);
  const opt = createOptimizer({ name: "adamw" }, params);
  const batch = randomBatch(config.vocab_size, 1);
  return {
    model,
    batch,
    run: () => step(model, params, opt, batch, 0.3),
    setTraining: (on) => setTraining(lm, on),
    dispose: () => {
      opt.dispose();
      model.dispose();
    },
  };
}

/** LoRA training step (forward + backward + AdamW update) and scoring throughput. */
export async function benchLoraStep(
  quant: QuantMode = "nf4",
  steps = 5,
): Promise<{ train: StepFigures; score: StepFigures; tensorsLeaked: number }> {
  const stepper = loraStepper(quant);
  const { model, batch } = stepper;
  await stepper.run();
  const before = tf.memory().numTensors;
  const train = await timeSteps(stepper.run, 1, steps);
  const tensorsLeaked = tf.memory().numTensors - before;
  stepper.setTraining(false);
  const score = await timeSteps(
    async () => {
      const ce = tf.tidy(() => {
        const ids = tf.tensor2d(batch.ids, [REFERENCE.batch, REFERENCE.seqLen], "int32");
        const { nll, mask } = tokenNll(
          model.forward(ids).logits,
          tf.tensor1d(batch.labels, "int32"),
        );
        return tf.div(tf.sum(nll), tf.sum(mask));
      });
      const value = (await ce.data())[0];
      ce.dispose();
      return value;
    },
    1,
    steps,
  );
  stepper.dispose();
  return { train, score, tensorsLeaked };
}

/** Full-parameter training step (every weight trainable, AdamW). */
export async function benchFullStep(steps = 3): Promise<StepFigures> {
  const config = presetConfig(REFERENCE.preset);
  const model = modelFromTensors(config, initTensors(config, 0), { trainable: true }, "bench");
  const params = trainableParameters(model);
  const opt = createOptimizer({ name: "adamw" }, params);
  const batch = randomBatch(config.vocab_size, 1);
  const figures = await timeSteps(() => step(model, params, opt, batch, 1.0), 1, steps);
  opt.dispose();
  model.dispose();
  return figures;
}

/** Kernel time of one LoRA training step, heaviest first. */
export async function profileLoraStep(
  top: number,
): Promise<{ name: string; ms: number; calls: number }[]> {
  const stepper = loraStepper("nf4");
  await stepper.run();
  const info = await tf.profile(stepper.run);
  const by = new Map<string, { ms: number; calls: number }>();
  for (const k of info.kernels) {
    const e = by.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += Number(k.kernelTimeMs);
    e.calls++;
    by.set(k.name, e);
  }
  stepper.dispose();
  return [...by.entries()]
    .map(([name, e]) => ({ name, ...e }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, top);
}
