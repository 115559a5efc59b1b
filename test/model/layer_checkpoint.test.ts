/**
 * Activation checkpointing per decoder layer: gradients equal the plain path's (full training and
 * LoRA with dropout and padding, where the recomputation must replay the same dropout masks), and
 * a hand-worked case on a one-variable "layer".
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../src/backend/backend";
import { injectLora, loraParameters, setTraining } from "../../src/lora/model";
import { initTensors, modelFromTensors, trainableParameters } from "../../src/model/checkpoint";
import { parseLlamaConfig } from "../../src/model/config";
import { checkpointedLayer } from "../../src/model/layer_checkpoint";
import type { Llama } from "../../src/model/llama";
import { IGNORE_INDEX } from "../../src/data/token_batch";
import { lossAndGradTensors, type TokenBatch } from "../../src/train/step";
import { Rng } from "../../src/util/rng";

before(async () => {
  await initBackend();
});

const config = parseLlamaConfig({
  vocab_size: 50,
  hidden_size: 32,
  intermediate_size: 48,
  num_hidden_layers: 3,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 32,
  tie_word_embeddings: false,
});

/** Two rows of 7 tokens, the second padded after 5; the loss counts targets of real tokens only. */
function batch(): TokenBatch {
  const rng = new Rng(7);
  const ids = Int32Array.from({ length: 14 }, () => rng.int(50));
  const mask = Float32Array.from({ length: 14 }, (_, i) => (i >= 12 ? 0 : 1));
  const labels = Int32Array.from({ length: 14 }, (_, i) =>
    i % 7 === 6 || mask[i + 1] === 0 ? IGNORE_INDEX : ids[i + 1],
  );
  return { ids, labels, attentionMask: mask, batch: 2, seqLen: 7 };
}

/** Gradients of the loss with and without checkpointing, as plain arrays by parameter. */
function bothGrads(
  model: Llama,
  params: Map<string, tf.Variable>,
  between: () => void = () => undefined,
): [Map<string, Float32Array>, Map<string, Float32Array>, number[]] {
  const read = (checkpoint: boolean) => {
    const r = lossAndGradTensors(model, params, batch(), { gradientCheckpointing: checkpoint });
    const out = new Map([...r.grads].map(([k, g]) => [k, g.dataSync() as Float32Array]));
    const loss = r.loss.dataSync()[0];
    r.loss.dispose();
    for (const g of r.grads.values()) g.dispose();
    return { out, loss };
  };
  const plain = read(false);
  between();
  const ckpt = read(true);
  return [plain.out, ckpt.out, [plain.loss, ckpt.loss]];
}

function assertClose(a: Map<string, Float32Array>, b: Map<string, Float32Array>): void {
  assert.deepEqual([...b.keys()], [...a.keys()]);
  for (const [k, x] of a) {
    const y = b.get(k)!;
    let scale = 0;
    let diff = 0;
    for (let i = 0; i < x.length; i++) {
      scale = Math.max(scale, Math.abs(x[i]));
      diff = Math.max(diff, Math.abs(x[i] - y[i]));
    }
    assert.ok(scale > 0, `${k}: the plain gradient is all zero, so the comparison proves nothing`);
    assert.ok(diff <= 1e-5 * scale, `${k}: max difference ${diff} against max ${scale}`);
  }
}

test("full training: checkpointed gradients equal the plain path's within 1e-5 relative", () => {
  const model = modelFromTensors(config, initTensors(config, 3), { trainable: true }, "init");
  const params = trainableParameters(model);
  const before = tf.memory().numTensors;
  const [plain, ckpt, losses] = bothGrads(model, params);
  assert.equal(tf.memory().numTensors, before, "no tensor is left behind");
  assert.equal(losses[0], losses[1]);
  assertClose(plain, ckpt);
  model.dispose();
});

test("LoRA with dropout: the recomputation replays the same masks, and the generator ends where it would", () => {
  const model = modelFromTensors(config, initTensors(config, 4), {}, "init");
  const lora = injectLora(model, { r: 4, lora_alpha: 8, lora_dropout: 0.3 }, 5);
  const params = loraParameters(lora);
  // PEFT starts B at zero, which would leave A's gradient zero: give every factor values.
  const rng = new Rng(11);
  for (const v of params.values()) {
    v.assign(
      tf.tensor(
        Float32Array.from({ length: v.size }, () => rng.normal() * 0.2),
        v.shape,
      ),
    );
  }
  setTraining(lora, true);
  const start = lora.dropoutRng.state();
  let plainEnd: number[] = [];
  const [plain, ckpt] = bothGrads(model, params, () => {
    plainEnd = lora.dropoutRng.state();
    lora.dropoutRng.setState(start);
  });
  assert.notDeepEqual(plainEnd, start, "dropout drew numbers");
  assert.deepEqual(lora.dropoutRng.state(), plainEnd);
  assertClose(plain, ckpt);
  model.dispose();
  for (const l of lora.layers.values()) l.dispose();
});

test("hand-worked: f = sum((x w)^2) gives df/dx = 2 x w^2 and df/dw = 2 w sum(x^2), the layer run twice", () => {
  const layer = { w: tf.variable(tf.scalar(3)) };
  let runs = 0;
  const x = tf.tensor2d([[1, 2]]);
  const { value, grads } = tf.engine().gradients(
    () =>
      tf.sum(
        tf.square(
          checkpointedLayer(layer, x, [], (h) => {
            runs++;
            return tf.mul(h, layer.w) as tf.Tensor2D;
          }),
        ),
      ),
    [x, layer.w],
  );
  assert.equal(value.dataSync()[0], 9 * (1 + 4));
  // 2 x w^2 = [18, 36]; 2 w (1 + 4) = 30.
  assert.deepEqual(Array.from(grads[0].dataSync()), [18, 36]);
  assert.deepEqual(Array.from(grads[1].dataSync()), [30]);
  assert.equal(runs, 2, "once forward, once again in the backward pass");
});
