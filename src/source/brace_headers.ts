/**
 * Function and class headers of the brace languages, recognised on the tokens: what a header at a
 * token announces (a class scope, or a function with its body or its end), the helpers every
 * language's detector shares, and the Java, Go and PHP detectors (JavaScript and TypeScript:
 * src/source/script_headers.ts).
 */
import { is, matching, type Token } from "./lexer";
import type { FunctionSpan } from "./span";

/** First `{` at bracket depth 0 from i on, before any `;` (or -1). */
export function braceAhead(tokens: readonly Token[], i: number): number {
  for (let j = i; j < tokens.length; j++) {
    const t = tokens[j];
    if (t.kind !== "punct") continue;
    if (t.text === "{") return j;
    if (t.text === ";" || t.text === "}") return -1;
    if ("([".includes(t.text)) {
      j = matching(tokens, j);
      if (j < 0) return -1;
    }
  }
  return -1;
}

export const isWord = (t: Token | undefined): t is Token => t !== undefined && t.kind === "word";

/** What a header at a token announces: a scope opened by the brace at `body`, or a finished span. */
export type Found =
  | { kind: "class"; name: string | null; body: number }
  | { kind: "function"; name: string; start: number; body: number }
  | { kind: "function"; name: string; start: number; end: number };

export interface Scope {
  kind: "class" | "function" | "block";
  /** The name this scope adds to qualified names (none for blocks and anonymous classes). */
  name: string | null;
  start: number;
  /** Functions: the span reported when the body closes. */
  span?: FunctionSpan;
}

export type Detector = (
  tokens: readonly Token[],
  i: number,
  top: Scope | undefined,
) => Found | null;

const JAVA_NOT_METHODS = new Set([
  "if",
  "for",
  "while",
  "switch",
  "catch",
  "synchronized",
  "return",
  "new",
  "throw",
  "else",
  "try",
  "do",
  "assert",
  "case",
  "default",
  "super",
  "this",
]);

/**
 * Start of a Java member: the first token after the previous `;`, `{` or `}` (modifiers and
 * annotations), bracketed annotation arguments (`@SuppressWarnings({"a", "b"})`) passed whole.
 */
function memberStart(tokens: readonly Token[], i: number): number {
  let j = i - 1;
  for (let depth = 0; j >= 0; j--) {
    const t = tokens[j];
    if (t.kind !== "punct") continue;
    if (t.text === ")") depth++;
    else if (t.text === "(") depth--;
    else if (depth === 0 && ";{}".includes(t.text)) break;
  }
  return tokens[j + 1].start;
}

/** A class-like header: the keyword at i, then its name (or none), then the body brace. */
export function classHeader(
  tokens: readonly Token[],
  i: number,
  keywords: Set<string>,
): Found | null {
  const t = tokens[i];
  const prev = tokens[i - 1];
  if (!isWord(t) || !keywords.has(t.text)) return null;
  if (prev && (is(prev, ".") || is(prev, "::") || is(prev, "->") || is(prev, "?->"))) return null;
  const name = isWord(tokens[i + 1]) && !/^(extends|implements)$/.test(tokens[i + 1].text);
  const body = braceAhead(tokens, i + 1);
  if (body < 0) return null;
  return { kind: "class", name: name ? tokens[i + 1].text : null, body };
}

const JAVA_CLASSES = new Set(["class", "interface", "enum", "record"]);

