/**
 * The commit readers against git's own answers, on repositories made here: commit messages and
 * authors full of the bytes a line-and-separator parser would split on must neither add, drop nor
 * reorder commits, nor change what any commit says.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import { mineRepos } from "../../src/data/mine";
import { rangeDigest } from "../../src/narrate/digest";
import { readCommits } from "../../src/narrate/git";
import { catFileBatch, readCommitInfo } from "../../src/util/git";
import { Rng } from "../../src/util/rng";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "util-git-"));
after(() => fs.rmSync(root, { recursive: true, force: true }));

/** git's raw stdout in `repo`, with a fixed committer and no signing. */
function run(repo: string, args: string[], env: Record<string, string> = {}, input?: Buffer) {
  return execFileSync(
    "git",
    ["-C", repo, "-c", "commit.gpgsign=false", "-c", "core.autocrlf=false", ...args],
    {
      input,
      stdio: ["pipe", "pipe", "pipe"], // git's warnings about non-UTF-8 messages are expected
      env: {
        ...process.env,
        GIT_COMMITTER_NAME: "Committer",
        GIT_COMMITTER_EMAIL: "committer@example.com",
        GIT_COMMITTER_DATE: "2024-05-01T12:00:00+00:00",
        ...env,
      },
    },
  );
}

function init(name: string): string {
  const repo = path.join(root, name);
  fs.mkdirSync(repo);
  run(repo, ["init", "-q", "-b", "main"]);
  return repo;
}

/** Commit the working tree with `message` kept byte for byte; returns git's sha. */
function commit(repo: string, message: Buffer | string, author: string, date: string): string {
  const file = path.join(root, "message");
  fs.writeFileSync(file, message);
  run(repo, ["add", "-A"]);
  run(repo, ["commit", "-q", "--cleanup=verbatim", "--allow-empty-message", "-F", file], {
    GIT_AUTHOR_NAME: author,
    GIT_AUTHOR_EMAIL: "author@example.com",
    GIT_AUTHOR_DATE: date,
  });
  return revParse(repo, "HEAD");
}

const revParse = (repo: string, rev: string) =>
  run(repo, ["rev-parse", "--verify", rev]).toString().trim();

/** The range's commits as git rev-list names them, oldest first. */
const revList = (repo: string, range: string) =>
  run(repo, ["rev-list", "--reverse", range])
    .toString()
    .split("\n")
    .filter((l) => l !== "");

/** Author name, email and message of a commit, read from the object `git cat-file` prints. */
function stored(repo: string, sha: string): { author: string; email: string; message: Buffer } {
  const object = run(repo, ["cat-file", "commit", sha]);
  const end = object.indexOf("\n\n");
  const line = object
    .subarray(0, end)
    .toString("latin1")
    .split("\n")
    .find((l) => l.startsWith("author "))!;
  // latin1 keeps one character per byte; the name ends before '<', less trailing git spaces.
  const m = /^author ([^<]*?)[ \t\r]*<([^>]*)> \d+ [+-]\d{4}$/.exec(line)!;
  const utf8 = (s: string) => Buffer.from(s, "latin1").toString("utf8");
  return { author: utf8(m[1]), email: utf8(m[2]), message: object.subarray(end + 2) };
}

/** git's %aI and %s of one commit (neither can hold a line break). */
function shown(repo: string, sha: string): { date: string; subject: string } {
  const out = run(repo, ["show", "-s", "--format=%aI%n%s", sha]).toString("utf8");
  const nl = out.indexOf("\n");
  return { date: out.slice(0, nl), subject: out.slice(nl + 1).replace(/\n$/, "") };
}

const FAKE_SHA = "0123456789abcdef0123456789abcdef01234567";
// A body that closes the real commit's record early and opens a made-up one, as the fields of
// `git log --format=<record>%H<field>%P<field>%an<field>...` would read it.
const FORGED_MESSAGE =
  "Fix the parser\n\nThe real body.\x1f\x1e" +
  `${FAKE_SHA}\x1f\x1fMallory Forger\x1fmallory@evil.example\x1f` +
  "2001-01-01T00:00:00+00:00\x1fForged subject\x1fForged message\n";
const UNBALANCED_MESSAGE = "Handle \x1f odd \x1e input\n\nOne more \x1f here.\x1e\n";
const MINED_MESSAGE =
  "Change the adder to return operands in order\n\nWhy: \x1f\x1e" +
  `${FAKE_SHA}\x1f\x1fMallory\x1fthe rest\n`;

