/**
 * Commits of a range read with the `git` command line (no shell): sha, parents, author, author
 * date, subject, message, and per file the lines added and deleted (`git log --numstat`, renames
 * shown as delete + add, merges diffed against their first parent); and the contents of each
 * changed file before and after a commit (`git cat-file --batch`), from which the commit's model
 * input is built as training built it.
 */
import { execFileSync } from "node:child_process";

/** One file a commit touched, with git's line counts (null for binary files). */
export interface CommitFile {
  path: string;
  insertions: number | null;
  deletions: number | null;
}

/** A commit of a range, as git reports it. */
export interface CommitRecord {
  sha: string;
  parents: string[];
  author: string;
  email: string;
  /** Author date, ISO 8601 with the author's offset (git's %aI). */
  date: string;
  subject: string;
  /** The whole message (subject, blank line, body). */
  message: string;
  files: CommitFile[];
  insertions: number;
  deletions: number;
}

/** A file's contents before and after a commit ("" where it did not exist). */
export interface FileChange {
  path: string;
  oldContents: string;
  newContents: string;
}

const RANGE = /^([^\s.-][^\s]*?)\.\.([^\s.][^\s]*)$/;

/** Split "A..B" into its ends; anything else is an error saying what is expected. */
export function parseRange(range: string): { from: string; to: string } {
  const m = RANGE.exec(range);
  if (!m || m[1].endsWith(".") || m[2].startsWith(".")) {
    throw new Error(
      `--range expects A..B (two revisions joined by '..', e.g. HEAD~5..HEAD), got '${range}'`,
    );
  }
  return { from: m[1], to: m[2] };
}

/** Run git in `repo`; a failure is an error carrying git's own message and `expected`. */
function git(repo: string, args: string[], expected: string, input?: string): Buffer {
  try {
    return execFileSync("git", ["-C", repo, "-c", "core.quotepath=off", ...args], {
      input,
      maxBuffer: 1 << 30,
      stdio: ["pipe", "pipe", "pipe"],
    });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string; code?: string };
    if (err.code === "ENOENT") throw new Error("git is not installed or not on PATH");
    const said = err.stderr?.toString("utf8").trim() || err.message;
    throw new Error(`git ${args[0]} in ${repo} failed: ${said}; expected ${expected}`);
  }
}

const FIELD = "\x1f";
const RECORD = "\x1e";

/** The commits of `range` in `repo`, oldest first. An empty range is an error. */
export function readCommits(repo: string, range: string): CommitRecord[] {
  const { from, to } = parseRange(range);
  const expected = `--range A..B where A and B name commits of ${repo} (e.g. HEAD~5..HEAD)`;
  const format = `${RECORD}%H${FIELD}%P${FIELD}%an${FIELD}%ae${FIELD}%aI${FIELD}%s${FIELD}%B${FIELD}`;
  const out = git(
    repo,
    [
      "log",
      "--reverse",
      "--no-color",
      "--no-renames",
      "--diff-merges=first-parent",
      "--numstat",
      "-z",
      `--format=${format}`,
      "--end-of-options",
      `${from}..${to}`,
      "--",
    ],
    expected,
  ).toString("utf8");
  const commits = out
    .split(RECORD)
    .filter((r) => r !== "")
    .map(parseRecord);
  if (commits.length === 0) {
    throw new Error(`--range ${range} holds no commits in ${repo} (is ${from} newer than ${to}?)`);
  }
  return commits;
}

function parseRecord(record: string): CommitRecord {
  const fields = record.split(FIELD);
  if (fields.length !== 8) {
    throw new Error(`git log: a commit record has ${fields.length} fields, expected 8`);
  }
  const [sha, parents, author, email, date, subject, message, stats] = fields;
  const files = stats
    .split("\0")
    .map((s) => s.replace(/^\n/, ""))
    .filter((s) => s !== "")
    .map((line): CommitFile => {
      const m = /^(-|\d+)\t(-|\d+)\t([^]*)$/.exec(line);
      if (!m) throw new Error(`git log --numstat of ${sha}: cannot read '${line}'`);
      const count = (s: string) => (s === "-" ? null : Number(s));
      return { path: m[3], insertions: count(m[1]), deletions: count(m[2]) };
    });
  const sum = (k: "insertions" | "deletions") => files.reduce((a, f) => a + (f[k] ?? 0), 0);
  return {
    sha,
    parents: parents.split(" ").filter((p) => p !== ""),
    author,
    email,
    date,
    subject,
    message: message.trim(),
    files,
    insertions: sum("insertions"),
    deletions: sum("deletions"),
  };
}

/**
 * Contents before (first parent) and after the commit of each text file it touched, in the
 * commit's file order; binary files (no line counts) are left out.
 */
export function readFileChanges(repo: string, commit: CommitRecord): FileChange[] {
  const text = commit.files.filter((f) => f.insertions !== null);
  const specs: string[] = [];
  for (const f of text) {
    if (f.path.includes("\n"))
      throw new Error(`${commit.sha}: a path with a line break: ${f.path}`);
    specs.push(
      commit.parents.length ? `${commit.parents[0]}:${f.path}` : "",
      `${commit.sha}:${f.path}`,
    );
  }
  const wanted = specs.filter((s) => s !== "");
  if (wanted.length === 0) return [];
  const out = git(
    repo,
    ["cat-file", "--batch"],
    `objects of commit ${commit.sha}`,
    wanted.join("\n") + "\n",
  );
  const blobs = parseBatch(out, wanted);
  return text.map((f, i) => ({
    path: f.path,
    oldContents: specs[2 * i] === "" ? "" : (blobs.get(specs[2 * i]) ?? ""),
    newContents: blobs.get(specs[2 * i + 1]) ?? "",
  }));
}

/** Blobs of `git cat-file --batch` output by the spec that asked for them (missing ones absent). */
function parseBatch(out: Buffer, specs: readonly string[]): Map<string, string> {
  const blobs = new Map<string, string>();
  let at = 0;
  for (const spec of specs) {
    const nl = out.indexOf(0x0a, at);
    if (nl < 0) throw new Error(`git cat-file: output ends before ${spec}`);
    const header = out.subarray(at, nl).toString("utf8");
    at = nl + 1;
    if (header.endsWith(" missing")) continue;
    const m = /^[0-9a-f]+ (\w+) (\d+)$/.exec(header);
    if (!m) throw new Error(`git cat-file: unexpected header '${header}' for ${spec}`);
    const size = Number(m[2]);
    if (m[1] === "blob") blobs.set(spec, out.subarray(at, at + size).toString("utf8"));
    at += size + 1;
  }
  return blobs;
}
