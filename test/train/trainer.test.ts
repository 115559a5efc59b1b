import { test, before } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { initBackend } from "../../src/backend/backend";
import type { Example, Task } from "../../src/data/example";
import type { Lang } from "../../src/data/langs";
import { initTensors, modelFromTensors, saveModel } from "../../src/model/checkpoint";
import { parseLlamaConfig } from "../../src/model/config";
import { trainByteLevelBpe } from "../../src/tokenizer/train";
import { BOS, SPECIAL_TOKENS } from "../../src/tokenizer/special";
import { train, type StepRecord, type TrainResult } from "../../src/train/trainer";
import { estimateTrainingMemory } from "../../src/train/memory";
import { trainConfigFromFlags } from "../../src/cli/train_commands";
import { formatEvaluation } from "../../src/train/evaluate";
import { fromFloat32 } from "../../src/safetensors/float16";
import { formatDuration, Progress, renderBar } from "../../src/train/progress";
import type { TrainConfigInput } from "../../src/train/config";

const ex = (id: string, task: Task, language: Lang, input: string, target: string): Example => ({
  id,
  task,
  language,
  split: "train",
  input,
  target,
});

// Hand-written examples: four functions, four commits.
const EXAMPLES: Example[] = [
  ex("f1", "codesearchnet", "python", "def add(a, b):\n    return a + b", "Adds two numbers."),
  ex("f2", "codesearchnet", "python", "def sub(a, b):\n    return a - b", "Subtracts b from a."),
  ex(
    "f3",
    "codesearchnet",
    "go",
    "func First(xs []int) int { return xs[0] }",
    "Returns the first item.",
  ),
  ex(
    "f4",
    "codesearchnet",
    "go",
    "func Last(xs []int) int { return xs[len(xs)-1] }",
    "Returns the last item.",
  ),
  ex("c1", "commitpackft", "python", "-x = 1\n+x = 2", "Change the default value of x."),
  ex("c2", "commitpackft", "python", "-print(a)\n+log(a)", "Log the value instead of printing it."),
  ex(
    "c3",
    "commitpackft",
    "go",
    "-return nil\n+return []int{}",
    "Return an empty list instead of nil.",
  ),
  ex("c4", "commitpackft", "go", '+import "os"', "Import the os package."),
];

let modelDir: string;
let root: string;

before(async () => {
  await initBackend();
  root = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-trainer-"));
  modelDir = path.join(root, "base");
  fs.mkdirSync(modelDir);
  // A tiny tokenizer trained here, and a random-init model with its vocabulary.
  const tok = trainByteLevelBpe(
    EXAMPLES.flatMap((e) => [e.input, e.target]),
    { vocabSize: 300, specialTokens: [...SPECIAL_TOKENS], bosToken: BOS },
  );
  tok.save(path.join(modelDir, "tokenizer.json"));
  const config = parseLlamaConfig({
    vocab_size: tok.vocabSize,
    hidden_size: 32,
    intermediate_size: 64,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    max_position_embeddings: 128,
    tie_word_embeddings: true,
    // Larger than HF's 0.02, so that a frozen tied head leaves LoRA room to lower the loss.
    initializer_range: 0.1,
  });
  saveModel(modelDir, modelFromTensors(config, initTensors(config, 1), {}, "init"));
});

let runs = 0;
function base(overrides: Partial<TrainConfigInput> = {}): TrainConfigInput {
  return {
    model: modelDir,
    out: path.join(root, `run-${runs++}`),
    task: "cocktail",
    prompt: "compact",
    quant: "none",
    maxLen: 48,
    loraR: 4,
    loraAlpha: 8,
    loraDropout: 0,
    optimizer: "adamw",
    lr: 1e-2,
    batchSize: 2,
    maxGradNorm: 1,
    evalAtStart: false,
    ...overrides,
  };
}
const data = { train: EXAMPLES, val: EXAMPLES, dataHash: "hand-written" };

function steps(out: string): StepRecord[] {
  return fs
    .readFileSync(path.join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l))
    .filter((r) => r.type === "step");
}

