/**
 * Peak memory of a training run, estimated from shapes before anything is loaded, so that a run
 * that cannot fit is refused up front instead of dying hours later.
 *
 * Terms (bytes; B batch, T sequence length, d hidden, f MLP width, h heads, V vocabulary, L layers):
 * - frozen weights as stored: float32 layers keep W and W^T (the backward multiplies by W), NF4
 *   layers their packed codes and scales, plus on plain kernels one layer dequantized (W and W^T)
 *   at a time (the native kernel dequantizes tiles into a per-thread buffer off the heap and never
 *   makes that copy), the output head a float32 W^T beside the embeddings (full-parameter
 *   training: only that transpose);
 * - trainable parameters, their gradients (x2: the accumulated sum and the new micro-batch, or the
 *   clipped copy), the optimizer's slots (AdamW 2, Adagrad 1, SGD 0 per parameter);
 * - activations, per layer: the B*T*(24d + 6f) floats a forward pass makes (norms, projections,
 *   RoPE, residuals, SwiGLU) and for each LoRA target B*T*(2r + 2*in) with dropout (masked input),
 *   B*T*2r without, times a factor, plus attention's own term: a factor times B*h*T^2 scores on
 *   plain kernels; with native kernels attention runs fused (src/native/attention.ts) and keeps
 *   per query row only its output and logsumexp (2 floats), B*h*T*(hd + 2), held like the other
 *   activations (the chunked path of --attention-block holds one block's scores at a time on
 *   top, which this leaves out);
 * - logits and the loss: a factor times B*T*V floats.
 *
 * The factors are measured (exact allocation peaks of a LoRA step, r 64 on all seven projections,
 * on narrator-2m and narrator-8m at 512 tokens): tfjs keeps the gradient of every intermediate
 * tensor until the whole backward pass ends, besides what each operation saved, so a step holds
 * about three times the activations a forward pass makes. The fused native kernels (attention, loss)
 * need less than the plain wasm ones; see KERNEL_FACTORS.
 *
 * With activation checkpointing per decoder layer only each layer's input (B*T*d floats) is kept,
 * and one layer's activations exist at a time while it is recomputed in the backward pass.
 * Packed 4-bit weights and off-heap tables live in JavaScript memory; everything else is on the
 * backend's heap, whose ceiling (not system memory) a run must fit under: see `checkTrainingFits`
 * and `needsGradientCheckpointing`.
 */
import {
  dims,
  LINEAR_MODULES,
  linearShape,
  type LinearModule,
  type LlamaConfig,
} from "../model/config";
import { baseMemory, mib, type MemoryCeiling } from "../model/memory";
import { backendInfo } from "../backend/backend";

/** What the estimate depends on. */
export interface MemoryEstimateInput {
  full: boolean;
  quant: "nf4" | "none";
  doubleQuant: boolean;
  loraR: number;
  loraDropout: number;
  targetModules: readonly LinearModule[];
  optimizer: "adamw" | "adagrad" | "sgd";
  batchSize: number;
  seqLen: number;
  /** The kernels that will run the step (default: the active backend's). */
  kernels?: KernelSet;
  /** Micro-batches per optimizer step (only refusals use it, to keep the effective batch). */
  gradAccum?: number;
  /** Keep only each decoder layer's input for the backward pass and recompute the rest. */
  gradientCheckpointing?: boolean;
  /** Frozen embeddings and an untied head kept as stored outside the heap (2 bytes each). */
  tablesOffHeap?: boolean;
}

/** The estimate, term by term, in bytes. */
export interface MemoryEstimate {
  /** Frozen weights (and the head's transposed copy). */
  weights: number;
  trainableParameters: number;
  /** The trainable parameters' values. */
  trainable: number;
  gradients: number;
  optimizer: number;
  activations: number;
  logits: number;
  total: number;
  /** The part of `total` on the backend's heap (the rest: packed 4-bit weights, off-heap tables). */
  heap: number;
}

const F32 = 4;
const SLOTS = { adamw: 2, adagrad: 1, sgd: 0 } as const;

/** Which kernels run a step: their memory differs (see the module comment). */
export type KernelSet = "native" | "plain";

/**
 * Measured multiples (rounded up) of the counted per-layer activations and of the B*T*V logits
 * that a training step holds at its peak. Per layer, narrator-2m and narrator-8m gave the same
 * factors: 2.98 / 1.4 with native kernels, 3.5 / 9.6 plain. With fused attention the native
 * estimate is within 6% of the heap a narrator-8m LoRA step grew to (batch 1 to 8, 256 to 512
 * tokens).
 */
const KERNEL_FACTORS: Record<KernelSet, { layer: number; logits: number }> = {
  native: { layer: 3, logits: 2 },
  plain: { layer: 3.5, logits: 10 },
};

