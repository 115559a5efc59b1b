/**
 * The notebooks as a researcher uses them: the classic Jupyter Notebook server that
 * `npm run notebook-server` starts, each notebook opened in Chromium and run through the menus
 * (Cell > Run All), in the smoke profile with an empty run store, so that the experiment
 * notebooks run their sweeps first. For data, cocktail and optimizers: every cell runs, no cell
 * shows an error or stderr, and every showFigure call of the notebook is drawn by vega-embed
 * (SVG in its output, not the static fallback); a tooltip and the legend selection respond;
 * editing a setting in the data notebook and running again changes its figure; a cell with a
 * type error shows the error and does not run. The other notebooks are opened and their first
 * cell (the typed import of the library) is run; NARRATOR_BROWSER_ALL=1 runs them all in full
 * (several more minutes: each runs its sweep), and `npm test` runs them all headless anyway.
 * Screenshots go to reports/smoke/notebooks/<name>.png.
 *
 * Skipped, with the reason, without the data, Chromium or jupyter-notebook, or with
 * NARRATOR_E2E=0. Notebooks are run from copies in a temporary folder (beside links to src/ and
 * node_modules/), so the Notebook's autosave never writes into notebooks/. The server, its
 * kernels and the browser are stopped however the test ends.
 */
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { resolveDataDir } from "../../src/data/sources";
import { CHROMIUM } from "../../src/report/check";
import { listNotebooks, NOTEBOOKS_DIR } from "../../src/notebooks/runner";
import {
  freePort,
  hasNotebookServer,
  startNotebookServer,
  type NotebookServer,
} from "../../src/notebooks/server";
import { PROJECT_ROOT } from "../../src/util/root";

/** The DOM as the page functions below use it (they run in Chromium; the project has no DOM types). */
interface PageElement {
  textContent: string | null;
  outerHTML: string;
  getAttribute(name: string): string | null;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): PageElements;
}
type PageElements = Iterable<PageElement> & { length: number; [index: number]: PageElement };
declare const document: Pick<PageElement, "querySelector" | "querySelectorAll">;

const PROFILE = "smoke";
/** Run in full (the others are opened and their import cell run, unless NARRATOR_BROWSER_ALL=1). */
const FULL = ["data", "cocktail", "optimizers"];
const RUN_ALL_TIMEOUT_MS = 8 * 60_000;
const SCREENSHOTS = path.join(PROJECT_ROOT, "reports", PROFILE, "notebooks");

const data = resolveDataDir();
const skip =
  process.env.NARRATOR_E2E === "0"
    ? "NARRATOR_E2E=0"
    : !fs.existsSync(path.join(data, "codesearchnet"))
      ? `no data in ${data}: the notebooks need the real data`
      : !fs.existsSync(CHROMIUM)
        ? `${CHROMIUM} not installed (apt-get install chromium)`
        : !hasNotebookServer()
          ? "jupyter notebook not installed (apt-get install jupyter-notebook)"
          : false;

/** The code cells' sources of a notebook file. */
function codeCells(file: string): string[] {
  const nb = JSON.parse(fs.readFileSync(file, "utf8")) as {
    cells: { cell_type: string; source: string | string[] }[];
  };
  return nb.cells
    .filter((c) => c.cell_type === "code")
    .map((c) => (Array.isArray(c.source) ? c.source.join("") : c.source));
}

/** How many figures a notebook draws: its showFigure calls. */
function expectedFigures(file: string): number {
  return codeCells(file).reduce((n, s) => n + (s.match(/\bshowFigure\(/g)?.length ?? 0), 0);
}

/** What the page shows of each code cell. */
interface CellView {
  prompt: string;
  problems: string[];
  figures: number;
}

function cellViews(page: Page): Promise<CellView[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll(".cell.code_cell")].map((cell) => ({
      prompt: cell.querySelector(".input_prompt")?.textContent?.trim() ?? "",
      problems: [
        ...cell.querySelectorAll(".output_error, .output_stderr, .narrator-vega-error"),
      ].map((e) => (e.textContent ?? "").trim().slice(0, 2000)),
      figures: cell.querySelectorAll(
        ".narrator-vega .vega-embed svg.marks, .narrator-vega .vega-embed canvas.marks",
      ).length,
    })),
  );
}

/** Wait until no cell is queued or running (In [*]) and the kernel indicator shows idle. */
async function waitUntilDone(page: Page, timeout: number): Promise<void> {
  await page.waitForFunction(
    () =>
      [...document.querySelectorAll(".code_cell .input_prompt")].every(
        (p) => !(p.textContent ?? "").includes("*"),
      ) && document.querySelector("#kernel_indicator_icon.kernel_idle_icon") !== null,
    null,
    { timeout, polling: 500 },
  );
}

