/**
 * What a report holds: the pages, the figures each must show (also what the checker expects), and
 * how each experiment is titled and its sweep shown.
 */
import { EXPERIMENTS, type ExperimentName, type SweepName } from "./inputs";
import type { SweepView } from "./figures/sweep";
import type { Figure } from "./figures/style";

/** A page's content: its file name, title, and blocks (HTML strings, or figures to render). */
export interface PageContent {
  file: string;
  title: string;
  blocks: (string | Figure)[];
}

/** How each sweep is shown: figure id prefix, title and the swept setting's name. */
export const SWEEP_VIEWS: Readonly<Record<SweepName, Omit<SweepView, "order">>> = {
  optimizers: { id: "fig2-optimizers", title: "Figure 2 · Optimizers", setting: "optimizer" },
  schedulers: {
    id: "fig3-schedulers",
    title: "Figure 3 · Learning-rate schedulers",
    setting: "scheduler",
  },
  epochs: { id: "fig4-epochs", title: "Figure 4 · Epochs", setting: "epochs" },
  "batch-size": { id: "fig5-batch-size", title: "Figure 5 · Batch size", setting: "batch size" },
  "learning-rate": {
    id: "fig6-learning-rate",
    title: "Figure 6 · Learning rate",
    setting: "learning rate",
  },
  "cocktail-ratios": {
    id: "cocktail-ratios",
    title: "Cocktail ratios",
    setting: "CodeSearchNet share",
  },
  "diff-vs-files": {
    id: "diff-vs-files",
    title: "Commit input · diff vs files",
    setting: "commit input",
  },
};

/** Page titles by experiment. */
export const TITLES: Readonly<Record<ExperimentName, string>> = {
  baselines: "Baselines (Figure 1)",
  optimizers: "Optimizers (Figure 2)",
  schedulers: "Schedulers (Figure 3)",
  epochs: "Epochs (Figure 4)",
  "batch-size": "Batch size (Figure 5)",
  "learning-rate": "Learning rate (Figure 6)",
  cocktail: "Cocktail (Figure 7, Table 1)",
  "cocktail-ratios": "Cocktail ratios",
  "diff-vs-files": "Commit input: diff vs files",
  "cross-language": "Cross-language transfer",
};

/** Every page: file, title and the ids of the figures it must show (what the checker expects). */
export const PAGES: readonly { file: string; title: string; figures: readonly string[] }[] = [
  { file: "index.html", title: "Overview", figures: ["overview"] },
  { file: "claims.html", title: "Claims", figures: ["claims-effects"] },
  { file: "data.html", title: "Data", figures: ["data-funnel"] },
  ...EXPERIMENTS.map((name) => ({
    file: `${name}.html`,
    title: TITLES[name],
    figures: experimentFigureIds(name),
  })),
];

function experimentFigureIds(name: ExperimentName): string[] {
  if (name === "baselines") return ["fig1-baselines"];
  if (name === "cocktail") return ["fig7-cocktail", "cocktail-languages", "cocktail-curves"];
  if (name === "cross-language") return ["cross-language-heatmap"];
  const id = SWEEP_VIEWS[name].id;
  if (name === "cocktail-ratios")
    return ["cocktail-ratio-curve", `${id}-languages`, `${id}-curves`];
  return [id, `${id}-languages`, `${id}-curves`];
}

/** The page and main figure a claim of an experiment links to. */
export function claimFigure(name: ExperimentName): string {
  return `${name}.html#${experimentFigureIds(name)[0]}`;
}
