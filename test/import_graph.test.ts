/**
 * The import graph of src/ against the layer order of the README's folder table: a module imports
 * only from its own folder or from folders of a lower layer, and no modules import each other in a
 * circle (type-only imports, require() and import() included).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";

const ROOT = path.join(__dirname, "..");
const SRC = path.join(ROOT, "src");

/** Layer of each src/ folder (or src/index.ts), from the README table's `layer` column. */
function readmeLayers(): Map<string, number> {
  const layers = new Map<string, number>();
  for (const line of fs.readFileSync(path.join(ROOT, "README.md"), "utf8").split("\n")) {
    const [, folders, layer] = line.split("|").map((cell) => cell.trim());
    if (layer === undefined || !/^\d+$/.test(layer)) continue;
    for (const m of folders.matchAll(/`src\/([^`/]+)\/?`/g)) layers.set(m[1], Number(layer));
  }
  return layers;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(p) : e.name.endsWith(".ts") ? [p] : [];
  });
}

/** The project modules a file imports: import/export from, require(), import(), `import("x")` types. */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(fs.readFileSync(file, "utf8"), true, true);
  return info.importedFiles
    .map((f) => f.fileName)
    .filter((spec) => spec.startsWith("."))
    .map((spec) => {
      const base = path.resolve(path.dirname(file), spec);
      const found = [`${base}.ts`, path.join(base, "index.ts"), base].find(
        (p) => p.endsWith(".ts") && fs.existsSync(p),
      );
      return found;
    })
    .filter((p): p is string => p !== undefined);
}

/** src/<folder>/... -> folder; src/index.ts -> index.ts. */
const unitOf = (file: string) => path.relative(SRC, file).split(path.sep)[0];
const shown = (file: string) => path.relative(ROOT, file);

/** Strongly connected components of more than one module (or a module importing itself). */
function circles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

const files = sourceFiles(SRC);
const graph = new Map(files.map((f) => [f, importsOf(f)]));

test("every src/ folder has a layer in the README's folder table", () => {
  const layers = readmeLayers();
  const missing = [...new Set(files.map(unitOf))].filter((u) => !layers.has(u));
  assert.deepEqual(missing, [], `no layer in README.md for: ${missing.join(", ")}`);
});

test("no import goes up the layers: only to the module's own folder or a lower layer", () => {
  const layers = readmeLayers();
  const upward: string[] = [];
  for (const [from, imports] of graph) {
    for (const to of imports) {
      const [a, b] = [unitOf(from), unitOf(to)];
      if (a !== b && !(layers.get(a)! > layers.get(b)!))
        upward.push(
          `${shown(from)} (layer ${layers.get(a)}) -> ${shown(to)} (layer ${layers.get(b)})`,
        );
    }
  }
  assert.deepEqual(upward, []);
});

test("no import circles between modules", () => {
  const found = circles(graph).map((scc) => scc.map(shown).join(" <-> "));
  assert.deepEqual(found, []);
});

test("the checks see what they check: a known import, a require() and a type import", () => {
  const rel = (p: string) => path.join(SRC, p);
  // A static import, the backend's require() of the wasm package aside.
  assert.ok(graph.get(rel("backend/backend.ts"))!.includes(rel("native/kernels.ts")));
  const edges = [...graph.values()].reduce((n, list) => n + list.length, 0);
  assert.ok(edges > files.length, `only ${edges} imports read from ${files.length} files`);
  // A circle of three and a self-import are found; a chain is not a circle.
  const toy = new Map([
    ["a", ["b"]],
    ["b", ["c"]],
    ["c", ["a"]],
    ["d", ["d"]],
    ["e", ["a"]],
  ]);
  assert.deepEqual(circles(toy), [["a", "b", "c"], ["d"]]);
});
