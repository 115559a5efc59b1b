/** Best-effort git queries for provenance records: a missing git or checkout is a null, not an error. */
import { execFileSync } from "node:child_process";

/** git's trimmed output for `args` in the working directory, or null when git fails or is missing. */
export function git(args: string[]): string | null {
  try {
    return execFileSync("git", args, {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    return null;
  }
}
