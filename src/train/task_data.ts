/**
 * The examples a training or evaluation run uses: one task's splits, or for the cocktail the mixed
 * train set and both tasks' evaluation splits (evaluation sets are never mixed: they stay per task
 * and per language). Extra training rows (mined pairs: `corpus pairs`, `data mine`) come from a
 * second data directory and join the train set only, all of them, after the cocktail's mix.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { CommitInput } from "../data/commitpackft";
import type { DataWarning, Example, Task } from "../data/example";
import type { Lang } from "../data/langs";
import { examplesOf, prepareDatasets } from "../data/prepare";
import type { SubsetSizes } from "../data/sampling";
import { resolveDataDir } from "../data/sources";
import type { TrainTask } from "./config";

/** Which data to read. */
export interface TaskDataOptions {
  /** Data directory flag (else NARRATOR_DATA, else data/). */
  data?: string;
  task: TrainTask;
  languages: readonly Lang[];
  /** Examples per language: [train, val, test]. */
  sizes: SubsetSizes;
  dataSeed: number;
  /** Cocktail share of CodeSearchNet. */
  mix: number;
  /** Cocktail train examples in all (default: the smaller task's train set). */
  cocktailSize?: number;
  commitInput: CommitInput;
  lenient: boolean;
  /** A data directory whose train rows (of the run's tasks and languages) are all added to the train set. */
  extraTrain?: string;
  /** At most this many extra rows per task and language, drawn with the data seed (default all). */
  extraTrainSize?: number;
}

/** The examples by split, with the data's provenance. */
export interface TaskData {
  train: Example[];
  val: Example[];
  test: Example[];
  dataDir: string;
  dataHash: string;
  warnings: DataWarning[];
}

/** The tasks whose examples a run reads. */
export function tasksOf(task: TrainTask): Task[] {
  return task === "cocktail" ? ["codesearchnet", "commitpackft"] : [task];
}

/** Read and prepare the examples of a task (see the module comment). */
export async function loadTaskData(opts: TaskDataOptions): Promise<TaskData> {
  const tasks = tasksOf(opts.task);
  const prepared = await prepareDatasets({
    dataDir: resolveDataDir(opts.data),
    tasks,
    languages: opts.languages,
    seed: opts.dataSeed,
    perLanguage: opts.sizes,
    lenient: opts.lenient,
    commitInput: opts.commitInput,
    cocktail: opts.task === "cocktail" ? { mix: opts.mix, total: opts.cocktailSize } : undefined,
  });
  const all = (split: "train" | "val" | "test") =>
    tasks.flatMap((t) => examplesOf(prepared, t, split));
  const train = prepared.cocktail ? prepared.cocktail.train : all("train");
  if (opts.extraTrain === undefined) {
    return {
      train,
      val: all("val"),
      test: all("test"),
      dataDir: prepared.dataDir,
      dataHash: prepared.dataHash,
      warnings: prepared.warnings,
    };
  }
  const extra = await loadExtraTrain(opts.extraTrain, tasks, opts);
  return {
    train: [...train, ...extra.train],
    val: all("val"),
    test: all("test"),
    dataDir: prepared.dataDir,
    dataHash: createHash("sha256").update(`${prepared.dataHash}+${extra.dataHash}`).digest("hex"),
    warnings: [...prepared.warnings, ...extra.warnings],
  };
}

/** Every train row of `dir` for the tasks it has a folder of; an error when it has none. */
async function loadExtraTrain(
  dir: string,
  tasks: Task[],
  opts: TaskDataOptions,
): Promise<{ train: Example[]; dataHash: string; warnings: DataWarning[] }> {
  const present = tasks.filter((t) => fs.existsSync(path.join(dir, t)));
  if (present.length === 0) {
    throw new Error(
      `extraTrain ${dir}: no ${tasks.map((t) => `${t}/`).join(" or ")} folder of training rows`,
    );
  }
  const prepared = await prepareDatasets({
    dataDir: dir,
    tasks: present,
    languages: opts.languages,
    seed: opts.dataSeed,
    perLanguage: [opts.extraTrainSize ?? Infinity, 0, 0],
    lenient: opts.lenient,
    commitInput: opts.commitInput,
  });
  return {
    train: present.flatMap((t) => examplesOf(prepared, t, "train")),
    dataHash: prepared.dataHash,
    warnings: prepared.warnings,
  };
}