/** Measured multiple (8.5, rounded up) of the B*h*T^2 scores a plain step holds per layer. */
const PLAIN_SCORES_FACTOR = 9;

/** Attention's own floats per layer (see the module comment). */
function attentionFloats(kernels: KernelSet, B: number, h: number, T: number, hd: number): number {
  return kernels === "native"
    ? KERNEL_FACTORS.native.layer * B * h * T * (hd + 2)
    : PLAIN_SCORES_FACTOR * B * h * T * T;
}

/** The kernels the active backend runs: native when the addon is on, else plain. */
function activeKernels(): KernelSet {
  try {
    return backendInfo().label === "wasm+native" ? "native" : "plain";
  } catch {
    return "plain";
  }
}

/** Estimate the peak memory of training `config` as `opts` says (see the module comment). */
export function estimateTrainingMemory(
  config: LlamaConfig,
  opts: MemoryEstimateInput,
): MemoryEstimate {
  const { d, ffn, nHeads, headDim, vocab, nLayers } = dims(config);
  const base = baseMemory(config);
  const largestLinear = Math.max(
    ...LINEAR_MODULES.map((m) => linearShape(config, m)).map(([o, i]) => o * i),
  );
  const headCopy = vocab * d * F32;
  const tableFloats = (config.tie_word_embeddings ? 1 : 2) * vocab * d;
  const offHeapTables = !opts.full && opts.tablesOffHeap === true;
  const kernels = opts.kernels ?? activeKernels();
  // A 4-bit layer dequantized with its transpose for its product: plain kernels only.
  const dequantized = kernels === "native" ? 0 : 2 * largestLinear * F32;
  let weights: number;
  let outside = 0;
  if (opts.full)
    weights = headCopy; // the tied head's transpose, made at each forward
  else if (opts.quant === "none") weights = base.float32 + base.linearParameters * F32 + headCopy;
  else {
    const packed = opts.doubleQuant ? base.nf4DoubleQuant : base.nf4;
    weights = packed + headCopy + dequantized;
    outside = packed - (base.parameters - base.linearParameters) * F32;
  }
  if (offHeapTables) {
    // Stored at 2 bytes outside the heap instead of float32 (and the head's copy) on it.
    weights += tableFloats * 2 - tableFloats * F32 - headCopy;
    outside += tableFloats * 2;
  }
  const loraPerLayer = opts.targetModules.reduce((s, m) => {
    const [out, inF] = linearShape(config, m);
    return s + opts.loraR * (inF + out);
  }, 0);
  const trainableParameters = opts.full ? base.parameters : nLayers * loraPerLayer;
  const trainable = trainableParameters * F32;
  const gradients = 2 * trainableParameters * F32;
  const optimizer = SLOTS[opts.optimizer] * trainableParameters * F32;
  const BT = opts.batchSize * opts.seqLen;
  const loraActs = opts.full
    ? 0
    : opts.targetModules.reduce((s, m) => {
        const inF = linearShape(config, m)[1];
        return s + 2 * opts.loraR + (opts.loraDropout > 0 ? 2 * inF : 0);
      }, 0);
  const k = KERNEL_FACTORS[kernels];
  const perLayer =
    k.layer * BT * (24 * d + 6 * ffn + loraActs) * F32 +
    attentionFloats(kernels, opts.batchSize, nHeads, opts.seqLen, headDim) * F32;
  const activations = opts.gradientCheckpointing
    ? nLayers * BT * d * F32 + perLayer
    : nLayers * perLayer;
  const logits = k.logits * BT * vocab * F32;
  const total = weights + trainable + gradients + optimizer + activations + logits;
  return {
    weights,
    trainableParameters,
    trainable,
    gradients,
    optimizer,
    activations,
    logits,
    total,
    heap: total - outside,
  };
}

/** The estimate as lines for the log; the limit is a number (bytes) or the ceiling. */
export function formatEstimate(e: MemoryEstimate, limit?: number | MemoryCeiling): string {
  const bound =
    limit === undefined
      ? ""
      : typeof limit === "number"
        ? ` (limit ${mib(limit)})`
        : ` (${mib(e.heap)} on the ${limit.heapName}, which holds at most ${mib(limit.heap)}; limit ${mib(limit.process)} in all)`;
  const lines = [
    `estimated peak memory ${mib(e.total)}${bound}:`,
    `  frozen weights ${mib(e.weights)} | trainable ${e.trainableParameters.toLocaleString("en-US")} parameters ${mib(e.trainable)}` +
      ` | gradients ${mib(e.gradients)} | optimizer ${mib(e.optimizer)}`,
    `  activations ${mib(e.activations)} | logits ${mib(e.logits)}`,
  ];
  return lines.join("\n");
}

/**
 * Whether a run needs activation checkpointing to fit under the ceiling: its plain estimate does
 * not fit (on the heap or in all) while the checkpointed one does. A run that fits either way
 * does not need it; one that fits neither way is for `checkTrainingFits` to refuse.
 */
