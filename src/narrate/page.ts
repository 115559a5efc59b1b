/**
 * The digest page of a range for a manager: the range's factual digest, its activity as a
 * Vega-Lite chart (commits per day; lines added and removed per day), and per commit the
 * narration, author, date, size of the change and files touched. One self-contained HTML file
 * built with the reports' blocks (src/report): every text from data is escaped there, the chart
 * is a static SVG with the spec embedded over it by the inlined vega bundles, nothing is loaded
 * from elsewhere. The same range and narrations give the same bytes (no clock is read).
 */
import * as path from "node:path";
import type { TopLevelSpec } from "vega-lite";
import { definitionList, escapeHtml, figureBlock, page } from "../report/html";
import { embedBundles, inlineSvg, renderSvg } from "../report/render";
import { PALETTE, THEME, type Figure } from "../report/figures/style";
import { SOURCE_LANG_NAMES as LANG_NAMES } from "../source/languages";
import { activityByDay, int, plural, type CommitFacts } from "./digest";
import type { CommitExplanation, RangeExplanation } from "./explain";
import { changeSize, provenanceLine } from "./format";
import type { Provenance } from "./narrator";

/** What the page says about where its content came from. */
export interface DigestSource extends Provenance {
  repo: string;
  range: string;
  /** Where the prompt settings came from (the adapter's result.json or the training defaults). */
  settings: string;
}

/** The activity chart of a range: commits per day above lines added/removed per day. */
export function activityFigure(commits: readonly CommitFacts[]): Figure {
  const days = activityByDay(commits);
  const lines = days.flatMap((d) => [
    { day: d.day, kind: "added", lines: d.insertions },
    { day: d.day, kind: "removed", lines: -d.deletions },
  ]);
  // One band per calendar day; a short range gets bands of a fixed width, a long one fills 640px.
  const width = days.length <= 24 ? { step: 28 } : 640;
  const x = {
    field: "day",
    type: "ordinal",
    title: "day (author's time zone)",
    axis: { labelAngle: -40, labelOverlap: true },
  } as const;
  const spec: TopLevelSpec = {
    config: THEME,
    title: {
      text: "Activity over the range",
      subtitle: `${plural(commits.length, "commit")} over ${plural(days.length, "day")}`,
    },
    vconcat: [
      {
        width,
        height: 120,
        data: { values: days },
        mark: { type: "bar", color: PALETTE[0] },
        encoding: {
          x: { ...x, title: null },
          y: { field: "commits", type: "quantitative", title: "commits", axis: { tickMinStep: 1 } },
          tooltip: [
            { field: "day", type: "nominal" },
            { field: "commits", type: "quantitative" },
          ],
        },
      },
      {
        width,
        height: 160,
        data: { values: lines },
        mark: { type: "bar" },
        encoding: {
          x,
          y: { field: "lines", type: "quantitative", title: "lines changed (removed below 0)" },
          color: {
            field: "kind",
            type: "nominal",
            title: "lines",
            scale: { domain: ["added", "removed"], range: [PALETTE[2], PALETTE[5]] },
          },
          tooltip: [
            { field: "day", type: "nominal" },
            { field: "kind", type: "nominal" },
            { field: "lines", type: "quantitative" },
          ],
        },
      },
    ],
  };
  return {
    id: "activity",
    caption:
      "Commits per day (top) and lines added and removed per day (bottom), as git counts them; days are the authors' calendar days.",
    spec,
  };
}

function commitSection(c: CommitExplanation): string {
  const notes = c.notes.map((n) => `<p class="note">${escapeHtml(n)}</p>`);
  const narration =
    c.explanation === ""
      ? `<p><em>(no text)</em></p>`
      : c.explanation
          .split(/\n{2,}/)
          .map((p) => `<p>${escapeHtml(p).replace(/\n/g, "<br>")}</p>`)
          .join("\n");
  const byFile = c.fileNarrations.length
    ? `<ul>\n${c.fileNarrations
        .map(
          (f) =>
            `<li><code>${escapeHtml(f.path)}</code>: ${escapeHtml(f.explanation === "" ? "(no text)" : f.explanation)}${f.notes.map((n) => ` <span class="note">(${escapeHtml(n)})</span>`).join("")}</li>`,
        )
        .join("\n")}\n</ul>`
    : "";
  const files = c.files
    .map((f) => {
      const size =
        f.insertions === null ? "binary" : `+${int(f.insertions)}/-${int(f.deletions ?? 0)}`;
      return `<li><code>${escapeHtml(f.path)}</code> ${escapeHtml(size)}</li>`;
    })
    .join("\n");
  return [
    `<section class="sample" id="commit-${escapeHtml(c.sha)}">`,
    `<h3><code>${escapeHtml(c.sha.slice(0, 7))}</code> ${escapeHtml(c.subject)}</h3>`,
    `<p class="lead">${escapeHtml(c.author)} · ${escapeHtml(c.date)} · ${escapeHtml(changeSize(c))} · ${escapeHtml(LANG_NAMES[c.language])}</p>`,
    ...notes,
    narration,
    ...(byFile ? [byFile] : []),
    `<details>\n<summary>${escapeHtml(`${plural(c.files.length, "file")} touched`)}</summary>\n<ul>\n${files}\n</ul>\n</details>`,
    `</section>`,
  ].join("\n");
}

/** The whole digest page (see the module comment). */
export async function digestPage(result: RangeExplanation, source: DigestSource): Promise<string> {
  const figure = activityFigure(result.commits);
  const svg = inlineSvg(await renderSvg(figure.spec), figure.id);
  const name = path.basename(path.resolve(source.repo));
  const title = `What changed in ${name}: ${source.range}`;
  const body = [
    `<h1>${escapeHtml(title)}</h1>`,
    `<p class="lead">${escapeHtml(`Repository ${source.repo}, commits ${source.range}`)}</p>`,
    `<h2>In short</h2>`,
    `<p>${escapeHtml(result.digest)}</p>`,
    figureBlock(figure, svg),
    `<h2>Commit by commit</h2>`,
    `<p class="note">${escapeHtml(provenanceLine(source))}</p>`,
    ...result.commits.map(commitSection),
    `<h2>How this page was made</h2>`,
    definitionList([
      ["repository", source.repo],
      ["range", source.range],
      ["model", source.model],
      ["adapter", source.adapter ?? "none"],
      ["prompt format", source.prompt],
      ["decoding", source.decoding],
      ["prompt settings from", source.settings],
      ["digest", "counted from git's commit data (not generated)"],
    ]),
  ].join("\n");
  return page({ title, nav: [], current: "", body, bundles: embedBundles() });
}
