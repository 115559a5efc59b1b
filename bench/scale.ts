/**
 * `npm run bench:scale`: the study's model shape on this machine. Writes a random-weight
 * checkpoint of DeepSeek-Coder-1.3B's exact shape (`narrator model random`, bf16, 2 shards) to a
 * temporary directory, then times, each in a process of its own so that each has its own peak
 * RSS and wasm heap:
 * - scoring 512 token ids with the base quantized to NF4 as it is read (as `narrator score`);
 * - QLoRA training steps at batch 1 x 512 tokens, LoRA r 64 alpha 16 on all seven projections,
 *   AdamW, with activation checkpointing as the training loop decides it (planMemory);
 * - greedy generation with the KV cache after a 16-token prompt (as `narrator generate`);
 * - PyTorch on the same shape with the same threads (float32 frozen base + LoRA,
 *   bench/torch_scale.py) where Debian's python3-torch is installed.
 * Figures are printed, never asserted. The checkpoint is deleted at the end.
 * BENCH_STEPS (default 2), BENCH_NEW_TOKENS (32), BENCH_SEQ (512) and BENCH_PRESET (another shape)
 * change the run; BENCH_MODEL=DIR uses an existing checkpoint instead of writing one (and keeps it).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/backend";
import { injectLora, loraParameters, setTraining } from "../src/lora/model";
import { openModel } from "../src/lora/open";
import { loadModel } from "../src/model/checkpoint";
import { readLlamaConfig } from "../src/model/config";
import { generate, sequenceLogprobs } from "../src/model/inference";
import { memoryCeiling, mib, tablesOffHeapByDefault } from "../src/model/memory";
import { nativeStatus } from "../src/native/kernels";
import { wasmHeapSize, type WasmBackend } from "../src/native/wasm_heap";
import { parseTrainConfig } from "../src/train/config";
import { planMemory } from "../src/train/loop";
import { createOptimizer } from "../src/train/optimizers";
import { applyGrads, lossAndGradTensors } from "../src/train/step";
import { Rng } from "../src/util/rng";

const PRESET = process.env.BENCH_PRESET ?? "deepseek-coder-1.3b";
const PYTHON = process.env.BENCH_PYTHON ?? "/usr/bin/python3";
const ROOT = path.resolve(__dirname, "..");
const SEQ = Number(process.env.BENCH_SEQ ?? 512);
const STEPS = Number(process.env.BENCH_STEPS ?? 2);
const NEW_TOKENS = Number(process.env.BENCH_NEW_TOKENS ?? 32);
const PROMPT = 16;

/** What a phase process prints as its last line. */
interface PhaseFigures {
  phase: string;
  backend: string;
  threads: number;
  loadS?: number;
  seconds?: number;
  secondsPerStep?: number[];
  tokensPerSecond?: number;
  losses?: number[];
  finite?: number;
  gradientCheckpointing?: boolean;
  peakRssMiB: number;
  heapMiB: number | null;
}

function randomIds(n: number, vocab: number, seed: number): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => rng.int(vocab));
}

/** The backend's heap now (it never shrinks, so this is its peak), or null off wasm. */
function heapMiB(): number | null {
  const b = tf.backend() as unknown as Partial<WasmBackend>;
  return b.wasm?.HEAPU8 ? wasmHeapSize(b as WasmBackend) / 2 ** 20 : null;
}

