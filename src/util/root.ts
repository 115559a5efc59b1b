/** The project's root folder, so that defaults (data/, models/, runs/) do not depend on the working directory. */
import * as path from "node:path";

export const PROJECT_ROOT = path.resolve(__dirname, "..", "..");

/** A path as the user reads it: relative inside the repository, absolute outside. */
export function fromRoot(file: string): string {
  const abs = path.resolve(file);
  const rel = path.relative(PROJECT_ROOT, abs);
  const outside = rel === ".." || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel);
  return rel === "" || outside ? abs : rel;
}

/**
 * A folder as cards and run records name it, so that they hold no machine's folders: its path
 * from the repository root when inside the checkout, else `<home>/<its folder name>`, where a
 * recorded command run from the root would put it.
 */
export function checkoutPath(dir: string, home: "runs" | "models"): string {
  const shown = fromRoot(dir);
  return path.isAbsolute(shown)
    ? `${home}/${path.basename(shown)}`
    : shown.split(path.sep).join("/");
}

/** A run folder as cards and run records name it: runs/<name> when outside the checkout. */
export function runName(dir: string): string {
  return checkoutPath(dir, "runs");
}
