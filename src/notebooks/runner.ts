/**
 * Executes notebooks headless with `jupyter nbconvert --execute --to html` on the tslab kernel kept
 * in the repository (notebooks/jupyter/kernels/tslab), one process per notebook, with progress per
 * code cell and, when a cell fails, the cell's own error text: nbconvert_hooks.py copies the
 * failing cell's stderr and error outputs to a marked line on nbconvert's stderr (nbconvert itself
 * prints only the error's name and value, and plain tslab sent neither).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as readline from "node:readline";
import { DEFAULT_PROFILE } from "../experiments/profile";
import { PROJECT_ROOT } from "../util/root";

/** The repository root (this file is src/notebooks/runner.ts). */
/** Where the notebooks live, and the folder JUPYTER_PATH points at (it holds kernels/tslab). */
export const NOTEBOOKS_DIR = path.join(PROJECT_ROOT, "notebooks");
export const JUPYTER_DIR = path.join(NOTEBOOKS_DIR, "jupyter");
const HOOKS = path.join(__dirname, "nbconvert_hooks.py");
/** Prefix of the lines nbconvert_hooks.py writes (keep in step with its MARKER). */
const MARKER = "@narrator-cell ";

/** What the runner reports while it works. */
export type NotebookProgress =
  | { kind: "notebook"; notebook: string; position: number; total: number }
  | { kind: "cell"; notebook: string; cell: number; cells: number; seconds: number }
  | { kind: "done"; notebook: string; html: string; seconds: number }
  | { kind: "failed"; notebook: string; error: Error };

/** Options of executeNotebook and runNotebooks. */
export interface RunOptions {
  /** NARRATOR_PROFILE for the kernels; default: the environment's, else "mini". */
  profile?: string;
  /** Where the HTML goes; default reports/<profile>/notebooks. */
  outDir?: string;
  /** Seconds one cell may run before nbconvert stops it; default: no limit (sweeps can be long). */
  cellTimeoutS?: number;
  /** Environment the kernels start from; default process.env. */
  env?: NodeJS.ProcessEnv;
  onProgress?: (event: NotebookProgress) => void;
}

/** A notebook's cell failed: names the notebook and cell, and carries the cell's error text. */
export class NotebookCellError extends Error {
  constructor(
    readonly notebook: string,
    /** 1-based position among the notebook's code cells. */
    readonly cell: number,
    readonly source: string,
    readonly errorText: string,
  ) {
    super(
      `${notebook}: code cell ${cell} failed\n--- cell ---\n${source.trimEnd()}\n--- error ---\n${errorText}`,
    );
    this.name = "NotebookCellError";
  }
}

interface CellEvent {
  event: "start" | "executed" | "error";
  index: number;
  stderr?: string;
}

/** The profile a run uses: the option, else NARRATOR_PROFILE, else the experiments' default (mini). */
export function resolveProfile(profile?: string, env: NodeJS.ProcessEnv = process.env): string {
  return profile || env.NARRATOR_PROFILE || DEFAULT_PROFILE;
}

/**
 * The kernels' environment: JUPYTER_PATH finds the repository's kernelspec, PATH finds tslab,
 * NARRATOR_PROFILE picks the profile (NARRATOR_DATA passes through: the library's default data
 * directory does not depend on the kernel's working directory).
 */
export function notebookEnv(
  profile: string,
  base: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  const jupyterPath = [JUPYTER_DIR, base.JUPYTER_PATH].filter(Boolean).join(path.delimiter);
  const binPath = [path.join(PROJECT_ROOT, "node_modules", ".bin"), base.PATH].filter(Boolean);
  return {
    ...base,
    JUPYTER_PATH: jupyterPath,
    PATH: binPath.join(path.delimiter),
    NARRATOR_PROFILE: profile,
  };
}

/** Every notebook in notebooks/, by file name. */
export function listNotebooks(dir: string = NOTEBOOKS_DIR): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".ipynb"))
    .sort()
    .map((f) => path.join(dir, f));
}

/** A notebook named by path, or by name in notebooks/ ("data" or "data.ipynb"). */
export function resolveNotebook(nameOrPath: string): string {
  if (fs.existsSync(nameOrPath) && fs.statSync(nameOrPath).isFile())
    return path.resolve(nameOrPath);
  const file = path.join(
    NOTEBOOKS_DIR,
    nameOrPath.endsWith(".ipynb") ? nameOrPath : `${nameOrPath}.ipynb`,
  );
  if (fs.existsSync(file)) return file;
  const known = listNotebooks().map((f) => path.basename(f, ".ipynb"));
  throw new Error(`no notebook '${nameOrPath}'; expected a path or one of: ${known.join(", ")}`);
}

/**
 * The readable part of a failing cell's stderr: tslab prints the thrown error with its stack; the
 * frames inside tslab and Node's vm say nothing about the cell, so they are dropped.
 */
