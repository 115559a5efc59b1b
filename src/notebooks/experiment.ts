/**
 * What the experiment notebooks share: their heading from the experiment's definition, the
 * profile they run under (NARRATOR_PROFILE), their results loaded through the Results API, after
 * running the experiment's sweep when trials are missing from the run store, and a sweep's
 * settings table as plain rows for showTable.
 */
import { TASKS, TASK_NAMES } from "../data/example";
import { resolveDataDir } from "../data/sources";
import { formatDuration } from "../train/progress";
import type { PoolEvent } from "../experiments/pool";
import { loadProfile } from "../experiments/profile";
import { loadResults, type ExperimentResults } from "../experiments/results";
import type { MetricRow } from "../experiments/rows";
import { defaultStoreDir, RunStore } from "../experiments/store";
import { runSweep, type SweepEvent } from "../experiments/sweep";
import { LANGUAGE_ORDER, languageName } from "../report/figures/style";
import { formatSpread } from "../util/number";
import { groupBy, mean } from "../report/stats";
import { statusCounts, sweepTable, table1 } from "../report/tables";
import { experimentInfo, type ExperimentInfo } from "../report/catalog";
import type { ExperimentName } from "../report/inputs";
import { escapeHtml } from "../report/html";
import { display, type MimeBundle } from "./display";
import { resolveProfile } from "./runner";

/** A notebook's heading: the experiment's title and the question it answers. */
export function headingBundle(info: ExperimentInfo): MimeBundle {
  return {
    "text/html": `<h1>${escapeHtml(info.title)}</h1>\n<p>${escapeHtml(info.question)}</p>`,
    "text/markdown": `# ${info.title}\n\n${info.question}`,
    "text/plain": `${info.title}\n\n${info.question}`,
  };
}

/** Show an experiment's title and question, as its definition (experiments/<name>.json) states them. */
export function showExperimentHeading(name: ExperimentName): void {
  display(headingBundle(experimentInfo(name)));
}

/** Options of experimentResults. */
export interface ExperimentResultsOptions {
  /** Profile name; default NARRATOR_PROFILE, else mini. */
  profile?: string;
  /** Run store; default runs/<profile>. */
  store?: string;
  /** Run the sweep when trials are pending or were interrupted (default true); false only loads. */
  run?: boolean;
  /** Where progress lines go (default console.log: the cell's output). */
  log?: (line: string) => void;
}

/** A sweep's events as a few lines: the phase, each trial's end, the final counts. */
function sweepLogger(log: (line: string) => void): (e: SweepEvent) => void {
  return (e) => {
    if (e.type === "phase") {
      if (e.phase.blocked) log(`waits: ${e.phase.blocked}`);
      else log(`sweep ${e.phase.experiments.join(", ")}: ${e.phase.trials.length} trials to run`);
      return;
    }
    const pe = e as PoolEvent;
    if (pe.type !== "end" || ["done-before", "failed-before", "busy"].includes(pe.end)) return;
    const time = pe.wallTimeS === null ? "" : ` in ${formatDuration(pe.wallTimeS)}`;
    const s = pe.record.spec;
    log(`  ${pe.end} ${s.label} seed ${s.seed}${time}${pe.error ? `: ${pe.error}` : ""}`);
  };
}

/** One line on where results came from and how their trials stand. */
export function describeResults(results: ExperimentResults): string {
  const c = statusCounts(results.trials);
  const outdated = results.outdated.length
    ? `; ${results.outdated.length} ran with older sources, data or models`
    : "";
  return `${results.definition.name} in profile ${results.profile.name} (${results.store}): ${results.trials.length} trials, ${c.completed} completed, ${c.failed} failed, ${c.running} running, ${c.pending} pending${outdated}`;
}

/**
 * An experiment's results for the notebook's profile. When some of its trials were never run or
 * were interrupted, its sweep runs first (finished trials are reused from the store, failed ones
 * are left as they are) and the results are loaded again.
 */
export async function experimentResults(
  name: string,
  options: ExperimentResultsOptions = {},
): Promise<ExperimentResults> {
  const log = options.log ?? ((line: string) => console.log(line));
  const profile = loadProfile(resolveProfile(options.profile));
  const storeDir = options.store ?? defaultStoreDir(profile.name);
  const load = () => loadResults(name, { profile, store: storeDir });
  let results = await load();
  const c = statusCounts(results.trials);
  if ((options.run ?? true) && c.pending + c.running > 0) {
    const started = Date.now();
    const report = await runSweep({
      experiments: [name],
      profile,
      store: new RunStore(storeDir),
      dataDir: resolveDataDir(),
      onEvent: sweepLogger(log),
    });
    log(
      `sweep done in ${formatDuration((Date.now() - started) / 1000)}: ${report.failed} failed, ${report.unfinished} unfinished`,
    );
    results = await load();
  }
  log(describeResults(results));
  return results;
}

/** A sweep's settings table (src/report/tables sweepTable) as rows of text for showTable. */
export function sweepTableRows(
  results: Pick<ExperimentResults, "trials" | "metrics">,
  order: readonly string[],
  split: MetricRow["split"] = "val",
): Record<string, string | number>[] {
  const rows = sweepTable(results.trials, results.metrics, order, split);
  const tasks = TASKS.filter((t) => rows.some((r) => r.ce[t] !== null));
  return rows.map((r) => ({
    setting: r.best ? `${r.setting} (lowest CE)` : r.setting,
    trials: r.trials,
    completed: r.completed,
    failed: r.failed,
    unfinished: r.unfinished,
    ...Object.fromEntries(tasks.map((t) => [`CE ${TASK_NAMES[t]}`, formatSpread(r.ce[t], 3)])),
  }));
}

/**
 * Mean CE over seeds per group (a column of the metric rows, e.g. "model" or "label") and task,
 * one column per language ("all" last); empty where a language was not evaluated.
 */
export function ceByLanguage(
  metrics: readonly MetricRow[],
  group: string,
  split: MetricRow["split"] = "val",
): Record<string, string | number>[] {
  const rows = metrics.filter((r) => r.split === split);
  const groups = groupBy(rows, (r) => `${String(r[group])}\u0000${r.task}`);
  return [...groups.values()].map((g) => {
    const byLang = groupBy(g, (r) => languageName(r.language));
    return {
      [group]: String(g[0][group]),
      task: TASK_NAMES[g[0].task],
      ...Object.fromEntries(
        LANGUAGE_ORDER.filter((l) => byLang.has(l)).map((l) => [
          l,
          mean(byLang.get(l)!.map((r) => r.ce)),
        ]),
      ),
    };
  });
}

/** Table 1 (src/report/tables table1): per task, the study's reported row and ours (mean ± sd over seeds). */
export function table1Rows(
  metrics: readonly MetricRow[],
  split: MetricRow["split"],
): Record<string, string>[] {
  return table1(metrics, split).flatMap((t) => [
    {
      task: TASK_NAMES[t.task],
      source: "study (reported)",
      "base CE": t.study.baseCe.toFixed(2),
      "cocktail CE": t.study.cocktailCe.toFixed(2),
      "base PPL": t.study.basePpl.toFixed(2),
      "cocktail PPL": t.study.cocktailPpl.toFixed(2),
    },
    {
      task: TASK_NAMES[t.task],
      source: "ours",
      "base CE": formatSpread(t.baseCe, 3),
      "cocktail CE": formatSpread(t.cocktailCe, 3),
      "base PPL": formatSpread(t.basePpl, 2),
      "cocktail PPL": formatSpread(t.cocktailPpl, 2),
    },
  ]);
}
