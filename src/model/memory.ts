/**
 * Memory of a base model in each storage format, computed from its shape: linear layers in
 * float32, bf16, NF4 (4 bits + one float32 absmax per block) or NF4 with double quantization
 * (one byte per block + one float32 per 256 blocks + the 256-entry map); embeddings and norms
 * stay float32. Also: the ceiling a run must fit under (the wasm heap's maximum, not system
 * memory) and the peak of a forward pass, so that a run that cannot fit is refused before loading.
 */
import * as os from "node:os";
import { dims, LINEAR_MODULES, linearShape, parameterCount, type LlamaConfig } from "./config";
import { backendInfo } from "../backend/backend";
import { wasmHeapCeiling } from "../native/wasm_heap";

export interface MemoryReport {
  parameters: number;
  linearParameters: number;
  /** Bytes of the whole base in each format. */
  float32: number;
  bfloat16: number;
  nf4: number;
  nf4DoubleQuant: number;
}

export function baseMemory(config: LlamaConfig, blocksize = 64): MemoryReport {
  const { nLayers } = dims(config);
  const shapes = LINEAR_MODULES.map((m) => linearShape(config, m));
  const perLayer = shapes.map(([o, i]) => o * i);
  const linear = nLayers * perLayer.reduce((a, b) => a + b, 0);
  const total = parameterCount(config);
  const rest = (total - linear) * 4;
  let nf4 = 0;
  let nf4dq = 0;
  for (let l = 0; l < nLayers; l++) {
    for (const n of perLayer) {
      const blocks = Math.ceil(n / blocksize);
      nf4 += Math.ceil(n / 2) + blocks * 4;
      nf4dq += Math.ceil(n / 2) + blocks + Math.ceil(blocks / 256) * 4 + 256 * 4 + 4;
    }
  }
  return {
    parameters: total,
    linearParameters: linear,
    float32: total * 4,
    bfloat16: total * 2,
    nf4: rest + nf4,
    nf4DoubleQuant: rest + nf4dq,
  };
}

