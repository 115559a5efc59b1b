/**
 * Check a built report folder: every page of PAGES exists and shows each of its figures (static
 * SVG, spec and a CSV download of its data), claims.json holds a verdict and a reason for every
 * claim and each has its row on the claims page, nothing loads from outside the file (no http(s) URL in any attribute or CSS url(),
 * no external script, stylesheet or frame), and, with a browser, each page renders in headless
 * Chromium with every chart embedded by vega-embed; a screenshot of each page is saved.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { PAGES } from "./catalog";
import { VERDICTS } from "./claims";
import { CLAIMS_JSON } from "./build";

/** Where Debian installs Chromium. */
export const CHROMIUM = "/usr/bin/chromium";

/** Flags that let headless Chromium run in a container: no sandbox, GPU, network, first-run or sync. */
const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  // Let scripts (vega-embed) finish before the DOM is dumped or the screenshot taken.
  "--virtual-time-budget=15000",
];

/** The markup of a page without the text inside <script> and <style> elements (their tags stay). */
function markupOnly(html: string): string {
  return html.replace(/(<(script|style)\b[^>]*>)[\s\S]*?(<\/\2\s*>)/gi, "$1$3");
}

/** The contents of every <style> element. */
function styleTexts(html: string): string[] {
  return [...html.matchAll(/<style\b[^>]*>([\s\S]*?)<\/style\s*>/gi)].map((m) => m[1]);
}

