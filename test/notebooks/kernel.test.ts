/**
 * The notebooks' kernel: the project's TypeScript in tslab's place (tslab_typescript.ts), the
 * Jupyter errors it sends (kernel.ts), the interactive figure specs (interactive.ts), and the
 * kernelspec against jupyter_kernel_test's protocol checks (tslab_kernel_test.py, run with
 * Debian's python3-jupyter-kernel-test; skipped, with the reason, where it is not installed).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as ts from "typescript";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { curvesFigure } from "../../src/report/figures/sweep";
import type { CurveRow } from "../../src/experiments/rows";
import { jupyterError } from "../../src/notebooks/kernel";
import { interactiveSpec, PICK_PARAM } from "../../src/notebooks/interactive";
import { notebookEnv } from "../../src/notebooks/runner";
import {
  getDefaultTypeRoots,
  TOP_LEVEL_AWAIT_CODE,
  topLevelAwaitDiagnostics,
  typescriptForTslab,
} from "../../src/notebooks/tslab_typescript";

function sourceFile(text: string): ts.SourceFile {
  return ts.createSourceFile("cell.ts", text, ts.ScriptTarget.ES2022, true);
}

test("topLevelAwaitDiagnostics: awaits outside functions, as tslab's fork reported them", () => {
  const text = [
    "const a = await f();",
    "for await (const x of g()) {}",
    "async function h() { await f(); }",
    "const k = async () => await f();",
    "class C { static { } }",
    "if (a) { await f(); }",
  ].join("\n");
  const found = topLevelAwaitDiagnostics(sourceFile(text));
  assert.deepEqual(
    found.map((d) => [d.code, text.slice(d.start, d.start! + d.length!)]),
    [
      [TOP_LEVEL_AWAIT_CODE, "await"],
      [TOP_LEVEL_AWAIT_CODE, "await"],
      [TOP_LEVEL_AWAIT_CODE, "await"],
    ],
  );
  // tslab finds the keyword from the end of the span (findPrecedingToken), as with the fork.
  const tsl = typescriptForTslab() as unknown as {
    findPrecedingToken(position: number, sf: ts.SourceFile): ts.Node | undefined;
  };
  const sf = sourceFile(text);
  for (const d of topLevelAwaitDiagnostics(sf))
    assert.equal(
      tsl.findPrecedingToken(d.start! + d.length!, sf)?.kind,
      ts.SyntaxKind.AwaitKeyword,
    );
});

test("getDefaultTypeRoots: node_modules/@types of the folder and its ancestors, nearest first", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-types-"));
  try {
    fs.mkdirSync(path.join(dir, "node_modules", "@types"), { recursive: true });
    fs.mkdirSync(path.join(dir, "a", "b", "node_modules", "@types"), { recursive: true });
    const roots = getDefaultTypeRoots(path.join(dir, "a", "b"), {
      directoryExists: (d) => fs.existsSync(d),
    })!;
    assert.deepEqual(roots.slice(0, 2), [
      path.join(dir, "a", "b", "node_modules", "@types"),
      path.join(dir, "node_modules", "@types"),
    ]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("typescriptForTslab: the project's compiler with what tslab takes from its fork", () => {
  const tsl = typescriptForTslab() as unknown as Record<string, unknown> & {
    version: string;
    Completions: Record<string, unknown>;
    transpileModule: typeof ts.transpileModule;
  };
  assert.equal(tsl.version, ts.version);
  for (const name of [
    "getDefaultTypeRoots",
    "getPreEmitDiagnosticsOfFiles",
    "getQuickInfoAtPosition",
    "getNullTransformationContext",
    "findPrecedingToken",
    "findNextToken",
    "createWatchCompilerHost",
  ])
    assert.equal(typeof tsl[name], "function", name);
  assert.equal(typeof tsl.Completions.getCompletionsAtPositionForTslab, "function");
  // tslab's CommonJS output for a cell: no "use strict", as it asked (noImplicitUseStrict).
  const out = tsl.transpileModule("export const x = 1;", {
    compilerOptions: { module: ts.ModuleKind.CommonJS, noImplicitUseStrict: true },
  });
  assert.doesNotMatch(out.outputText, /use strict/);
  assert.match(out.outputText, /exports\.x = 1/);
});

test("jupyterError: an exception keeps its name, message and the cell's frames", () => {
  const e = new RangeError("too far");
  e.stack = [
    "RangeError: too far",
    "    at evalmachine.<anonymous>:3:9",
    "    at execute (/x/node_modules/tslab/dist/executor.js:160:38)",
  ].join("\n");
  assert.deepEqual(jupyterError([[e]]), {
    ename: "RangeError",
    evalue: "too far",
    traceback: ["RangeError: too far", "    at evalmachine.<anonymous>:3:9"],
  });
});

test("jupyterError: type errors as tslab prints them are one TSError with every line", () => {
  const error = jupyterError([
    ["%s%d:%d - %s", "", 1, 7, "Type 'string' is not assignable to type 'number'."],
    ["%s%d:%d - %s", "helper.ts ", 2, 1, "Cannot find name 'x'."],
  ]);
  assert.equal(error.ename, "TSError");
  assert.deepEqual(error.traceback, [
    "1:7 - Type 'string' is not assignable to type 'number'.",
    "helper.ts 2:1 - Cannot find name 'x'.",
  ]);
  assert.equal(error.evalue, error.traceback.join("\n"));
  assert.equal(jupyterError([]).ename, "Error");
});

/** Curve rows of two settings over three steps. */
function curves(): CurveRow[] {
  return ["adamw", "sgd"].flatMap((label, k) =>
    [0, 1, 2].map((step) => ({
      experiment: "optimizers",
      key: `k${k}`,
      model: "narrator-2m",
      trainedOn: "codesearchnet" as const,
      seed: 0,
      label,
      step,
      epoch: 0,
      lr: 0.001,
      loss: 6 - step * 0.1 - k * 0.05,
      valCe: 6.5 - step * 0.1,
    })),
  );
}

