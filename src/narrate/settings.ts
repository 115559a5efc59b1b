/**
 * How a narration prompt is built and the model opened: from the training run that wrote the
 * adapter (src/train/adapter_run.ts: the prompt format, commit input, quantization and sequence
 * length in OUT/result.json beside OUT/adapter). Without such a run the training defaults apply
 * (and a base model without adapter is read in float, as it was trained). `explain` refuses a
 * flag that disagrees with the run; `eval` warns and measures what the flag asks for.
 */
import type { CommitInput } from "../data/commitpackft";
import type { PromptFormat } from "../data/prompts";
import type { QuantMode } from "../model/checkpoint";
import {
  adapterRunSettings,
  type Disagreement,
  type SettingsOverrides,
} from "../train/adapter_run";
import { parseTrainConfig, type TrainConfig } from "../train/config";

export type { Disagreement, SettingsOverrides } from "../train/adapter_run";

/** The settings a narration uses, and where they came from. */
export interface NarrationSettings {
  prompt: PromptFormat;
  commitInput: CommitInput;
  quant: QuantMode;
  doubleQuant: boolean;
  /** The training sequence length (prompt + target), or null for a base model without adapter. */
  maxLen: number | null;
  /** "ADAPTER/../result.json", or "training defaults". */
  source: string;
}

/** The training config defaults (what `narrator train` uses when a flag is not given). */
export function trainingDefaults(): TrainConfig {
  return parseTrainConfig({ model: "-", out: "-", task: "cocktail" }, "training defaults");
}

/** Resolve the settings of a narration (see the module comment); disagreeing flags are an error. */
export function narrationSettings(
  adapter: string | undefined,
  overrides: SettingsOverrides = {},
  disagreement: Disagreement = { kind: "error" },
): NarrationSettings {
  const fromRun = adapter ? adapterRunSettings(adapter, overrides, disagreement) : null;
  if (fromRun) return fromRun;
  const d = trainingDefaults();
  return {
    prompt: overrides.prompt ?? d.prompt,
    commitInput: overrides.commitInput ?? d.commitInput,
    quant: overrides.quant ?? (adapter ? d.quant : "none"),
    doubleQuant: false,
    maxLen: overrides.maxLen ?? (adapter ? d.maxLen : null),
    source: "training defaults",
  };
}
