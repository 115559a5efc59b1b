/**
 * PEFT's adapter layout with r > 1 and in != out != r, where a transposed lora_A or lora_B cannot
 * hide: lora_A is [r, in] and lora_B [out, r], both row-major, checked element by element against
 * hand-written values in both directions (save, and load of a hand-written file).
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../src/backend/backend";
import { FrozenFloatLinear } from "../../src/model/linear";
import { LoraLinear } from "../../src/lora/layer";
import { injectLora, loadAdapter, saveAdapter } from "../../src/lora/model";
import { loadModel } from "../../src/model/checkpoint";
import { readSafetensorsFile } from "../../src/safetensors/safetensors";
import { Rng } from "../../src/util/rng";

// hidden 32, 2 KV heads of 16: k_proj is [out 16, in 32].
const FIXTURE = path.join(__dirname, "..", "fixtures", "llama", "gqa-untied-scaled");
const K_PROJ = "model.layers.0.self_attn.k_proj";
const KEY_A = `base_model.model.${K_PROJ}.lora_A.weight`;
const KEY_B = `base_model.model.${K_PROJ}.lora_B.weight`;
const R = 2;
const IN = 32;
const OUT = 16;

before(async () => {
  await initBackend();
});

/** Hand-written A [2, 32]: A[k][i] = 100 k + i. */
const A_ROWS = [0, 1].map((k) => Array.from({ length: IN }, (_, i) => 100 * k + i));
/** Hand-written B [16, 2]: B[o][k] = 10 o + k. */
const B_ROWS = Array.from({ length: OUT }, (_, o) => [10 * o, 10 * o + 1]);

function floats(t: { data: Uint8Array }): number[] {
  const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return Array.from({ length: t.data.byteLength / 4 }, (_, i) => view.getFloat32(4 * i, true));
}

test("LoRA layer with r = 2, in 4, out 3: output, merged weight and PEFT weights by hand", () => {
  // W [3, 4] = [[1,0,0,0],[0,1,0,0],[0,0,1,1]], A [2, 4] = [[1,0,-1,0],[0,2,0,1]],
  // B [3, 2] = [[1,0],[0,1],[2,-1]], alpha 4 -> s = 4 / 2 = 2; x = [1, 2, 3, 4]:
  // W x = [1, 2, 7]; A x = [1 - 3, 4 + 4] = [-2, 8]; B A x = [-2, 8, -4 - 8] = [-2, 8, -12];
  // y = W x + 2 B A x = [-3, 18, -17].
  // B A = [A0, A1, 2 A0 - A1] = [[1,0,-1,0],[0,2,0,1],[2,-2,-2,-1]];
  // W + 2 B A = [[3,0,-2,0],[0,5,0,2],[4,-4,-3,-1]].
  const base = new FrozenFloatLinear(Float32Array.from([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1]), 3, 4);
  const a = Float32Array.from([1, 0, -1, 0, 0, 2, 0, 1]);
  const b = Float32Array.from([1, 0, 0, 1, 2, -1]);
  const lora = new LoraLinear(base, 2, 2, a, b, 0, new Rng(1));
  const y = tf.tidy(() => lora.apply(tf.tensor2d([1, 2, 3, 4], [1, 4])).arraySync());
  assert.deepEqual(y, [[-3, 18, -17]]);
  const w = lora.weight();
  assert.deepEqual(w.arraySync(), [
    [3, 0, -2, 0],
    [0, 5, 0, 2],
    [4, -4, -3, -1],
  ]);
  const peft = lora.peftWeights();
  assert.deepEqual(Array.from(peft.a), [1, 0, -1, 0, 0, 2, 0, 1]);
  assert.deepEqual(Array.from(peft.b), [1, 0, 0, 1, 2, -1]);
  w.dispose();
  lora.dispose();
  base.dispose();
});

