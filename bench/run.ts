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
import { benchFullStep, benchLoraStep, REFERENCE } from "./reference_step";

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

async function main() {
  const steps = Number(process.env.BENCH_STEPS ?? 5);
  const backend = await initBackend();
  const config = presetConfig(REFERENCE.preset);
  console.log(`backend: ${backend.label} (${backend.package})`);
  console.log(
    `reference: d=${config.hidden_size} layers=${config.num_hidden_layers} heads=${config.num_attention_heads} vocab=${config.vocab_size} ` +
      `seq=${REFERENCE.seqLen} batch=${REFERENCE.batch} LoRA r=${REFERENCE.loraR} on all seven projections`,
  );
  const lora = await benchLoraStep("nf4", steps);
  const loraParams = 4 * 8 * (4 * (256 + 256) + 2 * (256 + 688) + (688 + 256));
  console.log(formatMemory(baseMemory(config), loraParams));
  console.log(
    `LoRA step, NF4 base:  ${fmt(lora.train.tokensPerSecond)} tokens/s  (${lora.train.msPerStep.toFixed(0)} ms/step, peak tensors ${lora.train.peakTensorMB.toFixed(1)} MiB, leaked tensors ${lora.tensorsLeaked})`,
  );
  console.log(`scoring:              ${fmt(lora.score.tokensPerSecond)} tokens/s`);
  const full = await benchFullStep(Math.max(2, Math.floor(steps / 2)));
  console.log(
    `full-parameter step:  ${fmt(full.tokensPerSecond)} tokens/s  (${full.msPerStep.toFixed(0)} ms/step)`,
  );
  console.log(`process peak RSS: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
  for (const [label, isFull] of [
    ["LoRA", false],
    ["full", true],
  ] as const) {
    const t = torchStep(1, steps, isFull);
    if (typeof t === "string") {
      console.log(`PyTorch ${label} step: skipped (${t})`);
    } else {
      const ours = isFull ? full.tokensPerSecond : lora.train.tokensPerSecond;
      console.log(
        `PyTorch ${t.torch} ${label} step on ${t.device}, 1 thread (float32 base): ${fmt(t.tokensPerSecond)} tokens/s; ours/PyTorch = ${(ours / t.tokensPerSecond).toFixed(2)}`,
      );
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
