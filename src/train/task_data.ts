/**
 * The examples a training or evaluation run uses: one task's splits, or for the cocktail the mixed
 * train set and both tasks' evaluation splits (evaluation sets are never mixed: they stay per task
 * and per language).
 */
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
  commitInput: CommitInput;
  lenient: boolean;
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
    cocktail: opts.task === "cocktail" ? { mix: opts.mix } : undefined,
  });
  const all = (split: "train" | "val" | "test") =>
    tasks.flatMap((t) => examplesOf(prepared, t, split));
  return {
    train: prepared.cocktail ? prepared.cocktail.train : all("train"),
    val: all("val"),
    test: all("test"),
    dataDir: prepared.dataDir,
    dataHash: prepared.dataHash,
    warnings: prepared.warnings,
  };
}
