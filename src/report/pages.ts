/**
 * The report's pages as content: the text, tables and figures of every page of PAGES
 * (./catalog.ts), built from a ReportInput. Pure: the figures are returned as specs; build.ts
 * renders them and writes the files.
 */
import type { MetricRow, SampleRow, SettingValue, TrialRow } from "../experiments/rows";
import { TASKS, type Task, TASK_NAMES } from "../data/example";
import { LANGS } from "../data/langs";
import type { ExperimentName, ExperimentResults, ReportInput, SweepName } from "./inputs";
import { EXPERIMENTS, SWEEPS } from "./inputs";
import { STUDY_HYPERPARAMETERS } from "../experiments/transfer";
import { formatNumber } from "../experiments/settings";
import {
  LANGUAGE_ORDER,
  TRAINED_ON_NAMES,
  TRAINED_ON_ORDER,
  compareText,
  languageName,
  settingOrder,
  splitName,
} from "./figures/style";
import { baselinesFigure } from "./figures/baselines";
import { curvesFigure, sweepCeFigure, sweepLanguagesFigure, type SweepView } from "./figures/sweep";
import { cocktailFigure, cocktailLanguagesFigure } from "./figures/cocktail";
import { ratioFigure } from "./figures/ratio";
import { funnelFigure } from "./figures/funnel";
import { overviewFigure } from "./figures/overview";
import { crossLanguageFigure, transferCells } from "./figures/cross_language";
import { qualityTable, sortTrials, statusCounts, sweepTable, sweepWinners, table1 } from "./tables";
import { escapeHtml, htmlTable, jsonDetails, type Cell } from "./html";
import { reportClaims, type ClaimResult } from "./claims";
import { claimsPage, claimsSummary, experimentClaimsBlock } from "./claims_page";
import { claimFigure, PAGES, pageTitle, settingsView, type PageContent } from "./catalog";
import { provenanceBlock } from "./provenance";
import { formatSpread, groupDigits } from "../util/number";

/** "Held-out test" from "held-out test". */
function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The split figures and tables use: sweeps select on validation; the cocktail reports test where evaluated on it. */
function reportSplit(
  results: ExperimentResults | undefined,
  preferTest: boolean,
): MetricRow["split"] {
  return preferTest && results?.metrics.some((r) => r.split === "test") ? "test" : "val";
}

const EMPTY: ExperimentResults = { trials: [], metrics: [], curves: [], samples: [] };

/** A string field of an unknown object (definition files), or null. */
function textField(value: unknown, field: string): string | null {
  if (value === null || typeof value !== "object") return null;
  const v = (value as Record<string, unknown>)[field];
  return typeof v === "string" ? v : null;
}

/** "optimizer adagrad, scheduler constant_with_warmup, epochs 1, batchSize 4, lr 2e-4". */
function formatHyperparameters(h: Readonly<Record<string, SettingValue>>): string {
  return Object.entries(h)
    .map(([k, v]) => `${k} ${typeof v === "number" ? formatNumber(v) : String(v)}`)
    .join(", ");
}

/**
 * The transfer statement every page carries: the profile's transfer setting and the
 * hyperparameters transfer experiments trained with (this experiment's, else any experiment's).
 */
function transferBlock(input: ReportInput, results: ExperimentResults | undefined): string {
  const own = results?.transfer ?? null;
  const any = own ?? EXPERIMENTS.map((n) => input.experiments[n]?.transfer).find((t) => t) ?? null;
  const source =
    input.transfer === "study"
      ? "the study's choice on CodeSearchNet"
      : "this run's sweep winners (lowest mean validation CE)";
  const values = any
    ? formatHyperparameters(any.hyperparameters)
    : input.transfer === "study"
      ? formatHyperparameters(STUDY_HYPERPARAMETERS)
      : "not resolved yet (the sweeps have not all finished)";
  const lead = own ? "This experiment trains with the transferred hyperparameters. " : "";
  return `<p class="note">${escapeHtml(
    `${lead}Hyperparameters transferred to CommitPackFT, the cocktail and the follow-ups (profile setting transfer = "${input.transfer}"): ${source}: ${values}.`,
  )}</p>`;
}

