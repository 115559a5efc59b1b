/**
 * The training estimate against a ceiling: the checkpointed activation term by hand, when
 * checkpointing is needed, and refusals that name the ceiling and settings that fit.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseLlamaConfig } from "../../src/model/config";
import type { MemoryCeiling } from "../../src/model/memory";
import { presetConfig } from "../../src/model/presets";
import {
  checkTrainingFits,
  estimateTrainingMemory,
  fitsUnder,
  MemoryRefusal,
  needsGradientCheckpointing,
  type MemoryEstimateInput,
} from "../../src/train/memory";
import { LINEAR_MODULES } from "../../src/model/config";

const config = parseLlamaConfig({
  vocab_size: 300,
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 3,
  num_attention_heads: 4,
});

const qlora: MemoryEstimateInput = {
  full: false,
  quant: "nf4",
  doubleQuant: false,
  loraR: 4,
  loraDropout: 0,
  targetModules: ["q_proj", "v_proj"],
  optimizer: "adamw",
  batchSize: 2,
  seqLen: 16,
  kernels: "native",
};

const MIB = 2 ** 20;
const ceiling = (heap: number, process = 64 * 2 ** 30): MemoryCeiling => ({
  heap,
  process,
  heapName: "wasm heap",
});

test("checkpointing keeps each layer's input and one layer's activations", () => {
  const plain = estimateTrainingMemory(config, qlora);
  const ckpt = estimateTrainingMemory(config, { ...qlora, gradientCheckpointing: true });
  // Per layer, B*T = 32 tokens: 3 x (24d + 6f + LoRA (q, v: 2r each)) floats + fused attention's
  // output and logsumexp (2 floats a row), 3 x B h T (hd + 2) (the measured factor of native kernels).
  const perLayer = (3 * 32 * (24 * 32 + 6 * 64 + 2 * 2 * 4) + 3 * 2 * 4 * 16 * (8 + 2)) * 4;
  assert.equal(plain.activations, 3 * perLayer);
  // Plain kernels: 3.5 x the same activations + 9 B h T^2 scores.
  const wasm = estimateTrainingMemory(config, { ...qlora, kernels: "plain" });
  const wasmPerLayer = (3.5 * 32 * (24 * 32 + 6 * 64 + 2 * 2 * 4) + 9 * 2 * 4 * 16 * 16) * 4;
  assert.equal(wasm.activations, 3 * wasmPerLayer);
  assert.equal(ckpt.activations, 3 * 32 * 32 * 4 + perLayer);
  assert.equal(plain.total - ckpt.total, 2 * perLayer - 3 * 32 * 32 * 4);
  // The packed 4-bit weights are JavaScript memory: the heap part leaves them out.
  const codes = (3 * (4 * 32 * 32 + 3 * 64 * 32)) / 2;
  const absmax = ((3 * (4 * 32 * 32 + 3 * 64 * 32)) / 64) * 4;
  assert.equal(plain.total - plain.heap, codes + absmax);
});

test("checkpointing is needed exactly when only the checkpointed run fits the heap", () => {
  const plain = estimateTrainingMemory(config, qlora);
  const ckpt = estimateTrainingMemory(config, { ...qlora, gradientCheckpointing: true });
  assert.equal(needsGradientCheckpointing(config, qlora, ceiling(plain.heap)), false);
  assert.equal(needsGradientCheckpointing(config, qlora, ceiling(plain.heap - 1)), true);
  assert.equal(needsGradientCheckpointing(config, qlora, ceiling(ckpt.heap)), true);
  // Fits neither way: not for checkpointing to fix.
  assert.equal(needsGradientCheckpointing(config, qlora, ceiling(ckpt.heap - 1)), false);
  // The process budget counts too.
  assert.equal(needsGradientCheckpointing(config, qlora, ceiling(1e12, plain.total - 1)), true);
});

test("a run that cannot fit is refused with the ceiling, the estimate and what fits", () => {
  const plain = estimateTrainingMemory(config, qlora);
  assert.equal(checkTrainingFits(config, qlora, ceiling(plain.heap)).total, plain.total);
  const ckpt = estimateTrainingMemory(config, { ...qlora, gradientCheckpointing: true });
  const batch1 = estimateTrainingMemory(config, { ...qlora, batchSize: 1 });
  assert.ok(batch1.heap < plain.heap && ckpt.heap < plain.heap);
  const c = ceiling(Math.max(ckpt.heap, batch1.heap));
  assert.throws(
    () => checkTrainingFits(config, qlora, c),
    (e: unknown) => {
      assert.ok(e instanceof MemoryRefusal);
      assert.match(
        e.message,
        new RegExp(
          `^refusing to start: the run needs an estimated ${(plain.heap / MIB).toFixed(2)} MiB on the wasm heap, ` +
            `which holds at most ${(c.heap / MIB).toFixed(2)} MiB; what would fit: --gradient-checkpointing \\(`,
        ),
      );
      // Batch 1 with two micro-batches per step keeps the effective batch of 2.
      assert.match(e.message, /--batch-size 1 --grad-accum 2 \(/);
      return true;
    },
  );
  // Every suggestion does fit.
  assert.ok(fitsUnder(estimateTrainingMemory(config, { ...qlora, batchSize: 1 }), c));
  assert.throws(
    () => checkTrainingFits(config, qlora, ceiling(1000)),
    /nothing smaller fits either/,
  );
});

test("a run that fits only at a smaller batch with checkpointing is offered that, not only a tiny length", () => {
  // Neither checkpointing alone nor batch 1 alone fits; batch 1 with checkpointing does, and so
  // does a much shorter maximum length without it.
  const run: MemoryEstimateInput = { ...qlora, batchSize: 4, seqLen: 256 };
  const est = (o: Partial<MemoryEstimateInput>) => estimateTrainingMemory(config, { ...run, ...o });
  const c = ceiling(est({ batchSize: 1, gradientCheckpointing: true }).heap);
  assert.ok(!fitsUnder(est({ gradientCheckpointing: true }), c));
  assert.ok(!fitsUnder(est({ batchSize: 1 }), c));
  assert.ok(fitsUnder(est({ seqLen: 16 }), c));
  assert.throws(
    () => checkTrainingFits(config, run, c),
    (e: unknown) => {
      assert.ok(e instanceof MemoryRefusal);
      assert.match(
        e.message,
        /what would fit: .*--batch-size 1 --grad-accum 4 --gradient-checkpointing \(/,
      );
      assert.match(e.message, /; or --max-len \d+ \(/);
      assert.doesNotMatch(e.message, /what would fit: --gradient-checkpointing \(/);
      // Every suggestion, read back from the message, fits.
      const ideas = e.message.split("what would fit: ")[1].split("; or ");
      assert.ok(ideas.length >= 2);
      for (const idea of ideas) {
        const batch = /--batch-size (\d+)/.exec(idea);
        const len = /--max-len (\d+)/.exec(idea);
        const o: Partial<MemoryEstimateInput> = {
          gradientCheckpointing: idea.includes("--gradient-checkpointing"),
          ...(batch ? { batchSize: Number(batch[1]) } : {}),
          ...(len ? { seqLen: Number(len[1]) } : {}),
        };
        assert.ok(fitsUnder(est(o), c), idea);
      }
      return true;
    },
  );
});

test("narrator-8m at batch 8 and 512 tokens needs checkpointing under the 4 GiB heap, as seen", () => {
  // It aborted without checkpointing (issue 14); with it, the estimate is far below the ceiling.
  const run: MemoryEstimateInput = {
    ...qlora,
    loraR: 64,
    loraDropout: 0.05,
    targetModules: [...LINEAR_MODULES],
    batchSize: 8,
    seqLen: 512,
  };
  const heap = ceiling(2 ** 32 - 2 ** 16);
  const eight = presetConfig("narrator-8m");
  for (const kernels of ["native", "plain"] as const) {
    assert.equal(needsGradientCheckpointing(eight, { ...run, kernels }, heap), true, kernels);
  }
  // Batch 4 trained without it (with native kernels).
  assert.equal(needsGradientCheckpointing(eight, { ...run, batchSize: 4 }, heap), false);
});

test("the study's QLoRA step on the 1.3B shape needs checkpointing under the 4 GiB heap", () => {
  const ds = presetConfig("deepseek-coder-1.3b");
  const run: MemoryEstimateInput = {
    ...qlora,
    loraR: 64,
    loraDropout: 0.05,
    targetModules: [...LINEAR_MODULES],
    batchSize: 1,
    seqLen: 512,
    tablesOffHeap: true,
  };
  const heap = ceiling(2 ** 32 - 2 ** 16);
  const plain = estimateTrainingMemory(ds, run);
  // Activations alone: 24 layers x 512 x (24 x 2048 + 6 x 5504 + LoRA) floats + scores, > 5 GiB.
  assert.ok(plain.activations > 5 * 2 ** 30, `${plain.activations}`);
  assert.equal(needsGradientCheckpointing(ds, run, heap), true);
});

test("NF4 layers count a dequantized float copy (W and W^T) only on plain kernels", () => {
  // The native kernel dequantizes tiles of the packed weight into a small per-thread buffer
  // outside the heap, so a native step holds no float copy of any 4-bit layer.
  const native = estimateTrainingMemory(config, qlora);
  const plain = estimateTrainingMemory(config, { ...qlora, kernels: "plain" });
  const largest = 64 * 32; // gate/up/down: 64 x 32
  assert.equal(plain.weights - native.weights, 2 * largest * 4);
  // Frozen weights on a native step: the packed codes and scales, norms, embeddings and the head.
  const codes = (3 * (4 * 32 * 32 + 3 * 64 * 32)) / 2;
  const absmax = ((3 * (4 * 32 * 32 + 3 * 64 * 32)) / 64) * 4;
  const norms = (2 * 3 + 1) * 32 * 4;
  const tables = 3 * 300 * 32 * 4; // embeddings, the untied head and the head's transpose
  assert.equal(native.weights, codes + absmax + norms + tables);
  // The 1.3B shape: its largest layer is 5504 x 2048, about 86 MiB for W and W^T.
  const ds = presetConfig("deepseek-coder-1.3b");
  const run = { ...qlora, loraR: 64, batchSize: 1, seqLen: 512, tablesOffHeap: true };
  // (weights only: the two kernel sets also keep different activations)
  const gap =
    estimateTrainingMemory(ds, { ...run, kernels: "plain" }).weights -
    estimateTrainingMemory(ds, run).weights;
  assert.equal(gap, 2 * 5504 * 2048 * 4);
});
