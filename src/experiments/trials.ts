/**
 * From an experiment definition and a profile to trials: every combination of the grid's values,
 * for each seed, resolved into everything a run needs (the complete train config, the evaluation,
 * the model directory). Pure: the same definition and profile always give the same trials.
 *
 * A trial with `trainLanguage` trains on that language's subset alone and is evaluated on every
 * language of the profile.
 *
 * Precedence of training settings, lowest first: the train config's defaults (the study's chosen
 * hyperparameters), the profile's `train`, the transferred hyperparameters (transfer experiments),
 * the definition's `fixed`, the trial's grid values.
 */
import type { Task } from "../data/example";
import type { Lang } from "../data/langs";
import { parseTrainConfig, type TrainConfig } from "../train/config";
import { tasksOf } from "../train/task_data";
import type { ExperimentDefinition } from "./definition";
import type { Profile } from "./profile";
import type { SettingValue } from "./rows";
import { isTrainField, settingLabel, type TrainedOn } from "./settings";

/** The hyperparameters that transfer from the CodeSearchNet sweeps to the other experiments. */
export type Hyperparameters = Pick<
  TrainConfig,
  "optimizer" | "scheduler" | "epochs" | "batchSize" | "lr"
>;

/** A resolved train config, less what is not a setting of the numbers (paths, memory guard). */
export type TrainSettings = Omit<TrainConfig, "model" | "out" | "data" | "memoryLimit">;

/** How a trial is evaluated once trained (or as it is, for "base"). */
export interface EvalSpec {
  tasks: Task[];
  split: "val" | "test";
  /** Examples per language. */
  size: number;
  languages: Lang[];
  prompt: TrainConfig["prompt"];
  maxLen: number;
  commitInput: TrainConfig["commitInput"];
  dataSeed: number;
  lenient: boolean;
  quant: TrainConfig["quant"];
  batchSize: number;
  generate: boolean;
  /** Generation only (null otherwise, so that generation settings never change other trials' keys). */
  maxNewTokens: number | null;
  samples: number;
  /**
   * The held-out dataset also evaluated (CE on its test split, same sizes and languages), as the
   * profile names it; absent when there is none, so that trials without one keep their keys.
   */
  heldOut?: string;
}

/** One trial, fully resolved. */
export interface TrialSpec {
  experiment: string;
  /** Human label of the varied settings (the same for every seed). */
  label: string;
  /** The varied settings (grid values), by name. */
  settings: Record<string, SettingValue>;
  /** The profile's name for the model, and its directory. */
  model: string;
  modelDir: string;
  trainedOn: TrainedOn;
  seed: number;
  /** Null for "base" (evaluated without training). */
  train: TrainSettings | null;
  evaluate: EvalSpec;
}

/** Every combination of the grid's values, in file order (the last setting varies fastest). */
export function gridCombinations(
  grid: Record<string, readonly SettingValue[]>,
): Record<string, SettingValue>[] {
  let combos: Record<string, SettingValue>[] = [{}];
  for (const [name, values] of Object.entries(grid)) {
    combos = combos.flatMap((c) => values.map((v) => ({ ...c, [name]: v })));
  }
  return combos;
}

/** The label of a combination: its values, joined ("adagrad", "lr=2e-4", "adamw, lr=1e-4"). */
export function comboLabel(combo: Record<string, SettingValue>): string {
  return Object.entries(combo)
    .map(([k, v]) => settingLabel(k, v))
    .join(", ");
}

/** The trials of an experiment in a profile (seeds outermost, so a first seed of every setting finishes first). */
export function expandTrials(
  def: ExperimentDefinition,
  profile: Profile,
  transferred: Hyperparameters | null = null,
): TrialSpec[] {
  if (def.transfer && transferred === null)
    throw new Error(`${def.name}: a transfer experiment needs the transferred hyperparameters`);
  const grid = Object.fromEntries(
    Object.entries(def.grid).map(([k, v]) => [
      k,
      v !== "all"
        ? (v as SettingValue[])
        : k === "model"
          ? Object.keys(profile.models)
          : [...profile.languages],
    ]),
  );
  const combos = gridCombinations(grid);
  const seedList = profile.seeds[def.seeds];
  const trials: TrialSpec[] = [];
  for (const [s, seed] of seedList.entries()) {
    for (const combo of combos) {
      const all = { ...(def.fixed as Record<string, SettingValue>), ...combo };
      const trainedOn = all.trainedOn as TrainedOn;
      // The untrained model's numbers do not depend on the seed: one trial.
      if (trainedOn === "base" && s > 0) continue;
      trials.push(resolveTrial(def, profile, transferred, combo, all, seed));
    }
  }
  return trials;
}

function resolveTrial(
  def: ExperimentDefinition,
  profile: Profile,
  transferred: Hyperparameters | null,
  combo: Record<string, SettingValue>,
  all: Record<string, SettingValue>,
  seed: number,
): TrialSpec {
  const label = comboLabel(combo);
  const trainedOn = all.trainedOn as TrainedOn;
  const model = (all.model as string | undefined) ?? profile.baseModel;
  const modelDir = profile.models[model];
  if (modelDir === undefined)
    throw new Error(
      `${def.name}: model "${model}" is not in profile ${profile.name} (${Object.keys(profile.models).join(", ")})`,
    );
  const trainFields = Object.fromEntries(Object.entries(all).filter(([k]) => isTrainField(k)));
  const trainLanguage = all.trainLanguage as Lang | undefined;
  if (trainLanguage !== undefined && !profile.languages.includes(trainLanguage))
    throw new Error(
      `${def.name}: trainLanguage "${trainLanguage}" is not one of profile ${profile.name}'s languages (${profile.languages.join(", ")})`,
    );
  const config = parseTrainConfig(
    {
      ...profile.train,
      ...(def.transfer ? transferred : {}),
      ...trainFields,
      model: modelDir,
      out: "-",
      task: trainedOn === "base" ? "codesearchnet" : trainedOn,
      languages: trainLanguage === undefined ? profile.languages : [trainLanguage],
      trainSize: profile.sizes.train,
      valSize: profile.sizes.val,
      seed,
    },
    `${def.name} in profile ${profile.name}, trial "${label}" seed ${seed}`,
  );
  const split = def.evaluate.split ?? profile.evaluate.split;
  const generate = def.evaluate.generate;
  const evaluate: EvalSpec = {
    tasks: [...def.evaluate.tasks],
    split,
    size: profile.sizes[split],
    languages: [...profile.languages],
    prompt: config.prompt,
    maxLen: config.maxLen,
    commitInput: config.commitInput,
    dataSeed: config.dataSeed,
    lenient: config.lenient,
    quant: config.quant,
    batchSize: config.evalBatchSize,
    generate,
    maxNewTokens: generate ? profile.evaluate.maxNewTokens : null,
    samples: generate ? profile.evaluate.samples : 0,
    ...(def.evaluate.heldOut && profile.evalData ? { heldOut: profile.evalData } : {}),
  };
  const train: Partial<TrainConfig> = { ...config };
  delete train.model;
  delete train.out;
  delete train.data;
  delete train.memoryLimit;
  return {
    experiment: def.name,
    label,
    settings: combo,
    model,
    modelDir,
    trainedOn,
    seed,
    train: trainedOn === "base" ? null : (train as TrainSettings),
    evaluate,
  };
}

/** The tasks whose data files a trial reads (training and evaluation). */
export function tasksRead(spec: TrialSpec): Task[] {
  const tasks = new Set<Task>(spec.evaluate.tasks);
  if (spec.train) for (const t of tasksOf(spec.train.task)) tasks.add(t);
  return [...tasks].sort();
}