/** Status line of an experiment, and a notice when trials are missing, failed or unfinished. */
function statusBlock(
  input: ReportInput,
  name: ExperimentName,
  results: ExperimentResults | undefined,
): string {
  const note = (text: string) => `<p class="note">${escapeHtml(text)}</p>`;
  const unavailable = input.unavailable?.[name];
  if (unavailable)
    return note(
      `The results of "${name}" could not be loaded: ${unavailable}. Its figures below are empty.`,
    );
  if (!results || results.trials.length === 0)
    return note(
      `No results for "${name}" in profile "${input.profile}": its figures below are empty. Run: narrator sweep ${name} --profile ${input.profile}`,
    );
  const c = statusCounts(results.trials);
  const line = `${results.trials.length} trials: ${c.completed} completed, ${c.failed} failed, ${c.running} running, ${c.pending} pending.`;
  const incomplete = c.failed + c.running + c.pending > 0;
  const outdated = results.outdated?.length
    ? note(
        `${results.outdated.length} of the results ran with other sources, data or models than the current ones: ${results.outdated.map((k) => k.slice(0, 12)).join(", ")}.`,
      )
    : "";
  const status = incomplete
    ? note(
        `${line} Figures and tables use the completed trials only; see the trials table for the others.`,
      )
    : `<p>${escapeHtml(line)}</p>`;
  return [status, outdated].filter(Boolean).join("\n");
}

/**
 * Every trial with its status and error: nothing is hidden. Wall times are left out: they differ
 * from run to run and would break byte-identical reports (`narrator runs list` shows them).
 */
function trialsTable(trials: readonly TrialRow[], order: readonly string[]): string {
  if (trials.length === 0) return "<p>No trials.</p>";
  const rows = sortTrials(trials, order).map((t): Cell[] => [
    t.label,
    t.model,
    TRAINED_ON_NAMES[t.trainedOn],
    { text: String(t.seed), numeric: true },
    { text: t.status, strong: t.status !== "completed" },
    { text: t.key.slice(0, 12), muted: true },
    { text: t.error ?? "", long: true },
  ]);
  return htmlTable(
    [
      "setting",
      "model",
      "trained on",
      { text: "seed", numeric: true },
      "status",
      "run key",
      "error",
    ],
    rows,
    "Trials",
  );
}

/** The resolved configuration of an experiment (definition and profile) as sorted JSON. */
function configBlock(results: ExperimentResults | undefined): string {
  if (!results || (results.definition === undefined && results.profile === undefined)) return "";
  return `<h2>Configuration</h2>\n${jsonDetails(
    "Resolved configuration: experiment definition and profile",
    {
      definition: results.definition ?? null,
      profile: results.profile ?? null,
    },
  )}`;
}

/** The head of an experiment page: title, the definition's question, status, transfer, claims. */
function pageHead(
  input: ReportInput,
  name: ExperimentName,
  results: ExperimentResults | undefined,
  claims: readonly ClaimResult[],
): string {
  const question = textField(results?.definition, "question");
  return [
    `<h1>${escapeHtml(pageTitle(name))}</h1>`,
    question ? `<p class="lead">${escapeHtml(question)}</p>` : "",
    statusBlock(input, name, results),
    transferBlock(input, results),
    experimentClaimsBlock(claims.filter((c) => c.experiment === name)),
  ]
    .filter(Boolean)
    .join("\n");
}

