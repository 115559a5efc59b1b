/**
 * CommitPackFT preparation: (old code, new code) -> commit message examples. Stages, each recorded
 * in the funnel: target_nonempty (the cleaned message), changed (old and new contents differ),
 * dedup_change (the same old -> new change seen before, e.g. a cherry-pick: first kept),
 * input_tokens, target_tokens; then a seeded 70/10/20 split per language.
 */
import { createTwoFilesPatch, FILE_HEADERS_ONLY } from "diff";
import { dedupStage } from "./dedup";
import type { Example, Split } from "./example";
import type { FunnelTracker } from "./funnel";
import type { Lang } from "./langs";
import { randomSplit, rngFor } from "./sampling";
import type { CommitPackFtRow } from "./schemas";
import { commitPackFtRowSchema } from "./schemas";
import type { RowSpec, SourcedRow } from "./sources";
import type { CountTokens, TokenRange } from "./tokens";
import { inRange } from "./tokens";

/** What the model reads for a commit: the full old and new files, their unified diff, or both. */
export const COMMIT_INPUTS = ["files", "diff", "both"] as const;
export type CommitInput = (typeof COMMIT_INPUTS)[number];

/** Settings for CommitPackFT; token ranges are inclusive, split ratios are train/val/test. */
export interface CommitPackFtSettings {
  input: CommitInput;
  inputTokens: TokenRange;
  targetTokens: TokenRange;
  splitRatios: readonly [number, number, number];
}

/** Defaults: the diff as input (the full files run to thousands of tokens), the study's 70/10/20 split. */
export const DEFAULT_COMMITPACKFT: CommitPackFtSettings = {
  input: "diff",
  inputTokens: [1, 4096],
  targetTokens: [3, 256],
  splitRatios: [0.7, 0.1, 0.2],
};

/** How CommitPackFT rows are read: the published schema; `lang` holds a display name ("JavaScript"). */
export const commitPackFtSpec: RowSpec<CommitPackFtRow> = {
  schema: commitPackFtRowSchema,
  langField: "lang",
};

// Lines that carry metadata rather than a description of the change.
const TRAILER =
  /^\s*(signed-off-by|co-authored-by|reviewed-by|acked-by|tested-by|reported-by|suggested-by|helped-by|cc|change-id|reviewed-on|git-svn-id|pr-url)\s*:/i;
const CHERRY_PICK = /^\s*\(cherry picked from commit [0-9a-f]+\)\s*$/i;
const ISSUE_REF_ONLY =
  /^\s*((fix(e[sd])?|close[sd]?|resolve[sd]?|refs?|see)\s*:?\s*)?((#|gh-)\d+|[\w.-]+\/[\w.-]+#\d+)([\s,]+(and\s+)?((#|gh-)\d+|[\w.-]+\/[\w.-]+#\d+))*\s*\.?\s*$/i;

/**
 * The commit's target text: the subject, plus the body (the message after its first line) when it
 * has one, without trailers (Signed-off-by, Co-authored-by, ...), cherry-pick notes or lines that
 * only reference issues ("Fixes #12"). The `subject` field is used as given: CommitPackFT's is
 * already stripped of prefixes like "cmd:".
 */
export function commitTarget(subject: string, message: string): string {
  const body = message
    .replace(/\r\n?/g, "\n")
    .split("\n")
    .slice(1)
    .filter((l) => !TRAILER.test(l) && !CHERRY_PICK.test(l) && !ISSUE_REF_ONLY.test(l))
    .map((l) => l.trimEnd())
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
  const head = subject.trim();
  return body && head ? `${head}\n\n${body}` : head;
}

/** Unified diff of the old and new file, 3 lines of context, file headers only (no Index/=== lines). */
export function commitDiff(
  oldFile: string,
  newFile: string,
  oldContents: string,
  newContents: string,
): string {
  return createTwoFilesPatch(oldFile, newFile, oldContents, newContents, undefined, undefined, {
    context: 3,
    headerOptions: FILE_HEADERS_ONLY,
  });
}

function withNewline(text: string): string {
  return text.endsWith("\n") ? text : text + "\n";
}

/** The model input for a commit in the chosen form. */
export function commitModelInput(row: CommitPackFtRow, mode: CommitInput): string {
  const files = `Before (${row.old_file}):\n${withNewline(row.old_contents)}\nAfter (${row.new_file}):\n${withNewline(row.new_contents)}`;
  if (mode === "files") return files;
  const diff = commitDiff(row.old_file, row.new_file, row.old_contents, row.new_contents);
  return mode === "diff" ? diff : `${files}\nDiff:\n${diff}`;
}

/** Turn one language's validated rows into filtered examples, split 70/10/20 by the seed, recording every stage. */
export function prepareCommitPackFt(
  rows: readonly SourcedRow<CommitPackFtRow>[],
  lang: Lang,
  settings: CommitPackFtSettings,
  countTokens: CountTokens,
  funnel: FunnelTracker,
  seed: number,
): Record<Split, Example[]> {
  let kept = rows.map(({ row }) => ({ row, target: commitTarget(row.subject, row.message) }));
  kept = funnel.filter("target_nonempty", kept, (r) => r.target !== "");
  kept = funnel.filter("changed", kept, (r) => r.row.old_contents !== r.row.new_contents);
  kept = dedupStage(
    funnel,
    "dedup_change",
    kept,
    (r) => `${r.row.old_contents}\u0000${r.row.new_contents}`,
  );
  let examples: Example[] = kept.map(({ row, target }) => ({
    id: `commitpackft/${lang}/${row.commit}:${row.new_file}`,
    task: "commitpackft",
    language: lang,
    split: "train",
    input: commitModelInput(row, settings.input),
    target,
    meta: {
      commit: row.commit,
      repo: row.repos,
      oldFile: row.old_file,
      newFile: row.new_file,
      ...(row.license ? { license: row.license } : {}),
    },
  }));
  examples = funnel.filter("input_tokens", examples, (e) =>
    inRange(countTokens(e.input), settings.inputTokens),
  );
  examples = funnel.filter("target_tokens", examples, (e) =>
    inRange(countTokens(e.target), settings.targetTokens),
  );
  const pools = randomSplit(
    examples,
    settings.splitRatios,
    rngFor(seed, `split/commitpackft/${lang}`),
  );
  for (const split of ["train", "val", "test"] as const)
    for (const e of pools[split]) e.split = split;
  return pools;
}
