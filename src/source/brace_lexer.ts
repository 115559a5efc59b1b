/**
 * The lexer of the brace languages (Java, JavaScript, TypeScript, PHP, Go): words, operators and
 * brackets as tokens; strings, comments and other literals skipped whole (Java text blocks, JS/TS
 * template literals with their `${}` expressions and regular expressions, TSX elements, PHP
 * heredocs and text outside `<?php ?>`, Go raw strings), comments recorded.
 */
import { SourceLexer, type Token } from "./lexer";

/** The languages this lexer reads. */
export type BraceLang = "java" | "javascript" | "typescript" | "php" | "go";

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

/** The tokens and comments of a brace-language source. */
export class BraceLexer extends SourceLexer {
  /** JavaScript or TypeScript: template literals, regular expressions, `#private` names. */
  private readonly js: boolean;

  constructor(
    src: string,
    private readonly lang: BraceLang,
    private readonly jsx: boolean,
  ) {
    super(src);
    this.js = lang === "javascript" || lang === "typescript";
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
    if ((c === "/" && next === "/") || (this.lang === "php" && c === "#" && next !== "[")) {
      this.comment(p, this.indexOrEnd("\n", p));
      return;
    }
    if (c === "/" && next === "*") {
      const close = src.indexOf("*/", p + 2);
      this.comment(p, close < 0 ? src.length : close + 2);
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
      if (this.js) this.push("literal", p, this.interpolatedEnd(p, c, "$"));
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
    if (this.jsx && c === "<" && /[\p{L}_$>]/u.test(next ?? "") && this.regexAllowed()) {
      const end = this.jsxElementEnd(p);
      if (end > 0) {
        this.push("literal", p, end);
        return;
      }
    }
    if (this.js && c === "/" && this.regexAllowed()) {
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
        : this.js
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

  /**
   * End of the JSX element (or fragment) whose `<` is at p, or -1 when p starts no element (a
   * generic arrow's `<T,>`). Attribute and child expressions `{...}` are lexed to find their
   * closing brace, their tokens and comments dropped; text between tags is skipped unread.
   */
  private jsxElementEnd(p: number): number {
    const src = this.src;
    const tag = /<([\p{L}\p{N}_$.:-]*)/uy;
    tag.lastIndex = p;
    let i = p + tag.exec(src)![0].length;
    if (/^\s*(,|extends\b)/.test(src.slice(i, i + 12))) return -1;
    // Attributes, to the end of the opening tag.
    for (;;) {
      if (i >= src.length) return src.length;
      const ch = src[i];
      if (ch === "/" && src[i + 1] === ">") return i + 2;
      if (ch === ">") break;
      if (ch === "{") i = this.jsxExpressionEnd(i);
      else if (ch === '"' || ch === "'") i = this.quotedEnd(i, ch, true);
      else i++;
    }
    // Children, to the closing tag.
    for (i++; i < src.length;) {
      if (src.startsWith("</", i)) {
        const close = src.indexOf(">", i);
        return close < 0 ? src.length : close + 1;
      }
      if (src[i] === "{") i = this.jsxExpressionEnd(i);
      else if (src[i] === "<") {
        const end = this.jsxElementEnd(i);
        i = end > 0 ? end : i + 1;
      } else i++;
    }
    return src.length;
  }

  /** End of a JSX expression container whose `{` is at i. */
  private jsxExpressionEnd(i: number): number {
    const [tokens, comments] = [this.tokens.length, this.comments.length];
    const nl = this.nl;
    this.pos = i + 1;
    this.untilUnmatchedBrace();
    this.tokens.length = tokens;
    this.comments.length = comments;
    this.nl = nl;
    return this.pos;
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