/** The baselines page: Figure 1 and its numbers. */
function baselinesPage(input: ReportInput, claims: readonly ClaimResult[]): PageContent {
  const results = input.experiments.baselines;
  const metrics = (results ?? EMPTY).metrics.filter(
    (r) => r.split === "val" && r.trainedOn === "base",
  );
  const models = [...new Set(metrics.map((r) => r.model))].sort(compareText);
  const languages = LANGUAGE_ORDER.filter((l) =>
    metrics.some((r) => languageName(r.language) === l),
  );
  const rows = models.flatMap((model) =>
    TASKS.map((task): Cell[] => [
      model,
      TASK_NAMES[task],
      ...languages.map((lang) => {
        const ces = metrics.filter(
          (r) => r.model === model && r.task === task && languageName(r.language) === lang,
        );
        return {
          text: ces.length ? (ces.reduce((s, r) => s + r.ce, 0) / ces.length).toFixed(3) : "—",
          numeric: true,
        };
      }),
    ]),
  );
  return {
    file: "baselines.html",
    title: pageTitle("baselines"),
    blocks: [
      pageHead(input, "baselines", results, claims),
      baselinesFigure(metrics),
      htmlTable(
        ["base model", "task", ...languages.map((l) => ({ text: l, numeric: true }))],
        rows,
        "Zero-shot validation CE (nats/token), mean over seeds",
      ),
      trialsTable(results?.trials ?? [], []),
      configBlock(results),
      provenanceBlock(input, results?.trials ?? [], [input.runs?.baselines]),
    ],
  };
}

/** A sweep's settings table: trials by status and CE per evaluated task, the winner in bold. */
function sweepTableBlock(
  results: ExperimentResults,
  view: SweepView,
  split: MetricRow["split"],
): string {
  const rows = sweepTable(results.trials, results.metrics, view.order, split);
  const tasks = TASKS.filter((t) => rows.some((r) => r.ce[t] !== null));
  return htmlTable(
    [
      view.setting,
      { text: "trials", numeric: true },
      { text: "completed", numeric: true },
      { text: "failed", numeric: true },
      { text: "unfinished", numeric: true },
      ...tasks.map((t) => ({ text: `CE ${TASK_NAMES[t]}`, numeric: true })),
    ],
    rows.map((r): Cell[] => [
      { text: r.best ? `${r.setting} (lowest CE)` : r.setting, strong: r.best },
      { text: String(r.trials), numeric: true },
      { text: String(r.completed), numeric: true },
      { text: String(r.failed), numeric: true, strong: r.failed > 0 },
      { text: String(r.unfinished), numeric: true, strong: r.unfinished > 0 },
      ...tasks.map((t) => ({ text: formatSpread(r.ce[t], 3), numeric: true, strong: r.best })),
    ]),
    `${capitalised(splitName(split))} CE (nats/token), all languages together: mean ± sample sd over seeds (n = completed seeds)`,
  );
}

/** A sweep page (Figures 2-6, diff vs files, cocktail ratios). */
function sweepPage(
  input: ReportInput,
  name: SweepName,
  claims: readonly ClaimResult[],
): PageContent {
  const results = input.experiments[name];
  const r = results ?? EMPTY;
  const view = settingsView(name, r.trials);
  const main = name === "cocktail-ratios" ? ratioFigure(r.metrics) : sweepCeFigure(r.metrics, view);
  return {
    file: `${name}.html`,
    title: pageTitle(name),
    blocks: [
      pageHead(input, name, results, claims),
      main,
      sweepTableBlock(r, view, "val"),
      sweepLanguagesFigure(r.metrics, view),
      curvesFigure(r.curves, view),
      trialsTable(r.trials, view.order),
      configBlock(results),
      provenanceBlock(input, r.trials, [input.runs?.[name]]),
    ],
  };
}

