/**
 * What a report holds: the pages, the figures each must show (also what the checker expects), and
 * how each experiment is titled and its sweep shown (read from its definition's `page`).
 */
import { loadDefinition, type ExperimentDefinition } from "../experiments/definition";
import { EXPERIMENTS, type ExperimentName, type SweepName } from "./inputs";
import type { SweepView } from "./figures/sweep";
import type { Figure } from "./figures/style";

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

/** How a sweep's page shows it (figure id prefix, title and the swept setting's name), from its definition. */
export function sweepView(name: SweepName): Omit<SweepView, "order"> {
  const { figureId, figureTitle, setting } = pageOf(name);
  if (!figureId || !figureTitle || !setting)
    throw new Error(
      `experiments/${name}.json: page: a sweep needs figureId, figureTitle and setting`,
    );
  return { id: figureId, title: figureTitle, setting };
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
  if (name === "cocktail") return ["fig7-cocktail", "cocktail-languages", "cocktail-curves"];
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
