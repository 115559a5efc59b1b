/** A small git repository written by hand for the narrate tests: three commits, known files and stats. */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

/** Run git in a repository with a fixed identity and no signing; returns stdout. */
export function git(repo: string, args: string[], env: Record<string, string> = {}): string {
  return execFileSync(
    "git",
    [
      "-C",
      repo,
      "-c",
      "user.name=Test",
      "-c",
      "user.email=test@example.com",
      "-c",
      "commit.gpgsign=false",
      ...args,
    ],
    { env: { ...process.env, ...env }, encoding: "utf8" },
  );
}

function commit(repo: string, subject: string, author: string, date: string): void {
  git(repo, ["add", "-A"]);
  git(repo, ["commit", "-q", "-m", subject, "--author", author], {
    GIT_AUTHOR_DATE: date,
    GIT_COMMITTER_DATE: date,
  });
}

/**
 * Commits in a new repository at `repo` (returned), oldest first:
 * 0 "Start": .gitignore
 * 1 "Add calculator" (Ada Lovelace, 2024-03-01T10:00:00+01:00): README.md +1, calc.py +2
 * 2 "Subtract too" (Grace Hopper, 2024-03-03T09:30:00-05:00): README.md -1 (deleted),
 *   calc.py +4 -1 (one line changed, three added), logo.bin (binary, added)
 */
export function makeRepo(repo: string, subject2 = "Subtract too"): string {
  fs.mkdirSync(repo, { recursive: true });
  git(repo, ["init", "-q"]);
  const write = (f: string, text: string | Uint8Array) =>
    fs.writeFileSync(path.join(repo, f), text);
  write(".gitignore", "node_modules\n");
  commit(repo, "Start", "Test <test@example.com>", "2024-02-28T12:00:00+00:00");
  write("calc.py", "def add(a, b):\n    return a + b\n");
  write("README.md", "# Calc\n");
  commit(repo, "Add calculator", "Ada Lovelace <ada@example.com>", "2024-03-01T10:00:00+01:00");
  write("calc.py", CALC_V2);
  fs.rmSync(path.join(repo, "README.md"));
  write("logo.bin", Uint8Array.from([0, 1, 2, 0, 255]));
  commit(repo, subject2, "Grace Hopper <grace@example.com>", "2024-03-03T09:30:00-05:00");
  return repo;
}

export const CALC_V1 = "def add(a, b):\n    return a + b\n";
export const CALC_V2 = "def add(a, b):\n    return b + a\n\ndef sub(a, b):\n    return a - b\n";