export const detectJava: Detector = (tokens, i, top) => {
  const cls = classHeader(tokens, i, JAVA_CLASSES);
  if (cls) return cls;
  const t = tokens[i];
  const prev = tokens[i - 1];
  // Anonymous class: new Type<...>(args) { ... }
  if (is(t, "new")) {
    let j = i + 1;
    while (isWord(tokens[j]) || is(tokens[j], ".")) j++;
    if (is(tokens[j], "<")) {
      let depth = 0;
      for (; j < tokens.length; j++) {
        if (is(tokens[j], "<")) depth++;
        else if (is(tokens[j], ">")) depth--;
        else if (is(tokens[j], ">>")) depth -= 2;
        if (depth <= 0) break;
      }
      j++;
    }
    if (!is(tokens[j], "(")) return null;
    const close = matching(tokens, j);
    return close > 0 && is(tokens[close + 1], "{")
      ? { kind: "class", name: null, body: close + 1 }
      : null;
  }
  if (top?.kind !== "class" || !isWord(t) || JAVA_NOT_METHODS.has(t.text)) return null;
  if (!is(tokens[i + 1], "(") || is(prev, ".") || is(prev, "new")) return null;
  const close = matching(tokens, i + 1);
  if (close < 0) return null;
  // A method has a type before its name; only a constructor (named as its class) has none, so
  // `RED(1) { ... }` is an enum constant whose body is a class.
  const typed = isWord(prev) || is(prev, ">") || is(prev, ">>") || is(prev, "]");
  if (!typed && t.text !== top.name)
    return is(tokens[close + 1], "{") ? { kind: "class", name: t.text, body: close + 1 } : null;
  let j = close + 1;
  // throws A, b.C
  while (isWord(tokens[j]) || is(tokens[j], ",") || is(tokens[j], ".")) j++;
  if (!is(tokens[j], "{")) return null;
  return { kind: "function", name: t.text, start: memberStart(tokens, i), body: j };
};

export const detectGo: Detector = (tokens, i, top) => {
  if (top !== undefined || !is(tokens[i], "func")) return null;
  let j = i + 1;
  let receiver: string | null = null;
  if (is(tokens[j], "(")) {
    const close = matching(tokens, j);
    if (close < 0) return null;
    const typeEnd = tokens.slice(j + 1, close).findIndex((t) => is(t, "["));
    const words = tokens.slice(j + 1, typeEnd < 0 ? close : j + 1 + typeEnd).filter(isWord);
    receiver = words.length ? words[words.length - 1].text : null;
    j = close + 1;
  }
  if (!isWord(tokens[j])) return null;
  const name = tokens[j].text;
  j++;
  if (is(tokens[j], "[")) j = matching(tokens, j) + 1;
  if (!is(tokens[j], "(")) return null;
  j = matching(tokens, j) + 1;
  if (j <= 0) return null;
  // Results run to the body's brace; `interface{}` and `struct{...}` there are types.
  for (; j < tokens.length; j++) {
    const t = tokens[j];
    if (t.nlBefore && !is(t, "{")) return null;
    if (is(t, "(") || is(t, "[")) j = matching(tokens, j);
    else if (is(t, "{")) {
      if (is(tokens[j - 1], "interface") || is(tokens[j - 1], "struct")) j = matching(tokens, j);
      else break;
    }
    if (j < 0) return null;
  }
  if (j >= tokens.length) return null;
  return {
    kind: "function",
    name: receiver ? `${receiver}.${name}` : name,
    start: tokens[i].start,
    body: j,
  };
};

const PHP_CLASSES = new Set(["class", "interface", "trait", "enum"]);
const PHP_MODIFIERS = new Set(["public", "protected", "private", "static", "abstract", "final"]);

export const detectPhp: Detector = (tokens, i) => {
  const cls = classHeader(tokens, i, PHP_CLASSES);
  if (cls) return cls;
  if (!isWord(tokens[i]) || tokens[i].text.toLowerCase() !== "function") return null;
  let j = i + 1;
  if (is(tokens[j], "&")) j++;
  if (!isWord(tokens[j]) || !is(tokens[j + 1], "(")) return null;
  const name = tokens[j].text;
  const body = braceAhead(tokens, j + 1);
  if (body < 0) return null;
  let s = i;
  while (s > 0 && isWord(tokens[s - 1]) && PHP_MODIFIERS.has(tokens[s - 1].text.toLowerCase())) s--;
  return { kind: "function", name, start: tokens[s].start, body };
};