/** Table 1: the study's values beside ours, per task. */
function table1Block(metrics: readonly MetricRow[], split: MetricRow["split"]): string {
  const rows = table1(metrics, split).flatMap((t): Cell[][] => {
    const studyDelta = t.study.cocktailCe - t.study.baseCe;
    const ourDelta = t.baseCe && t.cocktailCe ? t.cocktailCe.mean - t.baseCe.mean : null;
    // Signed change and relative change; the sign comes from the rounded text, so no "-0.000".
    const signed = (x: number, digits: number) => {
      const text = x.toFixed(digits);
      if (/^-?0(\.0*)?$/.test(text)) return text.replace("-", "");
      return x > 0 ? `+${text}` : text;
    };
    const pct = (d: number, base: number, digits: number) =>
      `${signed(d, digits)} (${signed((100 * d) / base, 1)}%)`;
    return [
      [
        TASK_NAMES[t.task],
        "study (reported)",
        { text: t.study.baseCe.toFixed(2), numeric: true },
        { text: t.study.cocktailCe.toFixed(2), numeric: true },
        { text: pct(studyDelta, t.study.baseCe, 2), numeric: true },
        { text: t.study.basePpl.toFixed(2), numeric: true },
        { text: t.study.cocktailPpl.toFixed(2), numeric: true },
      ],
      [
        TASK_NAMES[t.task],
        "ours",
        { text: formatSpread(t.baseCe, 3), numeric: true, strong: true },
        { text: formatSpread(t.cocktailCe, 3), numeric: true, strong: true },
        {
          text: ourDelta === null || !t.baseCe ? "—" : pct(ourDelta, t.baseCe.mean, 3),
          numeric: true,
          strong: true,
        },
        { text: formatSpread(t.basePpl, 2), numeric: true, strong: true },
        { text: formatSpread(t.cocktailPpl, 2), numeric: true, strong: true },
      ],
    ];
  });
  const heldOut = split === "held-out";
  return [
    `<h2>Table 1 · Base model vs cocktail${heldOut ? " · held-out repositories" : ""}</h2>`,
    htmlTable(
      [
        "dataset",
        "source",
        { text: "base CE", numeric: true },
        { text: "cocktail CE", numeric: true },
        { text: "change in CE", numeric: true },
        { text: "base PPL", numeric: true },
        { text: "cocktail PPL", numeric: true },
      ],
      rows,
      `${capitalised(splitName(split))} cross-entropy (nats/token) and perplexity (exp CE), all languages together; ours: mean ± sample sd over seeds (n = seeds).${heldOut ? " Held out: the test split of a dataset from repositories no training data came from; the study's values are its own test split's." : ""}`,
    ),
    `<p>${escapeHtml(
      "Our base models are far smaller than the study's DeepSeek-Coder 1.3B, so absolute values differ; compare the direction and the relative change. Perplexity is summarised over seeds per seed (mean of exp CE), so it is not exactly exp of the mean CE.",
    )}</p>`,
  ].join("\n");
}

/** Narration quality of each model per task and language, with the metric variants named. */
function qualityBlock(metrics: readonly MetricRow[], split: MetricRow["split"]): string {
  const rows = qualityTable(metrics, split);
  const intro = `<h2>Narration quality</h2>\n<p>${escapeHtml(
    "Greedy generations scored against the references: smoothed BLEU-4 (the CodeXGLUE code-to-text variant: add-one smoothing of the 2- to 4-gram precisions, 0-100) and ROUGE-L F (longest common subsequence, F-measure with beta = 1.2 as in the COCO caption evaluation, 0-100); higher is better.",
  )}</p>`;
  if (rows.length === 0) return `${intro}\n<p>No generations were scored in this experiment.</p>`;
  const languages = LANGUAGE_ORDER.filter((l) => rows.some((r) => r.language === l));
  const groups = [...new Set(rows.map((r) => `${r.task}\u0000${r.trainedOn}`))];
  const pivot = (metric: "bleu" | "rougeL", title: string) => {
    const ns = [...new Set(rows.map((r) => r[metric]?.n).filter((n) => n !== undefined))];
    return htmlTable(
      ["task", "model", ...languages.map((l) => ({ text: l, numeric: true }))],
      groups.map((g): Cell[] => {
        const [task, trainedOn] = g.split("\u0000");
        return [
          task,
          trainedOn,
          ...languages.map((language) => {
            const r = rows.find(
              (x) => x.task === task && x.trainedOn === trainedOn && x.language === language,
            );
            return { text: formatSpread(r?.[metric] ?? null, 2, false), numeric: true };
          }),
        ];
      }),
      `${title}, ${splitName(split)} split: mean ± sample sd over seeds (n = ${ns.join(", ")})`,
    );
  };
  return [
    intro,
    pivot("bleu", "Smoothed BLEU-4 (CodeXGLUE)"),
    pivot("rougeL", "ROUGE-L F (COCO, β = 1.2)"),
  ].join("\n");
}

