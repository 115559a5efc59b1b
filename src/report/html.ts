/**
 * HTML building blocks of the reports: escaping, the page shell, tables, figure blocks (static SVG
 * with the interactive chart embedded over it), provenance and configuration. Every text that
 * comes from data passes through escapeHtml; the same inputs give the same bytes.
 */
import type { Figure } from "./figures/style";
import { csvDataUri, figureCsv } from "./csv";

/** Escape text for HTML element content and quoted attribute values (& < > " '). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}
const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** JSON with object keys sorted at every level, indented: the same value gives the same text. */
export function stableJson(value: unknown): string {
  return JSON.stringify(sortKeys(value), null, 2);
}
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object")
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  return value;
}

/**
 * JSON safe inside a <script> element: <, > and & become \u escapes (valid JSON, and no
 * "</script>" or "<!--" can end or confuse the element), as do the JS line separators.
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/**
 * A table cell: text (escaped); emphasised, right-aligned (numbers), muted, long (wraps), a link,
 * with an extra class, or an id (a link target).
 */
export type Cell =
  | string
  | {
      text: string;
      strong?: boolean;
      numeric?: boolean;
      muted?: boolean;
      long?: boolean;
      href?: string;
      className?: string;
      id?: string;
    };

/** An HTML table from a header and rows of cells; every cell's text is escaped. */
export function htmlTable(
  header: readonly Cell[],
  rows: readonly (readonly Cell[])[],
  caption?: string,
): string {
  const cell = (tag: "th" | "td", c: Cell) => {
    const { text, strong, numeric, muted, long, href, className, id }: Exclude<Cell, string> =
      typeof c === "string" ? { text: c } : c;
    const cls = [numeric ? "num" : "", muted ? "muted" : "", long ? "long" : "", className ?? ""]
      .filter(Boolean)
      .join(" ");
    const linked = href
      ? `<a href="${escapeHtml(href)}">${escapeHtml(text)}</a>`
      : escapeHtml(text);
    const body = strong ? `<strong>${linked}</strong>` : linked;
    const attrs = `${id ? ` id="${escapeHtml(id)}"` : ""}${cls ? ` class="${escapeHtml(cls)}"` : ""}`;
    return `<${tag}${attrs}>${body}</${tag}>`;
  };
  return [
    "<table>",
    caption ? `<caption>${escapeHtml(caption)}</caption>` : "",
    `<thead><tr>${header.map((c) => cell("th", c)).join("")}</tr></thead>`,
    `<tbody>${rows.map((r) => `<tr>${r.map((c) => cell("td", c)).join("")}</tr>`).join("\n")}</tbody>`,
    "</table>",
  ]
    .filter(Boolean)
    .join("\n");
}

/**
 * A figure block: the static SVG (shown without JavaScript, and until the chart is embedded), the
 * spec as JSON for vega-embed, the caption, and the rows behind the figure as a CSV download (a
 * data: URI, so the page stays one file). `svg` is already inlined (see render.inlineSvg).
 */
export function figureBlock(figure: Figure, svg: string): string {
  const id = escapeHtml(figure.id);
  return [
    `<figure class="chart" id="${id}">`,
    `<div class="chart-static">${svg}</div>`,
    `<div class="chart-live" hidden></div>`,
    `<script type="application/json" class="chart-spec">${scriptJson(figure.spec)}</script>`,
    `<figcaption>${escapeHtml(figure.caption)}</figcaption>`,
    `<p class="figure-data"><a class="csv" download="${id}.csv" href="${escapeHtml(csvDataUri(figureCsv(figure.spec)))}">Data behind this figure (CSV)</a></p>`,
    `</figure>`,
  ].join("\n");
}

/**
 * Embeds every figure's spec with vega-embed; on failure the static SVG stays. Of vega-embed's
 * actions only export (SVG or PNG made in the page) is offered: the others open the online editor.
 */
