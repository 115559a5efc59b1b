/**
 * The CommitPackFT recipe's subject filters, as `narrator data mine` applies them to a commit
 * that modifies one source file: bot authors, WIP and merge subjects, references (`#`, shas,
 * version numbers, issue numbers), subjects naming the file, no leading imperative verb from the
 * recipe's list, under five words.
 */
import * as path from "node:path";

/** Imperative verbs a CommitPackFT subject may start with. */
export const COMMIT_VERBS: ReadonlySet<string> = new Set([
  "Add", "Adjust", "Allow", "Apply", "Avoid", "Bump", "Call", "Change", "Check", "Clarify", "Clean",
  "Clear", "Combine", "Convert", "Copy", "Correct", "Create", "Define", "Delete", "Deprecate",
  "Disable", "Document", "Drop", "Enable", "Enforce", "Ensure", "Expand", "Expose", "Extend", "Fill",
  "Extract", "Fix", "Format", "Generate", "Handle", "Hide", "Ignore", "Implement", "Improve",
  "Include", "Increase", "Initialize", "Inline", "Introduce", "Keep", "Let", "Limit", "Load", "Log",
  "Make", "Mark", "Move", "Normalize", "Optimize", "Override", "Pass", "Prefer", "Prevent", "Print",
  "Raise", "Read", "Reduce", "Refactor", "Reformat", "Register", "Reorder", "Reorganize", "Remove",
  "Rename", "Replace", "Require", "Reset", "Resolve", "Restore", "Restrict", "Return", "Reuse",
  "Revert", "Rewrite", "Run", "Save", "Send", "Set", "Show", "Simplify", "Skip", "Sort", "Split",
  "Store", "Strip", "Support", "Switch", "Throw", "Tidy", "Track", "Trim", "Tweak", "Update",
  "Upgrade", "Use", "Validate", "Verify", "Wrap", "Write",
]); // prettier-ignore

const BOT_AUTHOR =
  /\[bot\]|\bbot\b|dependabot|renovate|greenkeeper|snyk|github-actions|pre-commit-ci/i;

/** A commit subject without a leading `area:` or `type(scope):` prefix. */
export function stripSubjectPrefix(subject: string): string {
  return subject.replace(/^[\w./-]+(?:\([^)]*\))?!?:\s+/, "");
}

/**
 * Which CommitPackFT subject filter drops a commit, or undefined when it passes. `subject` is the
 * prefix-stripped first line; `file` is the path the commit modifies.
 */
export function subjectFilter(subject: string, author: string, file: string): string | undefined {
  if (BOT_AUTHOR.test(author)) return "bot author";
  if (/\bwip\b/i.test(subject)) return "WIP";
  if (/\bMerge\b/.test(subject)) return "Merge";
  if (subject.includes("#")) return "has '#'";
  if (/\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,40}\b/.test(subject)) return "sha-like hex";
  if (/\bv?\d+\.\d+(\.\d+)*\b/.test(subject)) return "version number";
  if (/\b(issues?|bugs?|tickets?|pr|pull request|gh)[ -]?\d+/i.test(subject)) return "issue N";
  if (subject.toLowerCase().includes(path.basename(file).toLowerCase())) return "names the file";
  const first = /^\S+/.exec(subject)?.[0] ?? "";
  if (!COMMIT_VERBS.has(first)) return "no leading verb";
  if (subject.split(/\s+/).length < 5) return "under 5 words";
  return undefined;
}
