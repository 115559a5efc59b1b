/**
 * The numbers behind the report's tables, computed from long rows: Table 1 beside the study's
 * values, narration quality, each sweep's settings with their spread, winners, and every trial's
 * status (failed and unfinished trials included, never dropped).
 */
import type { MetricRow, TrialRow } from "../experiments/rows";
import { TASKS, type Task, TASK_NAMES } from "../data/example";
import { spread, type Spread } from "./stats";
import { STUDY_TABLE1 } from "./study";
import {
  LANGUAGE_ORDER,
  TRAINED_ON_ORDER,
  TRAINED_ON_NAMES,
  compareText,
  judges,
  languageName,
} from "./figures/style";

/** The spread of `value` over rows, or null when no row has it. */
function spreadOf(
  rows: readonly MetricRow[],
  value: (r: MetricRow) => number | null,
): Spread | null {
  const values = rows.map(value).filter((v): v is number => v !== null);
  return values.length ? spread(values) : null;
}

/** One row of Table 1: base model vs cocktail adapter on one task, ours beside the study's. */
export interface Table1Row {
  task: Task;
  baseCe: Spread | null;
  cocktailCe: Spread | null;
  basePpl: Spread | null;
  cocktailPpl: Spread | null;
  study: (typeof STUDY_TABLE1)[Task];
}

/**
 * Table 1 from the cocktail experiment's metric rows: per task, CE and perplexity (exp CE, per
 * seed, then summarised) of the base model and of the cocktail adapter, all languages together.
 */
export function table1(metrics: readonly MetricRow[], split: MetricRow["split"]): Table1Row[] {
  const rows = metrics.filter((r) => r.split === split && r.language === "all");
  return TASKS.map((task) => {
    const base = rows.filter((r) => r.task === task && r.trainedOn === "base");
    const cocktail = rows.filter((r) => r.task === task && r.trainedOn === "cocktail");
    return {
      task,
      baseCe: spreadOf(base, (r) => r.ce),
      cocktailCe: spreadOf(cocktail, (r) => r.ce),
      basePpl: spreadOf(base, (r) => r.ppl),
      cocktailPpl: spreadOf(cocktail, (r) => r.ppl),
      study: STUDY_TABLE1[task],
    };
  });
}

/** One row of the narration-quality table: generation scores of one model on one task and language. */
export interface QualityRow {
  trainedOn: string;
  task: string;
  language: string;
  bleu: Spread | null;
  rougeL: Spread | null;
}

/** Smoothed BLEU-4 and ROUGE-L F per model, task and language, where generations were scored. */
export function qualityTable(
  metrics: readonly MetricRow[],
  split: MetricRow["split"],
): QualityRow[] {
  const rows = metrics.filter((r) => r.split === split && (r.bleu !== null || r.rougeL !== null));
  const out: QualityRow[] = [];
  for (const trainedOn of Object.keys(TRAINED_ON_NAMES) as TrialRow["trainedOn"][])
    for (const task of TASKS)
      for (const language of LANGUAGE_ORDER) {
        const group = rows.filter(
          (r) =>
            r.trainedOn === trainedOn && r.task === task && languageName(r.language) === language,
        );
        if (group.length === 0) continue;
        out.push({
          trainedOn: TRAINED_ON_NAMES[trainedOn],
          task: TASK_NAMES[task],
          language,
          bleu: spreadOf(group, (r) => r.bleu),
          rougeL: spreadOf(group, (r) => r.rougeL),
        });
      }
  return out;
}

/** One setting of a sweep: its trials by status and its CE spread per evaluated task. */
export interface SweepRow {
  setting: string;
  trials: number;
  completed: number;
  failed: number;
  unfinished: number;
  /** CE (all languages together) per evaluated task; null when no completed seed has it. */
  ce: Record<Task, Spread | null>;
  /** Lowest mean CE of the sweep on the task(s) it is judged on (see sweepWinners). */
  best: boolean;
}

/** The sweep's settings in `order`, with trial counts and CE spread; the winner flagged. */
export function sweepTable(
  trials: readonly TrialRow[],
  metrics: readonly MetricRow[],
  order: readonly string[],
  split: MetricRow["split"],
): SweepRow[] {
  const rows = metrics.filter((r) => r.split === split && r.language === "all");
  const table = order.map((setting) => {
    const ts = trials.filter((t) => t.label === setting);
    const ce = Object.fromEntries(
      TASKS.map((task) => [
        task,
        spreadOf(
          rows.filter((r) => r.label === setting && r.task === task),
          (r) => r.ce,
        ),
      ]),
    ) as Record<Task, Spread | null>;
    return {
      setting,
      trials: ts.length,
      completed: ts.filter((t) => t.status === "completed").length,
      failed: ts.filter((t) => t.status === "failed").length,
      unfinished: ts.filter((t) => t.status === "running" || t.status === "pending").length,
      ce,
      best: false,
    };
  });
  const winners = sweepWinners(metrics, order, split);
  return table.map((r) => ({ ...r, best: winners.includes(r.setting) }));
}

/**
 * The settings with the lowest mean CE (all languages together, over seeds and the judged tasks:
 * the task trained on, or both for cocktail mixes); several when tied; empty without results.
 */
export function sweepWinners(
  metrics: readonly MetricRow[],
  order: readonly string[],
  split: MetricRow["split"],
): string[] {
  const rows = metrics.filter((r) => r.split === split && r.language === "all" && judges(r));
  const means = order.flatMap((setting) => {
    const s = spreadOf(
      rows.filter((r) => r.label === setting),
      (r) => r.ce,
    );
    return s ? [{ setting, mean: s.mean }] : [];
  });
  const min = Math.min(...means.map((m) => m.mean));
  return means.filter((m) => m.mean === min).map((m) => m.setting);
}

/** Trials in report order: by what they trained on, setting order, model, seed; key breaks ties. */
export function sortTrials(trials: readonly TrialRow[], order: readonly string[]): TrialRow[] {
  const rank = (list: readonly string[], v: string) => {
    const i = list.indexOf(v);
    return i < 0 ? list.length : i;
  };
  return [...trials].sort(
    (a, b) =>
      rank(TRAINED_ON_ORDER, TRAINED_ON_NAMES[a.trainedOn]) -
        rank(TRAINED_ON_ORDER, TRAINED_ON_NAMES[b.trainedOn]) ||
      rank(order, a.label) - rank(order, b.label) ||
      compareText(a.label, b.label) ||
      compareText(a.model, b.model) ||
      a.seed - b.seed ||
      compareText(a.key, b.key),
  );
}

/** Counts of trials by status. */
export function statusCounts(trials: readonly TrialRow[]): Record<TrialRow["status"], number> {
  const counts = { completed: 0, failed: 0, running: 0, pending: 0 };
  for (const t of trials) counts[t.status]++;
  return counts;
}
