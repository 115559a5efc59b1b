/**
 * The settings an experiment can fix or vary: `trainedOn` (what the adapter trains on, or "base"
 * for the untrained model), `model` (a profile's model name), and the training engine's own config
 * fields (optimizer, lr, mix, commitInput, ...). A setting's values are checked against the train
 * config's schema for that field, so a definition file fails at load, naming the field.
 */
import { z } from "zod";
import { TrainConfigSchema } from "../train/config";
import type { SettingValue } from "./rows";

/** What a trial trains on; "base" evaluates the base model as it is (zero-shot). */
export const TRAINED_ON = ["base", "codesearchnet", "commitpackft", "cocktail"] as const;
export type TrainedOn = (typeof TRAINED_ON)[number];

/**
 * Train config fields that are not settings: where things are (model, data, out), the memory
 * guard, and what the experiment layer sets itself (task from trainedOn, seed from the profile's
 * seeds, languages and sizes from the profile).
 */
const NOT_SETTINGS = [
  "model",
  "data",
  "out",
  "memoryLimit",
  "task",
  "seed",
  "languages",
  "trainSize",
  "valSize",
] as const;

/** The object schema inside TrainConfigSchema's refinements. */
function trainShape(): z.ZodRawShape {
  let s: z.ZodTypeAny = TrainConfigSchema;
  while (s instanceof z.ZodEffects) s = s.innerType();
  return (s as z.AnyZodObject).shape;
}

const SHAPE = trainShape();

/** Train config fields a profile or a definition may set. */
export const TRAIN_SETTING_FIELDS: readonly string[] = Object.keys(SHAPE).filter(
  (k) => !(NOT_SETTINGS as readonly string[]).includes(k),
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
  if (!isTrainField(name)) {
    return `not a setting (expected trainedOn, model or a train config field: ${TRAIN_SETTING_FIELDS.join(", ")})`;
  }
  const r = (SHAPE[name] as z.ZodTypeAny).safeParse(value);
  return r.success ? null : r.error.issues.map((i) => i.message).join("; ");
}

/** Add a zod issue for each bad setting of `values` (path: prefix, name[, index]). */
export function checkSettings(
  values: Record<string, unknown>,
  ctx: z.RefinementCtx,
  prefix: string[],
  allowed: (name: string) => boolean = () => true,
): void {
  for (const [name, value] of Object.entries(values)) {
    const list = Array.isArray(value) ? value : null;
    const problems = list
      ? list.map((v, i) => [i, settingProblem(name, v)] as const)
      : [[null, settingProblem(name, value)] as const];
    for (const [i, problem] of problems) {
      const p = allowed(name) ? problem : `${name} cannot be set here`;
      if (p !== null)
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: i === null ? [...prefix, name] : [...prefix, name, i],
          message: p,
        });
    }
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
