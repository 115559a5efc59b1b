import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  cellErrorText,
  executeNotebook,
  figuresIn,
  JUPYTER_DIR,
  NotebookCellError,
  notebookEnv,
} from "../../src/notebooks/runner";
import { PROJECT_ROOT } from "../../src/util/root";

const hasJupyter =
  spawnSync("jupyter", ["nbconvert", "--version"], { stdio: "ignore" }).status === 0;
const hasTslab = fs.existsSync(path.join(PROJECT_ROOT, "node_modules", ".bin", "tslab"));
const skip = !hasJupyter
  ? "jupyter nbconvert is not installed (apt-get install jupyter-nbconvert jupyter-client)"
  : !hasTslab
    ? "tslab is not installed (npm ci)"
    : false;

/** A notebook of code cells, in nbformat 4.5 with the tslab kernelspec. */
function writeNotebook(dir: string, name: string, cells: string[]): string {
  const nb = {
    cells: cells.map((source, k) => ({
      cell_type: "code",
      execution_count: null,
      id: `cell-${k}`,
      metadata: {},
      outputs: [],
      source,
    })),
    metadata: {
      kernelspec: { name: "tslab", display_name: "TypeScript (tslab)", language: "typescript" },
    },
    nbformat: 4,
    nbformat_minor: 5,
  };
  const file = path.join(dir, `${name}.ipynb`);
  fs.writeFileSync(file, JSON.stringify(nb));
  return file;
}

test("kernelspec: valid JSON that starts the project's tslab kernel with the connection file", () => {
  const dir = path.join(JUPYTER_DIR, "kernels", "tslab");
  const spec = JSON.parse(fs.readFileSync(path.join(dir, "kernel.json"), "utf8"));
  assert.deepEqual(spec.argv, [
    "node",
    "{resource_dir}/start-kernel.js",
    "--config-path",
    "{connection_file}",
  ]);
  assert.equal(spec.language, "typescript");
  // The script the kernelspec names is there and starts src/notebooks/kernel.ts.
  assert.match(
    fs.readFileSync(path.join(dir, "start-kernel.js"), "utf8"),
    /notebooks", "kernel\.ts"/,
  );
});

test("notebookEnv: JUPYTER_PATH and PATH lead with the repository's folders, the profile is set, the data directory passes through", () => {
  const env = notebookEnv("smoke", { PATH: "/usr/bin", JUPYTER_PATH: "/opt/j", OTHER: "x" });
  assert.equal(env.JUPYTER_PATH, `${JUPYTER_DIR}${path.delimiter}/opt/j`);
  assert.equal(
    env.PATH,
    `${path.join(PROJECT_ROOT, "node_modules", ".bin")}${path.delimiter}/usr/bin`,
  );
  assert.equal(env.NARRATOR_PROFILE, "smoke");
  assert.equal(env.NARRATOR_DATA, undefined);
  assert.equal(env.OTHER, "x");
  assert.equal(notebookEnv("mini", { NARRATOR_DATA: "/d" }).NARRATOR_DATA, "/d");
});

test("cellErrorText: keeps the message and the cell's frames, drops tslab's and Node's", () => {
  const stderr = [
    "evalmachine.<anonymous>:3",
    "throw new Error('x');",
    "^",
    "",
    "Error: x",
    "    at evalmachine.<anonymous>:3:7",
    "    at sigintHandlersWrap (node:vm:280:12)",
    "    at Script.runInThisContext (node:vm:135:14)",
    "    at Object.execute (/r/node_modules/tslab/dist/executor.js:160:38)",
    "    at async ZmqServer.handleExecute (/r/node_modules/tslab/dist/jupyter.js:406:25)",
    "",
  ].join("\n");
  assert.equal(
    cellErrorText(stderr),
    [
      "evalmachine.<anonymous>:3",
      "throw new Error('x');",
      "^",
      "",
      "Error: x",
      "    at evalmachine.<anonymous>:3:7",
    ].join("\n"),
  );
});

test(
  "executeNotebook: HTML with a cell's computed output and a figure; a failing cell's real error text",
  { skip },
  async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-notebooks-"));
    // The kernel runs in the temporary folder: the library is required by absolute path.
    const display = path.join(PROJECT_ROOT, "src", "notebooks", "display");
    const good = writeNotebook(dir, "good", [
      "const factors: number[] = [6, 7];",
      'console.log("product", factors.reduce((a, b) => a * b, 1));',
      `require(${JSON.stringify(require.resolve("tsx/cjs"))});\n` +
        `const { showFigure } = require(${JSON.stringify(display)});\n` +
        'await showFigure({ title: "Kernel bars", data: { values: [{ k: "a", v: 2 }] }, mark: "bar", ' +
        'encoding: { x: { field: "k", type: "nominal" }, y: { field: "v", type: "quantitative" } } });',
    ]);
    const bad = writeNotebook(dir, "bad", [
      'console.log("first cell runs");',
      "const n = 20 + 1;\nthrow new Error(`distinct failure ${n}`);",
      'console.log("never runs");',
    ]);
    const outDir = path.join(dir, "out");
    const cells: number[] = [];
    // Both kernels at once: the test waits for one notebook's time, not two.
    const [ok, failure] = await Promise.all([
      executeNotebook(good, {
        outDir,
        onProgress: (e) => e.kind === "cell" && cells.push(e.cell),
      }),
      executeNotebook(bad, { outDir }).then(
        () => assert.fail("a notebook with a failing cell must reject"),
        (e: unknown) => e,
      ),
    ]);

    assert.equal(ok.html, path.join(outDir, "good.html"));
    const html = fs.readFileSync(ok.html, "utf8");
    assert.match(html, /product 42/); // 6 * 7, computed by the kernel: the source never spells 42
    assert.deepEqual(cells, [1, 2, 3]);
    // The figure reached nbconvert's HTML as SVG inside the HTML representation.
    assert.equal(figuresIn(html), 1);
    assert.match(html, /<figure class="narrator-figure"><svg[\s\S]*>Kernel bars<[\s\S]*<\/svg>/);

    assert.ok(failure instanceof NotebookCellError, String(failure));
    assert.equal(failure.cell, 2);
    assert.match(failure.errorText, /^Error: distinct failure 21$/m);
    assert.doesNotMatch(failure.errorText, /node_modules[\\/]tslab/);
    assert.match(failure.message, /bad\.ipynb: code cell 2 failed/);
    assert.match(failure.message, /distinct failure 21/);
    assert.equal(fs.existsSync(path.join(outDir, "bad.html")), false);
  },
);