/** One phase, in this process; returns its figures. */
async function runPhase(phase: string, dir: string): Promise<PhaseFigures> {
  const backend = await initBackend();
  const config = readLlamaConfig(dir);
  const base = {
    phase,
    backend: backend.label,
    threads: nativeStatus().enabled ? nativeStatus().threads! : 1,
  };
  const end = (figures: Partial<PhaseFigures>): PhaseFigures => ({
    ...base,
    ...figures,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    heapMiB: heapMiB(),
  });
  const t0 = performance.now();
  const since = (t: number) => (performance.now() - t) / 1000;
  if (phase === "score") {
    const ids = randomIds(SEQ, config.vocab_size, 1);
    const model = openModel(dir, {
      quant: "nf4",
      plan: { batchSize: 1, seqLen: SEQ, what: `scoring ${SEQ} tokens` },
    });
    const loadS = since(t0);
    const t1 = performance.now();
    const logprobs = sequenceLogprobs(model, ids);
    const seconds = since(t1);
    return end({
      loadS,
      seconds,
      tokensPerSecond: SEQ / seconds,
      finite: logprobs.filter(Number.isFinite).length,
    });
  }
  if (phase === "generate") {
    const prompt = randomIds(PROMPT, config.vocab_size, 2);
    const model = openModel(dir, {
      quant: "nf4",
      plan: { batchSize: 1, seqLen: PROMPT + NEW_TOKENS, what: "generating" },
    });
    const loadS = since(t0);
    const t1 = performance.now();
    const out = generate(model, prompt, { maxNewTokens: NEW_TOKENS, stopTokens: [] });
    const seconds = since(t1);
    return end({ loadS, seconds, tokensPerSecond: out.length / seconds });
  }
  if (phase !== "train") throw new Error(`unknown phase ${phase}`);
  // The trainer's settings and memory plan, on random tokens instead of a dataset.
  const tc = parseTrainConfig(
    {
      model: dir,
      out: "-",
      task: "commitpackft",
      quant: "nf4",
      optimizer: "adamw",
      loraR: 64,
      loraAlpha: 16,
      maxLen: SEQ,
      batchSize: 1,
    },
    "scale bench",
  );
  const ceiling = memoryCeiling(tc.memoryLimit);
  const { gradientCheckpointing } = planMemory(
    config,
    { ...tc, quant: "nf4", seqLen: SEQ, tablesOffHeap: tablesOffHeapByDefault(config, ceiling) },
    ceiling,
    tc.gradientCheckpointing,
    (m) => process.stderr.write(m + "\n"),
  );
  const model = loadModel(dir, { quant: "nf4", doubleQuant: tc.doubleQuant, trainable: false });
  const lora = injectLora(
    model,
    {
      r: tc.loraR,
      lora_alpha: tc.loraAlpha,
      lora_dropout: tc.loraDropout,
      target_modules: tc.targetModules,
    },
    tc.seed,
  );
  setTraining(lora, true);
  const params = loraParameters(lora);
  const optimizer = createOptimizer({ name: "adamw" }, params);
  const loadS = since(t0);
  const ids = randomIds(SEQ, config.vocab_size, 3);
  const batch = {
    ids: Int32Array.from(ids),
    labels: Int32Array.from(ids.map((_, i) => (i + 1 < SEQ ? ids[i + 1] : -100))),
    batch: 1,
    seqLen: SEQ,
  };
  const secondsPerStep: number[] = [];
  const losses: number[] = [];
  for (let s = 0; s < STEPS; s++) {
    const t1 = performance.now();
    const { loss, grads } = lossAndGradTensors(model, params, batch, {
      gradientCheckpointing,
      attentionBlock: tc.attentionBlock,
    });
    applyGrads(optimizer, grads, tc.lr, tc.maxGradNorm);
    losses.push(loss.dataSync()[0]);
    loss.dispose();
    secondsPerStep.push(since(t1));
    process.stderr.write(
      `step ${s + 1}: loss ${losses[s].toFixed(4)}, ${secondsPerStep[s].toFixed(1)} s\n`,
    );
  }
  return end({
    loadS,
    secondsPerStep,
    tokensPerSecond: SEQ / secondsPerStep[secondsPerStep.length - 1],
    losses,
    gradientCheckpointing,
  });
}

/** Run a command, its stderr passed through; its stdout, wall seconds and (via /usr/bin/time) peak RSS. */
function runChild(
  cmd: string,
  args: string[],
): { stdout: string; seconds: number; rssMiB: number | null } {
  const timeBin = "/usr/bin/time";
  const timing = fs.existsSync(timeBin);
  const rssFile = path.join(os.tmpdir(), `narrator-scale-rss-${process.pid}`);
  const [bin, argv] = timing ? [timeBin, ["-f", "%M", "-o", rssFile, cmd, ...args]] : [cmd, args];
  const t0 = performance.now();
  try {
    const r = spawnSync(bin, argv, {
      cwd: ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      maxBuffer: 1 << 26,
    });
    const seconds = (performance.now() - t0) / 1000;
    if (r.status !== 0)
      throw new Error(`${cmd} ${args.slice(0, 4).join(" ")} ... exited with ${r.status}`);
    // GNU time writes the peak resident set in KiB as its last line.
    const rssMiB = timing
      ? Number(fs.readFileSync(rssFile, "utf8").trim().split("\n").pop()) / 1024
      : null;
    return { stdout: r.stdout, seconds, rssMiB };
  } finally {
    fs.rmSync(rssFile, { force: true });
  }
}

function phaseChild(phase: string, dir: string): PhaseFigures {
  const { stdout } = runChild(process.execPath, [
    "--import",
    "tsx",
    __filename,
    "phase",
    phase,
    dir,
  ]);
  return JSON.parse(stdout.trim().split("\n").pop()!) as PhaseFigures;
}

/** PyTorch's phases on the same shape, or why there are none. */
function torchPhases(
  dir: string,
  threads: number,
): Record<string, Record<string, unknown>> | string {
  if (path.isAbsolute(PYTHON) && !fs.existsSync(PYTHON)) return `no ${PYTHON}`;
  const probe = spawnSync(PYTHON, ["-c", "import torch"], { encoding: "utf8" });
  if (probe.status !== 0) return "python3-torch not installed";
  const { stdout } = runChild(PYTHON, [
    path.join(__dirname, "torch_scale.py"),
    path.join(dir, "config.json"),
    String(threads),
    String(SEQ),
    String(STEPS),
    String(NEW_TOKENS),
  ]);
  const lines = stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return Object.fromEntries(lines.map((l) => [String(l.phase), l]));
}

