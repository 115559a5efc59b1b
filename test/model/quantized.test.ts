import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import * as fs from "node:fs";
import * as os from "node:os";
import { initBackend } from "../../src/backend/backend";
import { loadModel } from "../../src/model/checkpoint";
import { sequenceLogprobs } from "../../src/model/inference";
import { quantizeModelDir } from "../../src/model/quantize_dir";
import { readSafetensorsFile } from "../../src/safetensors/safetensors";
import { baseMemory } from "../../src/model/memory";
import { readLlamaConfig } from "../../src/model/config";

const FIXTURE = path.join(__dirname, "..", "fixtures", "llama", "gqa-untied-scaled");

before(async () => {
  await initBackend();
});

for (const doubleQuant of [false, true]) {
  test(`quantize writes bitsandbytes' layout and loads back (double quant ${doubleQuant})`, () => {
    const expected = JSON.parse(fs.readFileSync(path.join(FIXTURE, "expected.json"), "utf8"));
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-q-"));
    quantizeModelDir(FIXTURE, out, { blocksize: 64, doubleQuant });
    const { tensors } = readSafetensorsFile(path.join(out, "model.safetensors"));
    const q = "model.layers.0.self_attn.q_proj.weight";
    const keys = [...tensors.keys()].filter((k) => k.startsWith(q)).sort();
    const nested = doubleQuant ? [`${q}.nested_absmax`, `${q}.nested_quant_map`] : [];
    assert.deepEqual(
      keys,
      [q, `${q}.absmax`, ...nested, `${q}.quant_map`, `${q}.quant_state.bitsandbytes__nf4`].sort(),
    );
    // q_proj is 32x32 = 1024 values: 512 packed bytes as [512, 1]; 16 blocks of 64.
    assert.deepEqual(tensors.get(q)!.shape, [512, 1]);
    assert.equal(tensors.get(q)!.dtype, "U8");
    assert.deepEqual(tensors.get(`${q}.absmax`)!.shape, [16]);
    assert.equal(tensors.get(`${q}.absmax`)!.dtype, doubleQuant ? "U8" : "F32");
    // lm_head, embeddings and norms stay float.
    assert.equal(tensors.get("lm_head.weight")!.dtype, "F32");
    assert.equal(tensors.get("model.norm.weight")!.dtype, "F32");
    const cfg = JSON.parse(fs.readFileSync(path.join(out, "config.json"), "utf8"));
    assert.equal(cfg.quantization_config.quant_method, "bitsandbytes");
    assert.equal(cfg.quantization_config.bnb_4bit_quant_type, "nf4");
    assert.equal(cfg.quantization_config.bnb_4bit_use_double_quant, doubleQuant);
    assert.equal(cfg.quantization_config.load_in_4bit, true);

    // Reloaded 4-bit model == the same weights quantized at load time; close to the float model.
    const fromDisk = loadModel(out);
    const atLoad = loadModel(FIXTURE, { quant: "nf4", doubleQuant });
    const a = sequenceLogprobs(fromDisk, expected.ids);
    const b = sequenceLogprobs(atLoad, expected.ids);
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-5, `position ${i}`));
    const meanErr = a.reduce((s, v, i) => s + Math.abs(v - expected.logprobs[i]), 0) / a.length;
    assert.ok(meanErr < 1.0, `NF4 moves log-probs by ${meanErr} on average`);
    assert.ok(meanErr > 0, "NF4 must change the weights a little");
    fromDisk.dispose();
    atLoad.dispose();
    fs.rmSync(out, { recursive: true });
  });
}

test("memory report: NF4 sizes by hand for the fixture", () => {
  const m = baseMemory(readLlamaConfig(FIXTURE), 64);
  // Linear params per layer: q 32*32 + k 16*32 + v 16*32 + o 32*32 + gate/up 40*32*2 + down 32*40
  // = 1024 + 512 + 512 + 1024 + 2560 + 1280 = 6912.
  assert.equal(m.linearParameters, 2 * 6912);
  // Other params: embed 48*32 + lm_head 48*32 + norms 32*5 = 3232 (float32: 12928 bytes).
  assert.equal(m.parameters, 2 * 6912 + 3232);
  // NF4 per layer: codes 6912/2 = 3456 bytes; blocks: q 16, k 8, v 8, o 16, gate 20, up 20, down 20 = 108 -> 432 bytes.
  assert.equal(m.nf4, 12928 + 2 * (3456 + 432));
});
