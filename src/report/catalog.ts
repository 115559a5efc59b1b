/**
 * What a report holds: the pages, the figures each must show (also what the checker expects), and
 * how each experiment is titled and its settings shown (read from its definition's `page`).
 */
import { loadDefinition, type ExperimentDefinition } from "../experiments/definition";
import { EXPERIMENTS, type ExperimentName } from "./inputs";
import type { TrialRow } from "../experiments/rows";
import type { SweepView } from "./figures/sweep";
import {
  TRAINED_ON_NAMES,
  TRAINED_ON_ORDER,
  compareText,
  settingOrder,
  type Figure,
} from "./figures/style";

/** A page's content: its file name, title, and blocks (HTML strings, or figures to render). */
export interface PageContent {
  file: string;
  title: string;
  blocks: (string | Figure)[];
}

/** A reported experiment's definition (experiments/<name>.json), read once. */
const definitions = new Map<ExperimentName, ExperimentDefinition>();
function definitionOf(name: ExperimentName): ExperimentDefinition {
  if (!definitions.has(name)) definitions.set(name, loadDefinition(name));
  return definitions.get(name)!;
}

/** A reported experiment's `page` block: reports need its title. */
function pageOf(name: ExperimentName): NonNullable<ExperimentDefinition["page"]> {
  const page = definitionOf(name).page;
  if (!page)
    throw new Error(`experiments/${name}.json: "page" is missing (reports need its title)`);
  return page;
}

/** A page's title, from its experiment's definition. */
export function pageTitle(name: ExperimentName): string {
  return pageOf(name).title;
}

/**
 * How a page's settings figures show them (figure id prefix, title and the setting's name), from
 * its definition: every sweep's page, and the cocktail's adapters.
 */
export function sweepView(name: ExperimentName): Omit<SweepView, "order"> {
  const { figureId, figureTitle, setting } = pageOf(name);
  if (!figureId || !figureTitle || !setting)
    throw new Error(
      `experiments/${name}.json: page: a page with settings figures needs figureId, figureTitle and setting`,
    );
  return { id: figureId, title: figureTitle, setting };
}

/**
 * The settings figures' view of an experiment's trials: names from its definition (sweepView),
 * labels in the order the figures show them: a sweep's by setting value (settingOrder), the
 * cocktail's by what each adapter trained on (base model first), then by label.
 */
export function settingsView(
  name: ExperimentName,
  trials: readonly Pick<TrialRow, "label" | "settings" | "trainedOn">[],
): SweepView {
  const trainedOn = (label: string) =>
    TRAINED_ON_ORDER.indexOf(TRAINED_ON_NAMES[trials.find((t) => t.label === label)!.trainedOn]);
  const order =
    name === "cocktail"
      ? [...new Set(trials.map((t) => t.label))].sort(
          (a, b) => trainedOn(a) - trainedOn(b) || compareText(a, b),
        )
      : settingOrder(trials);
  return { ...sweepView(name), order };
}

/** An experiment as its definition (experiments/<name>.json) describes it. */
export interface ExperimentInfo {
  name: ExperimentName;
  /** The title of its report page and notebook, e.g. "Batch size (Figure 5)". */
  title: string;
  /** The question it answers. */
  question: string;
  /** The figure or table of the study it backs, e.g. "Fig. 5". */
  figure: string;
}

/** An experiment's title, question and study figure, from its definition. */
export function experimentInfo(name: ExperimentName): ExperimentInfo {
  const { question, figure } = definitionOf(name);
  return { name, title: pageTitle(name), question, figure };
}

/** Every page: file, title and the ids of the figures it must show (what the checker expects). */
export const PAGES: readonly { file: string; title: string; figures: readonly string[] }[] = [
  { file: "index.html", title: "Overview", figures: ["overview"] },
  { file: "claims.html", title: "Claims", figures: ["claims-effects"] },
  { file: "data.html", title: "Data", figures: ["data-funnel"] },
  ...EXPERIMENTS.map((name) => ({
    file: `${name}.html`,
    title: pageTitle(name),
    figures: experimentFigureIds(name),
  })),
];

function experimentFigureIds(name: ExperimentName): string[] {
  if (name === "baselines") return ["fig1-baselines"];
  if (name === "cocktail")
    return ["fig7-cocktail", "cocktail-languages", `${sweepView(name).id}-curves`];
  if (name === "cross-language") return ["cross-language-heatmap"];
  const id = sweepView(name).id;
  if (name === "cocktail-ratios")
    return ["cocktail-ratio-curve", `${id}-languages`, `${id}-curves`];
  return [id, `${id}-languages`, `${id}-curves`];
}

/** The page and main figure a claim of an experiment links to. */
export function claimFigure(name: ExperimentName): string {
  return `${name}.html#${experimentFigureIds(name)[0]}`;
}
