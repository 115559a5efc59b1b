/**
 * Functions of the brace languages (Java, JavaScript, PHP, Go) by a small scanner: a lexer that
 * skips strings, comments and other literals (Java text blocks, JS template literals with their
 * `${}` expressions and regular expressions, PHP heredocs and text outside `<?php ?>`, Go raw
 * strings), then a walk over the tokens that keeps a stack of brace scopes (classes, functions,
 * plain blocks) and recognises each language's function headers. A function ends at the brace
 * that closes its body.
 */
import { SourceLexer, is, matching, type Token } from "./lexer";
import { qualify, type FunctionSpan } from "./span";

/** The languages this scanner reads. */
export type BraceLang = "java" | "javascript" | "php" | "go";

// Longest first, so that the lexer takes the longest operator that matches.
const OPERATORS = [
  ">>>=",
  "===",
  "!==",
  "**=",
  "...",
  "<<=",
  ">>=",
  "?->",
  "=>",
  "->",
  "==",
  "!=",
  "<=",
  ">=",
  "&&",
  "||",
  "??",
  "?.",
  "::",
  "++",
  "--",
  "+=",
  "-=",
  "*=",
  "/=",
  "%=",
  "&=",
  "|=",
  "^=",
  "<<",
  ">>",
  ":=",
  "**",
];

// After these words a `/` starts a regular expression in JavaScript, not a division.
const JS_REGEX_AFTER = new Set([
  "return",
  "typeof",
  "instanceof",
  "in",
  "of",
  "new",
  "delete",
  "void",
  "throw",
  "case",
  "do",
  "else",
  "yield",
  "await",
]);

class Lexer extends SourceLexer {
  constructor(
    src: string,
    private readonly lang: BraceLang,
  ) {
    super(src);
  }

  override run(): Token[] {
    // A PHP file with open tags starts as inline text; a bare snippet is all code.
    if (this.lang === "php" && /<\?(php|=)/.test(this.src)) this.skipPhpText();
    return super.run();
  }

  private skipPhpText(): void {
    const m = /<\?(php\b|=)?/g;
    m.lastIndex = this.pos;
    const found = m.exec(this.src);
    this.pos = found ? found.index + found[0].length : this.src.length;
    this.nl = true;
  }

  private indexOrEnd(s: string, from: number): number {
    const i = this.src.indexOf(s, from);
    return i < 0 ? this.src.length : i;
  }