/** How long an example's input may be on the page. */
const SAMPLE_INPUT_CHARS = 800;

/** A handful of generated examples: the first (by seed, key) of each task and model. */
function samplesBlock(samples: readonly SampleRow[]): string {
  const picked = TASKS.flatMap((task) =>
    TRAINED_ON_ORDER.flatMap((name) => {
      const group = samples
        .filter((s) => s.task === task && TRAINED_ON_NAMES[s.trainedOn] === name)
        .sort(
          (a, b) =>
            LANGUAGE_ORDER.indexOf(languageName(a.language)) -
              LANGUAGE_ORDER.indexOf(languageName(b.language)) ||
            a.seed - b.seed ||
            compareText(a.key, b.key),
        );
      return group.slice(0, 1);
    }),
  );
  const head = `<h2>Examples</h2>`;
  if (picked.length === 0) return `${head}\n<p>No generated examples were kept.</p>`;
  const short = (text: string) =>
    text.length <= SAMPLE_INPUT_CHARS
      ? text
      : `${text.slice(0, SAMPLE_INPUT_CHARS)}\n… (${text.length - SAMPLE_INPUT_CHARS} more characters)`;
  return [
    head,
    ...picked.map(
      (s) => `<div class="sample">
<h3>${escapeHtml(`${TASK_NAMES[s.task]} · ${languageName(s.language)} · ${TRAINED_ON_NAMES[s.trainedOn]} · seed ${s.seed}`)}</h3>
<p><strong>Input</strong></p>
<pre>${escapeHtml(short(s.input))}</pre>
<p><strong>Reference</strong></p>
<pre>${escapeHtml(s.reference)}</pre>
<p><strong>Generated</strong></p>
<pre>${escapeHtml(s.generated)}</pre>
</div>`,
    ),
  ].join("\n");
}

/** The cocktail page: Figure 7, Table 1 beside the study, narration quality, examples. */
function cocktailPage(input: ReportInput, claims: readonly ClaimResult[]): PageContent {
  const results = input.experiments.cocktail;
  const r = results ?? EMPTY;
  const split = reportSplit(results, true);
  const curvesView = settingsView("cocktail", r.trials);
  return {
    file: "cocktail.html",
    title: pageTitle("cocktail"),
    blocks: [
      pageHead(input, "cocktail", results, claims),
      cocktailFigure(r.metrics, split),
      table1Block(r.metrics, split),
      ...(r.metrics.some((m) => m.split === "held-out")
        ? [cocktailFigure(r.metrics, "held-out"), table1Block(r.metrics, "held-out")]
        : []),
      cocktailLanguagesFigure(r.metrics, split),
      qualityBlock(r.metrics, split),
      samplesBlock(r.samples),
      curvesFigure(
        r.curves.filter((c) => c.trainedOn !== "base"),
        curvesView,
      ),
      trialsTable(r.trials, curvesView.order),
      configBlock(results),
      provenanceBlock(input, r.trials, [input.runs?.cocktail]),
    ],
  };
}