test("saved adapter: lora_A is [r, in] = [2, 32] and lora_B [out, r] = [16, 2], row-major", () => {
  const model = loadModel(FIXTURE);
  const lm = injectLora(model, { r: R, lora_alpha: 4, target_modules: ["k_proj"] }, 3);
  const layer = lm.layers.get(K_PROJ)!;
  // The layer holds A^T [32, 2] and B^T [2, 16]: written here element by element from A and B.
  layer.aT.assign(
    tf.tensor2d(
      Array.from({ length: IN }, (_, i) => [A_ROWS[0][i], A_ROWS[1][i]]),
      [IN, R],
    ),
  );
  layer.bT.assign(
    tf.tensor2d(
      [0, 1].map((k) => B_ROWS.map((row) => row[k])),
      [R, OUT],
    ),
  );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-peft-layout-"));
  try {
    saveAdapter(dir, lm, "tiny-base");
    const { tensors } = readSafetensorsFile(path.join(dir, "adapter_model.safetensors"));
    const a = tensors.get(KEY_A)!;
    assert.equal(a.dtype, "F32");
    assert.deepEqual(a.shape, [2, 32]);
    // Row-major [r, in]: 0, 1, ..., 31, 100, 101, ..., 131.
    assert.deepEqual(floats(a), A_ROWS.flat());
    const b = tensors.get(KEY_B)!;
    assert.equal(b.dtype, "F32");
    assert.deepEqual(b.shape, [16, 2]);
    // Row-major [out, r]: 0, 1, 10, 11, 20, 21, ..., 150, 151.
    assert.deepEqual(floats(b), B_ROWS.flat());
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    model.dispose();
  }
});

/** A safetensors file written byte by byte: u64 LE header length, JSON header, F32 LE data. */
function handWrittenSafetensors(tensors: [string, number[], number[]][]): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
  let offset = 0;
  for (const [name, shape, values] of tensors) {
    header[name] = { dtype: "F32", shape, data_offsets: [offset, offset + 4 * values.length] };
    offset += 4 * values.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, json.length, true); // high 32 bits of the u64 stay 0
  out.set(json, 8);
  let at = 8 + json.length;
  for (const [, , values] of tensors) {
    for (const v of values) {
      view.setFloat32(at, v, true);
      at += 4;
    }
  }
  return out;
}

test("loading a hand-written PEFT adapter (r = 2) gives the hand-computed k_proj update", () => {
  // A [2, 32]: row 0 = e_0 + 2 e_3, row 1 = e_1 - e_31; B [16, 2]: B[o] = [o, 1]; alpha 4 -> s = 2.
  // x = 1 e_0 + 2 e_1 + 3 e_3 + 4 e_31: A x = [1 + 6, 2 - 4] = [7, -2]; (B A x)[o] = 7 o - 2;
  // y - W x = 2 (7 o - 2) = 14 o - 4.
  const a = new Array<number>(R * IN).fill(0);
  a[0] = 1;
  a[3] = 2;
  a[IN + 1] = 1;
  a[IN + 31] = -1;
  const b = Array.from({ length: OUT }, (_, o) => [o, 1]).flat();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-peft-hand-"));
  const model = loadModel(FIXTURE);
  try {
    fs.writeFileSync(
      path.join(dir, "adapter_config.json"),
      JSON.stringify({
        peft_type: "LORA",
        task_type: "CAUSAL_LM",
        base_model_name_or_path: null,
        r: 2,
        lora_alpha: 4,
        lora_dropout: 0.0,
        target_modules: ["k_proj"],
        bias: "none",
        fan_in_fan_out: false,
        use_rslora: false,
      }),
    );
    fs.writeFileSync(
      path.join(dir, "adapter_model.safetensors"),
      handWrittenSafetensors([
        [KEY_A.replace("model.layers.0", "model.layers.1"), [2, 32], new Array(64).fill(0)],
        [KEY_B.replace("model.layers.0", "model.layers.1"), [16, 2], new Array(32).fill(0)],
        [KEY_A, [2, 32], a],
        [KEY_B, [16, 2], b],
      ]),
    );
    const lm = loadAdapter(dir, model);
    const layer = lm.layers.get(K_PROJ)!;
    const x = new Array<number>(IN).fill(0);
    x[0] = 1;
    x[1] = 2;
    x[3] = 3;
    x[31] = 4;
    const [delta] = tf.tidy(() => {
      const xt = tf.tensor2d(x, [1, IN]);
      return tf.sub(layer.apply(xt), layer.base.apply(xt)).arraySync() as number[][];
    });
    assert.equal(delta.length, OUT);
    delta.forEach((v, o) =>
      assert.ok(
        Math.abs(v - (14 * o - 4)) < 1e-3,
        `k_proj output ${o}: ${v}, expected ${14 * o - 4}`,
      ),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    model.dispose();
  }
});
