/**
 * The token lists of CodeSearchNet-style rows: `code_tokens` (identifiers, numbers, whole string
 * literals, operators; comments dropped) and `docstring_tokens` (words and punctuation).
 */
import { type Lang, LANGS } from "./langs";

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
