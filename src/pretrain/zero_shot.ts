/**
 * Zero-shot cross-entropy of a shipped base model on the narration tasks' validation splits: how
 * well the model, before any adapter, predicts the plain-English summaries and commit messages.
 * Measured on the folder as shipped (bfloat16 weights, its own tokenizer) with fixed settings that
 * the model card states, so that the cards of all shipped models compare like with like.
 */
import { TASKS, type Task } from "../data/example";
import { LANGS, type Lang } from "../data/langs";
import { evaluateModel, type CeStat } from "../train/evaluate";

/** The evaluation settings of every card's zero-shot section. */
export const ZERO_SHOT = {
  split: "val",
  /** Examples per language (of the study's 300), drawn with the data seed. */
  size: 100,
  dataSeed: 42,
  prompt: "compact",
  maxLen: 256,
  commitInput: "diff",
  batchSize: 8,
} as const;

/** One task's zero-shot CE, overall and per language. */
export interface ZeroShotTask {
  ce: CeStat;
  byLanguage: Partial<Record<Lang, CeStat>>;
  /** Content hash of the data read. */
  dataHash: string;
}

export type ZeroShotReport = Record<Task, ZeroShotTask>;

/** Zero-shot CE of the model folder `model` on both tasks, read from the data directory `data`. */
export async function zeroShotCe(
  model: string,
  data: string,
  languages: readonly Lang[] = LANGS,
): Promise<ZeroShotReport> {
  const report: Partial<ZeroShotReport> = {};
  for (const task of TASKS) {
    const r = await evaluateModel({
      ...ZERO_SHOT,
      model,
      data,
      task,
      languages,
      mix: 0.5,
      lenient: false,
      generate: false,
      maxNewTokens: 0,
    });
    report[task] = {
      ce: r.ce.byTask[task]!,
      byLanguage: r.ce.byTaskLanguage[task] ?? {},
      dataHash: r.dataHash,
    };
  }
  return report as ZeroShotReport;
}
