/**
 * How a narration prompt is built and the model opened, taken from the training run that wrote
 * the adapter: an adapter written by `narrator train` sits in OUT/adapter next to OUT/result.json,
 * whose config names the prompt format, the commit input, the frozen base's quantization and the
 * sequence length the adapter was trained with. Without such a run the training defaults apply
 * (and a base model without adapter is read in float, as it was trained). `explain` refuses a
 * flag that disagrees with the run; `eval` warns and measures what the flag asks for.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { CommitInput } from "../data/commitpackft";
import type { PromptFormat } from "../data/prompts";
import type { QuantMode } from "../model/checkpoint";
import { parseTrainConfig, type TrainConfig } from "../train/config";

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

/** Settings given on the command line; each is checked against the adapter's run when it has one. */
export interface SettingsOverrides {
  prompt?: PromptFormat;
  commitInput?: CommitInput;
  quant?: QuantMode;
  maxLen?: number;
}

/** What a flag that disagrees with the adapter's run does: an error, or a warning and the flag wins. */
export type Disagreement = { kind: "error" } | { kind: "warn"; warn: (message: string) => void };

/** The training config defaults (what `narrator train` uses when a flag is not given). */
export function trainingDefaults(): TrainConfig {
  return parseTrainConfig({ model: "-", out: "-", task: "cocktail" }, "training defaults");
}

/** The result.json of the run that wrote an adapter directory, if there is one. */
export function adapterRunFile(adapter: string): string | null {
  const file = path.join(adapter, "..", "result.json");
  return fs.existsSync(file) ? file : null;
}

/** Resolve the settings of a narration (see the module comment); disagreeing flags are an error. */
export function narrationSettings(
  adapter: string | undefined,
  overrides: SettingsOverrides = {},
  disagreement: Disagreement = { kind: "error" },
): NarrationSettings {
  const runFile = adapter ? adapterRunFile(adapter) : null;
  if (runFile) {
    const raw = JSON.parse(fs.readFileSync(runFile, "utf8")) as { config?: unknown };
    const c = parseTrainConfig(raw.config, `${runFile} config`);
    const fromRun = {
      prompt: c.prompt,
      commitInput: c.commitInput,
      quant: c.quant,
      maxLen: c.maxLen,
    };
    const chosen = { ...fromRun };
    for (const key of Object.keys(fromRun) as (keyof typeof fromRun)[]) {
      const given = overrides[key];
      if (given === undefined || given === fromRun[key]) continue;
      const what = `${key} ${given} disagrees with the adapter's training run (${runFile}: ${key} ${fromRun[key]})`;
      if (disagreement.kind === "error") {
        throw new Error(`${what}; leave it out to use the run's`);
      }
      disagreement.warn(`${what}; using ${key} ${given} as given`);
      Object.assign(chosen, { [key]: given });
    }
    return { ...chosen, doubleQuant: c.doubleQuant, source: runFile };
  }
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
