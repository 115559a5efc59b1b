/** A git repository made here for the mine tests: one documented Python function, one commit. */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

/** `<root>/tiny`: calc.py with one documented function (one CodeSearchNet row), and a single commit (so no CommitPackFT row). */
export function tinyRepo(root: string): string {
  const dir = path.join(root, "tiny");
  fs.mkdirSync(dir, { recursive: true });
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: "Ann",
    GIT_AUTHOR_EMAIL: "ann@example.com",
    GIT_COMMITTER_NAME: "Ann",
    GIT_COMMITTER_EMAIL: "ann@example.com",
  };
  const run = (args: string[]) => execFileSync("git", ["-C", dir, ...args], { env });
  fs.writeFileSync(
    path.join(dir, "calc.py"),
    'def double(x):\n    """Return twice the given number for the report."""\n    y = x * 2\n    return y\n',
  );
  run(["init", "-q", "-b", "main"]);
  run(["add", "-A"]);
  run(["commit", "-q", "-m", "Add the calculator module"]);
  return dir;
}
