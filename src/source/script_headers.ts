/**
 * Function headers of JavaScript and TypeScript: `function name(...) {`, functions and arrows
 * assigned to names, members and object keys (`a.b = function`, `x: () => ...`), and methods of
 * classes and object literals. TypeScript adds what may stand between those parts: type
 * parameters (`f<T>(`), return types (`): Promise<T> {`, `): T =>`), typed declarations
 * (`const f: Handler = ...`), member modifiers (`private readonly`), and interface, enum and
 * namespace scopes.
 */
import { classHeader, isWord, type Detector, type Found } from "./brace_headers";
import { is, matching, type Token } from "./lexer";

const NOT_METHODS = new Set([
  "if",
  "for",
  "while",
  "switch",
  "catch",
  "with",
  "function",
  "return",
  "typeof",
  "await",
  "new",
  "super",
  "import",
]);
const JS_MODIFIERS = new Set(["static", "async", "get", "set", "*"]);
const TS_MODIFIERS = new Set([
  ...JS_MODIFIERS,
  "public",
  "private",
  "protected",
  "readonly",
  "abstract",
  "override",
  "declare",
]);
const DECLARE = new Set(["const", "let", "var"]);
const JS_CLASSES = new Set(["class"]);
const TS_CLASSES = new Set(["class", "interface", "enum", "namespace"]);
// After these a `{` opens an object type, not a body.
const TYPE_POSITION = new Set([":", "|", "&", ",", "<", "(", "[", "=>", "?"]);

/** Start of a declaration at i: back over the words in `words` just before it. */
function backOver(tokens: readonly Token[], i: number, words: Set<string>): number {
  let s = i;
  while (s > 0 && tokens[s - 1].kind !== "literal" && words.has(tokens[s - 1].text)) s--;
  return s;
}

/**
 * Index of the token that ends a TypeScript type annotation whose `:` is at j: the first of
 * `stops` at bracket and angle depth 0, or -1 when the annotation ends otherwise.
 */
function typeEnd(tokens: readonly Token[], j: number, stops: readonly string[]): number {
  let angle = 0;
  for (let k = j + 1; k < tokens.length; k++) {
    const t = tokens[k];
    if (t.kind !== "punct") continue;
    if (t.text === "<") angle++;
    else if (t.text === ">") angle--;
    else if (t.text === ">>") angle -= 2;
    else if (t.text === "(" || t.text === "[") {
      k = matching(tokens, k);
      if (k < 0) return -1;
    } else if (t.text === "{") {
      const prev = tokens[k - 1];
      if (angle > 0 || (prev.kind === "punct" && TYPE_POSITION.has(prev.text))) {
        k = matching(tokens, k);
        if (k < 0) return -1;
      } else return stops.includes("{") ? k : -1;
    } else if (angle <= 0 && stops.includes(t.text)) return k;
    else if (angle <= 0 && [";", "}", ")", "]", ",", "="].includes(t.text)) return -1;
  }
  return -1;
}

/** Index just past type parameters `<...>` starting at j, or j when there are none. */
function afterTypeParams(tokens: readonly Token[], j: number): number {
  if (!is(tokens[j], "<")) return j;
  let depth = 0;
  for (let k = j; k < tokens.length; k++) {
    if (is(tokens[k], "<")) depth++;
    else if (is(tokens[k], ">")) depth--;
    else if (is(tokens[k], ">>")) depth -= 2;
    if (depth <= 0) return k + 1;
  }
  return tokens.length;
}

/** Index of the token after the parameters closing at `close`: past a return type in TypeScript, at `stop`. */
function afterParams(tokens: readonly Token[], close: number, stop: string, ts: boolean): number {
  if (ts && is(tokens[close + 1], ":")) return typeEnd(tokens, close + 1, [stop]);
  return is(tokens[close + 1], stop) ? close + 1 : -1;
}

/** Index of a function body's `{` after a parameter list opening at j (type parameters first), or -1. */
function bodyAfter(tokens: readonly Token[], j: number, ts: boolean): number {
  if (ts) j = afterTypeParams(tokens, j);
  if (!is(tokens[j], "(")) return -1;
  const close = matching(tokens, j);
  return close < 0 ? -1 : afterParams(tokens, close, "{", ts);
}

/** End of an arrow function's expression body starting at token i (exclusive offset). */
function expressionEnd(tokens: readonly Token[], i: number): number {
  let last = i;
  for (let j = i; j < tokens.length; j++) {
    const t = tokens[j];
    if (j > i && t.nlBefore) break;
    if (is(t, ";")) return t.end;
    if (is(t, ",") || is(t, ")") || is(t, "]") || is(t, "}")) break;
    if (is(t, "(") || is(t, "[") || is(t, "{")) {
      j = matching(tokens, j);
      if (j < 0) return tokens[tokens.length - 1].end;
    }
    last = j;
  }
  return tokens[last].end;
}

