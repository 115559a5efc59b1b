/**
 * Showing figures and tables in a tslab notebook. A figure goes out as one mime bundle of three
 * representations: the Vega-Lite spec with a legend selection (interactive.ts), drawn by vega-embed
 * in the browser (JupyterLab natively, the classic Notebook through the narrator-vega extension in
 * notebooks/jupyter/nbextensions), HTML holding the static SVG (nbconvert 6.5's HTML export drops
 * vega-lite-only outputs and empties inline image/svg+xml, but keeps SVG inside HTML), and plain
 * text (terminals, diffs). tslab's public display API sends one mime type per output, so the bundle
 * goes through the kernel's own display channel.
 */
import { createHash } from "node:crypto";
import type { TopLevelSpec } from "vega-lite";
import { renderTable } from "../util/text_table";
import { escapeHtml, htmlTable, type Cell } from "../report/html";
import { inlineSvg, renderSvg } from "../report/render";
import { interactiveSpec } from "./interactive";

export const VEGA_LITE_MIME = "application/vnd.vegalite.v5+json";

/** What a figure is to the notebook: a Vega-Lite spec, with an id and caption where it has them (src/report/figures' Figure fits). */
export interface NotebookFigure {
  spec: TopLevelSpec;
  id?: string;
  caption?: string;
}

/** One display output: representations of the same thing by mime type. */
export type MimeBundle = Record<string, unknown> & { "text/html": string; "text/plain": string };

function titleOf(spec: TopLevelSpec): string {
  const title = (spec as { title?: string | { text?: string | string[] } }).title;
  const text = typeof title === "object" ? title.text : title;
  return (Array.isArray(text) ? text.join(" ") : text) ?? "Vega-Lite figure";
}

/**
 * The three-representation bundle of a figure whose SVG is already rendered. SVG ids get a prefix
 * from the figure's id (or the spec's hash) so that figures on one page never share clip paths.
 */
export function figureBundle(figure: NotebookFigure, svg: string): MimeBundle {
  const prefix =
    figure.id ??
    `fig-${createHash("sha256").update(JSON.stringify(figure.spec)).digest("hex").slice(0, 12)}`;
  const caption = figure.caption ? `<figcaption>${escapeHtml(figure.caption)}</figcaption>` : "";
  const title = titleOf(figure.spec);
  return {
    [VEGA_LITE_MIME]: interactiveSpec(figure.spec),
    "text/html": `<figure class="narrator-figure">${inlineSvg(svg, prefix)}${caption}</figure>`,
    "text/plain": figure.caption ? `${title}: ${figure.caption}` : title,
  };
}

/** Render a figure's SVG (src/report/render) and bundle it. */
export async function renderFigureBundle(
  figure: NotebookFigure | TopLevelSpec,
): Promise<MimeBundle> {
  const fig: NotebookFigure = "spec" in figure ? (figure as NotebookFigure) : { spec: figure };
  return figureBundle(fig, await renderSvg(fig.spec));
}

/** A cell's value as table text: numbers rounded to `digits` decimals, missing values empty. */
function cellText(value: unknown, digits: number): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number")
    return Number.isInteger(value) ? String(value) : value.toFixed(digits).replace(/\.?0+$/, "");
  return String(value);
}

/** Options of tableBundle and showTable. */
export interface TableOptions {
  columns?: readonly string[];
  digits?: number;
  caption?: string;
}

/**
 * A table of row objects as HTML and aligned plain text; columns default to the first row's keys.
 * Any object rows (interfaces such as StatsRow too, which a Record type would refuse).
 */
export function tableBundle(rows: readonly object[], options: TableOptions = {}): MimeBundle {
  const records = rows as readonly Record<string, unknown>[];
  const columns = options.columns ?? Object.keys(records[0] ?? {});
  const digits = options.digits ?? 3;
  const numeric = columns.map((c) => records.some((r) => typeof r[c] === "number"));
  const texts = records.map((r) => columns.map((c) => cellText(r[c], digits)));
  const cells: Cell[][] = texts.map((r) => r.map((text, k) => ({ text, numeric: numeric[k] })));
  const header: Cell[] = columns.map((text, k) => ({ text, numeric: numeric[k] }));
  return {
    "text/html": htmlTable(header, cells, options.caption),
    "text/plain": (options.caption ? `${options.caption}\n` : "") + renderTable(columns, texts),
  };
}

type WriteDisplayData = (
  data: { data: Record<string, unknown>; metadata: object; transient: object },
  update: boolean,
) => void;

/** Send a bundle to the running tslab kernel (the channel tslab's own display API writes to). */
export function display(bundle: MimeBundle): void {
  // Required lazily: outside a kernel (tests, scripts) nothing of tslab is loaded.
  const jupyter = require("tslab/dist/jupyter") as {
    lastWriteDisplayData: WriteDisplayData | null;
  };
  if (!jupyter.lastWriteDisplayData)
    throw new Error("display: no tslab kernel is executing a cell in this process");
  jupyter.lastWriteDisplayData({ data: bundle, metadata: {}, transient: {} }, false);
}

/** Show a figure (src/report/figures' Figure, or a bare Vega-Lite spec) in the notebook. */
export async function showFigure(figure: NotebookFigure | TopLevelSpec): Promise<void> {
  display(await renderFigureBundle(figure));
}

/** Show rows as a table in the notebook. */
export function showTable(rows: readonly object[], options?: TableOptions): void {
  display(tableBundle(rows, options));
}
