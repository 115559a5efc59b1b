import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { initBackend } from "../../src/backend/backend";
import { TRAIN, writeCorpus } from "./corpus_fixture";
import { LANGS } from "../../src/data/langs";
import { initTensors, loadModel, modelTensors } from "../../src/model/checkpoint";
import { parseLlamaConfig } from "../../src/model/config";
import type { PretrainConfigInput } from "../../src/pretrain/config";
import { pretrain, type PretrainStepRecord } from "../../src/pretrain/pretrain";
import { shipCheckpoint, writeRandomFloor } from "../../src/pretrain/ship";
import { evaluateModel } from "../../src/train/evaluate";
import { writePythonData } from "../fixtures/data/rows";
import { toFloat32 } from "../../src/safetensors/float16";
import { BOS, EOS, SPECIAL_TOKENS } from "../../src/tokenizer/special";
import { Tokenizer } from "../../src/tokenizer/tokenizer";
import { trainByteLevelBpe } from "../../src/tokenizer/train";

let root: string;
let corpus: string;
let tokenizerFile: string;
let tiny: string;
let tok: Tokenizer;

before(async () => {
  await initBackend();
  root = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-pretrain-"));
  corpus = path.join(root, "data");
  writeCorpus(corpus, "hand-written-corpus-1");
  tok = trainByteLevelBpe(
    TRAIN.map(([, t]) => t),
    { vocabSize: 300, specialTokens: [...SPECIAL_TOKENS], bosToken: BOS },
  );
  tokenizerFile = path.join(corpus, "tokenizer.json");
  tok.save(tokenizerFile);
  tiny = path.join(root, "tiny.json");
  fs.writeFileSync(
    tiny,
    JSON.stringify({
      vocab_size: tok.vocabSize,
      hidden_size: 32,
      intermediate_size: 64,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      max_position_embeddings: 64,
      tie_word_embeddings: true,
    }),
  );
});

let runs = 0;
function base(overrides: Partial<PretrainConfigInput> = {}): PretrainConfigInput {
  return {
    model: tiny,
    tokenizer: tokenizerFile,
    corpus,
    out: path.join(root, `run-${runs++}`),
    steps: 20,
    seqLen: 16,
    batchSize: 4,
    lr: 1e-2,
    warmupSteps: 2,
    evalEvery: 0,
    evalWindows: 8,
    checkpointEvery: 0,
    ...overrides,
  };
}

function metrics(out: string): Record<string, unknown>[] {
  return fs
    .readFileSync(path.join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
}
const stepsOf = (out: string) =>
  metrics(out).filter((r) => r.type === "step") as unknown as PretrainStepRecord[];

/** The tensors of a safetensors file, parsed here by its published layout (u64 header size, JSON, data). */
function readSafetensors(
  file: string,
): Map<string, { dtype: string; shape: number[]; bytes: Buffer }> {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString("utf8")) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const out = new Map<string, { dtype: string; shape: number[]; bytes: Buffer }>();
  for (const [k, v] of Object.entries(header)) {
    if (k === "__metadata__") continue;
    out.set(k, {
      dtype: v.dtype,
      shape: v.shape,
      bytes: buf.subarray(8 + n + v.data_offsets[0], 8 + n + v.data_offsets[1]),
    });
  }
  return out;
}

/** float32 -> bfloat16 bits, round to nearest even (finite values). */
function bf16Bits(values: Float32Array): number[] {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  return Array.from(bits, (b) => ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff);
}
const u16 = (b: Buffer) => Array.from({ length: b.length / 2 }, (_, i) => b.readUInt16LE(2 * i));

