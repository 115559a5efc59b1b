/**
 * Every git query of the project goes through here.
 *
 * - `git()` / `checkoutState()`: best-effort provenance queries; a missing git or checkout is a
 *   null, not an error.
 * - `runGit()`: the strict runner for reading repositories: no shell, `-C repo`, and a failure is
 *   an error carrying git's own message and what was expected.
 * - Commit readers that no commit content can forge. Git output is only ever split where the
 *   bytes cannot come from a commit: the commit list is one hex sha per line; authors, dates and
 *   subjects are NUL-terminated fields (git cannot print a NUL inside them, and the exact count
 *   of fields and every sha are checked, so one more NUL is an error, never a shifted record);
 *   messages are taken from the commit objects themselves, which `git cat-file --batch` frames
 *   with their byte length; per-file changes are `-z` output after a `%H` header checked against
 *   the expected sha.
 * - `catFileBatch()`: the one parser of `git cat-file --batch` output.
 */
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

/** A checkout: its commit and whether the working tree differs from it (nulls outside a checkout). */
export interface CheckoutState {
  gitCommit: string | null;
  gitDirty: boolean | null;
}

/** The checkout as it is now. */
export function checkoutState(): CheckoutState {
  const status = git(["status", "--porcelain"]);
  return {
    gitCommit: git(["rev-parse", "HEAD"]),
    gitDirty: status === null ? null : status !== "",
  };
}

/**
 * Run git in `repo` (no shell) and return its stdout. A failure is an error carrying git's own
 * message and `expected` (what the caller needed from the repository).
 */
