/**
 * Loading tensor by tensor and keeping weights off the heap change where memory goes, never the
 * numbers: NF4 bytes equal the in-memory quantizer's, off-heap tables give the PyTorch
 * reference's log-probabilities, and gradients through re-dequantized and tiled weights equal
 * those through kept float weights.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../src/backend/backend";
import { loadModel } from "../../src/model/checkpoint";
import { LINEAR_MODULES, parentOf } from "../../src/model/config";
import { presetConfig } from "../../src/model/presets";
import { writeRandomCheckpoint } from "../../src/model/random_checkpoint";
import { FrozenQuantLinear } from "../../src/model/quantized";
import { FrozenTable, TableHead } from "../../src/model/frozen_table";
import { FrozenFloatLinear } from "../../src/model/linear";
import { sequenceLogprobs } from "../../src/model/inference";
import { quantizeModelDir } from "../../src/model/quantize_dir";
import { loadCheckpointTensors } from "../../src/safetensors/checkpoint";
import { fromFloat32, toFloat32 } from "../../src/safetensors/float16";
import { quantizeNf4 } from "../../src/quant/nf4";
import { quantizeNf4Double } from "../../src/quant/double_quant";
import { Rng } from "../../src/util/rng";

const FIXTURES = path.join(__dirname, "..", "fixtures", "llama");

before(async () => {
  await initBackend();
});

for (const doubleQuant of [false, true]) {
  test(`stream-loaded NF4 weights are the in-memory quantizer's bytes (sharded bf16, double quant ${doubleQuant})`, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-stream-"));
    const config = presetConfig("narrator-2m", { num_hidden_layers: 2 });
    writeRandomCheckpoint(dir, config, { seed: 4, shards: 3, dtype: "BF16" });
    const whole = loadCheckpointTensors(dir);
    const model = loadModel(dir, { quant: "nf4", doubleQuant });
    model.weights.layers.forEach((layer, i) => {
      for (const m of LINEAR_MODULES) {
        const name = `model.layers.${i}.${parentOf(m)}.${m}.weight`;
        const values = toFloat32(whole.get(name)!);
        const want = doubleQuant ? quantizeNf4Double(values, 64) : quantizeNf4(values, 64);
        const got = (layer.proj[m] as FrozenQuantLinear).state;
        assert.ok(Buffer.from(got.packed).equals(Buffer.from(want.packed)), `${name} codes`);
        assert.ok(
          Buffer.from(got.absmax.buffer, got.absmax.byteOffset, got.absmax.byteLength).equals(
            Buffer.from(want.absmax.buffer, want.absmax.byteOffset, want.absmax.byteLength),
          ),
          `${name} absmax`,
        );
      }
    });
    model.dispose();
    fs.rmSync(dir, { recursive: true });
  });
}

test("quantize streams a sharded checkpoint into shards that load back as the same 4-bit model", () => {
  const src = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-stream-"));
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-stream-"));
  const config = presetConfig("narrator-2m", { num_hidden_layers: 2, tie_word_embeddings: false });
  writeRandomCheckpoint(src, config, { seed: 6, shards: 2, dtype: "BF16" });
  quantizeModelDir(src, out, { blocksize: 64, doubleQuant: true, maxShardBytes: 1_500_000 });
  const index = JSON.parse(fs.readFileSync(path.join(out, "model.safetensors.index.json"), "utf8"));
  // Embeddings and head (2 MiB each in bf16) exceed the limit: shards of their own, then the rest.
  assert.deepEqual([...new Set(Object.values(index.weight_map))].sort(), [
    "model-00001-of-00003.safetensors",
    "model-00002-of-00003.safetensors",
    "model-00003-of-00003.safetensors",
  ]);
  const fromDisk = loadModel(out);
  const atLoad = loadModel(src, { quant: "nf4", doubleQuant: true });
  fromDisk.weights.layers.forEach((layer, i) => {
    for (const m of LINEAR_MODULES) {
      const a = (layer.proj[m] as FrozenQuantLinear).weight();
      const b = (atLoad.weights.layers[i].proj[m] as FrozenQuantLinear).weight();
      assert.deepEqual(a.dataSync(), b.dataSync(), `layer ${i} ${m}`);
      a.dispose();
      b.dispose();
    }
  });
  fromDisk.dispose();
  atLoad.dispose();
  fs.rmSync(src, { recursive: true });
  fs.rmSync(out, { recursive: true });
});

for (const name of ["gqa-untied-scaled", "mha-tied"]) {
  test(`off-heap tables give the PyTorch reference log-probabilities (${name})`, () => {
    const dir = path.join(FIXTURES, name);
    const expected = JSON.parse(fs.readFileSync(path.join(dir, "expected.json"), "utf8"));
    const model = loadModel(dir, { tablesOffHeap: true });
    assert.ok(model.weights.embed instanceof FrozenTable);
    const got = sequenceLogprobs(model, expected.ids);
    got.forEach((v, i) =>
      assert.ok(Math.abs(v - expected.logprobs[i]) < 2e-4, `${i}: ${v} vs ${expected.logprobs[i]}`),
    );
    // With a 4-bit base: the same numbers as the 4-bit base with its tables on the heap.
    const offHeap = loadModel(dir, { quant: "nf4", tablesOffHeap: true });
    const onHeap = loadModel(dir, { quant: "nf4", tablesOffHeap: false });
    const a = sequenceLogprobs(offHeap, expected.ids);
    const b = sequenceLogprobs(onHeap, expected.ids);
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-5, `nf4 ${i}: ${v} vs ${b[i]}`));
    for (const m of [model, offHeap, onHeap]) m.dispose();
  });
}

/** Sum of |a - b| over sum of |b|. */
function relativeError(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(
    () => tf.sum(tf.abs(tf.sub(a, b))).dataSync()[0] / tf.sum(tf.abs(b)).dataSync()[0],
  );
}