const EMBED_SCRIPT = `
document.querySelectorAll("figure.chart").forEach(function (fig) {
  var spec = JSON.parse(fig.querySelector("script.chart-spec").textContent);
  var live = fig.querySelector(".chart-live");
  var options = {
    actions: { export: true, source: false, compiled: false, editor: false },
    downloadFileName: fig.id,
    renderer: "svg",
    mode: "vega-lite"
  };
  vegaEmbed(live, spec, options).then(function () {
    fig.querySelector(".chart-static").hidden = true;
    live.hidden = false;
  }).catch(function (e) { console.error(fig.id + ": " + e); });
});`;

const CSS = `
:root { --fg: #1a1a1a; --muted: #666; --line: #d9d9d9; --accent: #0072B2; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 "DejaVu Sans", system-ui, sans-serif; color: var(--fg); background: #fff; }
nav { background: #f4f6f8; border-bottom: 1px solid var(--line); padding: 8px 24px; font-size: 14px; }
nav a { color: var(--accent); text-decoration: none; margin-right: 14px; white-space: nowrap; }
nav a[aria-current] { color: var(--fg); font-weight: bold; }
main { max-width: 1240px; padding: 8px 24px 48px; }
h1 { font-size: 26px; margin: 16px 0 4px; }
h2 { font-size: 19px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
p.lead { color: var(--muted); margin-top: 0; }
.note { background: #fff8e6; border-left: 4px solid #E69F00; padding: 8px 12px; margin: 12px 0; }
figure.chart { margin: 16px 0 24px; overflow-x: auto; }
figure.chart svg { max-width: none; }
figcaption { color: var(--muted); font-size: 13px; max-width: 1000px; }
p.figure-data { font-size: 13px; margin: 4px 0 0; }
p.figure-data a, td a { color: var(--accent); }
.verdict-agrees { color: #00734d; font-weight: bold; }
.verdict-disagrees { color: #b34700; font-weight: bold; }
.verdict-not-resolved { color: var(--muted); font-weight: bold; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13px; }
caption { text-align: left; font-weight: bold; padding: 4px 0; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: left; vertical-align: top; white-space: nowrap; }
td.long { white-space: normal; min-width: 260px; }
th { background: #f4f6f8; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.muted { color: var(--muted); }
pre { background: #f7f7f7; border: 1px solid var(--line); padding: 8px; overflow-x: auto; font-size: 12px; white-space: pre-wrap; word-break: break-word; }
details { margin: 8px 0; }
summary { cursor: pointer; font-weight: bold; }
.sample { border: 1px solid var(--line); border-radius: 4px; padding: 8px 12px; margin: 12px 0; }
.sample h3 { font-size: 14px; margin: 0 0 6px; }
dl.prov { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; font-size: 13px; }
dl.prov dt { color: var(--muted); }
dl.prov dd { margin: 0; font-family: "DejaVu Sans Mono", monospace; word-break: break-all; }
`;

/** A link in the navigation bar. */
export interface NavLink {
  href: string;
  title: string;
}

/**
 * A whole page: title, navigation (the current page marked), body; with `bundles` (the vega,
 * vega-lite and vega-embed scripts) inlined once when the page has figures.
 */
export function page(opts: {
  title: string;
  nav: readonly NavLink[];
  current: string;
  body: string;
  bundles: string | null;
}): string {
  const nav = opts.nav
    .map(
      (l) =>
        `<a href="${escapeHtml(l.href)}"${l.href === opts.current ? ' aria-current="page"' : ""}>${escapeHtml(l.title)}</a>`,
    )
    .join("\n");
  const scripts = opts.bundles
    ? `<script>\n${opts.bundles}\n</script>\n<script>${EMBED_SCRIPT}\n</script>\n`
    : "";
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(opts.title)}</title>
<style>${CSS}</style>
</head>
<body>
<nav>
${nav}
</nav>
<main>
${opts.body}
</main>
${scripts}</body>
</html>
`;
}

/** A definition list of label -> text (escaped), for provenance. */
export function definitionList(entries: readonly (readonly [string, string])[]): string {
  return `<dl class="prov">\n${entries
    .map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`)
    .join("\n")}\n</dl>`;
}

/** A collapsible block holding a value as sorted, escaped JSON. */
export function jsonDetails(summary: string, value: unknown): string {
  return `<details>\n<summary>${escapeHtml(summary)}</summary>\n<pre>${escapeHtml(stableJson(value))}</pre>\n</details>`;
}