  /** One token (or skipped whitespace/comment) at the current position. */
  protected step(): void {
    const src = this.src;
    const p = this.pos;
    const c = src[p];
    const next = src[p + 1];
    if (c === "\n") {
      this.nl = true;
      this.pos++;
      return;
    }
    if (/\s/.test(c)) {
      this.pos++;
      return;
    }
    if (this.lang === "php" && c === "?" && next === ">") {
      this.pos += 2;
      this.skipPhpText();
      return;
    }
    if (c === "/" && next === "/") {
      this.pos = this.indexOrEnd("\n", p);
      return;
    }
    if (this.lang === "php" && c === "#" && next !== "[") {
      this.pos = this.indexOrEnd("\n", p);
      return;
    }
    if (c === "/" && next === "*") {
      const close = src.indexOf("*/", p + 2);
      if (close < 0) this.pos = src.length;
      else this.pos = close + 2;
      if (src.slice(p, this.pos).includes("\n")) this.nl = true;
      return;
    }
    if (c === '"' || c === "'") {
      if (this.lang === "java" && src.startsWith('"""', p)) {
        this.push("literal", p, Math.min(src.length, this.indexOrEnd('"""', p + 3) + 3));
        return;
      }
      this.push("literal", p, this.quotedEnd(p, c, this.lang === "php"));
      return;
    }
    if (c === "`") {
      if (this.lang === "javascript") this.push("literal", p, this.interpolatedEnd(p, c, "$"));
      else if (this.lang === "go") this.push("literal", p, this.indexOrEnd("`", p + 1) + 1);
      else this.push("literal", p, this.quotedEnd(p, c, true));
      return;
    }
    if (this.lang === "php" && src.startsWith("<<<", p)) {
      const m = /<<<[ \t]*(["']?)([A-Za-z_]\w*)\1\r?\n/y;
      m.lastIndex = p;
      const h = m.exec(src);
      if (h) {
        const close = new RegExp(`^[ \\t]*${h[2]}\\b`, "m");
        const rest = src.slice(m.lastIndex);
        const found = close.exec(rest);
        const end = found ? m.lastIndex + found.index + found[0].length : src.length;
        this.push("literal", p, end);
        return;
      }
    }
    if (this.lang === "javascript" && c === "/" && this.regexAllowed()) {
      const end = this.regexEnd(p);
      if (end > 0) {
        this.push("literal", p, end);
        return;
      }
    }
    const word = this.wordAt(p);
    if (word > p) {
      this.push("word", p, word);
      return;
    }
    const op = OPERATORS.find((o) => src.startsWith(o, p));
    this.push("punct", p, p + (op ? op.length : 1));
  }

  private wordAt(p: number): number {
    const re =
      this.lang === "php"
        ? /[\p{L}\p{N}_$\\]+/uy
        : this.lang === "javascript"
          ? /#?[\p{L}\p{N}_$]+/uy
          : /[\p{L}\p{N}_$]+/uy;
    re.lastIndex = p;
    return re.test(this.src) ? re.lastIndex : p;
  }

  private regexAllowed(): boolean {
    const prev = this.tokens[this.tokens.length - 1];
    if (!prev) return true;
    if (prev.kind === "punct") return !")]}".includes(prev.text) && prev.text !== "++";
    return prev.kind === "word" && JS_REGEX_AFTER.has(prev.text);
  }

  /** End of a regular expression literal at p, or -1 when there is none on this line. */
  private regexEnd(p: number): number {
    const src = this.src;
    let inClass = false;
    for (let i = p + 1; i < src.length; i++) {
      const ch = src[i];
      if (ch === "\\") i++;
      else if (ch === "\n") return -1;
      else if (ch === "[") inClass = true;
      else if (ch === "]") inClass = false;
      else if (ch === "/" && !inClass) {
        let j = i + 1;
        while (j < src.length && /[a-z]/i.test(src[j])) j++;
        return j;
      }
    }
    return -1;
  }
}

/** First `{` at bracket depth 0 from i on, before any `;` (or -1). */
function braceAhead(tokens: readonly Token[], i: number): number {
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

const isWord = (t: Token | undefined): t is Token => t !== undefined && t.kind === "word";

/** What a header at a token announces: a scope opened by the brace at `body`, or a finished span. */
type Found =
  | { kind: "class"; name: string | null; body: number }
  | { kind: "function"; name: string; start: number; body: number }
  | { kind: "function"; name: string; start: number; end: number };

interface Scope {
  kind: "class" | "function" | "block";
  /** The name this scope adds to qualified names (none for blocks and anonymous classes). */
  name: string | null;
  start: number;
  /** Functions: the span reported when the body closes. */
  span?: FunctionSpan;
}

type Detector = (tokens: readonly Token[], i: number, top: Scope | undefined) => Found | null;

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

/** Start of a Java member: the first token after the previous `;`, `{` or `}` (modifiers and annotations). */
function memberStart(tokens: readonly Token[], i: number): number {
  let j = i - 1;
  while (j >= 0 && !(tokens[j].kind === "punct" && ";{}".includes(tokens[j].text))) j--;
  return tokens[j + 1].start;
}

/** A class-like header: the keyword at i, then its name (or none), then the body brace. */
function classHeader(tokens: readonly Token[], i: number, keywords: Set<string>): Found | null {
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

const detectJava: Detector = (tokens, i, top) => {
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
  let j = close + 1;
  // throws A, b.C
  while (isWord(tokens[j]) || is(tokens[j], ",") || is(tokens[j], ".")) j++;
  if (!is(tokens[j], "{")) return null;
  return { kind: "function", name: t.text, start: memberStart(tokens, i), body: j };
};

const detectGo: Detector = (tokens, i, top) => {
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

const detectPhp: Detector = (tokens, i) => {
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

const JS_NOT_METHODS = new Set([
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
const JS_DECLARE = new Set(["const", "let", "var"]);

/** Start of a JS declaration at i: back over the words in `words` just before it. */
function backOver(tokens: readonly Token[], i: number, words: Set<string>): number {
  let s = i;
  while (s > 0 && tokens[s - 1].kind !== "literal" && words.has(tokens[s - 1].text)) s--;
  return s;
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
): { body: number } | { end: number } | null {
  let j = i;
  if (is(tokens[j], "async")) j++;
  if (is(tokens[j], "function")) {
    j++;
    if (is(tokens[j], "*")) j++;
    if (isWord(tokens[j])) j++;
    if (!is(tokens[j], "(")) return null;
    const close = matching(tokens, j);
    return close > 0 && is(tokens[close + 1], "{") ? { body: close + 1 } : null;
  }
  if (is(tokens[j], "(")) j = matching(tokens, j);
  else if (!isWord(tokens[j])) return null;
  if (j < 0 || !is(tokens[j + 1], "=>")) return null;
  return is(tokens[j + 2], "{") ? { body: j + 2 } : { end: expressionEnd(tokens, j + 2) };
}

const detectJs: Detector = (tokens, i, top) => {
  const cls = classHeader(tokens, i, new Set(["class"]));
  if (cls) return cls;
  const t = tokens[i];
  const prev = tokens[i - 1];
  if (!isWord(t)) return null;
  const member = is(prev, ".") || is(prev, "?.");
  // function name(...) { ... }
  if (t.text === "function" && !member) {
    let j = i + 1;
    if (is(tokens[j], "*")) j++;
    if (!isWord(tokens[j]) || !is(tokens[j + 1], "(")) return null;
    const close = matching(tokens, j + 1);
    if (close < 0 || !is(tokens[close + 1], "{")) return null;
    const s = backOver(tokens, i, new Set(["async", "export", "default"]));
    return { kind: "function", name: tokens[j].text, start: tokens[s].start, body: close + 1 };
  }
  // name = function/arrow, name: function/arrow
  const sep = tokens[i + 1];
  if (is(sep, "=") || (is(sep, ":") && !member && (is(prev, "{") || is(prev, ",")))) {
    const value = functionValue(tokens, i + 2);
    if (!value) return null;
    let s = i;
    if (is(sep, "=")) {
      while (s >= 2 && is(tokens[s - 1], ".") && isWord(tokens[s - 2])) s -= 2;
      s = backOver(tokens, backOver(tokens, s, JS_DECLARE), new Set(["export"]));
      if (top?.kind === "class") s = backOver(tokens, s, new Set(["static"]));
    }
    const start = tokens[s].start;
    return "body" in value
      ? { kind: "function", name: t.text, start, body: value.body }
      : { kind: "function", name: t.text, start, end: value.end };
  }
  // Methods of classes and object literals: name(...) { ... }
  if (member || !is(sep, "(") || JS_NOT_METHODS.has(t.text)) return null;
  const s = backOver(tokens, i, JS_MODIFIERS);
  const before = tokens[s - 1];
  const memberPosition =
    top?.kind === "class"
      ? !before || tokens[s].nlBefore || is(before, "{") || is(before, "}") || is(before, ";")
      : is(before, "{") || is(before, ",");
  if (!memberPosition) return null;
  const close = matching(tokens, i + 1);
  if (close < 0 || !is(tokens[close + 1], "{")) return null;
  return { kind: "function", name: t.text, start: tokens[s].start, body: close + 1 };
};

const DETECTORS: Record<BraceLang, Detector> = {
  java: detectJava,
  javascript: detectJs,
  php: detectPhp,
  go: detectGo,
};

/** Every function of a Java, JavaScript, PHP or Go source, in source order. */
export function braceFunctions(source: string, lang: BraceLang): FunctionSpan[] {
  const tokens = new Lexer(source, lang).run();
  const detect = DETECTORS[lang];
  const opens = new Map<number, Scope>();
  const stack: Scope[] = [];
  const spans: FunctionSpan[] = [];
  const names = () => stack.map((s) => s.name);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    let found = detect(tokens, i, stack[stack.length - 1]);
    // A header already claimed by an earlier token (`const f = function g() {`) counts once.
    if (found && "body" in found && opens.has(found.body)) found = null;
    if (found?.kind === "class") {
      opens.set(found.body, { kind: "class", name: found.name, start: t.start });
    } else if (found) {
      // Go methods come as Receiver.Name: the receiver qualifies the name.
      const name = found.name.slice(found.name.lastIndexOf(".") + 1);
      const span = {
        name,
        qualifiedName: qualify(names(), found.name),
        start: found.start,
        end: 0,
      };
      if ("end" in found) spans.push({ ...span, end: found.end });
      else opens.set(found.body, { kind: "function", name: found.name, start: found.start, span });
    }
    if (is(t, "{")) stack.push(opens.get(i) ?? { kind: "block", name: null, start: t.start });
    else if (is(t, "}")) {
      const scope = stack.pop();
      if (scope?.span) spans.push({ ...scope.span, end: t.end });
    }
  }
  return spans.sort((a, b) => a.start - b.start);
}