/** Human-readable bytes (MiB with two decimals). */
export function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(2)} MiB`;
}

/** One line per format, for logs and `--help`-style reports. */
export function formatMemory(r: MemoryReport, trainableParams: number): string {
  return [
    `base: ${r.parameters.toLocaleString("en-US")} parameters (${r.linearParameters.toLocaleString("en-US")} in linear layers)`,
    `  float32 ${mib(r.float32)} | bf16 ${mib(r.bfloat16)} | nf4 ${mib(r.nf4)} | nf4+double-quant ${mib(r.nf4DoubleQuant)}`,
    `trainable: ${trainableParams.toLocaleString("en-US")} parameters, ${mib(trainableParams * 4)} (+${mib(trainableParams * 8)} AdamW state)`,
  ].join("\n");
}

/** What bounds memory on this machine and backend, in bytes. */
export interface MemoryCeiling {
  /** Largest total of tensors: the wasm heap's maximum, or the process budget on other backends. */
  heap: number;
  /** Largest total of everything (tensors, weights kept in JavaScript, the runtime). */
  process: number;
  /** What `heap` is, for messages. */
  heapName: string;
}

/**
 * The ceiling for the backend in use: on wasm (the default, also when no backend has started
 * yet) the heap's declared maximum, below 4 GiB; elsewhere the process budget, which is `limit`
 * when given and 80% of physical memory otherwise.
 */
export function memoryCeiling(limit?: number): MemoryCeiling {
  const budget = limit ?? 0.8 * os.totalmem();
  const backend = activeBackendName() ?? "wasm";
  if (backend !== "wasm") return { heap: budget, process: budget, heapName: `${backend} memory` };
  return { heap: Math.min(wasmHeapCeiling(), budget), process: budget, heapName: "wasm heap" };
}

function activeBackendName(): string | undefined {
  try {
    return backendInfo().name;
  } catch {
    return undefined;
  }
}

/**
 * Frozen tables (embeddings, an untied head) whose float32 copies would take more than this
 * share of the heap stay as stored outside it: the results are the same, the lookups and the
 * head's tiles cost a little time, which small models need not pay.
 */
const TABLES_ON_HEAP_SHARE = 1 / 8;

/** Whether a frozen model's tables stay off the heap unless told otherwise (see above). */
export function tablesOffHeapByDefault(config: LlamaConfig, ceiling: MemoryCeiling): boolean {
  const { vocab, d } = dims(config);
  const tables = (config.tie_word_embeddings ? 1 : 2) * vocab * d;
  // A float table keeps its transpose for the head as well.
  return 2 * tables * F32 > TABLES_ON_HEAP_SHARE * ceiling.heap;
}

/** What an inference estimate depends on. */
export interface InferenceMemoryInput {
  quant: "nf4" | "none";
  doubleQuant: boolean;
  /** Embeddings and an untied head kept as stored outside the heap (LoadOptions.tablesOffHeap). */
  tablesOffHeap: boolean;
  /** Bytes per element of the stored tables (2 for bf16/f16 checkpoints, 4 for float32). */
  tableBytes: number;
  batchSize: number;
  seqLen: number;
}

/** A run's memory, split into the heap (tensors) and JavaScript memory outside it. */
export interface InferenceMemory {
  /** Weights kept on the heap for the whole run. */
  heapWeights: number;
  /** Peak of what a forward pass adds: one layer's activations, one dequantized weight, logits. */
  heapWork: number;
  heap: number;
  /** Packed 4-bit weights and off-heap tables. */
  outside: number;
  total: number;
}

const F32 = 4;

/**
 * Peak memory of a forward pass without gradients (scoring, generation's prompt, evaluation),
 * with each decoder layer's intermediates freed when it is done. Per layer of B*T tokens:
 * 24d + 6f floats of activations and 3 B h T^2 of attention scores (as the training estimate);
 * logits and their log-softmax 2 B T V; a 4-bit weight is dequantized with its transpose.
 */
export function estimateInferenceMemory(
  config: LlamaConfig,
  opts: InferenceMemoryInput,
): InferenceMemory {
  const { d, ffn, nHeads, vocab } = dims(config);
  const base = baseMemory(config);
  const tables = (config.tie_word_embeddings ? 1 : 2) * vocab * d;
  const norms = base.parameters - base.linearParameters - tables;
  const largest = Math.max(
    ...LINEAR_MODULES.map((m) => linearShape(config, m)).map(([o, i]) => o * i),
  );
  const packed =
    (opts.doubleQuant ? base.nf4DoubleQuant : base.nf4) -
    (base.parameters - base.linearParameters) * F32;
  // Float layers keep W and W^T; a tied float head keeps E^T beside E.
  const linearsOnHeap = opts.quant === "nf4" ? 0 : 2 * base.linearParameters * F32;
  const tablesOnHeap = opts.tablesOffHeap ? 0 : 2 * tables * F32;
  const heapWeights = linearsOnHeap + tablesOnHeap + norms * F32;
  const BT = opts.batchSize * opts.seqLen;
  const layer =
    BT * (24 * d + 6 * ffn) * F32 + 3 * opts.batchSize * nHeads * opts.seqLen ** 2 * F32;
  const dequant = opts.quant === "nf4" ? 2 * largest * F32 : 0;
  const headTile = opts.tablesOffHeap ? Math.min(vocab * d, 4096 * 2048) * F32 : 0;
  const heapWork = layer + dequant + headTile + 2 * BT * vocab * F32;
  const outside =
    (opts.quant === "nf4" ? packed : 0) + (opts.tablesOffHeap ? tables * opts.tableBytes : 0);
  const heap = heapWeights + heapWork;
  return { heapWeights, heapWork, heap, outside, total: heap + outside };
}

/**
 * Refuse, before loading, a run whose estimate exceeds the ceiling: the message names the
 * ceiling, the estimate and what to change.
 */
export function checkInferenceFits(
  m: InferenceMemory,
  ceiling: MemoryCeiling,
  what: string,
  fits: string,
): void {
  if (m.heap > ceiling.heap) {
    throw new Error(
      `refusing to start: ${what} needs an estimated ${mib(m.heap)} of ${ceiling.heapName} (weights ${mib(m.heapWeights)}, ` +
        `working memory ${mib(m.heapWork)}) but the ${ceiling.heapName} holds at most ${mib(ceiling.heap)}; ${fits}`,
    );
  }
  if (m.total > ceiling.process) {
    throw new Error(
      `refusing to start: ${what} needs an estimated ${mib(m.total)} in all but the limit is ${mib(ceiling.process)}; ${fits}`,
    );
  }
}
