/**
 * LoRA configuration with PEFT's `LoraConfig` field names and defaults, so that
 * `adapter_config.json` files are exchanged with PEFT as they are.
 */
import { z } from "zod";
import { parseWithSchema } from "../util/schema";
import { LINEAR_MODULES } from "../model/config";

export const LoraConfigSchema = z
  .object({
    peft_type: z.literal("LORA").default("LORA"),
    task_type: z.string().default("CAUSAL_LM"),
    base_model_name_or_path: z.string().nullable().default(null),
    r: z.number().int().positive().default(8),
    lora_alpha: z.number().positive().default(8),
    lora_dropout: z.number().min(0).lt(1).default(0),
    target_modules: z
      .array(z.enum(LINEAR_MODULES))
      .min(1)
      .default([...LINEAR_MODULES]),
    use_rslora: z.boolean().default(false),
    bias: z.literal("none").default("none"),
    fan_in_fan_out: z.literal(false).default(false),
    init_lora_weights: z.literal(true).default(true),
    inference_mode: z.boolean().default(true),
    modules_to_save: z.null().default(null),
    layers_to_transform: z.null().default(null),
    rank_pattern: z.object({}).strict().default({}),
    alpha_pattern: z.object({}).strict().default({}),
  })
  .passthrough();

export type LoraConfig = z.infer<typeof LoraConfigSchema>;

/** Validate a LoRA config (e.g. a parsed adapter_config.json); errors name the field. */
export function parseLoraConfig(raw: unknown, source = "adapter_config.json"): LoraConfig {
  return parseWithSchema(LoraConfigSchema, raw, source, "LoRA config");
}

/** The adapter's output scale: alpha / r, or alpha / sqrt(r) with rsLoRA. */
export function loraScale(c: Pick<LoraConfig, "r" | "lora_alpha" | "use_rslora">): number {
  return c.use_rslora ? c.lora_alpha / Math.sqrt(c.r) : c.lora_alpha / c.r;
}