/** d/dx of sum(f(x) * r) for a fixed random r. */
function gradOf(f: (x: tf.Tensor2D) => tf.Tensor2D, x: tf.Tensor2D, r: tf.Tensor2D): tf.Tensor {
  return tf.grad((input: tf.Tensor) => tf.sum(tf.mul(f(input as tf.Tensor2D), r)))(x);
}

function randomMatrix(rng: Rng, rows: number, cols: number): Float32Array {
  return Float32Array.from({ length: rows * cols }, () => rng.normal());
}

test("gradients through a re-dequantized NF4 weight equal those through the kept weight", () => {
  const rng = new Rng(11);
  const [out, inF, n] = [48, 40, 6];
  const state = quantizeNf4(randomMatrix(rng, out, inF), 64);
  const streamed = new FrozenQuantLinear(out, inF, state, "stream");
  const cached = new FrozenQuantLinear(out, inF, state, "cache");
  const x = tf.tensor2d(randomMatrix(rng, n, inF), [n, inF]);
  const r = tf.tensor2d(randomMatrix(rng, n, out), [n, out]);
  assert.ok(relativeError(streamed.apply(x), cached.apply(x)) < 1e-6);
  assert.ok(
    relativeError(
      gradOf((v) => streamed.apply(v), x, r),
      gradOf((v) => cached.apply(v), x, r),
    ) < 1e-5,
  );
  // The streamed layer holds nothing on the heap between uses; the cached one keeps W and W^T.
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    gradOf((v) => streamed.apply(v), x, r);
  });
  assert.equal(tf.memory().numTensors, before);
  cached.dispose();
});

test("a head over a bf16 table, tile by tile, equals a float head in value and gradient", () => {
  const rng = new Rng(12);
  const [vocab, d, n] = [37, 16, 5];
  const table = fromFloat32(randomMatrix(rng, vocab, d), "BF16", [vocab, d]);
  // 10 rows per tile: tiles of 10, 10, 10 and 7 rows.
  const head = new TableHead(new FrozenTable(table, "test", 10 * d));
  assert.deepEqual(head.table.tiles(), [0, 10, 20, 30]);
  const float = new FrozenFloatLinear(toFloat32(table), vocab, d);
  const x = tf.tensor2d(randomMatrix(rng, n, d), [n, d]);
  const r = tf.tensor2d(randomMatrix(rng, n, vocab), [n, vocab]);
  assert.ok(relativeError(head.apply(x), float.apply(x)) < 1e-6);
  assert.ok(
    relativeError(
      gradOf((v) => head.apply(v), x, r),
      gradOf((v) => float.apply(v), x, r),
    ) < 1e-5,
  );
  // Embedding rows: widened bf16 values exactly.
  const rows = head.table.gather([3, 0, 36, 3]).arraySync();
  const want = toFloat32(table);
  [3, 0, 36, 3].forEach((id, i) =>
    assert.deepEqual(rows[i], Array.from(want.subarray(id * d, (id + 1) * d))),
  );
  assert.throws(() => head.table.gather([37]), /token id 37 is outside the table's 37 rows/);
  float.dispose();
});
