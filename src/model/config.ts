/**
 * Llama-family model configuration, with Hugging Face `LlamaConfig` field names so that a
 * `config.json` from the hub (e.g. DeepSeek-Coder-1.3B) is read as it is.
 */
import { z } from "zod";
import { parseWithSchema } from "../util/schema";
import * as fs from "node:fs";
import * as path from "node:path";

const ropeScaling = z
  .object({
    type: z.string().optional(),
    rope_type: z.string().optional(),
    factor: z.number().positive(),
  })
  .passthrough()
  .refine((r) => (r.rope_type ?? r.type) === "linear", {
    message: "only linear rope_scaling is supported",
  });

export const LlamaConfigSchema = z
  .object({
    model_type: z.literal("llama").default("llama"),
    architectures: z.array(z.string()).default(["LlamaForCausalLM"]),
    vocab_size: z.number().int().positive(),
    hidden_size: z.number().int().positive(),
    intermediate_size: z.number().int().positive(),
    num_hidden_layers: z.number().int().positive(),
    num_attention_heads: z.number().int().positive(),
    num_key_value_heads: z.number().int().positive().optional(),
    head_dim: z.number().int().positive().optional(),
    max_position_embeddings: z.number().int().positive().default(2048),
    rope_theta: z.number().positive().default(10000),
    rope_scaling: ropeScaling.nullable().optional(),
    rms_norm_eps: z.number().positive().default(1e-6),
    hidden_act: z.literal("silu").default("silu"),
    tie_word_embeddings: z.boolean().default(false),
    attention_bias: z.literal(false).default(false),
    mlp_bias: z.literal(false).default(false),
    bos_token_id: z.number().int().nullable().optional(),
    eos_token_id: z
      .union([z.number().int(), z.array(z.number().int())])
      .nullable()
      .optional(),
    pad_token_id: z.number().int().nullable().optional(),
    torch_dtype: z.string().optional(),
    initializer_range: z.number().positive().default(0.02),
  })
  .passthrough()
  .superRefine((c, ctx) => {
    const kv = c.num_key_value_heads ?? c.num_attention_heads;
    if (c.num_attention_heads % kv !== 0) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ["num_key_value_heads"],
        message: `num_attention_heads (${c.num_attention_heads}) must be a multiple of num_key_value_heads (${kv})`,
      });
    }
    if (c.head_dim === undefined && c.hidden_size % c.num_attention_heads !== 0) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ["hidden_size"],
        message: `hidden_size (${c.hidden_size}) must be divisible by num_attention_heads (${c.num_attention_heads})`,
      });
    }
  });

export type LlamaConfig = z.infer<typeof LlamaConfigSchema>;

/** Validate a parsed config.json; errors name the field and the source. */
export function parseLlamaConfig(raw: unknown, source = "config.json"): LlamaConfig {
  return parseWithSchema(LlamaConfigSchema, raw, source, "Llama config");
}

/** Read `<dir>/config.json`. */
export function readLlamaConfig(dir: string): LlamaConfig {
  const file = path.join(dir, "config.json");
  if (!fs.existsSync(file)) throw new Error(`${dir}: no config.json (not a model directory)`);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  return parseLlamaConfig(raw, file);
}

/** Derived sizes every module needs. */
export interface Dims {
  d: number;
  nHeads: number;
  nKv: number;
  headDim: number;
  ffn: number;
  vocab: number;
  nLayers: number;
}

export function dims(c: LlamaConfig): Dims {
  const nKv = c.num_key_value_heads ?? c.num_attention_heads;
  return {
    d: c.hidden_size,
    nHeads: c.num_attention_heads,
    nKv,
    headDim: c.head_dim ?? c.hidden_size / c.num_attention_heads,
    ffn: c.intermediate_size,
    vocab: c.vocab_size,
    nLayers: c.num_hidden_layers,
  };
}

/** The seven linear projections of a decoder layer, by HF module name. */
export const LINEAR_MODULES = [
  "q_proj",
  "k_proj",
  "v_proj",
  "o_proj",
  "gate_proj",
  "up_proj",
  "down_proj",
] as const;
export type LinearModule = (typeof LINEAR_MODULES)[number];

/** HF parent module of a projection (`self_attn` or `mlp`). */
export function parentOf(m: LinearModule): "self_attn" | "mlp" {
  return m === "gate_proj" || m === "up_proj" || m === "down_proj" ? "mlp" : "self_attn";
}

/** [out_features, in_features] of a projection, as HF stores its weight. */
export function linearShape(c: LlamaConfig, m: LinearModule): [number, number] {
  const { d, nHeads, nKv, headDim, ffn } = dims(c);
  switch (m) {
    case "q_proj":
      return [nHeads * headDim, d];
    case "k_proj":
    case "v_proj":
      return [nKv * headDim, d];
    case "o_proj":
      return [d, nHeads * headDim];
    case "gate_proj":
    case "up_proj":
      return [ffn, d];
    case "down_proj":
      return [d, ffn];
  }
}

/** Every tensor of an HF Llama checkpoint with its shape, in a stable order. */
export function tensorShapes(c: LlamaConfig): [string, number[]][] {
  const { d, vocab, nLayers } = dims(c);
  const out: [string, number[]][] = [["model.embed_tokens.weight", [vocab, d]]];
  for (let i = 0; i < nLayers; i++) {
    const p = `model.layers.${i}`;
    out.push([`${p}.input_layernorm.weight`, [d]]);
    for (const m of LINEAR_MODULES)
      out.push([`${p}.${parentOf(m)}.${m}.weight`, linearShape(c, m)]);
    out.push([`${p}.post_attention_layernorm.weight`, [d]]);
  }
  out.push(["model.norm.weight", [d]]);
  if (!c.tie_word_embeddings) out.push(["lm_head.weight", [vocab, d]]);
  return out;
}

/** Total parameter count (as `sum(p.numel() for p in model.parameters())`). */
export function parameterCount(c: LlamaConfig): number {
  return tensorShapes(c).reduce((s, [, shape]) => s + shape.reduce((a, b) => a * b, 1), 0);
}
