/**
 * The settings an adapter was trained with, from the training run that wrote it: an adapter
 * written by `narrator train` sits in OUT/adapter next to OUT/result.json, whose config names the
 * prompt format, the commit input, the frozen base's quantization and the sequence length. Every
 * reader of an adapter (`explain`, `eval`, a sweep's evaluation) takes them from here, so that it
 * reads inputs as training did. A setting given otherwise (a flag, a trial's spec) that disagrees
 * is an error, or a warning naming both values, after which either the given value or the run's
 * is used, as the caller says.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { CommitInput } from "../data/commitpackft";
import type { PromptFormat } from "../data/prompts";
import type { QuantMode } from "../model/checkpoint";
import { parseTrainConfig } from "./config";

/** The settings an adapter's run fixes, and the record they came from. */
export interface AdapterRunSettings {
  prompt: PromptFormat;
  commitInput: CommitInput;
  quant: QuantMode;
  doubleQuant: boolean;
  /** The training sequence length (prompt + target). */
  maxLen: number;
  /** ADAPTER/../result.json. */
  source: string;
}

/** Settings given besides the adapter; each is checked against its run. */
export interface SettingsOverrides {
  prompt?: PromptFormat;
  commitInput?: CommitInput;
  quant?: QuantMode;
  maxLen?: number;
}

/**
 * What a given setting that disagrees with the adapter's run does: an error; or a warning, after
 * which the given value is used ("warn": a flag the user typed) or the run's ("keep-run").
 */
export type Disagreement =
  { kind: "error" } | { kind: "warn" | "keep-run"; warn: (message: string) => void };

/** The result.json of the run that wrote an adapter directory, if there is one. */
export function adapterRunFile(adapter: string): string | null {
  const file = path.join(adapter, "..", "result.json");
  return fs.existsSync(file) ? file : null;
}

/** The adapter's run settings reconciled with `given` (see the module comment); null without a run. */
export function adapterRunSettings(
  adapter: string,
  given: SettingsOverrides = {},
  disagreement: Disagreement = { kind: "error" },
): AdapterRunSettings | null {
  const runFile = adapterRunFile(adapter);
  if (!runFile) return null;
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
    const value = given[key];
    if (value === undefined || value === fromRun[key]) continue;
    const what = `${key} ${value} disagrees with the adapter's training run (${runFile}: ${key} ${fromRun[key]})`;
    if (disagreement.kind === "error") throw new Error(`${what}; leave it out to use the run's`);
    if (disagreement.kind === "keep-run") {
      disagreement.warn(`${what}; using the run's ${key} ${fromRun[key]}`);
      continue;
    }
    disagreement.warn(`${what}; using ${key} ${value} as given`);
    Object.assign(chosen, { [key]: value });
  }
  return { ...chosen, doubleQuant: c.doubleQuant, source: runFile };
}