export function needsGradientCheckpointing(
  config: LlamaConfig,
  opts: MemoryEstimateInput,
  ceiling: MemoryCeiling,
): boolean {
  const plain = estimateTrainingMemory(config, { ...opts, gradientCheckpointing: false });
  const checkpointed = estimateTrainingMemory(config, { ...opts, gradientCheckpointing: true });
  return !fitsUnder(plain, ceiling) && fitsUnder(checkpointed, ceiling);
}

/** Whether an estimate fits: its heap part under the heap's ceiling, the whole under the budget. */
export function fitsUnder(e: MemoryEstimate, ceiling: MemoryCeiling): boolean {
  return e.heap <= ceiling.heap && e.total <= ceiling.process;
}

/** A run refused before loading anything, with the numbers. */
export class MemoryRefusal extends Error {}

/**
 * The estimate of a run, or a refusal naming the ceiling, the estimate and settings that would
 * fit: activation checkpointing, a smaller batch with gradient accumulation keeping the
 * effective batch, a shorter maximum length.
 */
export function checkTrainingFits(
  config: LlamaConfig,
  opts: MemoryEstimateInput,
  ceiling: MemoryCeiling,
): MemoryEstimate {
  const e = estimateTrainingMemory(config, opts);
  if (fitsUnder(e, ceiling)) return e;
  const where =
    e.heap > ceiling.heap
      ? `${mib(e.heap)} on the ${ceiling.heapName}, which holds at most ${mib(ceiling.heap)}`
      : `${mib(e.total)} in all, above the limit of ${mib(ceiling.process)}`;
  const ideas = fittingAlternatives(config, opts, ceiling);
  throw new MemoryRefusal(
    `refusing to start: the run needs an estimated ${where}; ` +
      (ideas.length > 0
        ? `what would fit: ${ideas.join("; or ")}`
        : "nothing smaller fits either (quantize the base, or use a smaller model)"),
  );
}

/**
 * Settings near `opts` that fit, as command-line options with their estimates: checkpointing
 * alone; then, for the batch (with gradient accumulation keeping the effective batch) and for the
 * maximum length, the mildest reduction that fits, and the mildest with checkpointing when that
 * one reduces less (so a run that fits at batch 1 with checkpointing is not only offered a
 * 16-token maximum length).
 */
function fittingAlternatives(
  config: LlamaConfig,
  opts: MemoryEstimateInput,
  ceiling: MemoryCeiling,
): string[] {
  const ckpt = opts.gradientCheckpointing ?? false;
  const heapIfFits = (o: MemoryEstimateInput): number | null => {
    const e = estimateTrainingMemory(config, o);
    return fitsUnder(e, ceiling) ? e.heap : null;
  };
  const ideas: string[] = [];
  const ckptHeap = ckpt ? null : heapIfFits({ ...opts, gradientCheckpointing: true });
  if (ckptHeap !== null) ideas.push(`--gradient-checkpointing (${mib(ckptHeap)})`);
  // Reductions with checkpointing are worth naming only when checkpointing alone does not fit.
  const modes = ckpt ? [true] : ckptHeap !== null ? [false] : [false, true];
  const effectiveBatch = opts.batchSize * (opts.gradAccum ?? 1);
  const halvings = (from: number, min: number) => {
    const values: number[] = [];
    for (let v = Math.floor(from / 2); v >= min; v = Math.floor(v / 2)) values.push(v);
    return values;
  };
  const dimensions: {
    values: number[];
    set: (v: number) => Partial<MemoryEstimateInput>;
    label: (v: number) => string;
  }[] = [
    {
      values: halvings(opts.batchSize, 1),
      set: (b) => ({ batchSize: b }),
      label: (b) => `--batch-size ${b} --grad-accum ${Math.ceil(effectiveBatch / b)}`,
    },
    {
      values: halvings(opts.seqLen, 16),
      set: (t) => ({ seqLen: t }),
      label: (t) => `--max-len ${t}`,
    },
  ];
  for (const { values, set, label } of dimensions) {
    // The largest value that fits, without checkpointing (unless it is already on) and with it.
    let plainAt = -1;
    for (const gc of modes) {
      const flag = gc && !ckpt ? " --gradient-checkpointing" : "";
      const at = values.findIndex(
        (v) => heapIfFits({ ...opts, ...set(v), gradientCheckpointing: gc }) !== null,
      );
      if (at < 0 || (plainAt >= 0 && at >= plainAt)) continue;
      if (!gc) plainAt = at;
      const heap = heapIfFits({ ...opts, ...set(values[at]), gradientCheckpointing: gc })!;
      ideas.push(`${label(values[at])}${flag} (${mib(heap)})`);
    }
  }
  return ideas;
}
