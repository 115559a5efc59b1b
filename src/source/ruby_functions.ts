/**
 * Functions of Ruby source by `def`/`end` nesting. A lexer skips what may hold the words `def`
 * and `end` without opening or closing anything: comments (`#`, `=begin`/`=end`), strings with
 * their `#{}` interpolation, heredocs, %-literals, regular expressions, symbols (`:end`), hash
 * labels (`end:`) and method calls (`x.end`). A walk over the tokens then pairs every `end` with
 * its opener (`def`, `class`, `module`, `begin`, `case`, `for`, `do`, and `if`/`unless`/`while`/
 * `until` when they start a statement rather than modify one). Endless methods (`def x = 1`)
 * end with their line. The doc comment is the block of `#` lines right above a `def`.
 */
import { lineCommentBlock } from "./doc_comments";
import { SourceLexer, is, matching, type Token } from "./lexer";
import { qualify, type FunctionSpan } from "./span";

const OPERATORS = [
  "**=",
  "<=>",
  "===",
  "...",
  "<<=",
  ">>=",
  "&&=",
  "||=",
  "::",
  "&.",
  "**",
  "==",
  "!=",
  "=~",
  "!~",
  "<=",
  ">=",
  "&&",
  "||",
  "<<",
  ">>",
  "=>",
  "->",
  "..",
  "+=",
  "-=",
  "*=",
  "/=",
  "%=",
  "|=",
  "&=",
  "^=",
];

// Keywords after which an expression starts (so `/`, `%`, `?` and `<<` start literals, and
// `if`/`while` start statements).
const EXPRESSION_KEYWORDS = new Set([
  "and",
  "or",
  "not",
  "then",
  "else",
  "elsif",
  "do",
  "begin",
  "return",
  "when",
  "in",
  "if",
  "unless",
  "while",
  "until",
  "case",
  "yield",
]);

const PERCENT_CLOSE: Record<string, string> = { "(": ")", "[": "]", "{": "}", "<": ">" };

class Lexer extends SourceLexer {
  // The source starts at a line start.
  protected override nl = true;
  private heredocs: { id: string; squiggly: boolean }[] = [];

  private lineEnd(from: number): number {
    const i = this.src.indexOf("\n", from);
    return i < 0 ? this.src.length : i;
  }

  /** The previous token ends a value (so `/` divides and `if` modifies). */
  private valueBefore(): boolean {
    const prev = this.tokens[this.tokens.length - 1];
    if (!prev || this.nl) return false;
    if (prev.kind === "literal") return true;
    if (prev.kind === "punct") return ")]}".includes(prev.text);
    return !EXPRESSION_KEYWORDS.has(prev.text);
  }

  /** `puts /x/`, `split %w[a]`: a method name, a space, then a literal stuck to its argument. */
  private commandArgument(p: number): boolean {
    const prev = this.tokens[this.tokens.length - 1];
    return (
      prev?.kind === "word" &&
      /[ \t]/.test(this.src[p - 1] ?? "") &&
      !/[\s=]/.test(this.src[p + 1] ?? " ")
    );
  }

  private literalAllowed(p: number): boolean {
    return !this.valueBefore() || this.commandArgument(p);
  }

