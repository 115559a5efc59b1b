import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import * as fs from "node:fs";
import * as os from "node:os";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../src/backend/backend";
import { FrozenFloatLinear } from "../../src/model/linear";
import { LoraLinear, peftInit } from "../../src/lora/layer";
import { loraScale } from "../../src/lora/config";
import {
  injectLora,
  loraParameters,
  saveAdapter,
  loadAdapter,
  mergeAndUnload,
  loraParameterCount,
} from "../../src/lora/model";
import { loadModel } from "../../src/model/checkpoint";
import { sequenceLogprobs } from "../../src/model/inference";
import { readSafetensorsFile } from "../../src/safetensors/safetensors";
import { Rng } from "../../src/util/rng";

const FIXTURE = path.join(__dirname, "..", "fixtures", "llama", "gqa-untied-scaled");

before(async () => {
  await initBackend();
});

test("LoRA layer output equals W x + s B A x worked by hand", () => {
  // W = [[1, 2, 0], [0, -1, 3]], A = [[1, 0, 2]] (r = 1), B = [[2], [-1]], alpha = 4 -> s = 4.
  // x = [1, 1, 2]: W x = [3, 5]; A x = 1 + 0 + 4 = 5; B A x = [10, -5]; y = [3 + 40, 5 - 20].
  const base = new FrozenFloatLinear(new Float32Array([1, 2, 0, 0, -1, 3]), 2, 3);
  const s = loraScale({ r: 1, lora_alpha: 4, use_rslora: false });
  assert.equal(s, 4);
  const lora = new LoraLinear(
    base,
    1,
    s,
    new Float32Array([1, 0, 2]),
    new Float32Array([2, -1]),
    0,
    new Rng(1),
  );
  const y = lora.apply(tf.tensor2d([1, 1, 2], [1, 3])).arraySync();
  assert.deepEqual(y, [[43, -15]]);
  // rsLoRA: alpha / sqrt(r) = 16 / sqrt(4) = 8.
  assert.equal(loraScale({ r: 4, lora_alpha: 16, use_rslora: true }), 8);
  // Merged weight W + s B A = [[1+8, 2, 0+16], [0-4, -1, 3-8]].
  assert.deepEqual(lora.weight().arraySync(), [
    [9, 2, 16],
    [-4, -1, -5],
  ]);
});

test("PEFT initialisation: A uniform within 1/sqrt(in), B zero", () => {
  const { a, b } = peftInit(8, 100, 30, new Rng(3));
  // kaiming_uniform(a=sqrt(5)): gain sqrt(2/(1+5)), bound gain*sqrt(3/fan_in) = 1/sqrt(100) = 0.1
  assert.ok(a.every((v) => Math.abs(v) <= 0.1));
  assert.ok(Math.max(...a.map(Math.abs)) > 0.09);
  assert.ok(b.every((v) => v === 0));
  assert.equal(a.length, 800);
});

test("a fresh adapter leaves the model's outputs unchanged; only adapters are trainable", () => {
  const model = loadModel(FIXTURE);
  const ids = [1, 5, 9, 13, 2];
  const before = sequenceLogprobs(model, ids);
  const lm = injectLora(model, { r: 4, lora_alpha: 8 }, 7);
  assert.deepEqual(sequenceLogprobs(model, ids), before);
  // 2 layers x 7 projections, each r*(in+out); d=32, kv dim 16, ffn 40.
  const per = 4 * (32 + 32) * 2 + 4 * (32 + 16) * 2 + 4 * (32 + 40) * 2 + 4 * (40 + 32);
  assert.equal(loraParameterCount(lm), 2 * per);
  assert.equal(loraParameters(lm).size, 2 * 7 * 2);
  model.dispose();
});

