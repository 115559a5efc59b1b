/**
 * Build a profile's reports: judge the study's claims, render every page's figures (static SVG
 * inlined, spec embedded for vega-embed, data as CSV), assemble the self-contained pages, and write
 * them, with claims.json and each figure as SVG and CSV (and PNG where rsvg-convert is installed),
 * atomically under <out>/<profile>/.
 */
import * as path from "node:path";
import { writeFileAtomic } from "../util/fs";
import { PROJECT_ROOT } from "../experiments/definition";
import type { ReportInput } from "./inputs";
import { loadReportInput, type LoadReportOptions } from "./load";
import { judgeClaims, reportPages } from "./pages";
import { PAGES, type PageContent } from "./catalog";
import { embedBundles, inlineSvg, renderSvg, svgToPng } from "./render";
import { figureBlock, page, stableJson } from "./html";
import { claimsRecord } from "./claims";
import { figureCsv } from "./csv";

/** The judged claims beside the pages (see claims.ts for the fields). */
export const CLAIMS_JSON = "claims.json";

/** One file of a report, relative to the report folder. */
export interface ReportFile {
  path: string;
  content: string | Buffer;
}

/** The navigation bar of every page. */
const NAV = PAGES.map((p) => ({ href: p.file, title: p.title }));

/** Render one page: its figures to SVG, then the HTML; returns the page and its figures' SVGs. */
async function renderPage(
  content: PageContent,
  profile: string,
): Promise<{ html: string; svgs: { id: string; svg: string; csv: string }[] }> {
  const svgs: { id: string; svg: string; csv: string }[] = [];
  const body: string[] = [];
  for (const block of content.blocks) {
    if (typeof block === "string") {
      if (block !== "") body.push(block);
      continue;
    }
    const svg = await renderSvg(block.spec);
    svgs.push({ id: block.id, svg, csv: figureCsv(block.spec) });
    body.push(figureBlock(block, inlineSvg(svg, block.id)));
  }
  const html = page({
    title: `${content.title} · code-narrator · ${profile}`,
    nav: NAV,
    current: content.file,
    body: body.join("\n"),
    bundles: svgs.length ? embedBundles() : null,
  });
  return { html, svgs };
}

/**
 * Every file of a profile's report, in a fixed order: the pages, claims.json (the judged claims,
 * keys sorted, numbers rounded), then figures/<id>.svg, figures/<id>.csv (the rows behind it) and,
 * when `png` and rsvg-convert is installed, figures/<id>.png. Same input, same bytes.
 */
export async function renderReport(
  input: ReportInput,
  opts: { png?: boolean } = {},
): Promise<ReportFile[]> {
  const files: ReportFile[] = [];
  const figures: ReportFile[] = [];
  const claims = judgeClaims(input);
  for (const content of reportPages(input, claims)) {
    const { html, svgs } = await renderPage(content, input.profile);
    files.push({ path: content.file, content: html });
    for (const { id, svg, csv } of svgs) {
      figures.push({ path: `figures/${id}.svg`, content: svg });
      figures.push({ path: `figures/${id}.csv`, content: csv });
      const png = opts.png === false ? null : svgToPng(svg);
      if (png) figures.push({ path: `figures/${id}.png`, content: png });
    }
  }
  files.push({
    path: CLAIMS_JSON,
    content: `${stableJson(claimsRecord(input.profile, claims))}\n`,
  });
  return [...files, ...figures];
}

/** Write a report's files under `dir`, each atomically. */
export function writeReport(files: readonly ReportFile[], dir: string): void {
  for (const f of files) writeFileAtomic(path.join(dir, f.path), f.content);
}

/** Options of buildReports: where results are, where reports go, whether to write PNGs. */
export interface BuildReportsOptions extends LoadReportOptions {
  /** Reports folder (default the project's reports/); pages go to <out>/<profile>/. */
  out?: string;
  /** Also write figures/<id>.png through rsvg-convert where installed (default true). */
  png?: boolean;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** Load a profile's results, render its report and write it to <out>/<profile>/; returns the folder and files. */
export async function buildReports(
  opts: BuildReportsOptions = {},
): Promise<{ dir: string; files: string[] }> {
  const log = opts.log ?? (() => {});
  log("report: loading results");
  const input = await loadReportInput(opts);
  for (const [name, why] of Object.entries(input.unavailable ?? {}))
    log(`report: ${name} not loaded: ${why}`);
  log(`report: rendering ${PAGES.length} pages`);
  const files = await renderReport(input, { png: opts.png });
  const dir = path.join(opts.out ?? path.join(PROJECT_ROOT, "reports"), input.profile);
  writeReport(files, dir);
  log(`report: wrote ${files.length} files to ${dir}`);
  return { dir, files: files.map((f) => path.join(dir, f.path)) };
}