test("logged lr follows the linear schedule: 6 steps, 2 warmup, worked by hand", async () => {
  const c = base({
    scheduler: "linear",
    warmupSteps: 2,
    batchSize: 1,
    lr: 0.01,
    task: "codesearchnet",
  });
  const six = EXAMPLES.slice(0, 6).map((e) => ({ ...e, task: "codesearchnet" as const }));
  const r = await train(c, { data: { train: six, val: [] } });
  assert.equal(r.totalSteps, 6);
  // update k: k < 2 ? k / 2 : (6 - k) / (6 - 2), times 0.01
  const expected = [0, 0.005, 0.01, 0.0075, 0.005, 0.0025];
  const lrs = steps(c.out).map((s) => s.lr);
  assert.equal(lrs.length, 6);
  lrs.forEach((lr, k) => assert.ok(Math.abs(lr - expected[k]) < 1e-15, `step ${k}: ${lr}`));
  const first = steps(c.out)[0];
  for (const field of ["step", "epoch", "lr", "loss", "tokens", "grad_norm", "tokens_per_s"]) {
    assert.ok(field in first, `metrics line has ${field}`);
  }
});

test("a short run lowers the loss, evaluates per task and language, writes its outputs", async () => {
  const c = base({ epochs: 6, loraR: 8, evalAtStart: true, evalEvery: 4 });
  const r = await train(c, { data });
  assert.equal(r.status, "completed");
  assert.equal(r.totalSteps, 24);
  assert.ok(
    r.final!.overall.ce < r.initial!.overall.ce - 1,
    `${r.initial!.overall.ce} -> ${r.final!.overall.ce}`,
  );
  for (const task of ["codesearchnet", "commitpackft"] as const) {
    assert.ok(r.final!.byTask[task]!.ce < r.initial!.byTask[task]!.ce);
    for (const lang of ["python", "go"] as const)
      assert.ok(r.final!.byTaskLanguage[task]![lang]!.tokens > 0);
  }
  const evals = fs
    .readFileSync(path.join(c.out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l))
    .filter((l) => l.type === "eval");
  assert.deepEqual(
    evals.map((e) => e.step),
    [0, 4, 8, 12, 16, 20, 24],
  );
  assert.ok(evals[1].byTaskLanguage.commitpackft.go.ce > 0);
  const saved = JSON.parse(fs.readFileSync(path.join(c.out, "result.json"), "utf8")) as TrainResult;
  assert.equal(saved.status, "completed");
  assert.equal(saved.provenance.dataHash, "hand-written");
  assert.ok(saved.provenance.backend.length > 0);
  assert.ok(fs.existsSync(path.join(c.out, "adapter", "adapter_model.safetensors")));
  const adapterConfig = JSON.parse(
    fs.readFileSync(path.join(c.out, "adapter", "adapter_config.json"), "utf8"),
  );
  assert.equal(adapterConfig.r, 8);
  assert.equal(adapterConfig.peft_type, "LORA");
});

test("a run interrupted and resumed ends with the numbers of an uninterrupted run", async () => {
  // Dropout on and gradient accumulation: 8 examples, batch 2, accumulation 2 -> 2 steps an epoch.
  const settings = {
    epochs: 3,
    gradAccum: 2,
    loraDropout: 0.1,
    evalEvery: 2,
    optimizer: "adagrad" as const,
  };
  const whole = base(settings);
  const a = await train(whole, { data });
  const split = base(settings);
  const stopped = await train(split, { data, stopAfterSteps: 3 });
  assert.equal(stopped.status, "stopped");
  assert.equal(stopped.steps, 3);
  const b = await train(split, { data, resume: true });
  assert.equal(b.status, "completed");
  const numbers = (out: string) =>
    steps(out).map((s) => [s.step, s.lr, s.loss, s.grad_norm, s.tokens]);
  assert.deepEqual(numbers(split.out), numbers(whole.out));
  assert.deepEqual(b.final, a.final);
  const bytes = (out: string) =>
    fs.readFileSync(path.join(out, "adapter", "adapter_model.safetensors"));
  assert.ok(bytes(split.out).equals(bytes(whole.out)));
  assert.equal(b.tokens, a.tokens);
});

