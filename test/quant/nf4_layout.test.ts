/**
 * The element order of NF4 weights: bitsandbytes quantizes the row-major flattening of a weight
 * [out, in] (W[r][c] is element r * in + c) and packs two codes per byte with the first element in
 * the high nibble. A round trip cannot see a writer and loader that agree on another order, so the
 * bytes here are worked by hand.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../src/backend/backend";
import { quantizeNf4 } from "../../src/quant/nf4";
import { BNB_STATE_SUFFIX, toBnbTensors } from "../../src/quant/bnb_state";
import { quantizedLinear, quantizedLinearFromBnb } from "../../src/model/quantized";
import { quantizeModelDir } from "../../src/model/quantize_dir";
import { readSafetensorsFile, type TensorEntry } from "../../src/safetensors/safetensors";
import { loadCheckpointTensors, saveCheckpointTensors } from "../../src/safetensors/checkpoint";

const f = Math.fround;
const PREFIX = "model.layers.0.self_attn.q_proj";

before(async () => {
  await initBackend();
});

// W [out=2, in=4], absmax 1 (one partial block of 8 at blocksize 64), so scaled = x exactly
// (0.15 is 0.150000006 in float32):
//   W = [[ 1,  0.5, -0.25, 0   ],
//        [-1,  0.25, -0.5, 0.15]]
// nearest NF4 codes: 1 -> 15; 0.5 -> 12 (0.44071, |d| 0.0593; 13 at 0.56262 is 0.0626);
// -0.25 -> 4 (-0.28444, 0.0344; 5 at -0.18477 is 0.0652); 0 -> 7; -1 -> 0; 0.25 -> 10 (0.24611);
// -0.5 -> 2 (-0.52507, 0.0251); 0.15 -> 9 (0.16093, 0.0109; 8 at 0.07958 is 0.0704).
// Row-major codes 15 12 4 7 | 0 10 2 9, high nibble first -> bytes FC 47 0A 29.
// (Column-major would be 15 0 12 10 4 2 7 9 -> F0 CA 42 79; low nibble first CF 74 A0 92.)
const W = [
  [1, 0.5, -0.25, 0],
  [-1, 0.25, -0.5, 0.15],
];
const W_BYTES = [0xfc, 0x47, 0x0a, 0x29];
// Dequantized: code value * absmax 1, in float32.
const W_DEQUANT = [
  [1, f(0.44070982933044434), f(-0.28444138169288635), 0],
  [-1, f(0.24611230194568634), f(-0.5250730514526367), f(0.16093020141124725)],
];

function rowMajor(rows: number[][]): Float32Array {
  return Float32Array.from(rows.flat());
}

function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

test("quantizer and serialized-state writer: a 2x4 weight packs row-major, high nibble first", () => {
  const quant = quantizeNf4(rowMajor(W), 64);
  assert.deepEqual(Array.from(quant.absmax), [1]);
  assert.deepEqual(Array.from(quant.packed), W_BYTES);

  const layer = quantizedLinear(rowMajor(W), 2, 4, { blocksize: 64, doubleQuant: false });
  assert.deepEqual(Array.from(layer.state.packed), W_BYTES);

  const t = toBnbTensors(PREFIX, { shape: [2, 4], dtype: "float32", quant });
  assert.deepEqual(t[`${PREFIX}.weight`].shape, [4, 1]);
  assert.deepEqual(Array.from(t[`${PREFIX}.weight`].data), W_BYTES);
  layer.dispose();
});

test("loader: hand-written bitsandbytes tensors of a 2x4 weight give W[r][c] at row r, column c", () => {
  const json = '{"quant_type": "nf4", "blocksize": 64, "dtype": "float32", "shape": [2, 4]}';
  const tensors = new Map<string, TensorEntry>([
    [`${PREFIX}.weight`, { dtype: "U8", shape: [4, 1], data: Uint8Array.from(W_BYTES) }],
    [`${PREFIX}.weight.absmax`, { dtype: "F32", shape: [1], data: f32Bytes([1]) }],
    [
      `${PREFIX}.weight.quant_map`,
      {
        dtype: "F32",
        shape: [16],
        data: f32Bytes([
          -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
          -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
          0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
          0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
        ]),
      },
    ],
    [
      PREFIX + BNB_STATE_SUFFIX,
      { dtype: "U8", shape: [json.length], data: new TextEncoder().encode(json) },
    ],
  ]);
  const layer = quantizedLinearFromBnb(PREFIX, tensors, 2, 4, "hand-written");
  const w = layer.weight();
  assert.deepEqual(w.shape, [2, 4]);
  assert.deepEqual(w.arraySync(), W_DEQUANT);
  // y = x W^T: with x = the 4x4 identity, row j of y is column j of W.
  const y = tf.tidy(() => layer.apply(tf.eye(4) as tf.Tensor2D));
  assert.deepEqual(
    y.arraySync(),
    [0, 1, 2, 3].map((c) => [W_DEQUANT[0][c], W_DEQUANT[1][c]]),
  );
  tf.dispose([w, y]);
  layer.dispose();
});

test("narrator quantize writes q_proj [32, 32] row-major: W[r][c] = p[c % 8] packs as p's bytes", () => {
  // p = [2, -2, 0, 0.5, -0.5, 1, -1, 0.3]: every block of 64 row-major values is p eight times,
  // absmax 2, scaled p/2 = [1, -1, 0, 0.25, -0.25, 0.5, -0.5, 0.15] -> codes 15 0 7 10 4 12 2 9
  // -> bytes F0 7A 4C 29, 128 times. (Column-major, each block would hold two constant columns.)
  const fixture = path.join(__dirname, "..", "fixtures", "llama", "gqa-untied-scaled");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-nf4-layout-"));
  try {
    const src = path.join(dir, "float");
    const out = path.join(dir, "nf4");
    const tensors = loadCheckpointTensors(fixture);
    const p = [2, -2, 0, 0.5, -0.5, 1, -1, 0.3];
    const values = Array.from({ length: 32 * 32 }, (_, k) => p[(k % 32) % 8]);
    tensors.set(`${PREFIX}.weight`, { dtype: "F32", shape: [32, 32], data: f32Bytes(values) });
    saveCheckpointTensors(src, tensors);
    fs.copyFileSync(path.join(fixture, "config.json"), path.join(src, "config.json"));
    quantizeModelDir(src, out, { blocksize: 64, doubleQuant: false });
    const written = readSafetensorsFile(path.join(out, "model.safetensors")).tensors;
    const packed = written.get(`${PREFIX}.weight`)!;
    assert.deepEqual(packed.shape, [512, 1]);
    assert.deepEqual(Array.from(packed.data), Array(128).fill([0xf0, 0x7a, 0x4c, 0x29]).flat());
    const absmax = new Float32Array(written.get(`${PREFIX}.weight.absmax`)!.data.slice().buffer);
    assert.deepEqual(Array.from(absmax), Array(16).fill(2));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
