/**
 * `explain` results as text, Markdown or JSON. Every format shows each explanation's notes
 * (truncation above all), never drops one, and a long change's narrations file by file. JSON shapes:
 * - `--git`: {"commits": [{"sha", "subject", "explanation", "author", "email", "date", "language",
 *   "files": [{"path", "insertions", "deletions"}], "insertions", "deletions", "notes",
 *   "inputTokens", "keptInputTokens", "fileNarrations"}], "digest", "provenance"};
 * - `--file`: {"kind": "file", "file", "function", "qualifiedName", "language", "startLine",
 *   "endLine", "explanation", "notes", "inputTokens", "keptInputTokens", "provenance"} (function
 *   and qualifiedName null for a whole file);
 * - `--diff`: {"kind": "diff", "files", "language", "explanation", "notes", "inputTokens",
 *   "keptInputTokens", "fileNarrations", "provenance"};
 * where "provenance" is {"model", "adapter", "prompt", "decoding"} (what wrote the text) and
 * "fileNarrations" is [{"path", "explanation", "notes", "inputTokens", "keptInputTokens"}] (empty
 * unless the change was narrated file by file, see src/narrate/change.ts).
 */
import { SOURCE_LANG_NAMES as LANG_NAMES } from "../source/languages";
import type { FileNarration } from "./change";
import { int, plural } from "./digest";
import type {
  CommitExplanation,
  DiffExplanation,
  Explanation,
  FileExplanation,
  RangeExplanation,
} from "./explain";
import type { Provenance } from "./narrator";

/** Output formats of `explain`. */
export const EXPLAIN_FORMATS = ["text", "markdown", "json"] as const;
export type ExplainFormat = (typeof EXPLAIN_FORMATS)[number];

/** "3 files, +10/-2". */
export function changeSize(c: Pick<CommitExplanation, "files" | "insertions" | "deletions">) {
  return `${plural(c.files.length, "file")}, +${int(c.insertions)}/-${int(c.deletions)}`;
}

/** A line saying the text is machine-written and by what. */
export function provenanceLine(p: Provenance): string {
  const by = p.adapter ? `${p.model} with adapter ${p.adapter}` : p.model;
  return `Explanations written by a language model (${by}; ${p.prompt} prompt, ${p.decoding}); check them against the code.`;
}

function subjectOf(e: FileExplanation): string {
  const what = e.function
    ? `${e.qualifiedName} in ${e.file} (lines ${e.startLine}-${e.endLine})`
    : `${e.file} (whole file, ${int(e.endLine)} lines)`;
  return `${what}, ${LANG_NAMES[e.language]}`;
}

const isRange = (e: Explanation): e is RangeExplanation => "commits" in e;

/** A long change's narrations file by file, as "- path: text" lines (notes after each). */
function fileLines(files: readonly FileNarration[], indent: string): string[] {
  return files.flatMap((f) => [
    `${indent}- ${f.path}: ${f.explanation === "" ? "(no text)" : f.explanation.replace(/\n/g, " ")}`,
    ...f.notes.map((n) => `${indent}  note: ${n}`),
  ]);
}

function text(e: Explanation, p: Provenance): string {
  const notes = (n: string[], indent = "") => n.map((x) => `${indent}note: ${x}`);
  const body = (x: string, indent = "") =>
    (x === "" ? "(no text)" : x)
      .split("\n")
      .map((l) => indent + l)
      .join("\n");
  const out: string[] = [];
  if (isRange(e)) {
    for (const c of e.commits) {
      out.push(
        `${c.sha.slice(0, 7)}  ${c.subject}`,
        `  ${c.author}, ${c.date}, ${changeSize(c)}`,
        ...notes(c.notes, "  "),
        body(c.explanation, "  "),
        ...fileLines(c.fileNarrations, "  "),
        "",
      );
    }
    out.push(`Digest: ${e.digest}`);
  } else if (e.kind === "file") {
    out.push(subjectOf(e), ...notes(e.notes), body(e.explanation));
  } else {
    out.push(
      `Change to ${e.files.join(", ")}`,
      ...notes(e.notes),
      body(e.explanation),
      ...fileLines(e.fileNarrations, ""),
    );
  }
  out.push("", provenanceLine(p));
  return out.join("\n");
}