test("a run whose loss stops being finite ends as diverged and keeps its metrics", async () => {
  const c = base({ optimizer: "sgd", lr: 1e30, maxGradNorm: 0, scheduler: "constant", epochs: 2 });
  const messages: string[] = [];
  const r = await train(c, {
    data,
    onEvent: (e) => (e.type === "info" ? messages.push(e.message) : undefined),
  });
  assert.equal(r.status, "diverged");
  assert.ok(
    messages.some((m) => /^(loss|gradient norm) became non-finite at step [1-9]/.test(m)),
    messages.join("\n"),
  );
  assert.equal(r.final, null);
  const log = steps(c.out);
  assert.ok(log.length >= 1 && log.length < r.totalSteps);
  const last = log[log.length - 1];
  assert.ok(last.loss === null || last.grad_norm === null);
  assert.match(last.nonfinite!, /loss|gradient/);
  const saved = JSON.parse(fs.readFileSync(path.join(c.out, "result.json"), "utf8"));
  assert.equal(saved.status, "diverged");
  assert.equal(fs.existsSync(path.join(c.out, "adapter")), false);
});

test("a run estimated above the memory limit is refused before loading anything", async () => {
  const c = base({ memoryLimit: 1000 });
  await assert.rejects(
    train(c, { data }),
    /refusing to start: the run needs an estimated .* on the wasm heap, which holds at most/,
  );
});

test("activation checkpointing keeps the numbers; it turns on by itself, said and recorded, when only it fits", async () => {
  const settings = { epochs: 2, gradAccum: 2, loraDropout: 0.1, evalEvery: 2 };
  const plain = base(settings);
  const a = await train(plain, { data });
  assert.equal(a.gradientCheckpointing, false);
  const forced = base({ ...settings, gradientCheckpointing: true });
  const b = await train(forced, { data });
  assert.equal(b.gradientCheckpointing, true);
  assert.ok(b.memory.heap < a.memory.heap, `${b.memory.heap} vs ${a.memory.heap}`);
  // A budget between the two estimates: the plain run does not fit, the checkpointed one does.
  const messages: string[] = [];
  const auto = base({ ...settings, memoryLimit: (a.memory.heap + b.memory.heap) / 2 });
  const c = await train(auto, {
    data,
    onEvent: (e) => (e.type === "info" ? messages.push(e.message) : undefined),
  });
  assert.equal(c.gradientCheckpointing, true);
  assert.ok(
    messages.some((m) => /^activation checkpointing on \(--gradient-checkpointing\)/.test(m)),
    messages.join("\n"),
  );
  const saved = JSON.parse(fs.readFileSync(path.join(auto.out, "result.json"), "utf8"));
  assert.equal(saved.gradientCheckpointing, true);
  const numbers = (out: string) =>
    steps(out).map((r) => [r.step, r.lr, r.loss, r.grad_norm, r.tokens]);
  assert.deepEqual(numbers(forced.out), numbers(plain.out));
  assert.deepEqual(numbers(auto.out), numbers(plain.out));
  assert.deepEqual(c.final, a.final);
  const bytes = (out: string) =>
    fs.readFileSync(path.join(out, "adapter", "adapter_model.safetensors"));
  assert.ok(bytes(auto.out).equals(bytes(plain.out)));
});

test("memory estimate: the logits term is 10 x B x T x V float32 with plain kernels", () => {
  const config = parseLlamaConfig({
    vocab_size: 300,
    hidden_size: 32,
    intermediate_size: 64,
    num_hidden_layers: 2,
    num_attention_heads: 4,
  });
  const e = estimateTrainingMemory(config, {
    full: false,
    quant: "none",
    doubleQuant: false,
    loraR: 4,
    loraDropout: 0,
    targetModules: ["q_proj", "v_proj"],
    optimizer: "adamw",
    batchSize: 2,
    seqLen: 16,
    kernels: "plain",
  });
  assert.equal(e.logits, 10 * 2 * 16 * 300 * 4);
  // LoRA on q and v (32 -> 32 each): 2 layers x 2 modules x 4 x (32 + 32) parameters.
  assert.equal(e.trainableParameters, 2 * 2 * 4 * 64);
  assert.equal(e.optimizer, 2 * e.trainableParameters * 4);
});

