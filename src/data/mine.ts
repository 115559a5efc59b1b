/**
 * `narrator data mine`: build CodeSearchNet-style and CommitPackFT-style datasets from local git
 * repositories, in the published schemas (see shared/data/README.md), for machines that cannot
 * reach the Hugging Face hub.
 *
 * CodeSearchNet rows are functions with a docstring at HEAD; CommitPackFT rows are non-merge
 * commits that modify exactly one source file, kept only when the subject passes the CommitPackFT
 * recipe's filters. Both return a funnel: how many candidates each filter dropped.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { writeFileAtomic } from "../util/fs";
import {
  catFileBatch,
  listCommits,
  readCommitInfo,
  readRawChanges,
  runGit,
  type RawEntry,
} from "../util/git";
import { type Lang, LANG_NAMES, LANGS, langOfPath } from "./langs";

// ---------------------------------------------------------------------------------------------
// Tokenizers

const OPERATORS = [
  ">>>=", "===", "!==", "**=", "<<=", ">>=", ">>>", "...", "<=>", "//=",
  "=>", "->", "::", "==", "!=", "<=", ">=", "&&", "||", "++", "--", "+=", "-=", "*=", "/=",
  "%=", "&=", "|=", "^=", "<<", ">>", ":=", "**", "??", "?.", "<-",
]; // prettier-ignore

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}

function codeTokenRegex(language: Lang): RegExp {
  const hashComments = language === "python" || language === "ruby";
  const comments = [
    ...(hashComments ? ["#[^\\n]*"] : []),
    ...(language === "php" ? ["#(?!\\[)[^\\n]*"] : []),
    ...(hashComments ? [] : ["\\/\\/[^\\n]*", "\\/\\*[\\s\\S]*?\\*\\/"]),
  ];
  const strings = [
    ...(language === "python" || language === "java" ? ['"""[\\s\\S]*?"""'] : []),
    ...(language === "python" ? ["'''[\\s\\S]*?'''"] : []),
    '"(?:\\\\[\\s\\S]|[^"\\\\\\n])*"',
    "'(?:\\\\[\\s\\S]|[^'\\\\\\n])*'",
    ...(language === "javascript" || language === "go" ? ["`(?:\\\\[\\s\\S]|[^`\\\\])*`"] : []),
  ];
  const words = ["[A-Za-z_$][\\w$]*[?!]?", "\\d+(?:\\.\\d+)?(?:[eE][+-]?\\d+)?\\w*"];
  const ops = OPERATORS.map(escapeRegex);
  return new RegExp(
    `(${comments.join("|")})|${[...strings, ...words, ...ops, "\\S"].join("|")}`,
    "g",
  );
}

const CODE_TOKEN_REGEX = new Map(LANGS.map((lang) => [lang, codeTokenRegex(lang)]));

/** Tokens of source code: identifiers, numbers, whole string literals, operators; no comments. */
export function codeTokens(code: string, language: Lang): string[] {
  const re = CODE_TOKEN_REGEX.get(language)!;
  const out: string[] = [];
  for (const m of code.matchAll(re)) if (m[1] === undefined) out.push(m[0]);
  return out;
}

/** Tokens of natural-language text: words (an `@` prefix kept, as in `@code`) and punctuation. */
export function textTokens(text: string): string[] {
  return text.match(/@?[A-Za-z0-9_]+|[^\sA-Za-z0-9_]/g) ?? [];
}

// ---------------------------------------------------------------------------------------------
// Function extraction

/** One function found in a source file, with the docstring attached to it. */
export interface FoundFunction {
  name: string;
  /** 1-based first and last line of the function (docstring comments before it excluded). */
  startLine: number;
  endLine: number;
  /** The function's source, dedented by the indentation of its first line. */
  code: string;
  /** The raw docstring (comment markers removed, except Go's `//`, as CodeSearchNet keeps). */
  docstring: string;
  /** The code without a Python docstring literal, for code_tokens. */
  codeWithoutDocstring: string;
}

function indentOf(line: string): string {
  return /^[ \t]*/.exec(line)![0];
}

/** Remove up to `indent.length` leading whitespace characters from every line. */
function dedentLines(lines: string[], indent: number): string {
  return lines
    .map((line) => {
      let k = 0;
      while (k < indent && (line[k] === " " || line[k] === "\t")) k++;
      return line.slice(k);
    })
    .join("\n");
}

/** Python's inspect.cleandoc: first line stripped, the rest dedented, blank edges removed. */
function cleandoc(doc: string): string {
  const lines = doc.replace(/\t/g, "        ").split("\n");
  const rest = lines.slice(1).filter((l) => l.trim() !== "");
  const margin = rest.length ? Math.min(...rest.map((l) => indentOf(l).length)) : 0;
  const out = [lines[0].trim(), ...lines.slice(1).map((l) => l.slice(margin).trimEnd())];
  while (out.length && out[0] === "") out.shift();
  while (out.length && out[out.length - 1] === "") out.pop();
  return out.join("\n");
}

/** For each line, the triple quote that is open at its start (Python), or null. */
function pythonStringStates(lines: string[]): (string | null)[] {
  const states: (string | null)[] = [];
  let state: string | null = null;
  for (const line of lines) {
    states.push(state);
    let i = 0;
    while (i < line.length) {
      if (state) {
        const j = line.indexOf(state, i);
        if (j < 0) break;
        i = j + 3;
        state = null;
        continue;
      }
      const c = line[i];
      if (c === "#") break;
      if (c === '"' || c === "'") {
        if (line.startsWith(c.repeat(3), i)) {
          state = c.repeat(3);
          i += 3;
          continue;
        }
        i++;
        while (i < line.length && line[i] !== c) i += line[i] === "\\" ? 2 : 1;
      }
      i++;
    }
  }
  return states;
}

