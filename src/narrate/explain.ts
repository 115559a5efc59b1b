/**
 * `explain`: a narrator applied to a function or file, a diff, or each commit of a git range
 * (with the range's digest). Results are plain data; src/narrate/format.ts renders them.
 */
import type { SourceLang as Lang } from "../source/languages";
import { narrateChange, type ChangeNarration, type FileNarration } from "./change";
import { rangeDigest } from "./digest";
import { readCommits, readFileChanges, type CommitFile, type CommitRecord } from "./git";
import { commitRequest, diffRequest, fileRequest, type FileSubject } from "./inputs";
import type { Narration, Narrator } from "./narrator";

/** What every explanation carries besides its text. */
type Explained = Pick<Narration, "explanation" | "notes" | "inputTokens" | "keptInputTokens">;

/** `--file`: a function or a whole file. */
export interface FileExplanation extends FileSubject, Explained {
  kind: "file";
}

/** A change's explanation: with its files' own narrations when it was too long to read at once. */
interface ChangeExplained extends Explained {
  fileNarrations: FileNarration[];
}

/** `--diff`: a unified diff. */
export interface DiffExplanation extends ChangeExplained {
  kind: "diff";
  files: string[];
  language: Lang;
}

/** One commit of `--git`. */
export interface CommitExplanation extends ChangeExplained {
  sha: string;
  subject: string;
  author: string;
  email: string;
  date: string;
  language: Lang;
  files: CommitFile[];
  insertions: number;
  deletions: number;
}

/** `--git`: the commits of a range, oldest first, and the range's digest. */
export interface RangeExplanation {
  commits: CommitExplanation[];
  digest: string;
}

/** Any result of `explain`. */
export type Explanation = FileExplanation | DiffExplanation | RangeExplanation;

const explained = (n: Narration, notes: (string | null)[] = []): Explained => ({
  explanation: n.explanation,
  notes: [...notes.filter((x): x is string => x !== null), ...n.notes],
  inputTokens: n.inputTokens,
  keptInputTokens: n.keptInputTokens,
});

const changeExplained = (n: ChangeNarration, notes: (string | null)[]): ChangeExplained => ({
  ...explained(n, notes),
  fileNarrations: n.files,
});

/** Explain `PATH[:function]`. */
export function explainFile(narrator: Narrator, spec: string, lang?: Lang): FileExplanation {
  const { request, subject } = fileRequest(spec, lang);
  return { kind: "file", ...subject, ...explained(narrator.narrate(request)) };
}

/** Explain a unified diff as a commit; `fallback` is the language when no file names one. */
export function explainDiff(narrator: Narrator, diff: string, fallback: Lang): DiffExplanation {
  const change = diffRequest(diff, narrator.settings.commitInput, fallback);
  return {
    kind: "diff",
    files: change.files,
    language: change.request.language,
    ...changeExplained(narrateChange(narrator, change, narrator.options.maxFiles), [change.note]),
  };
}

/** Explain one commit of a repository. */
export function explainCommit(
  narrator: Narrator,
  repo: string,
  commit: CommitRecord,
  fallback: Lang,
): CommitExplanation {
  const changes = readFileChanges(repo, commit).filter((c) => c.oldContents !== c.newContents);
  const change = commitRequest(commit, changes, narrator.settings.commitInput, repo, fallback);
  const empty =
    changes.length === 0 ? "the commit changes no text file: the model read no change" : null;
  return {
    sha: commit.sha,
    subject: commit.subject,
    author: commit.author,
    email: commit.email,
    date: commit.date,
    language: change.request.language,
    files: commit.files,
    insertions: commit.insertions,
    deletions: commit.deletions,
    ...changeExplained(narrateChange(narrator, change, narrator.options.maxFiles), [
      change.note,
      empty,
    ]),
  };
}

/** Explain commits (oldest first), then digest them. */
export function explainCommits(
  narrator: Narrator,
  repo: string,
  commits: readonly CommitRecord[],
  fallback: Lang,
  onCommit: (done: number, total: number, c: CommitRecord) => void = () => undefined,
): RangeExplanation {
  const explainedCommits = commits.map((c, i) => {
    const e = explainCommit(narrator, repo, c, fallback);
    onCommit(i + 1, commits.length, c);
    return e;
  });
  return { commits: explainedCommits, digest: rangeDigest(commits) };
}

/** Explain each commit of `range` in `repo`, then digest the range. */
export function explainRange(
  narrator: Narrator,
  repo: string,
  range: string,
  fallback: Lang,
  onCommit?: (done: number, total: number, c: CommitRecord) => void,
): RangeExplanation {
  return explainCommits(narrator, repo, readCommits(repo, range), fallback, onCommit);
}