export function runGit(
  repo: string,
  args: readonly string[],
  expected: string,
  input?: string,
): Buffer {
  try {
    // Paths unquoted and log text in UTF-8 whatever the repository's own configuration says.
    const config = ["-c", "core.quotepath=off", "-c", "i18n.logOutputEncoding=UTF-8"];
    return execFileSync("git", ["-C", repo, ...config, ...args], {
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

const SHA = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;
// Options every `git log` here needs: no signature check output, no colour codes in the text.
const LOG = ["log", "--no-show-signature", "--no-color"];

/**
 * The shas of the commits `revs` select, in git log's order (`--reverse` in `revs` for oldest
 * first). Put `--end-of-options` before user-given revisions so that none can be an option.
 */
export function listCommits(repo: string, revs: readonly string[], expected: string): string[] {
  const out = runGit(repo, [...LOG, "--format=%H", ...revs], expected).toString("latin1");
  const shas = out.split("\n").filter((l) => l !== "");
  for (const sha of shas) {
    if (!SHA.test(sha)) throw new Error(`git log in ${repo}: '${sha}' is not a commit sha`);
  }
  return shas;
}

/** A commit's own facts, as git reports them. */
export interface CommitInfo {
  sha: string;
  parents: string[];
  /** Author name and email (git's %an and %ae). */
  author: string;
  email: string;
  /** Author date, ISO 8601 with the author's offset (git's %aI). */
  date: string;
  /** git's %s: the first paragraph of the message, its lines joined with spaces. */
  subject: string;
  /** The whole message exactly as the commit stores it (git's %B), decoded to text. */
  message: string;
}

const INFO_FORMAT = "%H%x00%P%x00%an%x00%ae%x00%aI%x00%s%x00";
const INFO_FIELDS = 6;

/** Facts of each commit of `shas` (full shas, e.g. from `listCommits`), in that order. */
export function readCommitInfo(repo: string, shas: readonly string[]): CommitInfo[] {
  if (shas.length === 0) return []; // `git log --stdin` with nothing on stdin would read HEAD
  const expected = `commits ${shas[0].slice(0, 12)}… of ${repo}`;
  const out = runGit(
    repo,
    [...LOG, "--no-walk=unsorted", "--stdin", `--format=${INFO_FORMAT}`],
    expected,
    shas.join("\n") + "\n",
  );
  const fields = splitNul(out);
  const fail = (why: string) => {
    throw new Error(`git log in ${repo}: ${why}; expected ${INFO_FIELDS} fields per commit`);
  };
  // Every record is INFO_FIELDS NUL-terminated fields then a newline: any extra NUL shows here.
  if (fields.length !== shas.length * INFO_FIELDS + 1 || fields[fields.length - 1] !== "\n") {
    fail(`${fields.length - 1} fields for ${shas.length} commits`);
  }
  const objects = catFileBatch(repo, shas, expected);
  return shas.map((sha, k) => {
    const [head, parents, author, email, date, subject] = fields.slice(
      k * INFO_FIELDS,
      (k + 1) * INFO_FIELDS,
    );
    if (head !== (k === 0 ? sha : `\n${sha}`)) fail(`commit ${k + 1} is not ${sha}`);
    const parentShas = parents.split(" ").filter((p) => p !== "");
    if (!parentShas.every((p) => SHA.test(p))) fail(`bad parents '${parents}' of ${sha}`);
    const object = objects.get(sha);
    if (object?.type !== "commit") throw new Error(`git cat-file in ${repo}: ${sha} is no commit`);
    return {
      sha,
      parents: parentShas,
      author,
      email,
      date,
      subject,
      message: commitMessage(object.data),
    };
  });
}

/** NUL-terminated fields of `out`, each decoded on its own (the text after the last NUL last). */
function splitNul(out: Buffer): string[] {
  const fields: string[] = [];
  let at = 0;
  for (let nul = out.indexOf(0, at); nul >= 0; nul = out.indexOf(0, at)) {
    fields.push(out.subarray(at, nul).toString("utf8"));
    at = nul + 1;
  }
  fields.push(out.subarray(at).toString("utf8"));
  return fields;
}

/** The message of a raw commit object, decoded from its `encoding` header as git's %B does. */
function commitMessage(object: Buffer): string {
  const end = object.indexOf("\n\n");
  if (end < 0) return "";
  const headers = object.subarray(0, end).toString("latin1").split("\n");
  const encoding = headers.find((h) => h.startsWith("encoding "))?.slice("encoding ".length);
  const body = object.subarray(end + 2);
  if (encoding && !/^utf-?8$/i.test(encoding)) {
    try {
      return new TextDecoder(encoding).decode(body);
    } catch {
      // an encoding this runtime does not know: read it as UTF-8, as git does for unknown ones
    }
  }
  return body.toString("utf8");
}

/** One file a commit changed, with git's line counts (null for binary files). */
export interface NumstatEntry {
  path: string;
  insertions: number | null;
  deletions: number | null;
}

/** One file a commit changed, as `git log --raw` reports it. */
export interface RawEntry {
  oldMode: string;
  newMode: string;
  oldBlob: string;
  newBlob: string;
  /** A, M, D, T... (no renames: they show as D and A). */
  status: string;
  path: string;
}

/**
 * Per commit of `shas`, in that order, the files it changed with their line counts (renames as
 * delete + add, merges against their first parent).
 */
export function readNumstat(repo: string, shas: readonly string[]): NumstatEntry[][] {
  const args = ["--numstat", "--diff-merges=first-parent"];
  return diffEntries(repo, shas, args, 1).map((entries, k) =>
    entries.map(([line]) => {
      const m = /^(-|\d+)\t(-|\d+)\t([^]*)$/.exec(line);
      if (!m) throw new Error(`git log --numstat of ${shas[k]}: cannot read '${line}'`);
      const count = (s: string) => (s === "-" ? null : Number(s));
      return { path: m[3], insertions: count(m[1]), deletions: count(m[2]) };
    }),
  );
}

/** Per commit of `shas`, in that order, the files it changed (merges: none). */
export function readRawChanges(repo: string, shas: readonly string[]): RawEntry[][] {
  const args = ["--raw", "--no-abbrev", "--diff-merges=off"];
  return diffEntries(repo, shas, args, 2).map((entries, k) =>
    entries.map(([line, path]) => {
      const m = /^:(\d{6}) (\d{6}) ([0-9a-f]{40,64}) ([0-9a-f]{40,64}) ([A-Z])\d*$/.exec(line);
      if (!m) throw new Error(`git log --raw of ${shas[k]}: cannot read '${line}'`);
      const [, oldMode, newMode, oldBlob, newBlob, status] = m;
      return { oldMode, newMode, oldBlob, newBlob, status, path };
    }),
  );
}

/**
 * `git log -z` diff output of each commit of `shas`, as groups of `size` NUL-terminated tokens.
 * A commit starts at the token that is exactly its sha (`%H`); diff tokens never are (numstat
 * lines hold tabs, raw lines start with ':', and a raw path is taken by position, not by look).
 */
function diffEntries(
  repo: string,
  shas: readonly string[],
  diffArgs: readonly string[],
  size: number,
): string[][][] {
  if (shas.length === 0) return [];
  const out = runGit(
    repo,
    [...LOG, "--no-walk=unsorted", "--stdin", "-z", "--no-renames", ...diffArgs, "--format=%H"],
    `changes of commits ${shas[0].slice(0, 12)}… of ${repo}`,
    shas.join("\n") + "\n",
  );
  const tokens = splitNul(out);
  if (tokens.pop() !== "") throw new Error(`git log in ${repo}: output does not end with NUL`);
  const groups: string[][][] = [];
  for (let i = 0; i < tokens.length;) {
    const first = tokens[i].replace(/^\n/, "");
    if (first === shas[groups.length]) {
      groups.push([]);
      i++;
    } else if (groups.length === 0 || i + size > tokens.length) {
      throw new Error(`git log in ${repo}: unexpected '${first.slice(0, 80)}' in diff output`);
    } else {
      groups[groups.length - 1].push([first, ...tokens.slice(i + 1, i + size)]);
      i += size;
    }
  }
  if (groups.length !== shas.length) {
    throw new Error(`git log in ${repo}: changes of ${groups.length} of ${shas.length} commits`);
  }
  return groups;
}

/** An object read by `git cat-file --batch`. */
export interface GitObject {
  type: string;
  data: Buffer;
}

/**
 * The objects that `specs` name (object ids or `rev:path`, one per line, so no line breaks), read
 * in one `git cat-file --batch`, by spec; missing or ambiguous ones are absent.
 */
export function catFileBatch(
  repo: string,
  specs: readonly string[],
  expected: string,
): Map<string, GitObject> {
  const objects = new Map<string, GitObject>();
  const unique = [...new Set(specs)];
  if (unique.length === 0) return objects;
  for (const spec of unique) {
    // git reads one name per line and drops a CR before the line feed
    if (/\n|\r$/.test(spec)) throw new Error(`git cat-file: a line break in '${spec}'`);
  }
  const out = runGit(repo, ["cat-file", "--batch"], expected, unique.join("\n") + "\n");
  let at = 0;
  for (const spec of unique) {
    const nl = out.indexOf(0x0a, at);
    if (nl < 0) throw new Error(`git cat-file in ${repo}: output ends before ${spec}`);
    const header = out.subarray(at, nl).toString("utf8");
    at = nl + 1;
    if (header === `${spec} missing` || header === `${spec} ambiguous`) continue;
    const m = /^[0-9a-f]{40,64} (\w+) (\d+)$/.exec(header);
    const end = m ? at + Number(m[2]) : -1;
    if (!m || end >= out.length || out[end] !== 0x0a) {
      throw new Error(`git cat-file in ${repo}: unexpected header '${header}' for ${spec}`);
    }
    objects.set(spec, { type: m[1], data: out.subarray(at, end) });
    at = end + 1;
  }
  if (at !== out.length) throw new Error(`git cat-file in ${repo}: output after the last object`);
  return objects;
}
