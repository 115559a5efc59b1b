/**
 * `npm run bench`: prints throughput figures (never asserted in tests).
 * - the reference LoRA training step on an NF4 base, and scoring, on the active backend;
 * - the same shape trained in full (all parameters);
 * - PyTorch on the same model and step, side by side, when Debian's python3-torch is present;
 * - the base's memory in each format.
 * BENCH_STEPS sets the timed steps (default 5).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { initBackend } from "../src/backend/backend";
import { presetConfig } from "../src/model/presets";
import { baseMemory, formatMemory } from "../src/model/memory";
import { backendInfo } from "../src/backend/backend";
import { ATTENTION, ATTENTION_GRAD } from "../src/native/attention";
import { CROSS_ENTROPY, CROSS_ENTROPY_GRAD } from "../src/native/cross_entropy";
import {
  disableNativeKernels,
  enableNativeKernels,
  nativeStatus,
  setNativeThreads,
} from "../src/native/kernels";
import { type Contender, interleave, median, speedup, startTorch, timed } from "./paired";
import {
  benchFullStep,
  benchLoraStep,
  loraStepper,
  profileLoraStep,
  REFERENCE,
  type StepFigures,
} from "./reference_step";

// Debian's python3-torch lives under /usr/bin/python3; BENCH_PYTHON overrides (e.g. a GPU box).
const PYTHON = process.env.BENCH_PYTHON ?? "/usr/bin/python3";

function torchStep(
  threads: number,
  steps: number,
  full = false,
): { tokensPerSecond: number; torch: string; device: string } | string {
  if (path.isAbsolute(PYTHON) && !fs.existsSync(PYTHON)) return `no ${PYTHON}`;
  try {
    const out = execFileSync(
      PYTHON,
      [
        path.join(__dirname, "torch_step.py"),
        String(threads),
        String(steps),
        ...(full ? ["full"] : []),
      ],
      {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    return JSON.parse(out.trim().split("\n").pop()!);
  } catch (e) {
    const msg = (e as { stderr?: string }).stderr ?? String(e);
    return msg.includes("No module named 'torch'")
      ? "python3-torch not installed"
      : `failed: ${msg.split("\n").slice(-2).join(" ")}`;
  }
}

const fmt = (n: number) => n.toFixed(0).padStart(7);
const tokensPerSecond = (ms: number) => ((REFERENCE.batch * REFERENCE.seqLen) / ms) * 1000;

function line(label: string, f: StepFigures, extra = ""): void {
  console.log(
    `${label.padEnd(34)} ${fmt(f.tokensPerSecond)} tokens/s  (${f.msPerStep.toFixed(0)} ms/step)${extra}`,
  );
}

function torchLine(
  label: string,
  threads: number,
  steps: number,
  full: boolean,
  ours: { label: string; tokensPerSecond: number },
): void {
  const t = torchStep(threads, steps, full);
  if (typeof t === "string") {
    console.log(`${label.padEnd(34)} skipped (${t})`);
    return;
  }
  console.log(
    `${label.padEnd(34)} ${fmt(t.tokensPerSecond)} tokens/s  (PyTorch ${t.torch} on ${t.device}, ${threads} thread${threads > 1 ? "s" : ""}, float32 base); ${ours.label}/PyTorch = ${(ours.tokensPerSecond / t.tokensPerSecond).toFixed(2)}`,
  );
}

/** What the "before" contender leaves out: the fused loss and the broadcasting reduction gradients. */
const UNFUSED = [CROSS_ENTROPY, CROSS_ENTROPY_GRAD, "Sum gradient", "Mean gradient"];
/** What the plain-attention contender leaves out. */
const FUSED_ATTENTION = [ATTENTION, ATTENTION_GRAD];

/**
 * The LoRA step of this backend, of native kernels without UNFUSED and without fused attention
 * (when native kernels are on), and of PyTorch with the same threads, taking turns one step each
 * per round.
 */