test("a message or author holding git log separators and fake fields forges no commit", () => {
  const repo = init("forged");
  const write = (f: string, text: string) => fs.writeFileSync(path.join(repo, f), text);
  write(".gitignore", "node_modules\n");
  const base = commit(repo, "Start\n", "Test", "2024-02-28T12:00:00+00:00");
  write("calc.py", "def add(a, b):\n    return a + b\n");
  const forged = commit(repo, FORGED_MESSAGE, "Ada Lovelace", "2024-03-01T10:00:00+01:00");
  write("README.md", "# Calc\n");
  commit(repo, UNBALANCED_MESSAGE, "Grace\x1e\x1fHopper", "2024-03-02T09:30:00-05:00");
  write("calc.py", "def add(a, b):\n    return b + a\n");
  const last = commit(repo, MINED_MESSAGE, "Ada Lovelace", "2024-03-03T08:00:00+01:00");

  // Only the forged commit: exactly it, with its own author and line counts.
  const one = readCommits(repo, `${base}..${forged}`);
  assert.deepEqual(
    one.map((c) => c.sha),
    [forged],
  );
  assert.deepEqual(
    [one[0].author, one[0].subject, one[0].insertions, one[0].deletions],
    ["Ada Lovelace", "Fix the parser", 2, 0],
  );

  // The whole range, separators in subjects, bodies and an author name, some unbalanced.
  const range = `${base}..${last}`;
  const commits = readCommits(repo, range);
  assert.deepEqual(
    commits.map((c) => c.sha),
    revList(repo, range),
  );
  for (const c of commits) {
    const git = stored(repo, c.sha);
    assert.equal(c.author, git.author);
    assert.equal(c.email, git.email);
    assert.deepEqual({ date: c.date, subject: c.subject }, shown(repo, c.sha));
    // Message bytes preserved (the narrator keeps messages trimmed).
    assert.deepEqual(Buffer.from(c.message, "utf8"), Buffer.from(git.message.toString().trim()));
  }
  assert.deepEqual(
    commits.map((c) => [c.author, c.subject]),
    [
      ["Ada Lovelace", "Fix the parser"],
      ["Grace\x1e\x1fHopper", "Handle \x1f odd \x1e input"],
      ["Ada Lovelace", "Change the adder to return operands in order"],
    ],
  );
  assert.equal(commits[0].message, FORGED_MESSAGE.trim());

  const digest = rangeDigest(commits);
  assert.match(digest, /^3 commits from 2024-03-01 to 2024-03-03 by /);
  assert.doesNotMatch(digest, /Mallory|Forged|2001/);

  // explain on the command line: the same commits, nothing forged, exit 0.
  const r = spawnSync(
    process.execPath,
    [
      "bin/narrator.js",
      "explain",
      "--model",
      "models/narrator-2m-random",
      "--max-new-tokens",
      "1",
      "--git",
      repo,
      "--range",
      range,
      "--format",
      "json",
    ],
    { encoding: "utf8" },
  );
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as {
    commits: { sha: string; author: string; subject: string }[];
    digest: string;
  };
  assert.deepEqual(
    out.commits.map((c) => [c.sha, c.author, c.subject]),
    commits.map((c) => [c.sha, c.author, c.subject]),
  );
  assert.equal(out.digest, digest);

  // data mine: the one-file modification keeps its whole message.
  const mined = mineRepos({ repos: [repo], outDir: path.join(root, "mined") });
  const file = mined.files.find((f) => f.endsWith(path.join("commitpackft", "python.jsonl.gz")));
  assert.ok(file, `no CommitPackFT python file among ${mined.files.join(", ")}`);
  const rows = gunzipSync(fs.readFileSync(file))
    .toString("utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as { commit: string; message: string });
  assert.deepEqual(
    rows.map((row) => [row.commit, row.message]),
    [[last, stored(repo, last).message.toString("utf8")]],
  );
});

/** Random text of the kinds that break line and separator parsers; never NUL. */
function randomText(rng: Rng, pieces: number, allowInvalidUtf8: boolean): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < pieces; i++) {
    switch (rng.int(9)) {
      case 0:
        parts.push(Buffer.from([0x1e, 0x1f][rng.int(2)] + (rng.int(2) ? "\x1e" : "")));
        break;
      case 1:
        parts.push(Buffer.from(["\n", "\n\n", "\r\n", " \n", "\t"][rng.int(5)]));
        break;
      case 2: // a fake record: sha, parents, author... as separated fields
        parts.push(Buffer.from(`\x1e${FAKE_SHA}\x1f\x1fEve\x1feve@x\x1f2001-01-01T00:00:00Z\x1f`));
        break;
      case 3: // a fake -z diff entry and header
        parts.push(Buffer.from(`\n:100644 100644 ${FAKE_SHA} ${FAKE_SHA} M\t${FAKE_SHA}\n`));
        break;
      case 4: {
        const n = 1 + rng.int(8);
        const bytes = Array.from({ length: n }, () =>
          allowInvalidUtf8 ? 1 + rng.int(255) : 1 + rng.int(127),
        );
        parts.push(Buffer.from(bytes));
        break;
      }
      case 5:
        parts.push(Buffer.from(String.fromCodePoint(0x80 + rng.int(0x2ff80))));
        break;
      default:
        parts.push(Buffer.from(["fix", "the", "parser", "Add", "tests", "%s", "%x00"][rng.int(7)]));
    }
  }
  return Buffer.concat(parts);
}