test("train flags map to the config; bad values name the flag", () => {
  const c = trainConfigFromFlags({
    model: "m",
    out: "o",
    task: "cocktail",
    mix: "0.3",
    languages: "python,Go",
    "warmup-ratio": "0.1",
    "lora-r": "16",
    full: true,
    quant: "none",
  });
  assert.equal(c.mix, 0.3);
  assert.deepEqual(c.languages, ["python", "go"]);
  assert.equal(c.warmupRatio, 0.1);
  assert.equal(c.loraR, 16);
  assert.equal(c.full, true);
  assert.equal(c.optimizer, "adagrad");
  assert.equal(c.gradientCheckpointing, undefined, "unset: decided by the memory estimate");
  const ckpt = { model: "m", out: "o", task: "cocktail", "gradient-checkpointing": true };
  assert.equal(trainConfigFromFlags(ckpt).gradientCheckpointing, true);
  assert.equal(trainConfigFromFlags({ ...ckpt, "attention-block": "64" }).attentionBlock, 64);
  assert.throws(
    () => trainConfigFromFlags({ ...ckpt, "attention-block": "0" }),
    /--attention-block/,
  );
  assert.throws(() => trainConfigFromFlags({ model: "m", out: "o", task: "x" }), /--task/);
  const sized = { model: "m", out: "o", task: "cocktail", "cocktail-size": "900" };
  assert.equal(trainConfigFromFlags(sized).cocktailSize, 900);
  assert.throws(() => trainConfigFromFlags({ ...sized, "cocktail-size": "0" }), /--cocktail-size/);
  assert.throws(
    () => trainConfigFromFlags({ ...sized, task: "codesearchnet" }),
    /--cocktail-size: the cocktail's size is for task cocktail, not codesearchnet/,
  );
  assert.throws(
    () => trainConfigFromFlags({ model: "m", out: "o", task: "cocktail", "train-size": "1.5" }),
    /--train-size/,
  );
  assert.throws(
    () =>
      trainConfigFromFlags({
        model: "m",
        out: "o",
        task: "cocktail",
        "warmup-steps": "2",
        "warmup-ratio": "0.1",
      }),
    /not both/,
  );
});