/** Open a notebook and wait for its kernel to be ready. */
async function openNotebook(
  context: BrowserContext,
  server: NotebookServer,
  name: string,
): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${server.baseUrl}notebooks/${name}.ipynb?token=${server.token}`);
  await page.waitForSelector("#kernel_indicator_icon.kernel_idle_icon", { timeout: 120_000 });
  return page;
}

/** Cell > Run All, then wait until every cell is done and `figures` figures are drawn. */
async function runAll(page: Page, figures: number): Promise<CellView[]> {
  await page.click("#celllink");
  await page.click("#run_all_cells > a");
  await waitUntilDone(page, RUN_ALL_TIMEOUT_MS);
  // vega-embed draws after the output arrives: give it a moment, but not for a figure that failed.
  await page
    .waitForFunction(
      (n) =>
        document.querySelectorAll(".narrator-vega .vega-embed svg.marks, .narrator-vega-error")
          .length >= n,
      figures,
      { timeout: 30_000, polling: 250 },
    )
    .catch(() => undefined);
  return cellViews(page);
}

/** The checks of a fully run notebook: every cell ran, nothing failed, every figure drawn. */
function assertRan(name: string, cells: CellView[], figures: number, log: () => string): void {
  const problems = cells.flatMap((c, k) => c.problems.map((p) => `cell ${k + 1}: ${p}`));
  assert.equal(problems.length, 0, `${name}: errors in the outputs:\n${problems.join("\n")}`);
  const notRun = cells.flatMap((c, k) => (/\[\d+\]/.test(c.prompt) ? [] : [k + 1]));
  assert.deepEqual(notRun, [], `${name}: code cells that did not run\nserver log:\n${log()}`);
  const drawn = cells.map((c) => c.figures);
  assert.equal(
    drawn.reduce((a, b) => a + b, 0),
    figures,
    `${name}: ${figures} showFigure call(s), figures drawn by vega-embed per code cell: ${drawn.join(" ")}`,
  );
}

/** A screenshot of the whole notebook (the Notebook scrolls inside a box: let the page grow). */
async function screenshot(page: Page, name: string): Promise<string> {
  await page.addStyleTag({
    content:
      "html, body, #site { position: static !important; height: auto !important; overflow: visible !important; }",
  });
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Close a notebook's page and shut its kernel down. */
async function closeNotebook(page: Page, server: NotebookServer): Promise<void> {
  await page.close();
  const sessions = (await (await server.api("GET", "api/sessions")).json()) as { id: string }[];
  await Promise.all(sessions.map((s) => server.api("DELETE", `api/sessions/${s.id}`)));
}

/** The SVG of each figure on the page, in order. */
function figureSvgs(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll(".narrator-vega .vega-embed svg.marks")].map((s) => s.outerHTML),
  );
}

/** Data notebook: edit the subset size in the settings cell through the editor, run again. */
async function editSettingsAndRerun(t: TestContext, page: Page, figures: number): Promise<void> {
  const before = await figureSvgs(page);
  // Double-click the number in the editor (CodeMirror) selects it; typing replaces it.
  const settings = page.locator(".cell.code_cell", { hasText: "perLanguage" });
  await settings.locator(".CodeMirror .cm-number", { hasText: /^2100$/ }).dblclick();
  await page.keyboard.type("40");
  const text = await settings.evaluate((cell) =>
    (
      cell.querySelector(".CodeMirror") as unknown as { CodeMirror: { getValue(): string } }
    ).CodeMirror.getValue(),
  );
  assert.match(text, /perLanguage: \[40, 300, 600\]/);
  const cells = await runAll(page, figures);
  assertRan("data (edited)", cells, figures, () => "");
  const after = await figureSvgs(page);
  assert.equal(after.length, before.length);
  // The funnel's last stage (the subset) shrinks: the first figure is drawn anew.
  assert.notEqual(after[0], before[0], "the funnel figure did not change");
  t.diagnostic("the funnel figure changed after perLanguage 2100 -> 40");
}

/** A new cell at the end with a type error: the error is shown and nothing of it runs. */
async function typeErrorCell(page: Page): Promise<void> {
  const cells = page.locator(".cell.code_cell");
  const index = await cells.count(); // where the new cell will be
  await cells.last().locator(".input_prompt").click(); // selects the cell, in command mode
  await page.keyboard.press("Escape");
  await page.keyboard.press("b"); // insert a cell below
  await page.keyboard.press("Enter"); // edit it
  await page.keyboard.type('const count: number = "three";\nconsole.log("this ran", count);');
  const added = cells.nth(index);
  await page.keyboard.press("Shift+Enter"); // run it (the Notebook adds an empty cell after it)
  await added.locator(".input_prompt", { hasText: /\[\d+\]/ }).waitFor({ timeout: 60_000 });
  const error = await added.locator(".output_error").innerText();
  assert.match(error, /1:7 - Type 'string' is not assignable to type 'number'/);
  assert.doesNotMatch(
    await added
      .locator(".output_area")
      .allInnerTexts()
      .then((t) => t.join("\n")),
    /this ran/,
  );
}

/** Optimizers: a point's tooltip, and a click on a legend entry fading the other settings. */
async function interactions(page: Page): Promise<void> {
  const first = page.locator(".narrator-vega .vega-embed").first();
  await first.locator(".mark-symbol path").first().hover();
  await page.waitForSelector("#vg-tooltip-element.visible", { timeout: 10_000 });
  assert.match(await page.locator("#vg-tooltip-element").innerText(), /optimizer/);
  const curves = page.locator(".narrator-vega .vega-embed", { hasText: "training curves" });
  const opacities = () =>
    curves.evaluate((el) =>
      [...el.querySelectorAll(".mark-line path")].map((p) => p.getAttribute("opacity")),
    );
  assert.ok((await opacities()).every((o) => o === "1"));
  await curves.locator(".role-legend-label text").first().click();
  await page.waitForFunction(
    () => document.querySelector(".narrator-vega .mark-line path[opacity='0.15']") !== null,
    null,
    { timeout: 10_000 },
  );
  const after = await opacities();
  assert.ok(after.includes("1") && after.includes("0.15"), after.join(","));
}

test(
  "notebooks in Chromium through the Notebook server: run, figures drawn, edited, type error shown",
  { skip, timeout: 20 * 60_000 },
  async (t) => {
    const started = Date.now();
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-browser-"));
    const notebooks = path.join(work, "notebooks");
    fs.mkdirSync(notebooks);
    for (const file of listNotebooks())
      fs.copyFileSync(file, path.join(notebooks, path.basename(file)));
    // "../src" from the copies is the library itself (Node and TypeScript follow the links).
    fs.symlinkSync(path.join(PROJECT_ROOT, "src"), path.join(work, "src"));
    fs.symlinkSync(path.join(PROJECT_ROOT, "node_modules"), path.join(work, "node_modules"));
    const log: string[] = [];
    const logTail = () => log.slice(-15).join("\n");
    let server: NotebookServer | undefined;
    let context: BrowserContext | undefined;
    const profileDir = path.join(work, "chromium-profile");
    try {
      server = await startNotebookServer({
        port: await freePort(),
        profile: PROFILE,
        notebookDir: notebooks,
        env: { ...process.env, NARRATOR_RUNS: path.join(work, "runs") },
        log: (line) => log.push(line),
      });
      context = await chromium.launchPersistentContext(profileDir, {
        executablePath: CHROMIUM,
        headless: true,
        viewport: { width: 1280, height: 900 },
        args: [
          "--no-sandbox",
          "--disable-gpu",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--no-first-run",
        ],
      });
      const srv = server;
      const ctx = context;
      const all = process.env.NARRATOR_BROWSER_ALL === "1";
      for (const file of listNotebooks(NOTEBOOKS_DIR)) {
        const name = path.basename(file, ".ipynb");
        const figures = expectedFigures(file);
        if (all || FULL.includes(name)) {
          await t.test(`${name}: Run All, no errors, ${figures} figure(s) drawn`, async (st) => {
            const t0 = Date.now();
            const page = await openNotebook(ctx, srv, name);
            try {
              assertRan(name, await runAll(page, figures), figures, logTail);
              if (name === "optimizers") await interactions(page);
              st.diagnostic(
                `screenshot ${path.relative(PROJECT_ROOT, await screenshot(page, name))}`,
              );
              if (name === "data") {
                await editSettingsAndRerun(st, page, figures);
                await typeErrorCell(page);
              }
              st.diagnostic(`${name}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
            } finally {
              await closeNotebook(page, srv);
            }
          });
        } else {
          await t.test(
            `${name}: opens, its kernel starts, the typed import cell runs`,
            async () => {
              const page = await openNotebook(ctx, srv, name);
              try {
                await page.locator(".cell.code_cell .CodeMirror").first().click();
                await page.keyboard.press("Shift+Enter");
                await waitUntilDone(page, 120_000);
                const [first] = await cellViews(page);
                assert.match(first.prompt, /\[1\]/, `${name}: the import cell did not run`);
                assert.deepEqual(first.problems, [], `${name}: the import cell failed`);
              } finally {
                await closeNotebook(page, srv);
              }
            },
          );
        }
      }
      t.diagnostic(`browser test: ${((Date.now() - started) / 1000).toFixed(0)} s`);
    } finally {
      await context?.close().catch(() => undefined);
      await server?.stop();
      fs.rmSync(work, { recursive: true, force: true });
    }
  },
);