test("loss falls over 20 steps and held-out CE falls below its start; tokens are counted", async () => {
  const c = base();
  const r = await pretrain(c);
  assert.equal(r.status, "completed");
  const log = stepsOf(c.out as string);
  assert.equal(log.length, 20);
  const mean = (xs: PretrainStepRecord[]) => xs.reduce((s, x) => s + x.loss!, 0) / xs.length;
  assert.ok(
    mean(log.slice(-3)) < mean(log.slice(0, 3)) - 0.5,
    `${mean(log.slice(0, 3))} -> ${mean(log.slice(-3))}`,
  );
  assert.ok(r.final!.ce < r.initial!.ce - 0.3, `${r.initial!.ce} -> ${r.final!.ce}`);
  // An untrained model with N(0, 0.02) weights predicts nearly uniformly: CE ~ ln(vocab).
  assert.ok(Math.abs(r.initial!.ce - Math.log(tok.vocabSize)) < 0.05, `${r.initial!.ce}`);
  assert.equal(r.tokens, 20 * 4 * 16);
  assert.deepEqual(
    log.map((s) => s.tokens_total),
    log.map((_, i) => (i + 1) * 64),
  );
  // Warmup 2 then cosine to 0 at step 20: update k uses lr * k / 2, then lr * 0.5 * (1 + cos(pi (k - 2) / 18)).
  assert.equal(log[0].lr, 0);
  assert.equal(log[1].lr, 0.005);
  assert.equal(log[2].lr, 0.01);
  assert.ok(Math.abs(log[11].lr - 0.01 * 0.5 * (1 + Math.cos((Math.PI * 9) / 18))) < 1e-12);
  // Every parameter is trained: the embeddings moved away from their initial values.
  const init = initTensors(parseLlamaConfig(JSON.parse(fs.readFileSync(tiny, "utf8"))), 0).get(
    "model.embed_tokens.weight",
  )!;
  const shipped = loadModel(r.outputs.model!);
  const embed = toFloat32(modelTensors(shipped).get("model.embed_tokens.weight")!);
  const before = toFloat32(init);
  let moved = 0;
  for (let i = 0; i < embed.length; i++) moved = Math.max(moved, Math.abs(embed[i] - before[i]));
  assert.ok(moved > 0.01, `embeddings moved by at most ${moved}`);
  shipped.dispose();
});

test("the token streams are each file encoded, then <|eos|>, in language order, and are cached", async () => {
  const eos = tok.tokenToId(EOS)!;
  const expected: number[] = [];
  for (const lang of LANGS)
    for (const [l, text] of TRAIN)
      if (l === lang) expected.push(...tok.encode(text, { addSpecial: false }), eos);
  const cacheRoot = path.join(corpus, "corpus", "tokens");
  const [key] = fs.readdirSync(cacheRoot);
  const cached = fs.readFileSync(path.join(cacheRoot, key, "train.i32"));
  assert.deepEqual(
    Array.from(new Int32Array(cached.buffer, cached.byteOffset, cached.length / 4)),
    expected,
  );
  const messages: string[] = [];
  await pretrain(base({ steps: 1, warmupSteps: 0 }), {
    onEvent: (e) => e.type === "info" && messages.push(e.message),
  });
  assert.ok(
    messages.some((m) => m.startsWith("token streams read from")),
    messages.join("\n"),
  );
});

test("a run stopped after 7 steps and resumed ends with the weights and metrics of an uninterrupted run", async () => {
  const settings = { steps: 12, evalEvery: 4, checkpointEvery: 3, batchSize: 3 };
  const whole = base(settings);
  const a = await pretrain(whole);
  const split = base(settings);
  const stopped = await pretrain(split, { stopAfterSteps: 7 });
  assert.equal(stopped.status, "stopped");
  assert.equal(stopped.steps, 7);
  const b = await pretrain(split, { resume: true });
  assert.equal(b.status, "completed");
  const strip = (out: string) =>
    metrics(out).map((r) => {
      const { tokens_per_s: _t, elapsed_s: _e, ...rest } = r;
      return rest;
    });
  assert.deepEqual(strip(split.out as string), strip(whole.out as string));
  const bytes = (out: string) => fs.readFileSync(path.join(out, "model", "model.safetensors"));
  assert.ok(bytes(split.out as string).equals(bytes(whole.out as string)));
  assert.deepEqual(b.final, a.final);
  assert.equal(b.tokens, a.tokens);
  // Resuming the finished run redoes only its end: the same metrics, no second final evaluation.
  await pretrain(split, { resume: true });
  assert.deepEqual(strip(split.out as string), strip(whole.out as string));
  // Other settings are refused.
  await assert.rejects(
    pretrain({ ...split, lr: 5e-3 }, { resume: true }),
    /saved with other settings/,
  );
  await assert.rejects(pretrain(split), /already holds a run/);
});