test("progress: plain lines off a terminal, a redrawn bar on one", () => {
  assert.equal(formatDuration(42), "42s");
  assert.equal(formatDuration(185), "3m05s");
  assert.equal(formatDuration(3720), "1h02m");
  assert.equal(renderBar(0.5, 8), "####----");
  const plain: string[] = [];
  const p = new Progress(10, 0, { write: (t: string) => plain.push(t), isTTY: false }, 0);
  p.update({ step: 1, loss: 2, tokensPerS: 99.6 });
  assert.match(plain[0], /^step 1\/10 loss 2\.0000 100 tok\/s ETA \S+\n$/);
  const tty: string[] = [];
  const bar = new Progress(4, 0, { write: (t: string) => tty.push(t), isTTY: true });
  bar.update({ step: 2, loss: 1.5, tokensPerS: 10 });
  bar.log("eval");
  assert.match(tty[0], /^\r\[#{12}-{12}\] step 2\/4 loss 1\.5000/);
  assert.deepEqual(tty.slice(1), ["\n", "eval\n"]);
});

/** The bytes of each of a run's output files, to show that a refused command changed nothing. */
function outputBytes(out: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const f of fs.readdirSync(out, { recursive: true }) as string[]) {
    const p = path.join(out, f);
    if (fs.statSync(p).isFile()) files.set(f, fs.readFileSync(p));
  }
  return files;
}

test("resuming a finished run with other settings is refused, naming them, and changes nothing", async () => {
  const c = base({ epochs: 1 });
  const r = await train(c, { data });
  assert.equal(r.status, "completed");
  const before = outputBytes(c.out);
  assert.ok(
    before.has("result.json") && before.has(path.join("adapter", "adapter_model.safetensors")),
  );
  await assert.rejects(train({ ...c, lr: 0.02, epochs: 2 }, { data, resume: true }), (e: Error) => {
    assert.match(e.message, /result\.json: saved with other settings than this run's/);
    assert.match(
      e.message,
      /epochs: 1 in the saved run, 2 now; lr: 0\.01 in the saved run, 0\.02 now/,
    );
    return true;
  });
  assert.deepEqual(outputBytes(c.out), before);
  // The same settings still return the finished run as it is.
  const again = await train(c, { data, resume: true });
  assert.deepEqual(again.final, JSON.parse(JSON.stringify(r.final)));
  assert.deepEqual(outputBytes(c.out), before);
});

test("resuming a checkpoint with other settings names the settings that differ", async () => {
  const c = base({ epochs: 2, checkpointEvery: 1 });
  const stopped = await train(c, { data, stopAfterSteps: 1 });
  assert.equal(stopped.status, "stopped");
  await assert.rejects(
    train({ ...c, loraR: 8 }, { data, resume: true }),
    /checkpoint-1: saved with other settings than this run's \(loraR: 4 in the saved run, 8 now\)/,
  );
});

test("a resume after the final checkpoint writes the final evaluation once", async () => {
  const c = base({ epochs: 2, checkpointEvery: 1, evalAtStart: true });
  const whole = await train(c, { data });
  assert.equal(whole.status, "completed");
  const evalSteps = () =>
    fs
      .readFileSync(path.join(c.out, "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
      .filter((l) => l.type === "eval")
      .map((l) => l.step);
  assert.deepEqual(evalSteps(), [0, whole.totalSteps]);
  const pointer = JSON.parse(fs.readFileSync(path.join(c.out, "checkpoint.json"), "utf8"));
  assert.equal(pointer.step, whole.totalSteps);
  // Killed after the final checkpoint, before result.json was written.
  fs.rmSync(path.join(c.out, "result.json"));
  const resumed = await train(c, { data, resume: true });
  assert.equal(resumed.status, "completed");
  assert.deepEqual(evalSteps(), [0, whole.totalSteps]);
  assert.deepEqual(resumed.final, whole.final);
  assert.deepEqual(steps(c.out).length, whole.totalSteps);
});

test("a start or resume removes the temporaries an interrupted write left in the run's folders", async () => {
  const c = base({ epochs: 2, checkpointEvery: 1 });
  // A fresh run into a folder that holds only what an earlier, cut-short write left.
  fs.mkdirSync(c.out, { recursive: true });
  fs.writeFileSync(path.join(c.out, "result.json.tmp-99"), "cut short");
  await train(c, { data, stopAfterSteps: 1 });
  assert.equal(fs.existsSync(path.join(c.out, "result.json.tmp-99")), false);
  // What a full disk leaves: a cut-short adapter file and result, and a checkpoint folder.
  fs.mkdirSync(path.join(c.out, "adapter"), { recursive: true });
  const stale = [
    path.join("adapter", "adapter_model.safetensors.tmp-4242"),
    "result.json.tmp-17",
    path.join("checkpoint-2.tmp-4242", "trainable.safetensors"),
  ];
  for (const f of stale) {
    fs.mkdirSync(path.dirname(path.join(c.out, f)), { recursive: true });
    fs.writeFileSync(path.join(c.out, f), "cut short");
  }
  // A name of the user's that merely contains ".tmp-" is left alone.
  fs.writeFileSync(path.join(c.out, "notes.tmp-x"), "mine");
  const r = await train(c, { data, resume: true });
  assert.equal(r.status, "completed");
  const left = (fs.readdirSync(c.out, { recursive: true }) as string[]).filter((f) =>
    f.includes(".tmp-"),
  );
  assert.deepEqual(left, ["notes.tmp-x"]);
  assert.ok(fs.existsSync(path.join(c.out, "adapter", "adapter_model.safetensors")));
});

test("a model whose validation loss is not finite ends as diverged at step 0, and its table prints", async () => {
  // Finite weights whose product overflows float32: the final norm scales every hidden state
  // to about 3e38, so the logits are infinite.
  const huge = path.join(root, "huge");
  const config = parseLlamaConfig(
    JSON.parse(fs.readFileSync(path.join(modelDir, "config.json"), "utf8")),
  );
  const tensors = initTensors(config, 1);
  const d = config.hidden_size;
  tensors.set("model.norm.weight", fromFloat32(new Float32Array(d).fill(3e38), "F32", [d]));
  saveModel(huge, modelFromTensors(config, tensors, {}, "huge"));
  fs.copyFileSync(path.join(modelDir, "tokenizer.json"), path.join(huge, "tokenizer.json"));
  const messages: string[] = [];
  const r = await train(base({ model: huge, evalAtStart: true }), {
    data,
    onEvent: (e) => (e.type === "info" ? messages.push(e.message) : undefined),
  });
  assert.equal(r.status, "diverged");
  assert.equal(r.steps, 0);
  assert.ok(
    messages.some((m) => m.startsWith("loss became non-finite at step 0")),
    messages.join("\n"),
  );
  // result.json keeps the evaluation with nulls (JSON has no NaN); the table says so.
  assert.equal(r.initial!.overall.ce, null);
  assert.match(formatEvaluation(r.initial!), /non-finite/);
});

test("a run records which adapter it started from, and will not resume from a replaced one", async () => {
  const [one, two] = [base({ epochs: 1 }), base({ epochs: 2 })];
  await train(one, { data });
  await train(two, { data });
  const start = path.join(root, "starting-adapter");
  fs.cpSync(path.join(one.out, "adapter"), start, { recursive: true });
  const weights = path.join(start, "adapter_model.safetensors");
  const sha = createHash("sha256").update(fs.readFileSync(weights)).digest("hex");
  const c = base({ epochs: 2, checkpointEvery: 1, initAdapter: start });
  const stopped = await train(c, { data, stopAfterSteps: 1 });
  assert.equal(stopped.initAdapterSha256, sha);
  const record = JSON.parse(fs.readFileSync(path.join(c.out, "result.json"), "utf8"));
  assert.equal(record.initAdapterSha256, sha);
  // The same path, other weights: the checkpoint was not trained from these.
  fs.copyFileSync(path.join(two.out, "adapter", "adapter_model.safetensors"), weights);
  await assert.rejects(
    train(c, { data, resume: true }),
    /initAdapterSha256: ".*" in the saved run/,
  );
  // Put back, the run resumes and ends.
  fs.copyFileSync(path.join(one.out, "adapter", "adapter_model.safetensors"), weights);
  assert.equal((await train(c, { data, resume: true })).status, "completed");
});

test("--init-adapter starts from a trained adapter: the second run begins where the first ended; a mismatch is refused first", async () => {
  const first = base({ epochs: 3, evalAtStart: true });
  const a = await train(first, { data });
  const adapter = path.join(first.out, "adapter");
  const second = await train(base({ epochs: 1, evalAtStart: true, initAdapter: adapter }), {
    data,
  });
  // A fresh adapter (B = 0) would start at the base model's CE, as the first run did.
  assert.ok(a.final!.overall.ce < a.initial!.overall.ce - 0.5);
  assert.ok(
    Math.abs(second.initial!.overall.ce - a.final!.overall.ce) < 1e-5,
    `${second.initial!.overall.ce} vs ${a.final!.overall.ce}`,
  );
  const mismatched = base({ loraR: 8, initAdapter: adapter });
  await assert.rejects(
    train(mismatched, { data }),
    (e: Error) =>
      e.message.includes(path.join(adapter, "adapter_config.json")) &&
      /r is 4, this run's is 8/.test(e.message),
  );
  assert.ok(!fs.existsSync(mismatched.out), "refused before writing anything");
  assert.throws(
    () =>
      trainConfigFromFlags({
        model: "m",
        task: "cocktail",
        out: "o",
        full: true,
        "init-adapter": adapter,
      }),
    /--init-adapter: an adapter to start from is for adapter training/,
  );
});
