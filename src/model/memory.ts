/**
 * Memory of a base model in each storage format, computed from its shape: linear layers in
 * float32, bf16, NF4 (4 bits + one float32 absmax per block) or NF4 with double quantization
 * (one byte per block + one float32 per 256 blocks + the 256-entry map); embeddings and norms
 * stay float32.
 */
import { dims, LINEAR_MODULES, linearShape, parameterCount, type LlamaConfig } from "./config";

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