test("LoRA gradients equal central finite differences", () => {
  const model = loadModel(FIXTURE);
  const lm = injectLora(
    model,
    { r: 2, lora_alpha: 4, target_modules: ["q_proj", "v_proj", "down_proj"] },
    11,
  );
  // Give B non-zero values so that gradients reach A too.
  const rng = new Rng(5);
  for (const l of lm.layers.values()) {
    l.bT.assign(
      tf.tensor2d(
        Array.from({ length: l.bT.size }, () => rng.normal() * 0.1),
        l.bT.shape,
      ),
    );
  }
  const ids = tf.tensor2d([3, 8, 1, 44, 20, 7], [1, 6], "int32");
  const loss = () => tf.tidy(() => tf.mean(tf.square(model.forward(ids).logits)) as tf.Scalar);
  const params = loraParameters(lm);
  const { grads } = tf.variableGrads(loss, [...params.values()]);
  // Each adapter matrix at its largest gradient: the float32 loss (about 1) rounds by ~1e-7 in an
  // order that depends on the matmul kernels, so a gradient of 7e-4, a change of 1.4e-5 across the
  // central difference, was a few percent off on one CPU and within 2% on another.
  const keys = [
    "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight",
    "base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight",
    "base_model.model.model.layers.0.mlp.down_proj.lora_B.weight",
    "base_model.model.model.layers.1.mlp.down_proj.lora_A.weight",
  ];
  for (const key of keys) {
    const v = params.get(key)!;
    const gv = Array.from(grads[v.name].dataSync());
    const idx = gv.reduce((best, x, i) => (Math.abs(x) > Math.abs(gv[best]) ? i : best), 0);
    const g = gv[idx];
    const orig = v.dataSync().slice();
    const eps = 1e-2;
    const at = (delta: number) => {
      const w = orig.slice();
      w[idx] += delta;
      v.assign(tf.tensor(w, v.shape));
      return loss().dataSync()[0];
    };
    const fd = (at(eps) - at(-eps)) / (2 * eps);
    v.assign(tf.tensor(orig, v.shape));
    assert.ok(
      Math.abs(g - fd) <= 2e-2 * Math.max(1e-3, Math.abs(fd)),
      `${key}[${idx}]: ${g} vs ${fd}`,
    );
  }
  model.dispose();
});

test("adapters save as PEFT files, load back, and merge", () => {
  const model = loadModel(FIXTURE);
  const lm = injectLora(model, { r: 2, lora_alpha: 16, target_modules: ["q_proj", "o_proj"] }, 1);
  for (const l of lm.layers.values())
    l.bT.assign(tf.randomNormal(l.bT.shape, 0, 0.1, "float32", 9));
  const ids = [4, 8, 15, 16, 23, 42];
  const adapted = sequenceLogprobs(model, ids);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-adapter-"));
  saveAdapter(dir, lm, "tiny-base");

  const cfg = JSON.parse(fs.readFileSync(path.join(dir, "adapter_config.json"), "utf8"));
  assert.equal(cfg.peft_type, "LORA");
  assert.equal(cfg.task_type, "CAUSAL_LM");
  assert.equal(cfg.base_model_name_or_path, "tiny-base");
  assert.deepEqual(cfg.target_modules, ["o_proj", "q_proj"]);
  assert.equal(cfg.r, 2);
  assert.equal(cfg.lora_alpha, 16);
  const { tensors } = readSafetensorsFile(path.join(dir, "adapter_model.safetensors"));
  assert.deepEqual([...tensors.keys()].sort(), [
    "base_model.model.model.layers.0.self_attn.o_proj.lora_A.weight",
    "base_model.model.model.layers.0.self_attn.o_proj.lora_B.weight",
    "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight",
    "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight",
    "base_model.model.model.layers.1.self_attn.o_proj.lora_A.weight",
    "base_model.model.model.layers.1.self_attn.o_proj.lora_B.weight",
    "base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight",
    "base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight",
  ]);
  assert.deepEqual(
    tensors.get("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight")!.shape,
    [2, 32],
  );
  assert.deepEqual(
    tensors.get("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight")!.shape,
    [32, 2],
  );

  const fresh = loadModel(FIXTURE);
  loadAdapter(dir, fresh);
  sequenceLogprobs(fresh, ids).forEach((v, i) => assert.ok(Math.abs(v - adapted[i]) < 1e-5));
  const merged = mergeAndUnload(lm);
  sequenceLogprobs(merged, ids).forEach((v, i) => assert.ok(Math.abs(v - adapted[i]) < 1e-4));
  fs.rmSync(dir, { recursive: true });
});