async function interleavedLora(threads: number, rounds: number): Promise<void> {
  const torch = await startTorch(PYTHON, threads);
  const label = backendInfo().label;
  const stepper = loraStepper("nf4");
  const contenders: Contender[] = [{ name: label, step: () => timed(stepper.run) }];
  if (nativeStatus().enabled) {
    const use = (exclude: string[]) => () => {
      disableNativeKernels();
      enableNativeKernels({ exclude });
    };
    contenders[0].setup = use([]);
    contenders.push({
      name: `${label}, unfused loss`,
      setup: use(UNFUSED),
      step: () => timed(stepper.run),
    });
    contenders.push({
      name: `${label}, plain attention`,
      setup: use(FUSED_ATTENTION),
      step: () => timed(stepper.run),
    });
  }
  const pytorch = `PyTorch, ${threads} thread${threads > 1 ? "s" : ""}`;
  if (typeof torch !== "string") contenders.push({ name: pytorch, step: torch.step });
  const times = await interleave(contenders, rounds);
  contenders[0].setup?.();
  stepper.dispose();
  if (typeof torch !== "string") torch.close();
  console.log(`\ninterleaved LoRA steps, ${rounds} rounds of one step each (median):`);
  for (const [name, ms] of times) {
    console.log(`  ${name.padEnd(32)} ${fmt(tokensPerSecond(median(ms)))} tokens/s`);
  }
  if (contenders.length > 1 && nativeStatus().enabled) {
    console.log(
      `  (unfused loss: without ${UNFUSED.join(", ")}; plain attention: without ${FUSED_ATTENTION.join(", ")})`,
    );
  }
  if (typeof torch === "string") console.log(`  PyTorch skipped (${torch})`);
  const ratios = [...times.keys()]
    .slice(1)
    .map((other) => `${label} / ${other} = ${speedup(times, label, other).toFixed(2)}`);
  if (ratios.length > 0) console.log(`  median per-round ratios: ${ratios.join("; ")}`);
}

async function main() {
  const steps = Number(process.env.BENCH_STEPS ?? 5);
  const backend = await initBackend();
  const config = presetConfig(REFERENCE.preset);
  const native = nativeStatus();
  console.log(`backend: ${backend.label} (${backend.package})`);
  if (backend.name === "wasm") {
    console.log(
      native.enabled
        ? `native kernels: ${native.threads} threads, OpenBLAS ${native.blas?.core} (${native.blas?.path}), loops ${native.cpuKernels}`
        : `native kernels: off (${native.reason})`,
    );
  }
  console.log(
    `reference: d=${config.hidden_size} layers=${config.num_hidden_layers} heads=${config.num_attention_heads} vocab=${config.vocab_size} ` +
      `seq=${REFERENCE.seqLen} batch=${REFERENCE.batch} LoRA r=${REFERENCE.loraR} on all seven projections, AdamW`,
  );
  const loraParams = 4 * 8 * (4 * (256 + 256) + 2 * (256 + 688) + (688 + 256));
  console.log(formatMemory(baseMemory(config), loraParams));

  const lora = await benchLoraStep("nf4", steps);
  const full = await benchFullStep(Math.max(2, Math.floor(steps / 2)));
  line(
    `LoRA step, NF4 base (${backend.label})`,
    lora.train,
    `, leaked tensors ${lora.tensorsLeaked}`,
  );
  line(`scoring (${backend.label})`, lora.score);
  line(`full-parameter step (${backend.label})`, full);
  const threads = native.enabled ? native.threads! : 1;
  const ours = (tokensPerSecond: number) => ({ label: backend.label, tokensPerSecond });
  torchLine(`PyTorch LoRA step`, threads, steps, false, ours(lora.train.tokensPerSecond));
  torchLine(`PyTorch full step`, threads, steps, true, ours(full.tokensPerSecond));

  if (native.enabled) {
    // The same steps on plain wasm, in the same process, for the speed-up.
    disableNativeKernels();
    const plain = await benchLoraStep("nf4", Math.max(2, Math.floor(steps / 2)));
    const plainFull = await benchFullStep(2);
    enableNativeKernels();
    line("LoRA step, NF4 base (plain wasm)", plain.train);
    line("scoring (plain wasm)", plain.score);
    line("full-parameter step (plain wasm)", plainFull);
    console.log(
      `native/plain wasm: LoRA step ${(lora.train.tokensPerSecond / plain.train.tokensPerSecond).toFixed(2)}x, ` +
        `scoring ${(lora.score.tokensPerSecond / plain.score.tokensPerSecond).toFixed(2)}x, ` +
        `full step ${(full.tokensPerSecond / plainFull.tokensPerSecond).toFixed(2)}x`,
    );
    // One thread each: the kernels' own speed, without the thread pool.
    setNativeThreads(1);
    const single = await benchLoraStep("nf4", steps);
    setNativeThreads(threads);
    line(`LoRA step, NF4 base (${backend.label}, 1 thread)`, single.train);
    torchLine(`PyTorch LoRA step`, 1, steps, false, {
      label: `${backend.label} 1 thread`,
      tokensPerSecond: single.train.tokensPerSecond,
    });
  }

  await interleavedLora(threads, Number(process.env.BENCH_ROUNDS ?? 8));

  console.log(`\nkernel time of one LoRA training step (${backendInfo().label}):`);
  const kernels = await profileLoraStep(12);
  const width = Math.max(...kernels.map((k) => k.name.length));
  for (const k of kernels) {
    console.log(`  ${k.name.padEnd(width)} ${k.ms.toFixed(1).padStart(8)} ms  ${k.calls} calls`);
  }
  console.log(`process peak RSS: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
