/**
 * Functions of Python source by indentation. The source is read as logical lines (a statement
 * with its bracketed and backslash continuations, strings spanning lines included); blank and
 * comment-only lines do not count. A `def` ends before the next logical line indented no deeper
 * than the `def` itself. Decorators are not part of the span. The docstring is the body's first
 * logical line when it is a string literal and nothing else (plain, `r` or `u`, as `ast` reads it).
 */
import { cleandoc } from "./doc_comments";
import { qualify, type FunctionSpan } from "./span";

interface LogicalLine {
  /** Offset of the first code character. */
  start: number;
  /** Offset one past the last character of its last physical line (trailing spaces dropped). */
  end: number;
  /** Column of the first code character (a tab advances to the next multiple of 8). */
  indent: number;
}

const STRING_START = /([rRuUbBfF]{0,2})("""|'''|"|')/y;

/** The logical lines of a Python source. */
function logicalLines(src: string): LogicalLine[] {
  const lines: LogicalLine[] = [];
  let i = 0;
  while (i < src.length) {
    // At the start of a physical line that starts a statement.
    let col = 0;
    while (i < src.length && (src[i] === " " || src[i] === "\t" || src[i] === "\f")) {
      col = src[i] === "\t" ? (Math.floor(col / 8) + 1) * 8 : col + 1;
      i++;
    }
    if (i >= src.length) break;
    if (src[i] === "\n" || src[i] === "\r" || src[i] === "#") {
      const nl = src.indexOf("\n", i);
      i = nl < 0 ? src.length : nl + 1;
      continue;
    }
    const start = i;
    let depth = 0;
    let lastCode = i;
    while (i < src.length) {
      const c = src[i];
      STRING_START.lastIndex = i;
      const str = /[\w]/.test(src[i - 1] ?? "") ? null : STRING_START.exec(src);
      if (str) {
        i = stringEnd(src, i + str[0].length, str[2]);
        lastCode = i;
        continue;
      }
      if (c === "#") {
        const nl = src.indexOf("\n", i);
        i = nl < 0 ? src.length : nl;
        continue;
      }
      if (c === "\\" && src[i + 1] === "\n") {
        i += 2;
        continue;
      }
      if (c === "\n") {
        i++;
        if (depth === 0) break;
        continue;
      }
      if ("([{".includes(c)) depth++;
      else if (")]}".includes(c)) depth = Math.max(0, depth - 1);
      if (!/\s/.test(c)) lastCode = i + 1;
      i++;
    }
    // The span keeps a trailing comment of its last line.
    const lineEnd = src.indexOf("\n", lastCode);
    const end = (lineEnd < 0 ? src : src.slice(0, lineEnd)).trimEnd().length;
    lines.push({ start, end: Math.max(end, lastCode), indent: col });
  }
  return lines;
}

/** Offset just past the closing quote of a string whose body starts at i. */
function stringEnd(src: string, i: number, quote: string): number {
  for (; i < src.length; i++) {
    if (src[i] === "\\") i++;
    else if (src.startsWith(quote, i)) return i + quote.length;
    else if (src[i] === "\n" && quote.length === 1) return i;
  }
  return src.length;
}

/** The docstring of a body whose first logical line is `line`, cleaned, or null. */
function docstring(src: string, line: LogicalLine): string | null {
  STRING_START.lastIndex = line.start;
  const m = STRING_START.exec(src);
  if (!m || !/^[rRuU]?$/.test(m[1])) return null;
  const bodyStart = line.start + m[0].length;
  const end = stringEnd(src, bodyStart, m[2]);
  const rest = src.slice(end, line.end).trim();
  if (rest !== "" && !rest.startsWith("#")) return null;
  const doc = cleandoc(src.slice(bodyStart, end - m[2].length).replace(/\r\n?/g, "\n"));
  return doc === "" ? null : doc;
}

const DEF = /(?:async[ \t]+)?def[ \t]+([\p{L}_][\p{L}\p{N}_]*)/uy;
const CLASS = /class[ \t]+([\p{L}_][\p{L}\p{N}_]*)/uy;

/** Every function and method of a Python source, in source order. */
export function pythonFunctions(src: string): FunctionSpan[] {
  const lines = logicalLines(src);
  const spans: FunctionSpan[] = [];
  const scopes: { indent: number; name: string; isClass: boolean }[] = [];
  lines.forEach((line, k) => {
    while (scopes.length && scopes[scopes.length - 1].indent >= line.indent) scopes.pop();
    DEF.lastIndex = CLASS.lastIndex = line.start;
    const def = DEF.exec(src);
    const cls = def ? null : CLASS.exec(src);
    const name = (def ?? cls)?.[1];
    if (!name) return;
    if (def) {
      let last = k;
      while (last + 1 < lines.length && lines[last + 1].indent > line.indent) last++;
      const parent = scopes[scopes.length - 1];
      spans.push({
        name,
        qualifiedName: qualify(
          scopes.map((s) => s.name),
          name,
        ),
        owner: parent?.isClass ? parent.name : null,
        start: line.start,
        end: lines[last].end,
        doc: last > k ? docstring(src, lines[k + 1]) : null,
      });
    }
    scopes.push({ indent: line.indent, name, isClass: !def });
  });
  return spans;
}
