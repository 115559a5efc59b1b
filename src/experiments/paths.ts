/**
 * Where the experiment layer finds things: definitions, profiles, models and the default stores
 * are found from the project's root, not from the working directory, so that notebooks can load
 * results from their own folder. (A module of its own: worker processes import it without the rest.)
 */
import * as path from "node:path";
import { PROJECT_ROOT } from "../util/root";

export { PROJECT_ROOT };

/** Where definitions live, and profiles under it. */
export const EXPERIMENTS_DIR = path.join(PROJECT_ROOT, "experiments");

/** A path as shown in messages: relative to the working directory when inside it. */
export function shown(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel.startsWith("..") || path.isAbsolute(rel) ? p : rel;
}

/** The held-out dataset's directory, from its name in a profile (relative to the project root). */
export function heldOutDataDir(name: string): string {
  return path.resolve(PROJECT_ROOT, name);
}

/** A held-out dataset given on the command line (relative to the working directory), as a profile names it. */
export function heldOutName(dir: string): string {
  return path.relative(PROJECT_ROOT, path.resolve(dir)).split(path.sep).join("/") || ".";
}
