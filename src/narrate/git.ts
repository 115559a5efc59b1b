/**
 * Commits of a range read with the `git` command line (no shell): sha, parents, author, author
 * date, subject, message, and per file the lines added and deleted (`git log --numstat`, renames
 * shown as delete + add, merges diffed against their first parent); and the contents of each
 * changed file before and after a commit (`git cat-file --batch`), from which the commit's model
 * input is built as training built it. All reading goes through src/util/git.ts, whose readers no
 * commit message, author or path can make report another commit.
 */
import {
  catFileBatch,
  listCommits,
  readCommitInfo,
  readNumstat,
  type CommitInfo,
  type NumstatEntry,
} from "../util/git";

/** One file a commit touched, with git's line counts (null for binary files). */
export type CommitFile = NumstatEntry;

/** A commit of a range, as git reports it. */
export interface CommitRecord extends CommitInfo {
  /** The whole message (subject, blank line, body), without surrounding white space. */
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

/** The commits of `range` in `repo`, oldest first. An empty range is an error. */
export function readCommits(repo: string, range: string): CommitRecord[] {
  const { from, to } = parseRange(range);
  const expected = `--range A..B where A and B name commits of ${repo} (e.g. HEAD~5..HEAD)`;
  const revs = ["--reverse", "--end-of-options", `${from}..${to}`, "--"];
  const shas = listCommits(repo, revs, expected);
  if (shas.length === 0) {
    throw new Error(`--range ${range} holds no commits in ${repo} (is ${from} newer than ${to}?)`);
  }
  const stats = readNumstat(repo, shas);
  return readCommitInfo(repo, shas).map((info, k) => {
    const files: CommitFile[] = stats[k];
    const sum = (key: "insertions" | "deletions") => files.reduce((a, f) => a + (f[key] ?? 0), 0);
    return {
      ...info,
      message: info.message.trim(),
      files,
      insertions: sum("insertions"),
      deletions: sum("deletions"),
    };
  });
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
  const objects = catFileBatch(repo, wanted, `objects of commit ${commit.sha}`);
  const contents = (spec: string) => {
    const object = objects.get(spec);
    return object?.type === "blob" ? object.data.toString("utf8") : "";
  };
  return text.map((f, i) => ({
    path: f.path,
    oldContents: specs[2 * i] === "" ? "" : contents(specs[2 * i]),
    newContents: contents(specs[2 * i + 1]),
  }));
}
