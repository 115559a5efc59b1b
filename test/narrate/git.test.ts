import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseRange, readCommits, readFileChanges } from "../../src/narrate/git";
import { activityByDay, areaOf, rangeDigest } from "../../src/narrate/digest";
import { CALC_V1, CALC_V2, git, makeRepo } from "./repo";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "narrate-git-"));
const repo = makeRepo(path.join(root, "repo"));
after(() => fs.rmSync(root, { recursive: true, force: true }));
// The shas as git itself names them.
const [sha1, sha2] = ["HEAD~1", "HEAD"].map((r) => git(repo, ["rev-parse", r]).trim());

test("a range's commits, oldest first, with git's authors, dates, subjects and per-file line counts", () => {
  const commits = readCommits(repo, "HEAD~2..HEAD");
  assert.deepEqual(
    commits.map((c) => [c.sha, c.subject, c.author, c.email, c.date]),
    [
      [sha1, "Add calculator", "Ada Lovelace", "ada@example.com", "2024-03-01T10:00:00+01:00"],
      [sha2, "Subtract too", "Grace Hopper", "grace@example.com", "2024-03-03T09:30:00-05:00"],
    ],
  );
  // Counted by hand from the files written in repo.ts (git lists paths in byte order).
  assert.deepEqual(commits[0].files, [
    { path: "README.md", insertions: 1, deletions: 0 },
    { path: "calc.py", insertions: 2, deletions: 0 },
  ]);
  assert.deepEqual(commits[1].files, [
    { path: "README.md", insertions: 0, deletions: 1 },
    { path: "calc.py", insertions: 4, deletions: 1 },
    { path: "logo.bin", insertions: null, deletions: null },
  ]);
  assert.deepEqual(
    commits.map((c) => [c.insertions, c.deletions]),
    [
      [3, 0],
      [4, 2],
    ],
  );
  assert.deepEqual(commits[1].parents, [sha1]);
});

test("file contents before and after a commit (binary files left out, deleted files empty)", () => {
  const [, second] = readCommits(repo, "HEAD~2..HEAD");
  assert.deepEqual(readFileChanges(repo, second), [
    { path: "README.md", oldContents: "# Calc\n", newContents: "" },
    { path: "calc.py", oldContents: CALC_V1, newContents: CALC_V2 },
  ]);
});

test("bad ranges: git's message and what was expected", () => {
  assert.throws(() => parseRange("HEAD"), /--range expects A\.\.B .* got 'HEAD'/);
  assert.throws(() => parseRange("A...B"), /--range expects A\.\.B/);
  assert.throws(() => parseRange("--all..HEAD"), /--range expects A\.\.B/);
  assert.deepEqual(parseRange("v1.0..v2.0"), { from: "v1.0", to: "v2.0" });
  assert.throws(
    () => readCommits(repo, "HEAD~9..HEAD"),
    (e: Error) =>
      e.message.startsWith(`git log in ${repo} failed: fatal:`) &&
      /HEAD~9/.test(e.message) &&
      e.message.endsWith(
        `expected --range A..B where A and B name commits of ${repo} (e.g. HEAD~5..HEAD)`,
      ),
  );
  assert.throws(() => readCommits(repo, "HEAD..HEAD"), /--range HEAD\.\.HEAD holds no commits/);
  const plain = path.join(root, "plain");
  fs.mkdirSync(plain);
  assert.throws(() => readCommits(plain, "A..B"), /not a git repository/);
});

test("the digest and the activity (every day of the range) are counted from the commits (worked by hand)", () => {
  const commits = readCommits(repo, "HEAD~2..HEAD");
  assert.equal(
    rangeDigest(commits),
    "2 commits from 2024-03-01 to 2024-03-03 by Ada Lovelace (1) and Grace Hopper (1). " +
      "3 files changed, +7/-2 lines, mostly in (top level) (9 lines). " +
      `Largest change: ${sha2.slice(0, 7)} "Subtract too" (+4/-2).`,
  );
  assert.deepEqual(activityByDay(commits), [
    { day: "2024-03-01", commits: 1, insertions: 3, deletions: 0 },
    { day: "2024-03-02", commits: 0, insertions: 0, deletions: 0 },
    { day: "2024-03-03", commits: 1, insertions: 4, deletions: 2 },
  ]);
  assert.deepEqual(["a.py", "src/a.py", "src/narrate/x/y.ts"].map(areaOf), [
    "(top level)",
    "src",
    "src/narrate",
  ]);
});