test("resuming a finished run returns it as it is; other settings are refused by name", async () => {
  const c = base({ steps: 4 });
  const r = await pretrain(c);
  assert.equal(r.status, "completed");
  const file = path.join(c.out as string, "result.json");
  const before = fs.readFileSync(file);
  const shipped = fs.readFileSync(path.join(c.out as string, "model", "model.safetensors"));
  const again = await pretrain(c, { resume: true });
  assert.deepEqual(again.final, JSON.parse(JSON.stringify(r.final)));
  assert.ok(fs.readFileSync(file).equals(before));
  const model = fs.readFileSync(path.join(c.out as string, "model", "model.safetensors"));
  assert.ok(model.equals(shipped));
  // No checkpoint to compare with (checkpointEvery 0): result.json's settings are.
  await assert.rejects(
    pretrain({ ...c, lr: 5e-3 }, { resume: true }),
    /result\.json: saved with other settings than this run's \(lr: 0\.01 in the saved run, 0\.005 now\)/,
  );
});

test("an abort signal stops the run at the next step boundary with a checkpoint", async () => {
  const c = base({ steps: 10 });
  const stop = new AbortController();
  const r = await pretrain(c, {
    signal: stop.signal,
    onEvent: (e) => {
      if (e.type === "step" && e.step === 3) stop.abort();
    },
  });
  assert.equal(r.status, "stopped");
  assert.equal(r.steps, 3);
  const pointer = JSON.parse(
    fs.readFileSync(path.join(c.out as string, "checkpoint.json"), "utf8"),
  );
  assert.equal(pointer.step, 3);
  const state = JSON.parse(
    fs.readFileSync(path.join(c.out as string, "checkpoint-3", "state.json"), "utf8"),
  );
  // 3 batches of 4 windows, all from epoch 0 (the train stream holds more than 12 windows of 16).
  assert.deepEqual(state.sampler, { epoch: 0, offset: 12 });
});

test("the shipped folder: HF names, bfloat16 of the final weights, config, tokenizer, and a card with the numbers", async () => {
  const c = base({ steps: 10, checkpointEvery: 5 });
  const r = await pretrain(c);
  const dir = r.outputs.model!;
  const config = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8"));
  assert.equal(config.torch_dtype, "bfloat16");
  assert.equal(config.vocab_size, tok.vocabSize);
  assert.equal(config.eos_token_id, tok.tokenToId(EOS));
  assert.ok(
    fs.readFileSync(path.join(dir, "tokenizer.json")).equals(fs.readFileSync(tokenizerFile)),
  );

  const shipped = readSafetensors(path.join(dir, "model.safetensors"));
  const names = [
    "model.embed_tokens.weight",
    "model.norm.weight",
    ...[0, 1].flatMap((i) =>
      [
        "input_layernorm",
        "post_attention_layernorm",
        "self_attn.q_proj",
        "self_attn.k_proj",
        "self_attn.v_proj",
        "self_attn.o_proj",
        "mlp.gate_proj",
        "mlp.up_proj",
        "mlp.down_proj",
      ].map((m) => `model.layers.${i}.${m}.weight`),
    ),
  ];
  assert.deepEqual([...shipped.keys()].sort(), names.sort());
  for (const t of shipped.values()) assert.equal(t.dtype, "BF16");
  assert.deepEqual(shipped.get("model.layers.0.self_attn.k_proj.weight")!.shape, [16, 32]);
  // The final checkpoint holds the float32 weights (the trainable variables: projections as
  // W^T [in, out]); the shipped tensors are their bfloat16 rounding in HF's [out, in].
  const f32 = readSafetensors(path.join(c.out as string, "checkpoint-10", "trainable.safetensors"));
  for (const name of names) {
    const t = f32.get(name)!;
    assert.equal(t.dtype, "F32");
    let values = new Float32Array(Uint8Array.from(t.bytes).buffer);
    if (name.includes("_proj")) {
      const [inF, out] = t.shape;
      const w = new Float32Array(values.length);
      for (let i = 0; i < inF; i++)
        for (let o = 0; o < out; o++) w[o * inF + i] = values[i * out + o];
      values = w;
      assert.deepEqual(shipped.get(name)!.shape, [out, inF], name);
    }
    assert.deepEqual(u16(shipped.get(name)!.bytes), bf16Bits(values), name);
  }
  loadModel(dir).dispose();
  // Shipping the final checkpoint gives the same weights as shipping the live model.
  const again = await shipCheckpoint(c, path.join(root, "from-checkpoint"));
  assert.ok(
    fs
      .readFileSync(path.join(again.dir, "model.safetensors"))
      .equals(fs.readFileSync(path.join(dir, "model.safetensors"))),
  );
  assert.deepEqual(again.valCe, r.shipped);

  const card = fs.readFileSync(path.join(dir, "README.md"), "utf8");
  // V*d embeddings + per layer (2 norms of d, q and o d*d, k and v (2 heads x 8) x d, 3 MLP d x 64) + final norm.
  const d = 32;
  const params = tok.vocabSize * d + 2 * (2 * d + 2 * d * d + 2 * 16 * d + 3 * d * 64) + d;
  assert.equal(r.parameters, params);
  const lastLoss = stepsOf(c.out as string).at(-1)!.loss!;
  for (const fact of [
    `| parameters | ${params.toLocaleString("en-US")} |`,
    "hand-written-corpus-1",
    "| optimizer steps | 10 of 10 |",
    `| tokens seen | ${(10 * 4 * 16).toLocaleString("en-US")} `,
    `Training loss: ${lastLoss.toFixed(4)} at the last step`,
    `**${r.shipped!.ce.toFixed(4)} nats/token**`,
    `| backend | wasm`,
    "--resume >> ",
    // Run folders outside the checkout go by their name under runs/ (no machine's folders).
    `--out runs/${path.basename(c.out as string)} `,
    `--ship runs/${path.basename(c.out as string)}/model`,
  ])
    assert.ok(card.includes(fact), `card lacks: ${fact}\n${card}`);
  // The shipped CE is of the bfloat16 weights: close to the float32 evaluation, not necessarily equal.
  assert.ok(Math.abs(r.shipped!.ce - r.final!.ce) < 0.01);
});