const gib = (miB: number | null | undefined) =>
  miB == null ? "-" : `${(miB / 1024).toFixed(2)} GiB`;
const num = (x: number | undefined, digits = 1) => (x === undefined ? "-" : x.toFixed(digits));

function row(cells: string[]): string {
  const widths = [44, 10, 10, 10, 14];
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" ");
}

async function main(): Promise<void> {
  const given = process.env.BENCH_MODEL;
  const dir = given ?? fs.mkdtempSync(path.join(os.tmpdir(), "narrator-scale-"));
  try {
    console.log(
      `scale bench: ${PRESET} shape, random weights; ${SEQ} tokens, ${STEPS} QLoRA step(s), ${NEW_TOKENS} generated tokens; ${os.cpus().length} cores, load average ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(" ")}`,
    );
    console.log(row(["phase", "seconds", "tokens/s", "peak RSS", "peak wasm heap"]));
    if (!given) {
      const w = runChild(process.execPath, [
        "bin/narrator.js",
        "model",
        "random",
        "--preset",
        PRESET,
        "--out",
        dir,
        "--shards",
        "2",
      ]);
      console.log(
        row([`narrator model random (bf16, 2 shards)`, num(w.seconds), "-", gib(w.rssMiB), "-"]),
      );
    }
    const score = phaseChild("score", dir);
    console.log(`backend ${score.backend}, ${score.threads} thread(s)`);
    console.log(row([`load + quantize to NF4 (score's process)`, num(score.loadS), "-", "", ""]));
    console.log(
      row([
        `score ${SEQ} tokens, NF4 (${score.finite}/${SEQ - 1} finite)`,
        num(score.seconds),
        num(score.tokensPerSecond),
        gib(score.peakRssMiB),
        gib(score.heapMiB),
      ]),
    );
    const train = phaseChild("train", dir);
    const steps = train.secondsPerStep!;
    console.log(row([`load + quantize + LoRA (train's process)`, num(train.loadS), "-", "", ""]));
    console.log(
      row([
        `QLoRA step, r 64, ${SEQ} tokens${train.gradientCheckpointing ? ", checkpointed" : ""}`,
        num(steps[steps.length - 1]),
        num(train.tokensPerSecond),
        gib(train.peakRssMiB),
        gib(train.heapMiB),
      ]),
    );
    console.log(
      `  seconds per step: ${steps.map((s) => s.toFixed(1)).join(", ")}; losses ${train.losses!.map((l) => l.toFixed(4)).join(", ")}`,
    );
    const gen = phaseChild("generate", dir);
    console.log(row([`load + quantize to NF4 (generate's process)`, num(gen.loadS), "-", "", ""]));
    console.log(
      row([
        `greedy generation, ${NEW_TOKENS} tokens after ${PROMPT}`,
        num(gen.seconds),
        num(gen.tokensPerSecond, 2),
        gib(gen.peakRssMiB),
        gib(gen.heapMiB),
      ]),
    );
    const torch = torchPhases(dir, train.threads);
    if (typeof torch === "string") console.log(`PyTorch skipped (${torch})`);
    else {
      const t = (p: string) => torch[p] as Record<string, number & number[]>;
      console.log(
        `PyTorch ${t("build").torch}, ${train.threads} thread(s), float32 frozen base + LoRA (peak RSS: the process so far)`,
      );
      console.log(
        row([
          `  build the model (random float32)`,
          num(t("build").seconds),
          "-",
          gib(t("build").peakRssMiB),
          "-",
        ]),
      );
      console.log(
        row([
          `  score ${SEQ} tokens`,
          num(t("score").seconds),
          num(t("score").tokensPerSecond),
          gib(t("score").peakRssMiB),
          "-",
        ]),
      );
      const ts = t("train").secondsPerStep;
      console.log(
        row([
          `  LoRA step, r 64, ${SEQ} tokens`,
          num(ts[ts.length - 1]),
          num(t("train").tokensPerSecond),
          gib(t("train").peakRssMiB),
          "-",
        ]),
      );
      console.log(`    seconds per step: ${ts.map((s) => s.toFixed(1)).join(", ")}`);
      console.log(
        row([
          `  greedy generation, ${NEW_TOKENS} tokens`,
          num(t("generate").seconds),
          num(t("generate").tokensPerSecond, 2),
          gib(t("generate").peakRssMiB),
          "-",
        ]),
      );
    }
    console.log(`wasm heap ceiling: ${mib(memoryCeiling().heap)}`);
  } finally {
    if (!given) fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === "phase") {
  runPhase(process.argv[3], process.argv[4])
    .then((f) => process.stdout.write(JSON.stringify(f) + "\n"))
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
} else {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
