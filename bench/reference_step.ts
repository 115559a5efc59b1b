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
import { createOptimizer } from "../src/train/optimizers";
import { applyGrads, lossAndGrads, type TokenBatch } from "../src/train/step";
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

function timeSteps(run: () => number, warmup: number, steps: number) {
  for (let i = 0; i < warmup; i++) run();
  let peak = tf.memory().numBytes;
  const times: number[] = [];
  let loss = NaN;
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    loss = run();
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

/** LoRA training step (forward + backward + AdamW update) and scoring throughput. */
export function benchLoraStep(
  quant: QuantMode = "nf4",
  steps = 5,
): { train: StepFigures; score: StepFigures; tensorsLeaked: number } {
  const config = presetConfig(REFERENCE.preset);
  const model = modelFromTensors(config, initTensors(config, 0), { quant }, "bench");
  const lm = injectLora(model, { r: REFERENCE.loraR, lora_alpha: 16 }, 0);
  setTraining(lm, true);
  const params = loraParameters(lm);
  const opt = createOptimizer({ name: "adamw" }, params);
  const batch = randomBatch(config.vocab_size, 1);
  const step = () => {
    const { loss, grads } = lossAndGrads(model, params, batch);
    applyGrads(opt, grads, 2e-4, 0.3);
    return loss;
  };
  step();
  const before = tf.memory().numTensors;
  const train = timeSteps(step, 1, steps);
  const tensorsLeaked = tf.memory().numTensors - before;
  setTraining(lm, false);
  const score = timeSteps(
    () =>
      tf.tidy(() => {
        const { logits } = model.forward(
          tf.tensor2d(batch.ids, [REFERENCE.batch, REFERENCE.seqLen], "int32"),
        );
        const { nll, mask } = tokenNll(logits, tf.tensor1d(batch.labels, "int32"));
        return tf.div(tf.sum(nll), tf.sum(mask)).dataSync()[0];
      }),
    1,
    steps,
  );
  opt.dispose();
  model.dispose();
  return { train, score, tensorsLeaked };
}

/** Full-parameter training step (every weight trainable, AdamW). */
export function benchFullStep(steps = 3): StepFigures {
  const config = presetConfig(REFERENCE.preset);
  const model = modelFromTensors(config, initTensors(config, 0), { trainable: true }, "bench");
  const params = trainableParameters(model);
  const opt = createOptimizer({ name: "adamw" }, params);
  const batch = randomBatch(config.vocab_size, 1);
  const figures = timeSteps(
    () => {
      const { loss, grads } = lossAndGrads(model, params, batch);
      applyGrads(opt, grads, 2e-4, 1.0);
      return loss;
    },
    1,
    steps,
  );
  opt.dispose();
  model.dispose();
  return figures;
}