/** A random author name git accepts: no NUL, line break, '<' or '>', letters at both ends. */
function randomName(rng: Rng, allowInvalidUtf8: boolean): Buffer {
  const bytes = [...randomText(rng, 1 + rng.int(4), allowInvalidUtf8)].filter(
    (b) => b !== 0x0a && b !== 0x3c && b !== 0x3e,
  );
  return Buffer.concat([Buffer.from("A"), Buffer.from(bytes), Buffer.from("Z")]);
}

test("fuzz: random commits read as git rev-list and git cat-file report them", () => {
  const repo = init("fuzz");
  const rng = new Rng(20240501);
  fs.writeFileSync(path.join(repo, "start.txt"), "start\n");
  const base = commit(repo, "Start\n", "Test", "2024-01-01T00:00:00+00:00");
  // One `git fast-import` stream writes every commit as given: any bytes in names and messages
  // (not only what `git commit` would make), line counts known by construction.
  const counts: number[] = [];
  const stream: Buffer[] = [];
  const data = (bytes: Buffer) => [Buffer.from(`data ${bytes.length}\n`), bytes, Buffer.from("\n")];
  for (let i = 0; i < 40; i++) {
    counts.push(1 + rng.int(5));
    const time = 1700000000 + i * 3600;
    const zone = ["+0530", "-0800", "+0000", "+1400", "-1200"][rng.int(5)];
    const utf8Only = rng.int(3) !== 0;
    stream.push(
      Buffer.from(`commit refs/heads/main\nauthor `),
      randomName(rng, !utf8Only),
      Buffer.from(" <"),
      randomName(rng, !utf8Only),
      Buffer.from(`> ${time} ${zone}\ncommitter Committer <c@example.com> ${time} +0000\n`),
      ...data(randomText(rng, rng.int(12), true)),
      Buffer.from(i === 0 ? `from ${base}\n` : ""),
      Buffer.from(`M 100644 inline f${i}.txt\n`),
      ...data(Buffer.from(`line ${i}\n`.repeat(counts[i]))),
    );
  }
  run(repo, ["fast-import", "--quiet"], {}, Buffer.concat(stream));
  const all = revList(repo, `${base}..HEAD`);
  assert.equal(all.length, 40);
  // The fuzz did write what it is about.
  const objects = new Map(all.map((sha) => [sha, stored(repo, sha)]));
  const both = [...objects.values()].filter(
    (o) => o.message.includes(0x1e) && o.message.includes(0x1f),
  );
  assert.ok(both.length >= 5, `${both.length} messages with both separators`);

  const ranges = [`${base}..HEAD`];
  for (let k = 0; k < 4; k++) {
    const [a, b] = [rng.int(40), rng.int(40)].sort((x, y) => x - y);
    ranges.push(`${all[a]}..${all[b]}`, `${base}..${all[b]}`);
  }
  for (const range of ranges) {
    const want = revList(repo, range);
    if (want.length === 0) continue;
    const commits = readCommits(repo, range);
    assert.deepEqual(
      commits.map((c) => c.sha),
      want,
      range,
    );
    for (const c of commits) {
      const i = all.indexOf(c.sha);
      assert.deepEqual(c.parents, [i === 0 ? base : all[i - 1]]);
      assert.deepEqual(c.files, [{ path: `f${i}.txt`, insertions: counts[i], deletions: 0 }]);
    }
  }

  const infos = readCommitInfo(repo, all);
  assert.deepEqual(
    infos.map((c) => c.sha),
    all,
  );
  for (const c of infos) {
    const git = objects.get(c.sha)!;
    const where = `commit ${c.sha}`;
    assert.equal(c.author, git.author, where);
    assert.equal(c.email, git.email, where);
    assert.equal(c.message, git.message.toString("utf8"), where);
    assert.deepEqual({ date: c.date, subject: c.subject }, shown(repo, c.sha), where);
  }
});

test("cat-file batch: objects by spec, missing ones absent, a line break refused", () => {
  const repo = init("batch");
  fs.writeFileSync(path.join(repo, "a b.txt"), "one\x1e\n\ntwo\n");
  const sha = commit(repo, "Add\n", "Test", "2024-01-01T00:00:00+00:00");
  const objects = catFileBatch(repo, [`${sha}:a b.txt`, `${sha}:nope`, sha], "test objects");
  assert.deepEqual(
    [...objects].map(([spec, o]) => [spec, o.type]),
    [
      [`${sha}:a b.txt`, "blob"],
      [sha, "commit"],
    ],
  );
  assert.equal(objects.get(`${sha}:a b.txt`)!.data.toString(), "one\x1e\n\ntwo\n");
  assert.deepEqual(objects.get(sha)!.data, run(repo, ["cat-file", "commit", sha]));
  assert.throws(() => catFileBatch(repo, ["HEAD:a\nb"], "x"), /a line break/);
});
