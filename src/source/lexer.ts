/**
 * What the brace and Ruby scanners share: their tokens, a lexer base that pushes tokens, records
 * where comments are (doc comments are read from them) and folds a quoted literal's interpolated
 * code into the literal, and bracket matching over the tokens.
 */

/** A word, an operator or bracket, or a whole literal (string, regex, heredoc, symbol...). */
export interface Token {
  kind: "word" | "punct" | "literal";
  text: string;
  start: number;
  end: number;
  /** A line break lies between the previous token and this one. */
  nlBefore: boolean;
}

/** Where a comment lies in the source: from its marker to its last character (a line comment ends before its newline). */
export interface CommentSpan {
  start: number;
  end: number;
}

/** A lexer over one source: each `step` lexes one token at `pos`, or skips blanks or a comment. */
export abstract class SourceLexer {
  protected pos = 0;
  /** A line break was skipped since the last token. */
  protected nl = false;
  readonly tokens: Token[] = [];
  /** Comments outside literals, in source order. */
  readonly comments: CommentSpan[] = [];

  constructor(protected readonly src: string) {}

  /** Every token of the source. */
  run(): Token[] {
    while (this.pos < this.src.length) this.step();
    return this.tokens;
  }

  /** Lex one token (or skip blanks or a comment) at `pos`, moving `pos` past it. */
  protected abstract step(): void;

  /** Add the token src[start, end) and continue after it. */
  protected push(kind: Token["kind"], start: number, end: number): void {
    this.tokens.push({ kind, text: this.src.slice(start, end), start, end, nlBefore: this.nl });
    this.nl = false;
    this.pos = end;
  }

  /** Skip the comment src[start, end) and record it. */
  protected comment(start: number, end: number): void {
    this.comments.push({ start, end });
    this.pos = end;
  }

  /** End of a quoted literal at p; without `multiline` a line break ends an unterminated one. */
  protected quotedEnd(p: number, quote: string, multiline: boolean): number {
    const src = this.src;
    for (let i = p + 1; i < src.length; i++) {
      if (src[i] === "\\") i++;
      else if (src[i] === quote) return i + 1;
      else if (src[i] === "\n" && !multiline) return i;
    }
    return src.length;
  }

  /**
   * End of a literal at p closed by `quote` whose `<marker>{...}` parts are code (JS `${}`, Ruby
   * `#{}`): they are lexed only to find their closing brace, and their tokens dropped.
   */
  protected interpolatedEnd(p: number, quote: string, marker: string): number {
    const src = this.src;
    const mark = this.tokens.length;
    const comments = this.comments.length;
    let i = p + 1;
    while (i < src.length && src[i] !== quote) {
      if (src[i] === "\\") i += 2;
      else if (src[i] === marker && src[i + 1] === "{") {
        this.pos = i + 2;
        this.untilUnmatchedBrace();
        i = this.pos;
      } else i++;
    }
    this.tokens.length = mark;
    this.comments.length = comments;
    return Math.min(src.length, i + 1);
  }

  /** Lex until a `}` that no earlier `{` opened, and consume it. */
  protected untilUnmatchedBrace(): void {
    let depth = 0;
    while (this.pos < this.src.length) {
      const before = this.tokens.length;
      this.step();
      const t = this.tokens.length > before ? this.tokens[this.tokens.length - 1] : null;
      if (t?.text === "{") depth++;
      else if (t?.text === "}" && depth-- === 0) return;
    }
  }
}

/** The token is the operator, bracket or word `text` (never a literal that spells it). */
export const is = (t: Token | undefined, text: string): boolean =>
  t !== undefined && t.kind !== "literal" && t.text === text;

/** Index of the bracket that closes the one at i (any of ( [ { counted together), or -1. */
export function matching(tokens: readonly Token[], i: number): number {
  let depth = 0;
  for (let j = i; j < tokens.length; j++) {
    const t = tokens[j];
    if (t.kind !== "punct") continue;
    if ("([{".includes(t.text)) depth++;
    else if (")]}".includes(t.text) && --depth === 0) return j;
  }
  return -1;
}
