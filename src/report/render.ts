/**
 * Rendering specs without a browser: Vega-Lite -> Vega -> static SVG (vega's string renderer),
 * PNG through rsvg-convert where it is installed, and the vega/vega-lite/vega-embed bundles read
 * from node_modules for pages that must work offline.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { packageDir, packageVersion } from "../util/packages";

/** Render a Vega-Lite spec to a standalone SVG document; the same spec gives the same bytes. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  // Clip-path and gradient ids come from process-wide counters: reset them so that a figure's
  // bytes do not depend on what was rendered before it (exported by vega, missing from its types).
  (vega as unknown as { resetSVGDefIds(): void }).resetSVGDefIds();
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * Make a standalone SVG fit inside an HTML page: drop the XML namespace declarations (the HTML
 * parser knows SVG) and prefix its internal ids with `prefix` so that several figures on one page
 * do not share clip paths.
 */
export function inlineSvg(svg: string, prefix: string): string {
  return svg
    .replace(/ xmlns(:xlink)?="[^"]*"/g, "")
    .replace(/ id="([^"]+)"/g, (_, id: string) => ` id="${prefix}-${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_, id: string) => `url(#${prefix}-${id})`);
}

/** True when rsvg-convert is on PATH. */
export function hasRsvgConvert(): boolean {
  return spawnSync("rsvg-convert", ["--version"], { stdio: "ignore" }).status === 0;
}

/** Convert an SVG document to PNG with rsvg-convert; null when rsvg-convert is not installed. */
export function svgToPng(svg: string, scale = 2): Buffer | null {
  if (!hasRsvgConvert()) return null;
  const out = spawnSync("rsvg-convert", ["--format=png", `--zoom=${scale}`], {
    input: svg,
    maxBuffer: 256 * 1024 * 1024,
  });
  if (out.status !== 0) {
    throw new Error(`rsvg-convert failed (exit ${out.status}): ${out.stderr.toString().trim()}`);
  }
  return out.stdout;
}

/** The browser bundles inlined into pages, in load order (vega-embed needs the other two). */
const BUNDLES = [
  ["vega", "build/vega.min.js"],
  ["vega-lite", "build/vega-lite.min.js"],
  ["vega-embed", "build/vega-embed.min.js"],
] as const;

let bundles: string | null = null;

/** The three browser bundles as one script text, read once from node_modules. */
export function embedBundles(): string {
  if (bundles === null) {
    bundles = BUNDLES.map(([pkg, file]) => {
      const dir = packageDir(pkg);
      const text = fs.readFileSync(path.join(dir, file), "utf8");
      // A closing script tag inside the code would end the inline script early.
      if (/<\/script/i.test(text)) throw new Error(`${pkg}/${file}: contains "</script"`);
      return `/* ${pkg} ${packageVersion(pkg)} */\n${text}`;
    }).join("\n;\n");
  }
  return bundles;
}
