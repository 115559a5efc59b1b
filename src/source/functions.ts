/**
 * The one source scanner: every function of a source file in any of the scanner's languages, with
 * its lines, its code and its doc comment. `narrator data mine` builds dataset rows from it and
 * `narrator explain --file` reads functions with it, so both see the same spans, code and docs.
 */
import { braceFunctions } from "./brace_functions";
import type { SourceLang } from "./languages";
import { pythonFunctions } from "./python_functions";
import { rubyFunctions } from "./ruby_functions";
import type { FunctionSpan } from "./span";

/** A function of a source file with its 1-based lines and its code. */
export interface SourceFunction extends FunctionSpan {
  startLine: number;
  endLine: number;
  /**
   * The code as datasets hold it: from the declaration's first character to its last, the lines
   * after the first dedented by the indentation of the declaration's line.
   */
  text: string;
}

/** How to read a source besides its language. */
export interface ScanOptions {
  /** TypeScript with JSX elements (a `.tsx` file). */
  jsx?: boolean;
}

/** Each function's spans, by the language's scanner. */
function spansOf(source: string, lang: SourceLang, options: ScanOptions): FunctionSpan[] {
  if (lang === "python") return pythonFunctions(source);
  if (lang === "ruby") return rubyFunctions(source);
  return braceFunctions(source, lang, lang === "typescript" && options.jsx === true);
}

/** Offsets at which the source's lines start. */
function lineStarts(source: string): number[] {
  const starts = [0];
  for (let i = source.indexOf("\n"); i >= 0; i = source.indexOf("\n", i + 1)) starts.push(i + 1);
  return starts;
}

/** 1-based line of an offset. */
function lineOf(starts: readonly number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

/** source[start, end) with the lines after the first dedented by up to `indent` blanks. */
function dedented(source: string, start: number, end: number, indent: number): string {
  return source
    .slice(start, end)
    .split("\n")
    .map((line, k) => {
      if (k === 0) return line;
      let n = 0;
      while (n < indent && (line[n] === " " || line[n] === "\t")) n++;
      return line.slice(n);
    })
    .join("\n");
}

/** Every function and method of a source, in source order. */
export function listFunctions(
  source: string,
  lang: SourceLang,
  options: ScanOptions = {},
): SourceFunction[] {
  const starts = lineStarts(source);
  return spansOf(source, lang, options).map((s) => {
    const startLine = lineOf(starts, s.start);
    const indent = /^[ \t]*/.exec(source.slice(starts[startLine - 1], s.start))![0].length;
    return {
      ...s,
      startLine,
      endLine: lineOf(starts, Math.max(s.start, s.end - 1)),
      text: dedented(source, s.start, s.end, indent),
    };
  });
}