test("--ship writes a run's latest checkpoint; --random-floor the untrained model of the same seed", async () => {
  const c = base({ steps: 10, checkpointEvery: 4 });
  await pretrain(c, { stopAfterSteps: 6 });
  const shipDir = path.join(root, "shipped");
  const s = await shipCheckpoint(c, shipDir);
  const card = fs.readFileSync(path.join(shipDir, "README.md"), "utf8");
  assert.match(card, /checkpoint at step 6 of a run in progress/);
  assert.match(card, /\| optimizer steps \| 6 of 10 \|/);
  assert.ok(s.valCe && Number.isFinite(s.valCe.ce));

  const floorDir = path.join(root, "floor");
  const f = await writeRandomFloor(c, floorDir);
  const floorCard = fs.readFileSync(path.join(floorDir, "README.md"), "utf8");
  assert.match(floorCard, /random initialisation/);
  assert.match(floorCard, /\| optimizer steps \| 0 of 0 \|/);
  assert.match(floorCard, /--random-floor/);
  assert.ok(Math.abs(f.valCe!.ce - Math.log(tok.vocabSize)) < 0.05);
  const init = initTensors(parseLlamaConfig(JSON.parse(fs.readFileSync(tiny, "utf8"))), 0);
  const floor = readSafetensors(path.join(floorDir, "model.safetensors"));
  for (const [name, t] of init)
    assert.deepEqual(u16(floor.get(name)!.bytes), bf16Bits(toFloat32(t)), name);
});