export function cellErrorText(stderr: string): string {
  const internal = /^\s+at .*(node_modules[\\/]tslab[\\/]|\(node:|node:vm|sigintHandlersWrap)/;
  return stderr
    .split("\n")
    .filter((line) => !internal.test(line))
    .join("\n")
    .trim();
}

/** How many figures display.ts put into an HTML page (each is a <figure class="narrator-figure">). */
export function figuresIn(html: string): number {
  return html.match(/<figure class="narrator-figure">/g)?.length ?? 0;
}

function codeCells(notebookFile: string): { index: number; source: string }[] {
  const nb = JSON.parse(fs.readFileSync(notebookFile, "utf8")) as {
    cells: { cell_type: string; source: string | string[] }[];
  };
  return nb.cells
    .map((c, index) => ({
      index,
      type: c.cell_type,
      source: Array.isArray(c.source) ? c.source.join("") : c.source,
    }))
    .filter((c) => c.type === "code");
}

/** Execute one notebook to <outDir>/<name>.html; rejects with NotebookCellError naming the failing cell. */
export async function executeNotebook(
  notebookFile: string,
  options: RunOptions = {},
): Promise<{ notebook: string; html: string; seconds: number }> {
  const profile = resolveProfile(options.profile, options.env);
  const outDir = path.resolve(
    options.outDir ?? path.join(PROJECT_ROOT, "reports", profile, "notebooks"),
  );
  const name = path.basename(notebookFile, ".ipynb");
  const html = path.join(outDir, `${name}.html`);
  const cells = codeCells(notebookFile);
  const position = new Map(cells.map((c, k) => [c.index, k]));
  fs.mkdirSync(outDir, { recursive: true });
  fs.rmSync(html, { force: true }); // a failed run must not leave an older page behind

  const args = [
    "nbconvert",
    "--config",
    HOOKS,
    "--to",
    "html",
    "--execute",
    "--ExecutePreprocessor.kernel_name=tslab",
    ...(options.cellTimeoutS ? [`--ExecutePreprocessor.timeout=${options.cellTimeoutS}`] : []),
    "--output-dir",
    outDir,
    "--output",
    name,
    notebookFile,
  ];
  const started = Date.now();
  const child = spawn("jupyter", args, {
    cwd: path.dirname(notebookFile),
    env: notebookEnv(profile, options.env ?? process.env),
    stdio: ["ignore", "ignore", "pipe"],
  });
  const other: string[] = []; // nbconvert's own stderr, shown when no cell is to blame
  let failed: CellEvent | undefined;
  let cellStarted = started;
  const lines = readline.createInterface({ input: child.stderr });
  lines.on("line", (line) => {
    if (!line.startsWith(MARKER)) {
      other.push(line);
      return;
    }
    const event = JSON.parse(line.slice(MARKER.length)) as CellEvent;
    if (event.event === "start") cellStarted = Date.now();
    else if (event.event === "executed")
      options.onProgress?.({
        kind: "cell",
        notebook: notebookFile,
        cell: (position.get(event.index) ?? 0) + 1,
        cells: cells.length,
        seconds: (Date.now() - cellStarted) / 1000,
      });
    else failed = event;
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on("error", (e) =>
      reject(
        new Error(
          `cannot start 'jupyter' for ${notebookFile} (${e.message}); install jupyter-nbconvert and jupyter-client`,
        ),
      ),
    );
    child.on("close", resolve);
  });
  const rel = path.relative(PROJECT_ROOT, notebookFile);
  if (failed) {
    const k = position.get(failed.index) ?? 0;
    throw new NotebookCellError(
      rel,
      k + 1,
      cells[k]?.source ?? "",
      cellErrorText(failed.stderr ?? ""),
    );
  }
  if (code !== 0 || !fs.existsSync(html))
    throw new Error(
      `${rel}: jupyter nbconvert exited with ${code} and wrote no ${html}:\n${other.slice(-30).join("\n")}`,
    );
  const shown = figuresIn(fs.readFileSync(html, "utf8"));
  const calls = cells.reduce((n, c) => n + (c.source.match(/\bshowFigure\(/g)?.length ?? 0), 0);
  if (shown < calls)
    throw new Error(
      `${rel}: ${calls} showFigure call(s) but ${shown} figure(s) in ${html}: a figure output was lost`,
    );
  return { notebook: notebookFile, html, seconds: (Date.now() - started) / 1000 };
}

/** Execute notebooks one after another (default: all of notebooks/); a failure does not stop the others. */
export async function runNotebooks(
  notebookFiles: readonly string[] = listNotebooks(),
  options: RunOptions = {},
): Promise<{
  done: { notebook: string; html: string; seconds: number }[];
  failed: { notebook: string; error: Error }[];
}> {
  const done: { notebook: string; html: string; seconds: number }[] = [];
  const failed: { notebook: string; error: Error }[] = [];
  for (const [k, notebook] of notebookFiles.entries()) {
    options.onProgress?.({
      kind: "notebook",
      notebook,
      position: k + 1,
      total: notebookFiles.length,
    });
    try {
      const result = await executeNotebook(notebook, options);
      done.push(result);
      options.onProgress?.({ kind: "done", ...result });
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      failed.push({ notebook, error });
      options.onProgress?.({ kind: "failed", notebook, error });
    }
  }
  return { done, failed };
}