/** The data page: the preparation funnel and its warnings. */
function dataPage(input: ReportInput): PageContent {
  const data = input.data;
  const funnel = data?.funnel ?? [];
  const languages = LANGS.filter((l) => funnel.some((f) => f.language === l));
  const steps = [
    ...new Set(funnel.map((f) => `${f.dataset}\u0000${f.stage}\u0000${f.split ?? ""}`)),
  ];
  const pivot = htmlTable(
    [
      "dataset",
      "stage",
      "split",
      ...languages.map((l) => ({ text: languageName(l), numeric: true })),
    ],
    steps.map((step): Cell[] => {
      const [dataset, stage, split] = step.split("\u0000");
      return [
        TASK_NAMES[dataset as Task],
        stage,
        split,
        ...languages.map((language) => {
          const f = funnel.find(
            (r) =>
              r.dataset === dataset &&
              r.stage === stage &&
              (r.split ?? "") === split &&
              r.language === language,
          );
          return {
            text: f ? `${groupDigits(f.out)} (−${groupDigits(f.removed)})` : "—",
            numeric: true,
          };
        }),
      ];
    }),
    "Rows kept after each stage (rows removed by it), per language",
  );
  const table = htmlTable(
    [
      "dataset",
      "language",
      "stage",
      "split",
      { text: "rows in", numeric: true },
      { text: "removed", numeric: true },
      { text: "kept", numeric: true },
    ],
    funnel.map((f): Cell[] => [
      TASK_NAMES[f.dataset],
      languageName(f.language),
      f.stage,
      f.split ?? "",
      { text: groupDigits(f.in), numeric: true },
      { text: groupDigits(f.removed), numeric: true },
      { text: groupDigits(f.out), numeric: true },
    ]),
  );
  const warnings = data?.warnings.length
    ? `<h2>Warnings</h2>\n<ul>\n${data.warnings.map((w) => `<li>${escapeHtml(w.message)}</li>`).join("\n")}\n</ul>`
    : "<p>No data warnings.</p>";
  return {
    file: "data.html",
    title: "Data",
    blocks: [
      `<h1>Data</h1>`,
      data
        ? `<p class="lead">${escapeHtml(`Prepared data ${data.dataHash}: every stage of the preparation, rows in, removed and kept, per dataset and language.`)}</p>`
        : `<p class="note">${escapeHtml(`No data summary: ${input.dataError ?? "none was given to the report builder"}. The funnel below is empty.`)}</p>`,
      funnelFigure(funnel),
      pivot,
      `<details>\n<summary>Every funnel record: rows in, removed and kept</summary>\n${table}\n</details>`,
      warnings,
      provenanceBlock(input, [], []),
    ],
  };
}

/** The index: every page with its trial counts and headline, the all-sweeps overview, provenance. */
function indexPage(input: ReportInput, claims: readonly ClaimResult[]): PageContent {
  const rows = EXPERIMENTS.map((name): Cell[] => {
    const r = input.experiments[name];
    const c = statusCounts(r?.trials ?? []);
    return [
      { text: pageTitle(name), href: `${name}.html` },
      { text: String(r?.trials.length ?? 0), numeric: true },
      { text: String(c.completed), numeric: true },
      { text: String(c.failed), numeric: true, strong: c.failed > 0 },
      { text: String(c.running + c.pending), numeric: true, strong: c.running + c.pending > 0 },
      { text: headline(name, r), long: true },
    ];
  });
  const sweeps = SWEEPS.map((name) => {
    const r = input.experiments[name] ?? EMPTY;
    const { title, order } = settingsView(name, r.trials);
    return { title, metrics: r.metrics, order };
  });
  const all = EXPERIMENTS.flatMap((name) => input.experiments[name]?.trials ?? []);
  return {
    file: "index.html",
    title: "Overview",
    blocks: [
      `<h1>${escapeHtml(`code-narrator results · profile ${input.profile}`)}</h1>`,
      `<p class="lead">${escapeHtml(
        "QLoRA adapters on small code models, reproducing the study's experiments (Figures 1-7, Table 1) and its follow-ups. Every page is self-contained: figures, tables, configuration and provenance.",
      )}</p>`,
      transferBlock(input, undefined),
      claimsSummary(claims),
      `<h2>Experiments</h2>`,
      htmlTable(
        [
          "experiment",
          { text: "trials", numeric: true },
          { text: "completed", numeric: true },
          { text: "failed", numeric: true },
          { text: "unfinished", numeric: true },
          "headline",
        ],
        rows,
      ),
      `<p><a href="data.html">Data</a>: the preparation funnel of both datasets.</p>`,
      overviewFigure(sweeps),
      provenanceBlock(
        input,
        all,
        EXPERIMENTS.map((n) => input.runs?.[n]),
      ),
    ],
  };
}

