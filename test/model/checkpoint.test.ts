import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import * as fs from "node:fs";
import * as os from "node:os";
import { initBackend } from "../../src/backend/backend";
import { adapterTensors, injectLora, loadAdapter, saveAdapter } from "../../src/lora/model";
import { loadModel } from "../../src/model/checkpoint";
import { quantizeModelDir } from "../../src/model/quantize_dir";
import { writeSafetensorsFile, type TensorEntry } from "../../src/safetensors/safetensors";
import { loadCheckpointTensors, saveCheckpointTensors } from "../../src/safetensors/checkpoint";
import { fromFloat32, toFloat32 } from "../../src/safetensors/float16";

// Fixtures written by test/reference/llama_reference.py: two decoder layers each, F32.
const FIXTURES = path.join(__dirname, "..", "fixtures", "llama");
const UNTIED = path.join(FIXTURES, "gqa-untied-scaled");
const TIED = path.join(FIXTURES, "mha-tied");
const root = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-checkpoint-"));

before(async () => {
  await initBackend();
});
after(() => fs.rmSync(root, { recursive: true, force: true }));

let dirs = 0;
/**
 * A copy of a fixture with its tensors changed by `edit` and its config.json fields overridden;
 * written as shards of at most `maxShardBytes` when given.
 */
function variant(
  fixture: string,
  edit: (tensors: Map<string, TensorEntry>) => void,
  config: Record<string, unknown> = {},
  maxShardBytes?: number,
): string {
  const dir = path.join(root, `v${dirs++}`);
  fs.mkdirSync(dir);
  const tensors = loadCheckpointTensors(fixture);
  edit(tensors);
  saveCheckpointTensors(dir, tensors, { maxShardBytes });
  const base = JSON.parse(fs.readFileSync(path.join(fixture, "config.json"), "utf8"));
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify({ ...base, ...config }));
  return dir;
}

/** Set element `index` of a float tensor to `value`, keeping its dtype (converted first when `dtype` is given). */
function poke(
  tensors: Map<string, TensorEntry>,
  name: string,
  index: number,
  value: number,
  dtype?: "F32" | "F16" | "BF16",
): void {
  const t = tensors.get(name)!;
  const values = toFloat32(t);
  values[index] = value;
  tensors.set(name, fromFloat32(values, dtype ?? (t.dtype as "F32"), t.shape));
}

const Q0 = "model.layers.0.self_attn.q_proj.weight";

test("a NaN or infinity in a F32, F16 or BF16 weight is refused at load, naming file and tensor", () => {
  const cases: ["F32" | "F16" | "BF16", number, string][] = [
    ["F32", NaN, "NaN"],
    ["F16", Infinity, "Infinity"],
    ["BF16", -Infinity, "-Infinity"],
  ];
  for (const [dtype, value, shown] of cases) {
    const dir = variant(UNTIED, (t) =>
      poke(t, "model.layers.1.mlp.down_proj.weight", 7, value, dtype),
    );
    for (const quant of ["none", "nf4"] as const) {
      assert.throws(
        () => loadModel(dir, { quant }),
        new RegExp(
          `${dir}/model\\.safetensors: tensor "model\\.layers\\.1\\.mlp\\.down_proj\\.weight" holds ${shown} at element 7 of ${dtype} \\[32, 40\\]`,
        ),
        `${dtype} ${quant}`,
      );
    }
  }
});

test("a 4-bit directory whose absmax or nested absmax is not finite is refused, naming it", () => {
  for (const doubleQuant of [false, true]) {
    const q = path.join(root, `q${doubleQuant}`);
    quantizeModelDir(UNTIED, q, { blocksize: 64, doubleQuant });
    loadModel(q).dispose();
    const stat = doubleQuant ? `${Q0}.nested_absmax` : `${Q0}.absmax`;
    const dir = variant(q, (t) => poke(t, stat, 0, NaN));
    assert.throws(
      () => loadModel(dir),
      new RegExp(
        `model\\.safetensors: tensor "${stat.replace(/\./g, "\\.")}" holds NaN at element 0`,
      ),
    );
  }
});

