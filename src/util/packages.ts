/** Installed npm packages: where they are and which version, for provenance and inlined bundles. */
import * as fs from "node:fs";
import * as path from "node:path";

/** node_modules/<pkg>, found from the package's main entry (vega-embed does not export package.json). */
export function packageDir(pkg: string): string {
  let dir = path.dirname(require.resolve(pkg));
  while (!dir.endsWith(path.join("node_modules", pkg))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the folder of package ${pkg}`);
    dir = up;
  }
  return dir;
}

/** The installed version of a package, read from its package.json; "unknown" when not installed. */
export function packageVersion(pkg: string): string {
  try {
    const file = path.join(packageDir(pkg), "package.json");
    return (JSON.parse(fs.readFileSync(file, "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}
