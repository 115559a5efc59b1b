/**
 * The settings an experiment can fix or vary: `trainedOn` (what the adapter trains on, or "base"
 * for the untrained model), `model` (a profile's model name), `trainLanguage` (train on one of the
 * profile's languages only; evaluation still covers all of them), and the training engine's own config
 * fields (optimizer, lr, mix, commitInput, ...). A setting's values are checked against the train
 * config's schema for that field, so a definition file fails at load, naming the field.
 */
import { z } from "zod";
import { LANGS } from "../data/langs";
import { TrainConfigSchema } from "../train/config";
import type { SettingValue } from "./rows";

/** What a trial trains on; "base" evaluates the base model as it is (zero-shot). */
export const TRAINED_ON = ["base", "codesearchnet", "commitpackft", "cocktail"] as const;
export type TrainedOn = (typeof TRAINED_ON)[number];

/**
 * Train config fields that are not settings, and where their values come from: the sweep places
 * outputs and data, trainedOn gives the task, the profile gives seeds, languages and sizes.
 */
const NOT_SETTINGS: Record<string, string> = {
  model: "the model setting (a profile's model name)",
  data: "the sweep's data directory",
  out: "the run store",
  memoryLimit: "the trainer's default",
  task: "trainedOn",
  seed: "the profile's seeds",
  languages: "the profile's languages (trainLanguage trains on one of them)",
  trainSize: "the profile's sizes",
  valSize: "the profile's sizes",
};

/** The object schema inside TrainConfigSchema's refinements. */
function trainShape(): z.ZodRawShape {
  let s: z.ZodTypeAny = TrainConfigSchema;
  while (s instanceof z.ZodEffects) s = s.innerType();
  return (s as z.AnyZodObject).shape;
}

const SHAPE = trainShape();

/** Train config fields a profile or a definition may set. */
export const TRAIN_SETTING_FIELDS: readonly string[] = Object.keys(SHAPE).filter(
  (k) => !(k in NOT_SETTINGS),
);

/** Whether a setting name is a train config field (as opposed to trainedOn or model). */
export function isTrainField(name: string): boolean {
  return TRAIN_SETTING_FIELDS.includes(name);
}

/** The problem with a setting's value, or null when it is valid. */
export function settingProblem(name: string, value: unknown): string | null {
  if (name === "trainedOn") {
    return (TRAINED_ON as readonly unknown[]).includes(value)
      ? null
      : `expected one of ${TRAINED_ON.join(", ")}, got ${JSON.stringify(value)}`;
  }
  if (name === "model") {
    return typeof value === "string" && value !== "" ? null : "expected a profile's model name";
  }
  if (name === "trainLanguage") {
    return (LANGS as readonly unknown[]).includes(value)
      ? null
      : `expected one of ${LANGS.join(", ")}, got ${JSON.stringify(value)}`;
  }
  if (name in NOT_SETTINGS) return `${name} is not a setting: it comes from ${NOT_SETTINGS[name]}`;
  if (!isTrainField(name)) {
    return `not a setting (expected trainedOn, model, trainLanguage or a train config field: ${TRAIN_SETTING_FIELDS.join(", ")})`;
  }
  const r = (SHAPE[name] as z.ZodTypeAny).safeParse(value);
  return r.success ? null : r.error.issues.map((i) => i.message).join("; ");
}

/** Whether `name` can be fixed or varied. */
function isSetting(name: string): boolean {
  return name === "trainedOn" || name === "model" || name === "trainLanguage" || isTrainField(name);
}

/** Add a zod issue for each bad setting of `values` (path: prefix, name[, index of a list's value]). */
export function checkSettings(
  values: Record<string, unknown>,
  ctx: z.RefinementCtx,
  prefix: string[],
  allowed: (name: string) => boolean = isSetting,
): void {
  const issue = (path: (string | number)[], message: string) =>
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: [...prefix, ...path], message });
  for (const [name, value] of Object.entries(values)) {
    if (!isSetting(name)) {
      issue([name], settingProblem(name, undefined)!);
      continue;
    }
    if (!allowed(name)) {
      issue([name], `${name} cannot be set here`);
      continue;
    }
    if (!Array.isArray(value)) {
      const p = settingProblem(name, value);
      if (p !== null) issue([name], p);
      continue;
    }
    value.forEach((v, i) => {
      const p = settingProblem(name, v);
      if (p !== null) issue([name, i], p);
    });
  }
}

/** A number as a short label: 0.0002 -> "2e-4", 0.3 -> "0.3". */
export function formatNumber(n: number): string {
  if (n !== 0 && Math.abs(n) < 1e-3) return n.toExponential();
  return String(n);
}

/** Short names of settings in labels. */
const LABEL_NAMES: Record<string, string> = { batchSize: "batch", loraR: "r" };

/** A human label of one setting's value: words stay as they are, numbers get their name. */
export function settingLabel(name: string, value: SettingValue): string {
  if (typeof value === "string") return value;
  const n = LABEL_NAMES[name] ?? name;
  return typeof value === "number" ? `${n}=${formatNumber(value)}` : `${n}=${String(value)}`;
}
