import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { presetConfig } from "../../src/model/presets";
import { writeRandomCheckpoint } from "../../src/model/random_checkpoint";
import { initTensors } from "../../src/model/checkpoint";
import { splitEvenly } from "../../src/safetensors/checkpoint";
import { fromFloat32 } from "../../src/safetensors/float16";
import { CheckpointReader } from "../../src/safetensors/checkpoint";

/**
 * An independent reader: Python's json and struct parse the index and each shard's header,
 * derive the expected tensors from config.json alone (HF Llama names and shapes) and check
 * offsets, sizes, bf16 norms of exactly 1.0 and the spread of the random weights.
 */
const PY_CHECK = String.raw`
import json, math, os, struct, sys
d = sys.argv[1]
cfg = json.load(open(os.path.join(d, "config.json")))
h, L, V, f = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["vocab_size"], cfg["intermediate_size"]
hd = h // cfg["num_attention_heads"]
kv = cfg.get("num_key_value_heads") or cfg["num_attention_heads"]
expected = {"model.embed_tokens.weight": [V, h], "model.norm.weight": [h]}
if not cfg.get("tie_word_embeddings"):
    expected["lm_head.weight"] = [V, h]
for i in range(L):
    p = "model.layers.%d." % i
    expected[p + "input_layernorm.weight"] = [h]
    expected[p + "post_attention_layernorm.weight"] = [h]
    expected[p + "self_attn.q_proj.weight"] = [cfg["num_attention_heads"] * hd, h]
    expected[p + "self_attn.k_proj.weight"] = [kv * hd, h]
    expected[p + "self_attn.v_proj.weight"] = [kv * hd, h]
    expected[p + "self_attn.o_proj.weight"] = [h, cfg["num_attention_heads"] * hd]
    expected[p + "mlp.gate_proj.weight"] = [f, h]
    expected[p + "mlp.up_proj.weight"] = [f, h]
    expected[p + "mlp.down_proj.weight"] = [h, f]
index = json.load(open(os.path.join(d, "model.safetensors.index.json")))
files = sorted(set(index["weight_map"].values()))
seen, total, stats = {}, 0, {"n": 0, "s": 0.0, "s2": 0.0}
for fname in files:
    raw = open(os.path.join(d, fname), "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    assert header.pop("__metadata__") == {"format": "pt"}
    pos = 0
    for name, e in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
        assert e["dtype"] == "BF16", (name, e["dtype"])
        b, end = e["data_offsets"]
        assert b == pos, (name, b, pos)
        count = math.prod(e["shape"])
        assert end - b == 2 * count, name
        assert index["weight_map"][name] == fname, name
        vals = struct.unpack("<%dH" % count, raw[8 + n + b:8 + n + end])
        if name.endswith("norm.weight"):
            assert all(v == 0x3F80 for v in vals), name
        else:
            for v in vals[::7]:
                x = struct.unpack("<f", struct.pack("<I", v << 16))[0]
                stats["n"] += 1; stats["s"] += x; stats["s2"] += x * x
        seen[name] = e["shape"]
        pos = end
        total += end - b
    assert 8 + n + pos == len(raw), fname
assert seen == expected, set(seen) ^ set(expected)
assert index["metadata"]["total_size"] == total
mean = stats["s"] / stats["n"]
std = math.sqrt(stats["s2"] / stats["n"] - mean * mean)
print(json.dumps({"files": files, "tensors": len(seen), "mean": mean, "std": std}))
`;

test("model random writes a preset's exact shape, as an independent reader sees it", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-random-"));
  const config = presetConfig("narrator-2m", { tie_word_embeddings: false });
  writeRandomCheckpoint(dir, config, { seed: 3, shards: 3, dtype: "BF16" });
  const out = JSON.parse(
    execFileSync("/usr/bin/python3", ["-c", PY_CHECK, dir], { encoding: "utf8" }),
  );
  assert.deepEqual(out.files, [
    "model-00001-of-00003.safetensors",
    "model-00002-of-00003.safetensors",
    "model-00003-of-00003.safetensors",
  ]);
  // narrator-2m: embeddings, head, final norm + 4 layers x 9 tensors.
  assert.equal(out.tensors, 3 + 4 * 9);
  assert.ok(Math.abs(out.mean) < 1e-3, `mean ${out.mean}`);
  assert.ok(Math.abs(out.std - 0.02) < 5e-4, `std ${out.std} (initializer_range 0.02)`);
  fs.rmSync(dir, { recursive: true });
});

test("the same seed writes the same values however the checkpoint is sharded", () => {
  const config = presetConfig("narrator-2m");
  const one = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-random-"));
  const two = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-random-"));
  writeRandomCheckpoint(one, config, { seed: 9, shards: 1, dtype: "BF16" });
  writeRandomCheckpoint(two, config, { seed: 9, shards: 2, dtype: "BF16" });
  assert.ok(fs.existsSync(path.join(one, "model.safetensors")));
  assert.ok(!fs.existsSync(path.join(one, "model.safetensors.index.json")));
  const a = CheckpointReader.open(one);
  const b = CheckpointReader.open(two);
  // The in-memory initialisation, rounded to bf16, gives the same bytes.
  const init = initTensors(config, 9);
  assert.deepEqual(a.names().sort(), [...init.keys()].sort());
  for (const [name, t] of init) {
    const want = Buffer.from(
      fromFloat32(new Float32Array(t.data.slice().buffer), "BF16", t.shape).data,
    );
    assert.ok(Buffer.from(a.read(name).data).equals(want), name);
    assert.ok(Buffer.from(b.read(name).data).equals(want), name);
  }
  a.close();
  b.close();
  fs.rmSync(one, { recursive: true });
  fs.rmSync(two, { recursive: true });
});

test("splitEvenly: hand-worked cuts at each k/n of the bytes, every group non-empty", () => {
  const spec = (name: string, n: number) => ({ name, dtype: "U8" as const, shape: [n] });
  const specs = [spec("a", 10), spec("b", 10), spec("c", 60), spec("d", 10), spec("e", 10)];
  // Total 100, 3 groups: a+b = 20 < 33.3; +c = 80 >= 33.3 closes group 1; d = 90 >= 66.7 closes 2.
  const names = (n: number) => splitEvenly(specs, n).map((g) => g.map((t) => t.name).join(""));
  assert.deepEqual(names(3), ["abc", "d", "e"]);
  assert.deepEqual(names(1), ["abcde"]);
  // Five groups for five tensors: one each, even where the bytes alone would merge them.
  assert.deepEqual(names(5), ["a", "b", "c", "d", "e"]);
  assert.throws(() => splitEvenly(specs, 6), /cannot split 5 tensors into 6 shards/);
});