/** A function value at i (`function (...) {`, `async (...) => ...`, `x => ...`): where its body is. */
function functionValue(
  tokens: readonly Token[],
  i: number,
  ts: boolean,
): { body: number } | { end: number } | null {
  let j = i;
  if (is(tokens[j], "async")) j++;
  if (is(tokens[j], "function")) {
    j++;
    if (is(tokens[j], "*")) j++;
    if (isWord(tokens[j])) j++;
    const body = bodyAfter(tokens, j, ts);
    return body < 0 ? null : { body };
  }
  if (ts) j = afterTypeParams(tokens, j);
  let arrow: number;
  if (is(tokens[j], "(")) {
    const close = matching(tokens, j);
    arrow = close < 0 ? -1 : afterParams(tokens, close, "=>", ts);
  } else arrow = isWord(tokens[j]) && is(tokens[j + 1], "=>") ? j + 1 : -1;
  if (arrow < 0) return null;
  return is(tokens[arrow + 1], "{")
    ? { body: arrow + 1 }
    : { end: expressionEnd(tokens, arrow + 1) };
}

// Before a `{` these make it an object type, not an object literal.
const TYPE_BEFORE_BRACE = new Set([":", "|", "&", "<", "=>"]);

/**
 * Whether token i is a key of an object literal: the bracket enclosing it is a `{` that opens no
 * object type (`cb: { f: () => void }`, `type T = { ... }`) and no parameter list holds it
 * (`(a, cb: () => void)`). A very long literal is taken as one without looking further.
 */
function inObjectLiteral(tokens: readonly Token[], i: number): boolean {
  let k = i - 1;
  for (let depth = 0; k >= 0 && i - k < 4000; k--) {
    const t = tokens[k];
    if (t.kind !== "punct") continue;
    if (")]}".includes(t.text)) depth++;
    else if ("([{".includes(t.text) && depth-- === 0) break;
  }
  if (k < 0) return false;
  if (i - k >= 4000) return true;
  if (!is(tokens[k], "{")) return false;
  const before = tokens[k - 1];
  if (before?.kind === "punct" && TYPE_BEFORE_BRACE.has(before.text)) return false;
  // type Name<T> = { ... }, on the statement's line
  if (is(before, "=")) {
    for (
      let j = k - 2;
      j >= 0 &&
      (isWord(tokens[j]) || is(tokens[j], "<") || is(tokens[j], ">") || is(tokens[j], ","));
      j--
    ) {
      if (is(tokens[j], "type")) return false;
      if (tokens[j].nlBefore) break;
    }
  }
  return true;
}

/** The JavaScript detector, or with `ts` the TypeScript one. */
export function scriptDetector(ts: boolean): Detector {
  const modifiers = ts ? TS_MODIFIERS : JS_MODIFIERS;
  const classes = ts ? TS_CLASSES : JS_CLASSES;
  return (tokens, i, top): Found | null => {
    const cls = classHeader(tokens, i, classes);
    if (cls) return cls;
    const t = tokens[i];
    const prev = tokens[i - 1];
    if (!isWord(t)) return null;
    const member = is(prev, ".") || is(prev, "?.");
    // function name(...) { ... }
    if (t.text === "function" && !member) {
      let j = i + 1;
      if (is(tokens[j], "*")) j++;
      if (!isWord(tokens[j])) return null;
      const body = bodyAfter(tokens, j + 1, ts);
      if (body < 0) return null;
      const s = backOver(tokens, i, new Set(["async", "export", "default", "declare"]));
      return { kind: "function", name: tokens[j].text, start: tokens[s].start, body };
    }
    // name = function/arrow, name: function/arrow; TypeScript: name: Type = function/arrow
    let sep = i + 1;
    const objectKey =
      is(tokens[sep], ":") &&
      !member &&
      top?.kind !== "class" &&
      (is(prev, "{") || is(prev, ",")) &&
      inObjectLiteral(tokens, i);
    if (ts && !objectKey && !member && (is(tokens[sep], "?") || is(tokens[sep], "!"))) sep++;
    if (ts && !objectKey && !member && is(tokens[sep], ":")) sep = typeEnd(tokens, sep, ["="]);
    // A word in a type (`: (x: T) => string = ...`) is no declared name.
    const inType = is(prev, "=>") || is(prev, ":") || is(prev, "|") || is(prev, "&");
    if (sep > 0 && ((is(tokens[sep], "=") && !inType) || objectKey)) {
      const value = functionValue(tokens, sep + 1, ts);
      if (!value) return null;
      let s = i;
      let name = t.text;
      if (is(tokens[sep], "=")) {
        while (s >= 2 && is(tokens[s - 1], ".") && isWord(tokens[s - 2])) s -= 2;
        // An assigned member keeps its object: `module.exports.helper`.
        name = tokens
          .slice(s, i + 1)
          .filter(isWord)
          .map((w) => w.text)
          .join(".");
        s = backOver(tokens, backOver(tokens, s, DECLARE), new Set(["export"]));
        if (top?.kind === "class") s = backOver(tokens, s, modifiers);
      }
      const start = tokens[s].start;
      return "body" in value
        ? { kind: "function", name, start, body: value.body }
        : { kind: "function", name, start, end: value.end };
    }
    // Methods of classes and object literals: name(...) { ... }
    const next = tokens[i + 1];
    const opens = is(next, "(") || (ts && is(next, "<"));
    if (member || !opens || NOT_METHODS.has(t.text)) return null;
    const s = backOver(tokens, i, modifiers);
    const before = tokens[s - 1];
    const memberPosition =
      top?.kind === "class"
        ? !before || tokens[s].nlBefore || is(before, "{") || is(before, "}") || is(before, ";")
        : is(before, "{") || is(before, ",");
    if (!memberPosition) return null;
    const body = bodyAfter(tokens, i + 1, ts);
    return body < 0 ? null : { kind: "function", name: t.text, start: tokens[s].start, body };
  };
}