/** Text made safe for Markdown: punctuation that would format or inject markup is escaped. */
export function markdownText(s: string): string {
  return s
    .replace(/[\\`*_[\]<>|~&]/g, (c) => `\\${c}`)
    .replace(/^(\s*)([#>+=-]|\d+[.)])/gm, (_, sp: string, mark: string) => `${sp}\\${mark}`);
}

function markdown(e: Explanation, p: Provenance): string {
  // One quoted paragraph per note (consecutive quoted lines would merge into one).
  const notes = (n: string[]) =>
    n.length ? [n.map((x) => `> **Note:** ${markdownText(x)}`).join("\n>\n")] : [];
  const body = (x: string) => (x === "" ? "*(no text)*" : markdownText(x));
  const files = (fs: readonly FileNarration[]) =>
    fs.length
      ? [
          "",
          "File by file:",
          "",
          ...fs.map(
            (f) =>
              `- \`${f.path.replace(/`/g, "'")}\`: ${body(f.explanation.replace(/\n/g, " "))}` +
              f.notes.map((n) => ` (note: ${markdownText(n)})`).join(""),
          ),
        ]
      : [];
  const out: string[] = [];
  if (isRange(e)) {
    out.push("# Commits", "");
    for (const c of e.commits) {
      out.push(
        `## ${c.sha.slice(0, 7)} ${markdownText(c.subject)}`,
        "",
        `*${markdownText(c.author)}, ${c.date}, ${changeSize(c)}*`,
        "",
        ...(c.notes.length ? [...notes(c.notes), ""] : []),
        body(c.explanation),
        ...files(c.fileNarrations),
        "",
        ...c.files.map(
          (f) =>
            `- ${markdownText(f.path)} ${f.insertions === null ? "(binary)" : `(+${int(f.insertions)}/-${int(f.deletions ?? 0)})`}`,
        ),
        "",
      );
    }
    out.push("## Digest", "", markdownText(e.digest));
  } else {
    out.push(
      `# ${markdownText(e.kind === "file" ? subjectOf(e) : `Change to ${e.files.join(", ")}`)}`,
      "",
      ...(e.notes.length ? [...notes(e.notes), ""] : []),
      body(e.explanation),
      ...(e.kind === "diff" ? files(e.fileNarrations) : []),
    );
  }
  out.push("", `*${markdownText(provenanceLine(p))}*`);
  return out.join("\n");
}

function commitJson(c: CommitExplanation) {
  return {
    sha: c.sha,
    subject: c.subject,
    explanation: c.explanation,
    author: c.author,
    email: c.email,
    date: c.date,
    language: c.language,
    files: c.files,
    insertions: c.insertions,
    deletions: c.deletions,
    notes: c.notes,
    inputTokens: c.inputTokens,
    keptInputTokens: c.keptInputTokens,
    fileNarrations: c.fileNarrations,
  };
}

/** The text, notes and token counts of a file's or a diff's explanation, in JSON order. */
function narrationJson(e: FileExplanation | DiffExplanation) {
  return {
    explanation: e.explanation,
    notes: e.notes,
    inputTokens: e.inputTokens,
    keptInputTokens: e.keptInputTokens,
  };
}

function json(e: Explanation, provenance: Provenance): unknown {
  if (isRange(e)) return { commits: e.commits.map(commitJson), digest: e.digest, provenance };
  if (e.kind === "file") {
    const f: FileExplanation = e;
    return {
      kind: f.kind,
      file: f.file,
      function: f.function,
      qualifiedName: f.qualifiedName,
      language: f.language,
      startLine: f.startLine,
      endLine: f.endLine,
      ...narrationJson(f),
      provenance,
    };
  }
  const d: DiffExplanation = e;
  return {
    kind: d.kind,
    files: d.files,
    language: d.language,
    ...narrationJson(d),
    fileNarrations: d.fileNarrations,
    provenance,
  };
}

/** Render an explanation in a format (text and Markdown end with the provenance line). */
export function renderExplanation(e: Explanation, format: ExplainFormat, p: Provenance): string {
  if (format === "json") return JSON.stringify(json(e, p), null, 2);
  return format === "markdown" ? markdown(e, p) : text(e, p);
}
