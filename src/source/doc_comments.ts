/**
 * The doc comment attached to a function, read from the comments a lexer recorded, in the raw
 * form CodeSearchNet-style rows hold it:
 * - a `/** *\/` comment right before the declaration, only blanks, annotations (`@Name(...)`) or
 *   PHP attributes (`#[...]`) between (Java, JavaScript, TypeScript, PHP): its text without the
 *   markers and leading `*`s;
 * - a block of line comments each alone on its line, the last on the line above the declaration
 *   (Go `//`, kept with its markers as CodeSearchNet keeps them; Ruby `#`, markers removed).
 * Python docstrings are the body's first statement instead (src/source/python_functions.ts), cleaned
 * as `inspect.cleandoc` cleans them (`cleandoc` here).
 */
import type { CommentSpan } from "./lexer";

/** Index of the last comment ending at or before `offset`, or -1. */
function lastCommentBefore(comments: readonly CommentSpan[], offset: number): number {
  let lo = 0;
  let hi = comments.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (comments[mid].end <= offset) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

// What may stand between a doc comment and its declaration besides blanks.
const ANNOTATIONS = /@[\w.]+(\([^)]*\))?|#\[[^\]]*\]/g;

/** Text of a `/** *\/` comment without its markers and leading `*`s; blank edge lines dropped. */
function cleanBlockComment(comment: string): string {
  const body = comment.replace(/^\/\*\*+/, "").replace(/\*+\/$/, "");
  const lines = body.split("\n").map((l) => l.replace(/^\s*\*(?!\/) ?/, "").trim());
  while (lines.length && lines[0] === "") lines.shift();
  while (lines.length && lines[lines.length - 1] === "") lines.pop();
  return lines.join("\n");
}

/** The `/** *\/` doc comment of a declaration starting at `start`, cleaned, or null. */
export function blockDocComment(
  src: string,
  comments: readonly CommentSpan[],
  start: number,
): string | null {
  const k = lastCommentBefore(comments, start);
  if (k < 0) return null;
  const { start: from, end } = comments[k];
  if (!src.startsWith("/**", from)) return null;
  if (src.slice(end, start).replace(ANNOTATIONS, "").trim() !== "") return null;
  const doc = cleanBlockComment(src.slice(from, end).replace(/\r\n?/g, "\n"));
  return doc === "" ? null : doc;
}

/** Offset of the start of the line holding `offset`. */
const lineStartOf = (src: string, offset: number): number => src.lastIndexOf("\n", offset - 1) + 1;

/**
 * The line comments (starting with `marker`, each alone on its line, on consecutive lines) that
 * end on the line just above the declaration at `start`, trimmed, in source order; [] if none.
 * `stop` rejects a comment that ends the block (Ruby's `#!` line).
 */
export function lineCommentBlock(
  src: string,
  comments: readonly CommentSpan[],
  start: number,
  marker: string,
  stop: (text: string) => boolean = () => false,
): string[] {
  const out: string[] = [];
  let below = lineStartOf(src, start);
  for (let k = lastCommentBefore(comments, start); k >= 0; k--) {
    const c = comments[k];
    const text = src.slice(c.start, c.end).trim();
    const line = lineStartOf(src, c.start);
    // The comment's line must end right where the line below starts, and hold only the comment.
    const aloneOnLine = src.slice(line, c.start).trim() === "";
    const justAbove = /^[ \t\r]*\n$/.test(src.slice(c.end, below));
    if (!text.startsWith(marker) || stop(text) || !aloneOnLine || !justAbove) break;
    out.unshift(text);
    below = line;
  }
  return out;
}

/** Python's `inspect.cleandoc`: first line stripped, the rest dedented, blank edge lines removed. */
export function cleandoc(doc: string): string {
  const lines = doc.replace(/\t/g, "        ").split("\n");
  const indentOf = (l: string) => /^ */.exec(l)![0].length;
  const rest = lines.slice(1).filter((l) => l.trim() !== "");
  const margin = rest.length ? Math.min(...rest.map(indentOf)) : 0;
  const out = [lines[0].trim(), ...lines.slice(1).map((l) => l.slice(margin).trimEnd())];
  while (out.length && out[0] === "") out.shift();
  while (out.length && out[out.length - 1] === "") out.pop();
  return out.join("\n");
}