test("with narration data, the card gives the shipped weights' zero-shot CE per task and language", async () => {
  const c = base({ steps: 4 });
  const data = writePythonData(path.join(root, "narration-data"));
  const dir = path.join(root, "floor-zero-shot");
  const f = await writeRandomFloor(c, dir, () => undefined, { data, languages: ["python"] });
  // Untrained weights are near uniform over the vocabulary: CE close to ln(V) on any text.
  for (const task of ["codesearchnet", "commitpackft"] as const) {
    const z = f.zeroShot![task];
    assert.ok(Math.abs(z.ce.ce - Math.log(tok.vocabSize)) < 0.05, `${task} ${z.ce.ce}`);
    // The hand-written rows leave one validation example per task (see the fixture's comments).
    assert.equal(z.ce.examples, 1);
    assert.deepEqual(Object.keys(z.byLanguage), ["python"]);
  }
  // The same numbers as `narrator eval` on the shipped folder with the card's settings.
  const evalOf = async (task: "codesearchnet" | "commitpackft") =>
    (
      await evaluateModel({
        model: dir,
        data,
        task,
        split: "val",
        languages: ["python"],
        size: 100,
        dataSeed: 42,
        mix: 0.5,
        commitInput: "diff",
        lenient: false,
        prompt: "compact",
        maxLen: 256,
        batchSize: 8,
        generate: false,
        maxNewTokens: 0,
      })
    ).ce.byTask[task]!.ce;
  const csn = await evalOf("codesearchnet");
  const cpf = await evalOf("commitpackft");
  const card = fs.readFileSync(path.join(dir, "README.md"), "utf8");
  for (const fact of [
    "### Zero-shot on the narration tasks",
    "100 examples per language drawn with data seed 42, compact prompt, at most 256 tokens",
    "| language | CodeSearchNet | CommitPackFT |",
    `| Python | ${csn.toFixed(4)} (1) | ${cpf.toFixed(4)} (1) |`,
    `| **all** | **${csn.toFixed(4)} (1)** | **${cpf.toFixed(4)} (1)** |`,
    `--random-floor models/${path.basename(dir)} --data ${data} --languages python`,
  ])
    assert.ok(card.includes(fact), `card lacks: ${fact}\n${card}`);

  // Data without the datasets fails the ship: no temporary folder left, the shipped one intact.
  const before = fs.readFileSync(path.join(dir, "README.md"), "utf8");
  const empty = fs.mkdtempSync(path.join(root, "no-datasets-"));
  await assert.rejects(
    writeRandomFloor(c, dir, () => undefined, { data: empty }),
    /not found/,
  );
  assert.deepEqual(
    fs.readdirSync(root).filter((f) => f.includes(".tmp-")),
    [],
  );
  assert.equal(fs.readFileSync(path.join(dir, "README.md"), "utf8"), before);

  // Without data the card says how to measure it.
  await writeRandomFloor(c, dir);
  assert.match(
    fs.readFileSync(path.join(dir, "README.md"), "utf8"),
    /Not measured: ship with `--data DIR`/,
  );
});

test("a tokenizer whose vocabulary differs from the config's is refused, naming both", async () => {
  const wrong = path.join(root, "wrong.json");
  fs.writeFileSync(
    wrong,
    JSON.stringify({ ...JSON.parse(fs.readFileSync(tiny, "utf8")), vocab_size: 999 }),
  );
  await assert.rejects(
    pretrain(base({ model: wrong })),
    new RegExp(
      `wrong.json: vocab_size 999 does not match the tokenizer .*tokenizer.json \\(${tok.vocabSize} ids\\)`,
    ),
  );
  // A preset takes the tokenizer's vocabulary.
  const r = await pretrain(
    base({
      model: "narrator-2m",
      steps: 1,
      warmupSteps: 0,
      evalWindows: 1,
      seqLen: 8,
      batchSize: 1,
    }),
  );
  assert.equal(
    JSON.parse(fs.readFileSync(path.join(r.outputs.model!, "config.json"), "utf8")).vocab_size,
    tok.vocabSize,
  );
});

test("a loss that stops being finite ends the run as diverged without updating the weights", async () => {
  const c = base({ lr: 1e30, maxGradNorm: 0, warmupSteps: 0, checkpointEvery: 1 });
  const r = await pretrain(c);
  assert.equal(r.status, "diverged");
  const last = stepsOf(c.out as string).at(-1)!;
  assert.ok(last.loss === null || last.grad_norm === null);
  assert.match(last.nonfinite!, /loss|gradient/);
  assert.equal(fs.existsSync(path.join(c.out as string, "model")), false);
  // The last checkpoint is the step before the bad one.
  const pointer = JSON.parse(
    fs.readFileSync(path.join(c.out as string, "checkpoint.json"), "utf8"),
  );
  assert.equal(pointer.step, last.step - 1);
});