test("score refuses to print non-finite log-probabilities", () => {
  // Finite weights whose product overflows float32: the final norm scales hidden states to ~3e38.
  const dir = variant(UNTIED, (t) => {
    const d = t.get("model.norm.weight")!.shape[0];
    t.set("model.norm.weight", fromFloat32(new Float32Array(d).fill(3e38), "F32", [d]));
  });
  const cli = (model: string) =>
    spawnSync(process.execPath, ["bin/narrator.js", "score", "--model", model, "--ids", "3,17,9"], {
      encoding: "utf8",
    });
  const fine = cli(UNTIED);
  assert.equal(fine.status, 0, fine.stderr);
  assert.equal(JSON.parse(fine.stdout).logprobs.length, 2);
  const r = cli(dir);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, "");
  assert.match(
    r.stderr,
    /log-probability of token 1 \(id 17\) is (NaN|-Infinity); the model gives non-finite numbers/,
  );
});

test("tensors the config does not use are an error naming them and the config field", () => {
  // Two layers in the checkpoint, one in config.json: layer 1 would be dropped silently.
  for (const maxShardBytes of [undefined, 4096]) {
    const dir = variant(UNTIED, () => undefined, { num_hidden_layers: 1 }, maxShardBytes);
    if (maxShardBytes) assert.ok(fs.existsSync(path.join(dir, "model.safetensors.index.json")));
    assert.throws(
      () => loadModel(dir),
      new RegExp(
        `^Error: ${dir}: model\\.layers\\.1\\.\\* present but config\\.json num_hidden_layers is 1$`,
      ),
    );
    assert.throws(
      () => quantizeModelDir(dir, path.join(root, "never"), { blocksize: 64, doubleQuant: false }),
      /num_hidden_layers is 1/,
    );
    assert.equal(fs.existsSync(path.join(root, "never")), false);
  }
  // The same for a 4-bit directory.
  const q = path.join(root, "q-layers");
  quantizeModelDir(UNTIED, q, { blocksize: 64, doubleQuant: true });
  const cfg = JSON.parse(fs.readFileSync(path.join(q, "config.json"), "utf8"));
  fs.writeFileSync(path.join(q, "config.json"), JSON.stringify({ ...cfg, num_hidden_layers: 1 }));
  assert.throws(
    () => loadModel(q),
    /model\.layers\.1\.\* present but config\.json num_hidden_layers is 1/,
  );

  // An untied head under tied embeddings, and names no Llama has.
  const untiedHead = variant(UNTIED, () => undefined, { tie_word_embeddings: true });
  assert.throws(
    () => loadModel(untiedHead),
    /lm_head\.weight present \(not a copy of model\.embed_tokens\.weight\) but config\.json tie_word_embeddings is true/,
  );
  const stray = variant(TIED, (t) => {
    t.set("model.layers.0.mlp.extra.weight", t.get("model.norm.weight")!);
    t.set("model.layers.7.input_layernorm.weight", t.get("model.norm.weight")!);
  });
  assert.throws(
    () => loadModel(stray),
    /model\.layers\.7\.\* present but config\.json num_hidden_layers is 2; tensors that no part of the model config\.json describes uses: model\.layers\.0\.mlp\.extra\.weight$/,
  );
});

test("what older checkpoints carry loads: RoPE buffers, a tied head saved as a copy; missing tensors stay errors", () => {
  const extras = variant(TIED, (t) => {
    t.set("lm_head.weight", t.get("model.embed_tokens.weight")!);
    t.set(
      "model.layers.1.self_attn.rotary_emb.inv_freq",
      fromFloat32(new Float32Array(4).fill(1), "F32", [4]),
    );
  });
  loadModel(extras).dispose();
  const missing = variant(UNTIED, (t) =>
    t.delete("model.layers.1.post_attention_layernorm.weight"),
  );
  assert.throws(
    () => loadModel(missing),
    /missing tensor model\.layers\.1\.post_attention_layernorm\.weight/,
  );
  // A layer more in config.json than in the checkpoint.
  const short = variant(UNTIED, () => undefined, { num_hidden_layers: 3 });
  assert.throws(() => loadModel(short), /missing tensor model\.layers\.2\./);
});

test("an adapter with a non-finite weight is refused, naming file and tensor", () => {
  const lm = injectLora(loadModel(UNTIED), { r: 2, target_modules: ["q_proj"] }, 1);
  const dir = path.join(root, "adapter");
  saveAdapter(dir, lm);
  const key = "base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight";
  const tensors = adapterTensors(lm);
  poke(tensors, key, 5, NaN);
  writeSafetensorsFile(path.join(dir, "adapter_model.safetensors"), tensors);
  assert.throws(
    () => loadAdapter(dir, loadModel(UNTIED)),
    new RegExp(
      `adapter_model\\.safetensors: tensor "${key.replace(/\./g, "\\.")}" holds NaN at element 5`,
    ),
  );
});