  protected step(): void {
    const src = this.src;
    const p = this.pos;
    const c = src[p];
    const atLineStart = p === 0 || src[p - 1] === "\n";
    if (atLineStart && src.startsWith("=begin", p)) {
      const close = src.indexOf("\n=end", p);
      this.pos = close < 0 ? src.length : this.lineEnd(close + 1);
      return;
    }
    if (atLineStart && /^__END__\r?$/.test(src.slice(p, this.lineEnd(p)))) {
      this.pos = src.length;
      return;
    }
    if (c === "\n") {
      this.nl = true;
      this.pos = p + 1;
      this.skipHeredocBodies();
      return;
    }
    if (c === "\\" && src[p + 1] === "\n") {
      this.pos = p + 2;
      return;
    }
    if (/\s/.test(c)) {
      this.pos++;
      return;
    }
    if (c === "#") {
      this.comment(p, this.lineEnd(p));
      return;
    }
    if (c === '"' || c === "`") return this.interpolated(p, c);
    if (c === "'") return this.push("literal", p, this.quotedEnd(p, "'", true));
    if (c === ":" && src[p + 1] === '"') {
      this.interpolated(p + 1, '"');
      this.tokens[this.tokens.length - 1].start = p;
      return;
    }
    if (c === ":" && src[p + 1] !== ":" && src[p - 1] !== ":") {
      const sym = /:(?:[\p{L}_][\p{L}\p{N}_]*[?!=]?|\[\]=?|<=>|===?|=~|[+\-*/%<>!~^&|]+)/uy;
      sym.lastIndex = p;
      if (sym.test(src)) return this.push("literal", p, sym.lastIndex);
    }
    if (src.startsWith("<<", p)) {
      const h = /<<([~-]?)(["'`]?)([A-Za-z_]\w*)\2/y;
      h.lastIndex = p;
      const m = h.exec(src);
      if (m && (m[1] !== "" || m[2] !== "" || this.literalAllowed(p))) {
        this.heredocs.push({ id: m[3], squiggly: m[1] !== "" });
        return this.push("literal", p, h.lastIndex);
      }
    }
    if (c === "%" && this.literalAllowed(p)) {
      const m = /%([qQwWiIrsx]?)([^\w\s])/y;
      m.lastIndex = p;
      const found = m.exec(src);
      if (found) return this.push("literal", p, this.delimitedEnd(m.lastIndex, found[2]));
    }
    if (c === "/" && this.literalAllowed(p)) return this.interpolated(p, "/");
    if (c === "?" && /[^\s]/.test(src[p + 1] ?? " ") && !/\w/.test(src[p + 2] ?? "")) {
      if (!this.valueBefore()) return this.push("literal", p, p + 2);
    }
    const w = /(?:@@?|\$)?[\p{L}\p{N}_]+(?:[?!](?![=~]))?|\$[^\s\w]/uy;
    w.lastIndex = p;
    if (w.test(src)) {
      const end = w.lastIndex;
      // A hash label (`end: 1`) is data, not a keyword.
      const label = src[end] === ":" && src[end + 1] !== ":" && /\w[?!]?$/.test(src.slice(p, end));
      return this.push(label ? "literal" : "word", p, label ? end + 1 : end);
    }
    const op = OPERATORS.find((o) => src.startsWith(o, p));
    this.push("punct", p, p + (op ? op.length : 1));
  }

  /** A %-literal's end: nested for bracket delimiters. */
  private delimitedEnd(i: number, open: string): number {
    const close = PERCENT_CLOSE[open] ?? open;
    let depth = 1;
    for (; i < this.src.length; i++) {
      const ch = this.src[i];
      if (ch === "\\") i++;
      else if (ch === close && --depth === 0) return i + 1;
      else if (ch === open && close !== open) depth++;
    }
    return this.src.length;
  }

  /** A literal with `#{}` interpolation (double quotes, backticks, regex), folded into one token. */
  private interpolated(p: number, quote: string): void {
    let end = this.interpolatedEnd(p, quote, "#");
    if (quote === "/") while (/[a-z]/.test(this.src[end] ?? "")) end++;
    this.push("literal", p, end);
  }

  /** After a line break: skip the bodies of heredocs opened on the line that ended. */
  private skipHeredocBodies(): void {
    for (const h of this.heredocs) {
      while (this.pos < this.src.length) {
        const end = this.lineEnd(this.pos);
        const line = this.src.slice(this.pos, end).replace(/\r$/, "");
        this.pos = Math.min(this.src.length, end + 1);
        if ((h.squiggly ? line.trim() : line) === h.id) break;
      }
    }
    this.heredocs = [];
  }
}

interface Opener {
  kind: "def" | "scope" | "block";
  /** Classes and modules: the name they add to qualified names. */
  name: string | null;
  span?: FunctionSpan;
}

const OPERATOR_NAMES = new Set([
  "==",
  "===",
  "!=",
  "=~",
  "<=>",
  "<",
  ">",
  "<=",
  ">=",
  "+",
  "-",
  "*",
  "/",
  "%",
  "**",
  "<<",
  ">>",
  "!",
  "~",
  "&",
  "|",
  "^",
]);

/** A `def` at i: its name, and the token after its parameters (or -1 when it is not a def). */
function defHeader(tokens: readonly Token[], i: number): { name: string; next: number } | null {
  let j = i + 1;
  // def self.name / def Klass.name
  if (tokens[j]?.kind === "word" && is(tokens[j + 1], ".")) j += 2;
  const t = tokens[j];
  if (!t) return null;
  let name: string;
  if (t.kind === "word") {
    name = t.text;
    // A setter: `def name=(value)`, the `=` stuck to the name.
    const eq = tokens[j + 1];
    if (is(eq, "=") && eq.start === t.end && (is(tokens[j + 2], "(") || !tokens[j + 2]?.nlBefore)) {
      name += "=";
      j++;
    }
  } else if (is(t, "[")) {
    if (!is(tokens[j + 1], "]")) return null;
    name = "[]";
    j++;
    if (is(tokens[j + 1], "=") && tokens[j + 1].start === tokens[j].end) {
      name += "=";
      j++;
    }
  } else if (t.kind === "punct" && OPERATOR_NAMES.has(t.text)) {
    name = t.text;
  } else return null;
  j++;
  if (is(tokens[j], "(") && !tokens[j].nlBefore) j = matching(tokens, j) + 1;
  else {
    // Parameters without parentheses run to the end of the line.
    while (j < tokens.length && !tokens[j].nlBefore && !is(tokens[j], ";") && !is(tokens[j], "="))
      j++;
  }
  return j <= 0 ? null : { name, next: j };
}

/** End offset of the statement that starts at token i: the last token before a line break or `;`. */
function statementEnd(tokens: readonly Token[], i: number): number {
  let last = i;
  for (let j = i; j < tokens.length; j++) {
    if (j > i && (tokens[j].nlBefore || is(tokens[j], ";"))) break;
    if ("([{".includes(tokens[j].text) && tokens[j].kind === "punct") {
      const close = matching(tokens, j);
      if (close < 0) return tokens[tokens.length - 1].end;
      j = close;
    }
    last = j;
  }
  return tokens[last].end;
}

const CONDITIONAL = new Set(["if", "unless", "while", "until"]);

/** Every method of a Ruby source, in source order. */
export function rubyFunctions(src: string): FunctionSpan[] {
  const lexer = new Lexer(src);
  const tokens = lexer.run();
  const doc = (start: number): string | null => {
    const lines = lineCommentBlock(src, lexer.comments, start, "#", (c) => /^#[!{]/.test(c));
    const text = lines
      .map((l) => l.replace(/^#+ ?/, "").trimEnd())
      .join("\n")
      .trim();
    return text === "" ? null : text;
  };
  const stack: Opener[] = [];
  const spans: FunctionSpan[] = [];
  let loopDo = false;
  const names = () => stack.map((o) => o.name);
  // The class or module a def is a member of: the innermost named one, unless a def is nearer.
  const owner = (): string | null => {
    for (let k = stack.length - 1; k >= 0; k--) {
      if (stack[k].kind === "def") return null;
      if (stack[k].kind === "scope" && stack[k].name !== null) return stack[k].name;
    }
    return null;
  };
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    const prev = tokens[i - 1];
    if (t.nlBefore || is(t, ";")) loopDo = false;
    if (t.kind !== "word" || is(prev, ".") || is(prev, "&.") || is(prev, "::")) continue;
    switch (t.text) {
      case "def": {
        const h = defHeader(tokens, i);
        if (!h) break;
        const span = {
          name: h.name,
          qualifiedName: qualify(names(), h.name),
          owner: owner(),
          start: t.start,
          doc: doc(t.start),
        };
        if (is(tokens[h.next], "=") && !tokens[h.next].nlBefore) {
          spans.push({ ...span, end: statementEnd(tokens, h.next + 1) });
          i = h.next;
        } else stack.push({ kind: "def", name: h.name, span: { ...span, end: 0 } });
        break;
      }
      case "class":
      case "module": {
        if (is(tokens[i + 1], "<<")) {
          stack.push({ kind: "scope", name: null });
          break;
        }
        let j = i + 1;
        const parts: string[] = [];
        while (tokens[j]?.kind === "word") {
          parts.push(tokens[j].text);
          if (!is(tokens[j + 1], "::")) break;
          j += 2;
        }
        stack.push({ kind: "scope", name: parts.length ? parts.join(".") : null });
        break;
      }
      case "begin":
      case "case":
        stack.push({ kind: "block", name: null });
        break;
      case "for":
        stack.push({ kind: "block", name: null });
        loopDo = true;
        break;
      case "do":
        if (loopDo) loopDo = false;
        else stack.push({ kind: "block", name: null });
        break;
      case "end": {
        const o = stack.pop();
        if (o?.span) spans.push({ ...o.span, end: t.end });
        break;
      }
      default:
        if (CONDITIONAL.has(t.text) && startsStatement(tokens, i)) {
          stack.push({ kind: "block", name: null });
          if (t.text === "while" || t.text === "until") loopDo = true;
        }
    }
  }
  return spans.sort((a, b) => a.start - b.start);
}

/** `if`/`unless`/`while`/`until` at i opens a block (it does not modify the statement before it). */
function startsStatement(tokens: readonly Token[], i: number): boolean {
  const prev = tokens[i - 1];
  if (!prev || tokens[i].nlBefore) return true;
  if (prev.kind === "literal") return false;
  if (prev.kind === "punct") return !")]}".includes(prev.text);
  // `return if x` and `yield if x` modify: those two end a statement on their own.
  return EXPRESSION_KEYWORDS.has(prev.text) && prev.text !== "return" && prev.text !== "yield";
}
