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

/** The commit checked out and whether the working tree differs from it (nulls outside a checkout). */
export function checkoutState(): { gitCommit: string | null; gitDirty: boolean | null } {
  const status = git(["status", "--porcelain"]);
  return {
    gitCommit: git(["rev-parse", "HEAD"]),
    gitDirty: status === null ? null : status !== "",
  };
}