/** Index of the line holding the `:` that ends a Python signature starting at line `from`. */
function pythonSignatureEnd(lines: string[], from: number): { line: number; col: number } | null {
  let depth = 0;
  for (let k = from; k < lines.length && k < from + 200; k++) {
    const line = lines[k];
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (c === "#") break;
      if (c === '"' || c === "'") {
        i++;
        while (i < line.length && line[i] !== c) i += line[i] === "\\" ? 2 : 1;
      } else if ("([{".includes(c)) depth++;
      else if (")]}".includes(c)) depth--;
      else if (c === ":" && depth === 0) return { line: k, col: i };
    }
  }
  return null;
}

/** The body and docstring of the Python def at line `i`, or undefined when it has no docstring. */
function pythonDocumented(lines: string[], states: (string | null)[], i: number, indent: number) {
  const sig = pythonSignatureEnd(lines, i);
  if (!sig) return undefined;
  const after = lines[sig.line].slice(sig.col + 1).trim();
  if (after !== "" && !after.startsWith("#")) return undefined; // one-line def: no docstring block
  // The docstring is the first statement: skip blank and comment lines.
  let d = sig.line + 1;
  while (d < lines.length && (lines[d].trim() === "" || lines[d].trim().startsWith("#"))) d++;
  if (d >= lines.length || !/^\s*[rRuU]?("""|''')/.test(lines[d])) return undefined;
  if (indentOf(lines[d]).length <= indent) return undefined;
  // The body ends with the last code line before one indented no deeper than the def.
  let last = d;
  for (let k = d + 1; k < lines.length; k++) {
    const t = lines[k].trim();
    if (states[k] === null && t !== "" && !t.startsWith("#")) {
      if (indentOf(lines[k]).length <= indent) break;
      last = k;
    } else if (states[k] !== null) last = k;
  }
  const code = dedentLines(lines.slice(i, last + 1), indent);
  const codeLines = code.split("\n");
  const docLineOffset = codeLines.slice(0, d - i).reduce((n, l) => n + l.length + 1, 0);
  const quoteMatch = /[rRuU]?("""|''')/.exec(code.slice(docLineOffset))!;
  const open = docLineOffset + quoteMatch.index;
  const bodyStart = open + quoteMatch[0].length;
  const close = code.indexOf(quoteMatch[1], bodyStart);
  if (close < 0) return undefined;
  return {
    endLine: last + 1,
    code,
    docstring: cleandoc(code.slice(bodyStart, close)),
    codeWithoutDocstring: code.slice(0, open) + code.slice(close + 3),
  };
}

/** A declaration without a docstring, kept so that the funnel can count it. */
function undocumented(name: string, startLine: number): FoundFunction {
  return { name, startLine, endLine: 0, code: "", docstring: "", codeWithoutDocstring: "" };
}

function extractPython(text: string): FoundFunction[] {
  const lines = text.split("\n");
  const states = pythonStringStates(lines);
  const scopes: { indent: number; kind: "class" | "def"; name: string }[] = [];
  const out: FoundFunction[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (states[i] !== null || line.trim() === "" || line.trim().startsWith("#")) continue;
    const indent = indentOf(line).length;
    while (scopes.length && scopes[scopes.length - 1].indent >= indent) scopes.pop();
    const cls = /^\s*class\s+([A-Za-z_]\w*)/.exec(line);
    if (cls) scopes.push({ indent, kind: "class", name: cls[1] });
    const def = /^\s*(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(/.exec(line);
    if (!def) continue;
    const parent = scopes[scopes.length - 1];
    scopes.push({ indent, kind: "def", name: def[1] });
    const name = parent?.kind === "class" ? `${parent.name}.${def[1]}` : def[1];
    const found = pythonDocumented(lines, states, i, indent);
    out.push(found ? { name, startLine: i + 1, ...found } : undocumented(name, i + 1));
  }
  return out;
}

interface Span {
  start: number;
  end: number;
}

/**
 * Blank out string literals and comments (newlines kept) so that braces and declarations can be
 * found with plain scanning; also return where the comments were.
 */
function maskSource(text: string, language: Lang): { masked: string; comments: Span[] } {
  const out = text.split("");
  const comments: Span[] = [];
  const n = text.length;
  const blank = (a: number, b: number) => {
    for (let k = a; k < b && k < n; k++) if (out[k] !== "\n") out[k] = " ";
  };
  const lineEnd = (i: number) => {
    const e = text.indexOf("\n", i);
    return e < 0 ? n : e;
  };
  let i = 0;
  while (i < n) {
    const c = text[i];
    const d = text[i + 1];
    if ((c === "/" && d === "/") || (language === "php" && c === "#" && d !== "[")) {
      const e = lineEnd(i);
      comments.push({ start: i, end: e });
      blank(i, e);
      i = e;
    } else if (c === "/" && d === "*") {
      const e = text.indexOf("*/", i + 2);
      const end = e < 0 ? n : e + 2;
      comments.push({ start: i, end });
      blank(i, end);
      i = end;
    } else if (language === "java" && text.startsWith('"""', i)) {
      const e = text.indexOf('"""', i + 3);
      const end = e < 0 ? n : e + 3;
      blank(i + 3, end - 3);
      i = end;
    } else if (
      c === '"' ||
      c === "'" ||
      (c === "`" && (language === "javascript" || language === "go"))
    ) {
      const raw = c === "`" && language === "go";
      let k = i + 1;
      while (k < n && text[k] !== c && (c === "`" || text[k] !== "\n"))
        k += text[k] === "\\" && !raw ? 2 : 1;
      blank(i + 1, k);
      i = k + 1;
    } else if (language === "javascript" && c === "/" && regexAllowedBefore(out, i)) {
      const end = regexLiteralEnd(text, i);
      if (end > 0) blank(i + 1, end - 1);
      i = end > 0 ? end : i + 1;
    } else i++;
  }
  return { masked: out.join(""), comments };
}

const REGEX_PRECEDING_WORDS = new Set(["return", "typeof", "case", "do", "else", "in", "of", "new", "delete", "void", "throw", "instanceof", "yield", "await"]); // prettier-ignore

/** Whether a `/` at `i` starts a JavaScript regex literal, judged by the code before it. */
function regexAllowedBefore(masked: string[], i: number): boolean {
  let k = i - 1;
  while (k >= 0 && /\s/.test(masked[k])) k--;
  if (k < 0) return true;
  const c = masked[k];
  if (/[\w$]/.test(c)) {
    let s = k;
    while (s > 0 && /[\w$]/.test(masked[s - 1])) s--;
    return REGEX_PRECEDING_WORDS.has(masked.slice(s, k + 1).join(""));
  }
  return "(,=:[!&|?{};+-*%<>~^".includes(c);
}

/** End (exclusive, flags included) of a regex literal starting at `i`, or -1 if none. */
function regexLiteralEnd(text: string, i: number): number {
  let inClass = false;
  for (let k = i + 1; k < text.length; k++) {
    const c = text[k];
    if (c === "\n") return -1;
    if (c === "\\") k++;
    else if (c === "[") inClass = true;
    else if (c === "]") inClass = false;
    else if (c === "/" && !inClass) {
      let e = k + 1;
      while (e < text.length && /[a-z]/.test(text[e])) e++;
      return e;
    }
  }
  return -1;
}

/** Index of the bracket closing the one at `open` in masked source, or -1. */
function matchBracket(masked: string, open: number): number {
  const o = masked[open];
  const c = o === "{" ? "}" : o === "(" ? ")" : "]";
  let depth = 0;
  for (let k = open; k < masked.length; k++) {
    if (masked[k] === o) depth++;
    else if (masked[k] === c && --depth === 0) return k;
  }
  return -1;
}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let k = 0; k < text.length; k++) if (text[k] === "\n") starts.push(k + 1);
  return starts;
}

/** 1-based line number of an offset. */
function lineOf(starts: number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

/** A declaration found in masked source: its name and where its line and body are. */
interface Declaration {
  name: string;
  lineStart: number;
  bodyOpen: number;
}

const JS_KEYWORDS = new Set(["if", "for", "while", "switch", "catch", "function", "return", "with", "else", "do", "typeof", "new", "super", "import"]); // prettier-ignore
const JAVA_NON_TYPES = new Set(["new", "return", "else", "throw", "case", "public", "protected", "private", "static", "final", "abstract", "synchronized", "native", "default", "strictfp", "yield", "package", "import", "record", "class", "interface", "enum", "throws"]); // prettier-ignore

/** Offset of the `{` after the `)` closing the parameter list at `paren`, if `follow` allows. */
function bodyAfterParams(masked: string, paren: number, follow: RegExp): number {
  const close = matchBracket(masked, paren);
  if (close < 0) return -1;
  const rest = masked.slice(close + 1, close + 400);
  const m = follow.exec(rest);
  return m ? close + 1 + m[0].length - 1 : -1;
}

function findDeclarations(masked: string, language: Lang): Declaration[] {
  const found = new Map<number, Declaration>();
  const add = (lineStart: number, name: string, bodyOpen: number) => {
    if (bodyOpen >= 0 && !found.has(lineStart)) found.set(lineStart, { name, lineStart, bodyOpen });
  };
  const scan = (
    re: RegExp,
    nameGroup: number,
    follow: RegExp,
    accept = (_m: RegExpExecArray) => true,
  ) => {
    for (const m of masked.matchAll(re)) {
      if (!accept(m)) continue;
      add(m.index!, m[nameGroup], bodyAfterParams(masked, m.index! + m[0].length - 1, follow));
    }
  };
  if (language === "java") {
    const re =
      /^[ \t]*(?:@[\w.]+(?:\([^)\n]*\))?[ \t]+)*(?:(?:public|protected|private|static|final|abstract|synchronized|native|default|strictfp)[ \t]+)*(?:<[^(){};=\n]*>[ \t]+)?([\w$.]+(?:<[^(){};=\n]*>)?(?:\[\])*)[ \t]+([A-Za-z_$][\w$]*)[ \t]*\(/gm;
    scan(
      re,
      2,
      /^\s*(?:throws\s+[\w$.,\s<>]+?)?\s*\{/,
      (m) => !JAVA_NON_TYPES.has(m[1]) && !JAVA_NON_TYPES.has(m[2]),
    );
  } else if (language === "php") {
    const re =
      /^[ \t]*(?:(?:public|protected|private|static|abstract|final)[ \t]+)*function[ \t]+&?[ \t]*([A-Za-z_]\w*)[ \t]*\(/gm;
    scan(re, 1, /^\s*(?::\s*\??[\w\\|?]+\s*)?\{/);
  } else if (language === "javascript") {
    const block = /^\s*\{/;
    scan(
      /^[ \t]*(?:export[ \t]+(?:default[ \t]+)?)?(?:async[ \t]+)?function[ \t]*\*?[ \t]*([A-Za-z_$][\w$]*)[ \t]*\(/gm,
      1,
      block,
    );
    scan(
      /^[ \t]*(?:(?:export[ \t]+)?(?:const|let|var)[ \t]+)?([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)[ \t]*[=:][ \t]*(?:async[ \t]+)?function\b[ \t]*\*?[ \t]*(?:[A-Za-z_$][\w$]*)?[ \t]*\(/gm,
      1,
      block,
    );
    scan(
      /^[ \t]*(?:(?:export[ \t]+)?(?:const|let|var)[ \t]+)?([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)[ \t]*[=:][ \t]*(?:async[ \t]*)?\(/gm,
      1,
      /^\s*=>\s*\{/,
    );
    scan(
      /^[ \t]*(?:static[ \t]+)?(?:async[ \t]+)?(?:[gs]et[ \t]+)?\*?[ \t]*([A-Za-z_$#][\w$]*)[ \t]*\(/gm,
      1,
      block,
      (m) => !JS_KEYWORDS.has(m[1]),
    );
  } else if (language === "go") {
    for (const m of masked.matchAll(
      /^func[ \t]*(?:\(([^)]*)\)[ \t]*)?([A-Za-z_]\w*)[ \t]*(?:\[[^\]\n]*\])?[ \t]*\(/gm,
    )) {
      const receiver = m[1]?.trim().split(/\s+/).pop()?.replace(/^\*/, "").replace(/\[.*$/, "");
      const close = matchBracket(masked, m.index! + m[0].length - 1);
      add(
        m.index!,
        receiver ? `${receiver}.${m[2]}` : m[2],
        close < 0 ? -1 : goBodyOpen(masked, close + 1),
      );
    }
  }
  return [...found.values()].sort((a, b) => a.lineStart - b.lineStart);
}

/** The `{` opening a Go function body: at bracket depth 0 and last on its line. */
function goBodyOpen(masked: string, from: number): number {
  let depth = 0;
  for (let k = from; k < masked.length; k++) {
    const c = masked[k];
    if (c === "(" || c === "[") depth++;
    else if (c === ")" || c === "]") depth--;
    else if (c === "{") {
      if (depth === 0 && /^[ \t]*(\n|$)/.test(masked.slice(k + 1, k + 80))) return k;
      depth++;
    } else if (c === "}") depth--;
    else if (c === "\n" && depth === 0) return -1;
  }
  return -1;
}

/** Class-like scopes (name and body range) for naming methods `Class.method`. */
function findClassScopes(
  masked: string,
  language: Lang,
): { name: string; open: number; close: number }[] {
  const keyword = {
    java: "class|interface|enum|record",
    php: "class|interface|trait|enum",
    javascript: "class",
  }[language as "java" | "php" | "javascript"];
  if (!keyword) return [];
  const scopes: { name: string; open: number; close: number }[] = [];
  for (const m of masked.matchAll(
    new RegExp(`\\b(?:${keyword})[ \\t]+([A-Za-z_$][\\w$]*)[^;{]*\\{`, "g"),
  )) {
    const open = m.index! + m[0].length - 1;
    const close = matchBracket(masked, open);
    if (close > 0) scopes.push({ name: m[1], open, close });
  }
  return scopes;
}

/** Text of a `/** *\/` comment without its markers and leading `*`s. */
function cleanBlockComment(comment: string): string {
  const body = comment.replace(/^\/\*\*+/, "").replace(/\*+\/$/, "");
  const lines = body.split("\n").map((l) => l.replace(/^\s*\*(?!\/) ?/, "").trim());
  while (lines.length && lines[0] === "") lines.shift();
  while (lines.length && lines[lines.length - 1] === "") lines.pop();
  return lines.join("\n");
}

/** Contiguous comment lines (matching `marker`) directly above line index `i`. */
function commentLinesAbove(lines: string[], i: number, marker: RegExp): string[] {
  const out: string[] = [];
  for (let k = i - 1; k >= 0 && marker.test(lines[k]); k--) out.unshift(lines[k].trim());
  return out;
}

function extractBraced(text: string, language: Lang): FoundFunction[] {
  const { masked, comments } = maskSource(text, language);
  const starts = lineStarts(text);
  const lines = text.split("\n");
  const classes = findClassScopes(masked, language);
  const out: FoundFunction[] = [];
  for (const decl of findDeclarations(masked, language)) {
    const close = matchBracket(masked, decl.bodyOpen);
    if (close < 0) continue;
    const startLine = lineOf(starts, decl.lineStart);
    let docstring: string | undefined;
    if (language === "go") {
      const above = commentLinesAbove(lines, startLine - 1, /^\s*\/\//);
      if (above.length) docstring = above.join("\n");
    } else {
      const comment = comments.filter((c) => c.end <= decl.lineStart).pop();
      const between = comment && masked.slice(comment.end, decl.lineStart);
      const onlyAnnotations =
        between?.replace(/@[\w.]+(\([^)]*\))?|#\[[^\]]*\]/g, "").trim() === "";
      const raw = comment && text.slice(comment.start, comment.end);
      if (onlyAnnotations && raw!.startsWith("/**")) docstring = cleanBlockComment(raw!);
    }
    if (docstring === undefined) {
      out.push(undocumented(decl.name, startLine));
      continue;
    }
    const endLine = lineOf(starts, close);
    const scope = classes.filter((c) => c.open < decl.lineStart && decl.lineStart < c.close).pop();
    const code = dedentLines(
      lines.slice(startLine - 1, endLine),
      indentOf(lines[startLine - 1]).length,
    );
    const name = scope && !decl.name.includes(".") ? `${scope.name}.${decl.name}` : decl.name;
    out.push({ name, startLine, endLine, code, docstring, codeWithoutDocstring: code });
  }
  return out;
}

/** Index of the line closing the Ruby block opened at line `i` (same indentation `end`), or -1. */
function rubyEndLine(lines: string[], i: number): number {
  const indent = indentOf(lines[i]);
  for (let k = i + 1; k < lines.length; k++) {
    const line = lines[k];
    if (line.trim() === "") continue;
    const ind = indentOf(line);
    if (ind === indent && /^\s*end\b/.test(line)) return k;
    if (
      ind.length < indent.length ||
      (ind === indent && !/^\s*(#|rescue\b|ensure\b|else\b)/.test(line))
    )
      return -1;
  }
  return -1;
}

function extractRuby(text: string): FoundFunction[] {
  const lines = text.split("\n");
  const scopes: { name: string; start: number; end: number }[] = [];
  lines.forEach((line, i) => {
    const m = /^\s*(?:class|module)\s+([A-Z][\w:]*)/.exec(line);
    const end = m ? rubyEndLine(lines, i) : -1;
    if (m && end > 0) scopes.push({ name: m[1].replace(/::/g, "."), start: i, end });
  });
  const out: FoundFunction[] = [];
  lines.forEach((line, i) => {
    const m = /^\s*def\s+(self\.)?([A-Za-z_]\w*[?!=]?|\[\]=?|[+\-*/%<>=!~^&|]+@?)/.exec(line);
    if (!m) return;
    const above = commentLinesAbove(lines, i, /^\s*#(?![!{])/);
    const oneLine =
      /\bend\s*$/.test(line) ||
      /^\s*def\s+(self\.)?[A-Za-z_]\w*[?!]?(\s*\([^)]*\)\s*|\s+)=(?!=)/.test(line);
    const end = oneLine ? -1 : rubyEndLine(lines, i);
    const scope = scopes.filter((s) => s.start < i && i < s.end).pop();
    const name = scope ? `${scope.name}.${m[2]}` : m[2];
    if (above.length === 0 || end < 0) {
      out.push(undocumented(name, i + 1));
      return;
    }
    const docstring = above
      .map((l) => l.replace(/^#+ ?/, "").trimEnd())
      .join("\n")
      .trim();
    const code = dedentLines(lines.slice(i, end + 1), indentOf(line).length);
    out.push({
      name,
      startLine: i + 1,
      endLine: end + 1,
      code,
      docstring,
      codeWithoutDocstring: code,
    });
  });
  return out;
}

/**
 * Every function declaration in a source file. Functions without a docstring come back with
 * `docstring: ""` and `code: ""`, so callers can count them.
 */
export function extractFunctions(text: string, language: Lang): FoundFunction[] {
  const src = text.replace(/\r\n?/g, "\n");
  if (language === "python") return extractPython(src);
  if (language === "ruby") return extractRuby(src);
  return extractBraced(src, language);
}

// ---------------------------------------------------------------------------------------------
// Filters

const SKIPPED_DIRS =
  /(^|\/)(tests?|spec|specs|__tests__|testdata|testing|vendor|third_party|node_modules|docs?|examples?|samples?|benchmarks?|fixtures?)\//i;
const SKIPPED_FILES = /(^|\/)(test_[^/]*|[^/]*_test\.\w+|[^/]*_spec\.rb|[^/]*Tests?\.java|[^/]*\.(test|spec)\.[cm]?js|[^/]*\.min\.js|conftest\.py)$/; // prettier-ignore

/** Whether a path is test, vendored, documentation or example code (dropped by CodeSearchNet). */
export function isSkippedPath(file: string): boolean {
  return SKIPPED_DIRS.test(file) || SKIPPED_FILES.test(file);
}

const SPECIAL_NAMES: Record<Lang, RegExp> = {
  python: /^__\w+__$/,
  java: /^(toString|hashCode|equals|clone|finalize)$/,
  javascript: /^(constructor|toString|valueOf|toJSON)$/,
  php: /^__\w+$/,
  ruby: /^(initialize|to_s|to_str|inspect|hash|eql\?|==|===|<=>|method_missing|respond_to_missing\?)$/,
  go: /^(String|GoString|Error)$/,
};

/** The docstring's summary: its first paragraph, before any tag or parameter section. */
export function docstringSummary(docstring: string): string {
  const out: string[] = [];
  for (const raw of docstring.split("\n")) {
    const line = raw.replace(/^\s*\/\/ ?/, "").trim();
    if (
      line === "" ||
      /^(@\w|:\w+|\.\. |(Args|Arguments|Returns|Raises|Parameters|Example)s?:)/.test(line)
    ) {
      if (out.length) break;
      if (line === "") continue;
      break;
    }
    out.push(line);
  }
  return out.join(" ");
}

/** Which CodeSearchNet filter drops a function, or undefined when it is kept. */
function functionFilter(fn: FoundFunction, language: Lang, maxBytes: number): string | undefined {
  if (fn.docstring === "") return "no docstring";
  const short = fn.name.split(".").pop()!;
  if (SPECIAL_NAMES[language].test(short)) return "constructor or special method";
  if (fn.endLine - fn.startLine + 1 < 3) return "under 3 lines";
  if (Buffer.byteLength(fn.code) > maxBytes) return `over ${maxBytes} bytes`;
  const summary = docstringSummary(fn.docstring);
  const n = textTokens(summary).length;
  if (n < 3 || n > 256) return "summary outside 3-256 tokens";
  if (/https?:\/\/|www\./i.test(summary)) return "summary has a URL";
  if (/[\u0080-\uFFFF]/.test(summary)) return "summary not ASCII";
  return undefined;
}

/** train/valid/test (80/10/10) from a hash of the file path, so a file never straddles splits. */
export function partitionOfPath(file: string): "train" | "valid" | "test" {
  const bucket = parseInt(createHash("sha256").update(file).digest("hex").slice(0, 8), 16) % 10;
  return bucket < 8 ? "train" : bucket === 8 ? "valid" : "test";
}

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

/** A license key (GitHub's lowercase ids, as CommitPackFT uses) from a license text. */
export function licenseOfText(text: string): string {
  const t = text.replace(/\s+/g, " ");
  if (/Permission is hereby granted, free of charge/i.test(t)) return "mit";
  if (/Apache License,? Version 2\.0/i.test(t)) return "apache-2.0";
  if (/Mozilla Public License,? (Version|v\.?) ?2\.0/i.test(t)) return "mpl-2.0";
  if (/GNU LESSER GENERAL PUBLIC LICENSE/i.test(t))
    return /Version 3/i.test(t) ? "lgpl-3.0" : "lgpl-2.1";
  if (/GNU AFFERO GENERAL PUBLIC LICENSE/i.test(t)) return "agpl-3.0";
  if (/GNU GENERAL PUBLIC LICENSE/i.test(t)) return /Version 3/i.test(t) ? "gpl-3.0" : "gpl-2.0";
  if (/Redistribution and use in source and binary forms/i.test(t)) {
    return /Neither the name|names of (its|the) contributors/i.test(t)
      ? "bsd-3-clause"
      : "bsd-2-clause";
  }
  if (
    /Permission to use, copy, modify, and(\/or)? distribute this software for any purpose/i.test(t)
  )
    return "isc";
  if (/This is free and unencumbered software released into the public domain/i.test(t))
    return "unlicense";
  return "unknown";
}

// ---------------------------------------------------------------------------------------------
// Git access

/** Run git in a repository being mined: the project's strict runner. */
function git(repo: string, args: string[], input?: string): Buffer {
  return runGit(repo, args, `a git repository with commits at ${repo}`, input);
}

/** Blob contents by id, read in one `git cat-file --batch` call. */
function readBlobs(repo: string, ids: string[]): Map<string, Buffer> {
  const objects = catFileBatch(repo, ids, `blobs of ${repo}`);
  const out = new Map<string, Buffer>();
  for (const id of new Set(ids)) {
    const object = objects.get(id);
    if (!object) throw new Error(`git cat-file in ${repo}: object ${id} missing`);
    out.set(id, object.data);
  }
  return out;
}

/** Blob sizes by id, from `git cat-file --batch-check`. */
function blobSizes(repo: string, ids: string[]): Map<string, number> {
  const unique = [...new Set(ids)];
  const out = new Map<string, number>();
  if (unique.length === 0) return out;
  const text = git(
    repo,
    ["cat-file", "--batch-check=%(objectname) %(objectsize)"],
    unique.join("\n") + "\n",
  );
  for (const line of text.toString().split("\n")) {
    const [id, size] = line.split(" ");
    if (id && size !== undefined) out.set(id, Number(size));
  }
  return out;
}

/** Name, HEAD commit, web address and license of a local repository. */
interface RepoInfo {
  dir: string;
  name: string;
  head: string;
  github: boolean;
  license: string;
}

function repoInfo(dir: string): RepoInfo {
  const head = git(dir, ["rev-parse", "--verify", "HEAD"]).toString().trim();
  let remote = "";
  try {
    remote = git(dir, ["config", "--get", "remote.origin.url"]).toString().trim();
  } catch {
    // no origin: the repository is named after its folder
  }
  const gh = /github\.com[:/]([\w.-]+\/[\w.-]+?)(\.git)?\/?$/.exec(remote);
  const top = git(dir, ["rev-parse", "--show-toplevel"]).toString().trim();
  const name = gh ? gh[1] : path.basename(top);
  const topLevel = git(dir, ["ls-tree", "--name-only", "HEAD"]).toString().split("\n");
  const licenseFile = topLevel.find((f) => /^(licen[cs]e|copying)([.-][\w.-]+)?$/i.test(f));
  const license = licenseFile
    ? licenseOfText(
        readBlobs(dir, [`HEAD:${licenseFile}`])
          .values()
          .next()
          .value!.toString(),
      )
    : "unknown";
  return { dir, name, head, github: !!gh, license };
}

/** A commit as `git log --raw` reports it. */
interface LoggedCommit {
  sha: string;
  parents: string[];
  /** "name <email>" */
  author: string;
  message: string;
  changes: RawEntry[];
}

/** Every commit reachable from HEAD, newest first (git log's order). */
function logCommits(repo: string): LoggedCommit[] {
  const shas = listCommits(repo, ["HEAD", "--"], `a git repository with commits at ${repo}`);
  const changes = readRawChanges(repo, shas);
  return readCommitInfo(repo, shas).map((c, k) => ({
    sha: c.sha,
    parents: c.parents,
    author: `${c.author} <${c.email}>`,
    message: c.message,
    changes: changes[k],
  }));
}

// ---------------------------------------------------------------------------------------------
// Mining

/** A CodeSearchNet row, in the published schema. */
export interface CodeSearchNetRow {
  repo: string;
  path: string;
  func_name: string;
  original_string: string;
  language: Lang;
  code: string;
  code_tokens: string[];
  docstring: string;
  docstring_tokens: string[];
  sha: string;
  url: string;
  partition: "train" | "valid" | "test";
}

/** A CommitPackFT row, in the published schema. */
export interface CommitPackFTRow {
  commit: string;
  old_file: string;
  new_file: string;
  old_contents: string;
  new_contents: string;
  subject: string;
  message: string;
  lang: string;
  license: string;
  repos: string;
}

/** How many candidates each filter dropped, in filter order, ending with `kept`. */
export type Funnel = Record<string, number>;

export interface MineOptions {
  repos: string[];
  outDir: string;
  languages?: Lang[];
  maxFileBytes?: number;
  /** Replace dataset files already in outDir (without it, any there is an error naming them). */
  force?: boolean;
}

export interface MineResult {
  codesearchnet: Record<string, Funnel>;
  commitpackft: Record<string, Funnel>;
  /** Commits seen before the language is known: merges, not one file, other languages. */
  commits: Funnel;
  /** Files written. */
  files: string[];
  /** `<dataset>/<lang>` that got no rows, hence no file: an empty file would read as a dataset. */
  empty: string[];
  /** Files of an earlier run removed (with force) because their language got no rows this time. */
  removed: string[];
}

function bump(funnel: Funnel, key: string): void {
  funnel[key] = (funnel[key] ?? 0) + 1;
}

/** Every funnel step in the order the filters run (`N` stands for the byte limit). */
const FUNNEL_STEPS = [
  "commits", "merge", "not exactly one file", "not a modification", "other language",
  "to language filters", "bot author", "WIP", "Merge", "has '#'", "sha-like hex", "version number",
  "issue N", "names the file", "no leading verb", "under 5 words", "files",
  "test/vendor/docs/example path", "file over 1 MiB", "functions", "no docstring",
  "constructor or special method", "under 3 lines", "empty contents", "over N bytes", "not UTF-8",
  "unchanged contents", "summary outside 3-256 tokens", "summary has a URL", "summary not ASCII",
  "duplicate", "kept",
]; // prettier-ignore

/** The funnel with its steps in filter order. */
function ordered(funnel: Funnel): Funnel {
  const rank = (key: string) =>
    FUNNEL_STEPS.indexOf(key.replace(/^over \d+ bytes$/, "over N bytes"));
  return Object.fromEntries(Object.entries(funnel).sort(([a], [b]) => rank(a) - rank(b)));
}

function mineFunctions(
  repo: RepoInfo,
  languages: Lang[],
  maxBytes: number,
  rows: Map<Lang, CodeSearchNetRow[]>,
  seen: Set<string>,
  funnels: Record<string, Funnel>,
): void {
  const listing = git(repo.dir, ["ls-tree", "-r", "-z", "-l", "HEAD"]).toString().split("\0");
  const files: { path: string; blob: string; language: Lang }[] = [];
  for (const entry of listing) {
    const m = /^\d+ blob ([0-9a-f]+) +(\d+)\t([\s\S]+)$/.exec(entry);
    const language = m && langOfPath(m[3]);
    if (!m || !language || !languages.includes(language)) continue;
    bump(funnels[language], "files");
    if (isSkippedPath(m[3])) bump(funnels[language], "test/vendor/docs/example path");
    else if (Number(m[2]) > 1 << 20) bump(funnels[language], "file over 1 MiB");
    else files.push({ path: m[3], blob: m[1], language });
  }
  const blobs = readBlobs(
    repo.dir,
    files.map((f) => f.blob),
  );
  for (const file of files) {
    const funnel = funnels[file.language];
    for (const fn of extractFunctions(blobs.get(file.blob)!.toString("utf8"), file.language)) {
      bump(funnel, "functions");
      const reason = functionFilter(fn, file.language, maxBytes);
      const key = fn.code.replace(/\s+/g, " ");
      if (reason) bump(funnel, reason);
      else if (seen.has(key)) bump(funnel, "duplicate");
      else {
        seen.add(key);
        bump(funnel, "kept");
        rows.get(file.language)!.push({
          repo: repo.name,
          path: file.path,
          func_name: fn.name,
          original_string: fn.code,
          language: file.language,
          code: fn.code,
          code_tokens: codeTokens(fn.codeWithoutDocstring, file.language),
          docstring: fn.docstring,
          docstring_tokens: textTokens(docstringSummary(fn.docstring)),
          sha: repo.head,
          url: repo.github
            ? `https://github.com/${repo.name}/blob/${repo.head}/${file.path}#L${fn.startLine}-L${fn.endLine}`
            : "",
          partition: partitionOfPath(file.path),
        });
      }
    }
  }
}

function mineCommits(
  repo: RepoInfo,
  languages: Lang[],
  maxBytes: number,
  rows: Map<Lang, CommitPackFTRow[]>,
  byCommit: Map<string, CommitPackFTRow>,
  funnels: Record<string, Funnel>,
  commitFunnel: Funnel,
): void {
  const candidates: { commit: LoggedCommit; language: Lang; subject: string }[] = [];
  for (const commit of logCommits(repo.dir)) {
    bump(commitFunnel, "commits");
    const change = commit.changes[0];
    const language = change && langOfPath(change.path);
    if (commit.parents.length > 1) bump(commitFunnel, "merge");
    else if (commit.changes.length !== 1) bump(commitFunnel, "not exactly one file");
    else if (change.status !== "M" || !/^100(644|755)$/.test(change.newMode))
      bump(commitFunnel, "not a modification");
    else if (!language || !languages.includes(language)) bump(commitFunnel, "other language");
    else {
      bump(commitFunnel, "to language filters");
      const funnel = funnels[language];
      bump(funnel, "commits");
      const subject = stripSubjectPrefix(commit.message.split("\n")[0].trim());
      const reason = subjectFilter(subject, commit.author, change.path);
      if (reason) bump(funnel, reason);
      else candidates.push({ commit, language, subject });
    }
  }
  const sizes = blobSizes(
    repo.dir,
    candidates.flatMap((c) => [c.commit.changes[0].oldBlob, c.commit.changes[0].newBlob]),
  );
  const sized = candidates.filter(({ commit, language }) => {
    const { oldBlob, newBlob } = commit.changes[0];
    const [a, b] = [sizes.get(oldBlob) ?? 0, sizes.get(newBlob) ?? 0];
    if (a === 0 || b === 0) bump(funnels[language], "empty contents");
    else if (a > maxBytes || b > maxBytes) bump(funnels[language], `over ${maxBytes} bytes`);
    else return true;
    return false;
  });
  const blobs = readBlobs(
    repo.dir,
    sized.flatMap((c) => [c.commit.changes[0].oldBlob, c.commit.changes[0].newBlob]),
  );
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  for (const { commit, language, subject } of sized) {
    const funnel = funnels[language];
    const change = commit.changes[0];
    let oldText: string, newText: string;
    try {
      oldText = utf8.decode(blobs.get(change.oldBlob)!);
      newText = utf8.decode(blobs.get(change.newBlob)!);
    } catch {
      bump(funnel, "not UTF-8");
      continue;
    }
    if (oldText === newText) {
      bump(funnel, "unchanged contents");
      continue;
    }
    const known = byCommit.get(commit.sha);
    if (known) {
      // The same commit in a fork: one row naming every repository, as CommitPackFT does.
      known.repos += `,${repo.name}`;
      bump(funnel, "duplicate");
      continue;
    }
    bump(funnel, "kept");
    const row: CommitPackFTRow = {
      commit: commit.sha,
      old_file: change.path,
      new_file: change.path,
      old_contents: oldText,
      new_contents: newText,
      subject,
      message: commit.message,
      lang: LANG_NAMES[language],
      license: repo.license,
      repos: repo.name,
    };
    byCommit.set(commit.sha, row);
    rows.get(language)!.push(row);
  }
}

/** Write rows as gzip-compressed JSON Lines, atomically. */
function writeJsonlGz(file: string, rows: unknown[]): void {
  const text = rows.map((r) => JSON.stringify(r) + "\n").join("");
  writeFileAtomic(file, gzipSync(Buffer.from(text, "utf8")));
}

const MINED_DATASETS = ["codesearchnet", "commitpackft"] as const;

/** The file a dataset's rows for one language go to. */
function minedFile(outDir: string, dataset: string, lang: Lang): string {
  return path.join(outDir, dataset, `${lang}.jsonl.gz`);
}

/**
 * Mine local git repositories into `<outDir>/codesearchnet/<lang>.jsonl.gz` and
 * `<outDir>/commitpackft/<lang>.jsonl.gz` (one file per requested language that got rows; a
 * language with none gets no file); returns the funnel of every filter. Dataset files already
 * there are an error before any work unless `force`, which replaces them, and removes those
 * whose language got no rows, so that no stale rows remain.
 */
export function mineRepos(options: MineOptions): MineResult {
  const languages = options.languages ?? [...LANGS];
  const maxBytes = options.maxFileBytes ?? 6000;
  if (options.repos.length === 0) throw new Error("mine: no repositories given");
  const existing = languages
    .flatMap((l) => MINED_DATASETS.map((d) => minedFile(options.outDir, d, l)))
    .filter((f) => fs.existsSync(f));
  if (existing.length > 0 && !options.force)
    throw new Error(
      `mine: ${existing.join(", ")} already exist${existing.length === 1 ? "s" : ""}; ` +
        `give --force to replace them (or another --out)`,
    );
  const repos = options.repos.map(repoInfo);
  const result: MineResult = {
    codesearchnet: {},
    commitpackft: {},
    commits: {},
    files: [],
    empty: [],
    removed: [],
  };
  const csn = new Map(languages.map((l) => [l, [] as CodeSearchNetRow[]]));
  const cpf = new Map(languages.map((l) => [l, [] as CommitPackFTRow[]]));
  for (const lang of languages) {
    result.codesearchnet[lang] = {};
    result.commitpackft[lang] = {};
  }
  const seenCode = new Set<string>();
  const byCommit = new Map<string, CommitPackFTRow>();
  for (const repo of repos) {
    mineFunctions(repo, languages, maxBytes, csn, seenCode, result.codesearchnet);
    mineCommits(repo, languages, maxBytes, cpf, byCommit, result.commitpackft, result.commits);
  }
  for (const lang of languages) {
    for (const [dataset, rows] of [
      ["codesearchnet", csn.get(lang)!],
      ["commitpackft", cpf.get(lang)!],
    ] as const) {
      const file = minedFile(options.outDir, dataset, lang);
      result[dataset][lang] = ordered({ kept: 0, ...result[dataset][lang] });
      if (rows.length > 0) {
        writeJsonlGz(file, rows);
        result.files.push(file);
        continue;
      }
      result.empty.push(`${dataset}/${lang}`);
      if (fs.existsSync(file)) {
        fs.rmSync(file); // only reached with force: the check above refused otherwise
        result.removed.push(file);
      }
    }
  }
  result.commits = ordered(result.commits);
  return result;
}

function formatFunnel(funnel: Funnel): string {
  return Object.entries(funnel)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
}

/**
 * `narrator data mine`: mine the repositories and return the report lines (the files written, the
 * languages that got no file, and the funnel per language).
 */
export function mineReport(options: MineOptions): string[] {
  const result = mineRepos(options);
  const written = MINED_DATASETS.flatMap((dataset) =>
    Object.entries(result[dataset])
      .map(([lang, funnel]) => ({ file: minedFile(options.outDir, dataset, lang as Lang), funnel }))
      .filter(({ file }) => result.files.includes(file))
      .map(({ file, funnel }) => `wrote ${file} (${funnel.kept} rows)`),
  );
  const lines = [
    `mined ${options.repos.length} repositories into ${options.outDir}`,
    ...written,
    ...(result.empty.length ? [`no rows, so no file: ${result.empty.join(", ")}`] : []),
    ...result.removed.map((f) => `removed ${f} (an earlier run's; no rows this time)`),
    `commits: ${formatFunnel(result.commits)}`,
  ];
  for (const lang of Object.keys(result.codesearchnet)) {
    lines.push(`codesearchnet/${lang}: ${formatFunnel(result.codesearchnet[lang])}`);
    lines.push(`commitpackft/${lang}: ${formatFunnel(result.commitpackft[lang])}`);
  }
  return lines;
}