/** The cross-language page: the transfer heat map per task, its trials and configuration. */
function crossLanguagePage(input: ReportInput, claims: readonly ClaimResult[]): PageContent {
  const results = input.experiments["cross-language"];
  const r = results ?? EMPTY;
  const order = settingOrder(r.trials);
  return {
    file: "cross-language.html",
    title: pageTitle("cross-language"),
    blocks: [
      pageHead(input, "cross-language", results, claims),
      crossLanguageFigure(r.metrics, "val"),
      trialsTable(r.trials, order),
      configBlock(results),
      provenanceBlock(input, r.trials, [input.runs?.["cross-language"]]),
    ],
  };
}

/** "in-language −4.1%, other languages −1.2%": mean relative changes of the transfer heat map. */
function transferHeadline(r: ExperimentResults): string {
  const cells = transferCells(r.metrics, "val");
  if (cells.length === 0) return "no completed trials";
  const part = (same: boolean) => {
    const xs = cells.filter((c) => (c.trained === c.evaluated) === same).map((c) => c.change);
    return xs.length ? `${(xs.reduce((a, x) => a + x, 0) / xs.length).toFixed(1)}%` : "—";
  };
  return `mean CE change against the base model: in-language ${part(true)}, other languages ${part(false)}`;
}

/** One line per experiment for the index: the winner of a sweep, Table 1's cocktail change, etc. */
function headline(name: ExperimentName, r: ExperimentResults | undefined): string {
  if (!r || r.metrics.length === 0) return "no results";
  if (name === "baselines") {
    const all = r.metrics.filter((m) => m.split === "val" && m.language === "all");
    const best = [...all].sort((a, b) => a.ce - b.ce)[0];
    return best
      ? `lowest zero-shot CE: ${best.model} on ${TASK_NAMES[best.task]} (${best.ce.toFixed(3)})`
      : "no results";
  }
  if (name === "cross-language") return transferHeadline(r);
  if (name === "cocktail") {
    const split = reportSplit(r, true);
    return table1(r.metrics, split)
      .map((t) =>
        t.baseCe && t.cocktailCe
          ? `${TASK_NAMES[t.task]}: ${t.baseCe.mean.toFixed(3)} → ${t.cocktailCe.mean.toFixed(3)}`
          : `${TASK_NAMES[t.task]}: —`,
      )
      .join("; ");
  }
  const winners = sweepWinners(r.metrics, settingOrder(r.trials), "val");
  if (winners.length === 0) return "no completed trials";
  return `lowest validation CE: ${winners.join(" = ")}${winners.length > 1 ? " (tied)" : ""}`;
}

/** Every claim of the report's experiments, judged (see ./claims.ts). */
export function judgeClaims(input: ReportInput): ClaimResult[] {
  return reportClaims(input, claimFigure);
}

/** Every page's content, in PAGES order (`claims`: the judged claims, when already computed). */
export function reportPages(
  input: ReportInput,
  claims: readonly ClaimResult[] = judgeClaims(input),
): PageContent[] {
  const pages = [
    indexPage(input, claims),
    claimsPage(input, claims),
    dataPage(input),
    baselinesPage(input, claims),
    ...SWEEPS.slice(0, 5).map((name) => sweepPage(input, name, claims)),
    cocktailPage(input, claims),
    sweepPage(input, "cocktail-ratios", claims),
    sweepPage(input, "diff-vs-files", claims),
    crossLanguagePage(input, claims),
  ];
  return PAGES.map((p) => {
    const content = pages.find((c) => c.file === p.file);
    if (!content) throw new Error(`report page ${p.file}: no content built`);
    return content;
  });
}
