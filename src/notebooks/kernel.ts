/**
 * The notebooks' Jupyter kernel: tslab, compiling cells with the project's TypeScript
 * (tslab_typescript.ts) instead of its bundled fork, so that a cell can `import` the library from
 * "../src" with the same types `npm run typecheck` checks. The kernelspec in
 * notebooks/jupyter/kernels/tslab starts it through start-kernel.js there (not kernel.js: that name
 * is the Notebook's for a kernel's browser-side script), which loads tsx first: the
 * library's .ts files are then loaded by Node itself, as the CLI loads them.
 */
import Module from "node:module";
import * as path from "node:path";
import { typescriptForTslab } from "./tslab_typescript";

/** The module id through which tslab loads its compiler. */
const TSLAB_TYPESCRIPT = "@tslab/typescript-for-tslab";

/** Make tslab's `require(TSLAB_TYPESCRIPT)` return the project's compiler (tslab_typescript.ts). */
export function installTypescriptForTslab(): void {
  const tslabDir = path.dirname(require.resolve("tslab/package.json"));
  const file = require.resolve(TSLAB_TYPESCRIPT, { paths: [tslabDir] });
  const mod = new Module(file);
  mod.filename = file;
  mod.loaded = true;
  mod.exports = typescriptForTslab();
  require.cache[file] = mod;
}

/** `kernel --config-path FILE`, as Jupyter runs the kernelspec's argv. */
export function startKernel(argv: readonly string[]): void {
  const at = argv.indexOf("--config-path");
  const configPath = at >= 0 ? argv[at + 1] : undefined;
  if (!configPath) throw new Error("usage: start-kernel.js --config-path CONNECTION_FILE");
  installTypescriptForTslab();
  const tslab = require("tslab/dist/main") as {
    startKernel(options: { configPath: string; enableFindLocal: boolean }): void;
  };
  // enableFindLocal would look for another tslab above the notebook's folder; this one is it.
  tslab.startKernel({ configPath, enableFindLocal: false });
}