/** Attributes of every start tag: [tag name, attribute name, value]. */
function attributes(markup: string): [string, string, string][] {
  const out: [string, string, string][] = [];
  for (const tag of markup.matchAll(
    /<([a-zA-Z][\w:-]*)((?:\s+[^\s=>/]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>"']+))?)*)\s*\/?>/g,
  )) {
    for (const a of tag[2].matchAll(/([^\s=>/]+)(?:\s*=\s*("([^"]*)"|'([^']*)'|([^\s>"']+)))?/g))
      out.push([tag[1].toLowerCase(), a[1].toLowerCase(), a[3] ?? a[4] ?? a[5] ?? ""]);
  }
  return out;
}

const REMOTE = /^\s*(https?:)?\/\//i;
const URL_IN_CSS = /url\(\s*['"]?\s*(https?:)?\/\//i;

/**
 * Problems of one page's HTML (empty when fine): missing figures, external URLs in attributes or
 * CSS, and resources that load from another file. Text content and inline script code are not
 * URLs the page loads, so they are not searched (escaped data and vega's bundles hold URL strings).
 */
export function checkPageHtml(html: string, figureIds: readonly string[], name = "page"): string[] {
  const problems: string[] = [];
  const markup = markupOnly(html);
  for (const id of figureIds) {
    const m = new RegExp(`<figure class="chart" id="${id}">([\\s\\S]*?)</figure>`).exec(markup);
    if (!m) problems.push(`${name}: figure ${id} is missing`);
    else if (!/<svg[\s>]/.test(m[1]) || !m[1].includes('class="chart-spec"'))
      problems.push(`${name}: figure ${id} lacks its static SVG or its spec`);
  }
  for (const [tag, attr, value] of attributes(markup)) {
    if (/https?:\/\//i.test(value))
      problems.push(`${name}: <${tag} ${attr}="${value}"> holds an external URL`);
    else if (attr === "style" && URL_IN_CSS.test(value))
      problems.push(`${name}: <${tag} style> loads an external URL`);
    else if (
      (attr === "src" || (attr === "href" && tag !== "a")) &&
      !value.startsWith("data:") &&
      !value.startsWith("#")
    )
      problems.push(
        `${name}: <${tag} ${attr}="${value}"> loads another file; pages must be self-contained`,
      );
    else if (attr === "href" && tag === "a" && REMOTE.test(value))
      problems.push(`${name}: link to ${value}`);
  }
  for (const css of styleTexts(html))
    if (URL_IN_CSS.test(css) || /@import/i.test(css))
      problems.push(`${name}: a <style> loads an external URL`);
  return problems;
}

/** Problems of figures whose data is not downloadable as CSV from the page (a data: URI link). */
export function checkFigureCsv(
  html: string,
  figureIds: readonly string[],
  name = "page",
): string[] {
  const markup = markupOnly(html);
  return figureIds.flatMap((id) => {
    const m = new RegExp(`<figure class="chart" id="${id}">([\\s\\S]*?)</figure>`).exec(markup);
    return m && !/<a [^>]*download="[^"]+\.csv" href="data:text\/csv[;,]/.test(m[1])
      ? [`${name}: figure ${id} has no CSV download of its data`]
      : [];
  });
}

/**
 * Problems of claims.json beside the claims page: it parses, every claim has an id, a known
 * verdict and a reason, and every claim has its row on the page.
 */
export function checkClaimsJson(json: string, claimsHtml: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (e) {
    return [`${CLAIMS_JSON}: not JSON (${(e as Error).message})`];
  }
  const claims = (parsed as { claims?: unknown }).claims;
  if (!Array.isArray(claims)) return [`${CLAIMS_JSON}: no "claims" list`];
  return claims.flatMap((c: Record<string, unknown>, i) => {
    const name = `${CLAIMS_JSON}: claim ${i} (${String(c.experiment)}: ${String(c.id)})`;
    const problems: string[] = [];
    if (typeof c.id !== "string" || typeof c.experiment !== "string")
      problems.push(`${name}: no id`);
    if (!(VERDICTS as readonly unknown[]).includes(c.verdict))
      problems.push(
        `${name}: verdict ${JSON.stringify(c.verdict)} is not one of ${VERDICTS.join(", ")}`,
      );
    if (typeof c.reason !== "string" || c.reason === "") problems.push(`${name}: no reason`);
    if (!claimsHtml.includes(` id="claim-${String(c.experiment)}-${String(c.id)}"`))
      problems.push(`${name}: not on claims.html`);
    return problems;
  });
}

/** The outcome of checking a report folder. */
export interface CheckResult {
  problems: string[];
  /** Screenshots written (absolute paths). */
  screenshots: string[];
}

/** Run Chromium on a page with extra flags; returns stdout (the DOM for --dump-dom). */
function chromium(
  file: string,
  flags: readonly string[],
  profileDir: string,
): { ok: boolean; stdout: string; stderr: string } {
  const r = spawnSync(
    CHROMIUM,
    [...CHROMIUM_FLAGS, `--user-data-dir=${profileDir}`, ...flags, `file://${path.resolve(file)}`],
    {
      encoding: "utf8",
      timeout: 120_000,
      maxBuffer: 256 * 1024 * 1024,
    },
  );
  return { ok: r.status === 0, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

/** Problems of a page as Chromium rendered it: every figure's chart embedded, no script errors. */
export function checkRenderedDom(
  dom: string,
  figureIds: readonly string[],
  name = "page",
): string[] {
  const problems: string[] = [];
  for (const id of figureIds) {
    const m = new RegExp(`<figure class="chart" id="${id}">([\\s\\S]*?)</figure>`).exec(dom);
    if (!m) problems.push(`${name}: figure ${id} is missing in the rendered page`);
    else if (
      !/<div class="chart-static" hidden[^>]*>/.test(m[1]) ||
      !/class="chart-live[^"]*"[^>]*>[\s\S]*<svg/.test(m[1])
    )
      problems.push(
        `${name}: figure ${id} was not embedded by vega-embed (the static SVG is shown)`,
      );
  }
  return problems;
}

/**
 * Check every page of a report folder; with `browser`, also render each in headless Chromium and
 * save a screenshot (1280 x 2400) to <dir>/screenshots/<page>.png.
 */
export function checkReports(dir: string, opts: { browser?: boolean } = {}): CheckResult {
  const problems: string[] = [];
  const screenshots: string[] = [];
  if (opts.browser && !fs.existsSync(CHROMIUM))
    problems.push(`${CHROMIUM} is not installed: pages were not rendered`);
  const browser = opts.browser === true && fs.existsSync(CHROMIUM);
  const profileDir = browser ? fs.mkdtempSync(path.join(os.tmpdir(), "narrator-chromium-")) : "";
  try {
    for (const p of PAGES) {
      const file = path.join(dir, p.file);
      if (!fs.existsSync(file)) {
        problems.push(`${p.file}: missing`);
        continue;
      }
      const html = fs.readFileSync(file, "utf8");
      problems.push(...checkPageHtml(html, p.figures, p.file));
      problems.push(...checkFigureCsv(html, p.figures, p.file));
      if (p.file === "claims.html") {
        const json = path.join(dir, CLAIMS_JSON);
        if (!fs.existsSync(json)) problems.push(`${CLAIMS_JSON}: missing`);
        else problems.push(...checkClaimsJson(fs.readFileSync(json, "utf8"), html));
      }
      if (!browser) continue;
      const dom = chromium(file, ["--dump-dom"], profileDir);
      if (!dom.ok)
        problems.push(
          `${p.file}: Chromium failed to render it: ${dom.stderr.trim().split("\n").pop()}`,
        );
      else problems.push(...checkRenderedDom(dom.stdout, p.figures, p.file));
      const shot = path.resolve(dir, "screenshots", p.file.replace(/\.html$/, ".png"));
      fs.mkdirSync(path.dirname(shot), { recursive: true });
      fs.rmSync(shot, { force: true });
      const r = chromium(
        file,
        [`--screenshot=${shot}`, "--window-size=1280,2400", "--hide-scrollbars"],
        profileDir,
      );
      if (!r.ok || !fs.existsSync(shot))
        problems.push(`${p.file}: no screenshot (${r.stderr.trim().split("\n").pop()})`);
      else screenshots.push(shot);
    }
  } finally {
    if (profileDir) fs.rmSync(profileDir, { recursive: true, force: true });
  }
  return { problems, screenshots };
}
