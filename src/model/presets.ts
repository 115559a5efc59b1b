/**
 * Named model configurations: the study's base (DeepSeek-Coder-1.3B-instruct, for GPU machines
 * with the real checkpoint) and small shapes sized for a 2-core CPU.
 */
import { parseLlamaConfig, type LlamaConfig } from "./config";

const raw: Record<string, Record<string, unknown>> = {
  /** DeepSeek-Coder-1.3B-instruct, as its config.json on the hub. */
  "deepseek-coder-1.3b": {
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    vocab_size: 32256,
    hidden_size: 2048,
    intermediate_size: 5504,
    num_hidden_layers: 24,
    num_attention_heads: 16,
    num_key_value_heads: 16,
    max_position_embeddings: 16384,
    rope_theta: 100000,
    rope_scaling: { type: "linear", factor: 4.0 },
    rms_norm_eps: 1e-6,
    hidden_act: "silu",
    tie_word_embeddings: false,
    bos_token_id: 32013,
    eos_token_id: 32021,
    torch_dtype: "bfloat16",
  },
  /** The benchmark's reference shape (d=256, 4 layers, 4 heads, vocab 8192). */
  bench: {
    vocab_size: 8192,
    hidden_size: 256,
    intermediate_size: 688,
    num_hidden_layers: 4,
    num_attention_heads: 4,
    num_key_value_heads: 4,
    max_position_embeddings: 1024,
    rope_theta: 10000,
    tie_word_embeddings: true,
  },
  /** About 2M parameters with an 8k vocabulary. */
  "narrator-2m": {
    vocab_size: 8192,
    hidden_size: 128,
    intermediate_size: 344,
    num_hidden_layers: 4,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: 1024,
    rope_theta: 10000,
    tie_word_embeddings: true,
  },
  /** About 8M parameters with an 8k vocabulary. */
  "narrator-8m": {
    vocab_size: 8192,
    hidden_size: 256,
    intermediate_size: 688,
    num_hidden_layers: 6,
    num_attention_heads: 8,
    num_key_value_heads: 4,
    max_position_embeddings: 1024,
    rope_theta: 10000,
    tie_word_embeddings: true,
  },
};

export const PRESET_NAMES = Object.keys(raw);

/** A preset config by name; unknown names list the known ones. */
export function presetConfig(name: string, overrides: Record<string, unknown> = {}): LlamaConfig {
  const base = raw[name];
  if (!base) throw new Error(`unknown model preset '${name}'; known: ${PRESET_NAMES.join(", ")}`);
  return parseLlamaConfig({ ...base, ...overrides }, `preset ${name}`);
}
