/**
 * Peak memory of a training run, estimated from shapes before anything is loaded, so that a run
 * that cannot fit is refused up front instead of dying hours later.
 *
 * Terms (bytes; B batch, T sequence length, d hidden, f MLP width, h heads, V vocabulary, L layers):
 * - frozen weights as stored: float32 layers keep W and W^T (the backward multiplies by W), NF4
 *   layers their packed codes and scales plus one layer dequantized (W and W^T) at a time, the
 *   output head a float32 W^T beside the embeddings (full-parameter training: only that transpose);
 * - trainable parameters, their gradients (x2: the accumulated sum and the new micro-batch, or the
 *   clipped copy), the optimizer's slots (AdamW 2, Adagrad 1, SGD 0 per parameter);
 * - activations kept for the backward pass, per layer B*T*(24d + 6f) floats (norms, projections,
 *   RoPE, residuals, SwiGLU) + 3*B*h*T^2 (scores, masked scores, softmax), plus for each LoRA target
 *   B*T*(2r + 2*in) when dropout is on (masked input) and B*T*2r otherwise;
 * - logits, log-softmax, one-hot targets and their product: 4*B*T*V floats.
 */
import {
  dims,
  LINEAR_MODULES,
  linearShape,
  type LinearModule,
  type LlamaConfig,
} from "../model/config";
import { baseMemory, mib } from "../model/memory";

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
}

const F32 = 4;
const SLOTS = { adamw: 2, adagrad: 1, sgd: 0 } as const;

/** Estimate the peak memory of training `config` as `opts` says (see the module comment). */
export function estimateTrainingMemory(
  config: LlamaConfig,
  opts: MemoryEstimateInput,
): MemoryEstimate {
  const { d, ffn, nHeads, vocab, nLayers } = dims(config);
  const base = baseMemory(config);
  const largestLinear = Math.max(
    ...LINEAR_MODULES.map((m) => linearShape(config, m)).map(([o, i]) => o * i),
  );
  const headCopy = vocab * d * F32;
  let weights: number;
  if (opts.full)
    weights = headCopy; // the tied head's transpose, made at each forward
  else if (opts.quant === "none") weights = base.float32 + base.linearParameters * F32 + headCopy;
  else {
    const packed = opts.doubleQuant ? base.nf4DoubleQuant : base.nf4;
    weights = packed + headCopy + 2 * largestLinear * F32;
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
  const perLayer =
    BT * (24 * d + 6 * ffn + loraActs) * F32 +
    3 * opts.batchSize * nHeads * opts.seqLen * opts.seqLen * F32;
  const activations = nLayers * perLayer;
  const logits = 4 * BT * vocab * F32;
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
  };
}

/** The estimate as lines for the log. */
export function formatEstimate(e: MemoryEstimate, limit?: number): string {
  const lines = [
    `estimated peak memory ${mib(e.total)}${limit !== undefined ? ` (limit ${mib(limit)})` : ""}:`,
    `  frozen weights ${mib(e.weights)} | trainable ${e.trainableParameters.toLocaleString("en-US")} parameters ${mib(e.trainable)}` +
      ` | gradients ${mib(e.gradients)} | optimizer ${mib(e.optimizer)}`,
    `  activations ${mib(e.activations)} | logits ${mib(e.logits)}`,
  ];
  return lines.join("\n");
}