/** The compiled Vega of a spec, rendered once to SVG (a spec vega cannot run fails here). */
async function render(spec: TopLevelSpec): Promise<{ signals: string[]; svg: string }> {
  const compiled = compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    const svg = await view.toSVG();
    return { signals: (compiled.signals ?? []).map((s) => s.name), svg };
  } finally {
    view.finalize();
  }
}

test("interactiveSpec: a legend selection on the colour category, faded marks outside it", async () => {
  const view = { id: "f", title: "F", setting: "optimizer", order: ["adamw", "sgd"] };
  const spec = curvesFigure(curves(), view).spec;
  const live = interactiveSpec(spec) as unknown as {
    spec: { layer: { params?: unknown; encoding: Record<string, unknown>; mark: unknown }[] };
  };
  const [line, band, points] = live.spec.layer;
  assert.deepEqual(line.params, [
    { name: PICK_PARAM, select: { type: "point", fields: ["setting"] }, bind: "legend" },
  ]);
  assert.equal(band.params, undefined);
  assert.deepEqual(line.encoding.opacity, {
    condition: { param: PICK_PARAM, value: 1 },
    value: 0.15,
  });
  // The band keeps its own faint opacity inside the selection, fainter still outside it.
  const bandOpacity = band.encoding.opacity as { condition: { value: number }; value: number };
  assert.equal(bandOpacity.condition.value, 0.18);
  assert.ok(Math.abs(bandOpacity.value - 0.18 * 0.15) < 1e-12);
  assert.ok(points.encoding.opacity);
  // The original spec is left as it was: the static SVG is drawn from it.
  assert.equal(JSON.stringify(spec).includes(PICK_PARAM), false);
  const { signals, svg } = await render(live as unknown as TopLevelSpec);
  assert.ok(
    signals.some((s) => s.startsWith(PICK_PARAM)),
    signals.join(", "),
  );
  assert.match(svg, /<svg/);
});

test("interactiveSpec: a figure without a colour legend is returned as it is", () => {
  const bars: TopLevelSpec = {
    data: { values: [{ k: "a", v: 1 }] },
    mark: "bar",
    encoding: {
      x: { field: "k", type: "nominal" },
      y: { field: "v", type: "quantitative" },
      color: { field: "k", type: "nominal", legend: null },
    },
  };
  assert.equal(interactiveSpec(bars), bars);
  const withParams = { ...bars, params: [{ name: "p", value: 1 }] } as TopLevelSpec;
  assert.equal(interactiveSpec(withParams), withParams);
});

/** A Python that has jupyter_kernel_test (Jupyter's own is Debian's /usr/bin/python3). */
function kernelTestPython(): string | null {
  for (const python of ["python3", "/usr/bin/python3"]) {
    const r = spawnSync(python, ["-c", "import jupyter_kernel_test"], { stdio: "ignore" });
    if (r.status === 0) return python;
  }
  return null;
}

const python = kernelTestPython();
const jupyterClient =
  python !== null &&
  spawnSync(python, ["-c", "import jupyter_client"], { stdio: "ignore" }).status === 0;

test(
  "kernelspec: jupyter_kernel_test's protocol checks, the library with its types, a type error stops the cell",
  {
    skip: !python
      ? "python3-jupyter-kernel-test not installed (apt-get install python3-jupyter-kernel-test)"
      : !jupyterClient
        ? "jupyter_client not installed for the Python that has jupyter_kernel_test"
        : false,
    timeout: 10 * 60_000,
  },
  () => {
    const r = spawnSync(python!, ["-m", "unittest", "-v", "tslab_kernel_test"], {
      cwd: __dirname,
      env: notebookEnv("smoke"),
      encoding: "utf8",
      timeout: 9 * 60_000,
    });
    const out = `${r.stdout}\n${r.stderr}`;
    assert.equal(r.status, 0, out);
    // Every check that applies ran and passed (unittest writes "ok" per passed test).
    for (const name of [
      "test_kernel_info",
      "test_execute_stdout",
      "test_execute_stderr",
      "test_error",
      "test_execute_result",
      "test_display_data",
      "test_completion",
      "test_is_complete",
      "test_inspect",
      "test_type_error_stops_the_cell",
      "test_library_with_its_types",
    ])
      assert.match(out, new RegExp(`${name} \\(.*\\) \\.\\.\\. ok`), `${name}:\n${out}`);
  },
);
