/**
 * Oniguruma (Ruby syntax) patterns of tokenizer.json `Split` pre-tokenizers, compiled as JS RegExps.
 * Only constructs whose meaning is the same after translation are accepted; anything else is an error,
 * so a pattern never silently splits differently from the reference.
 */

const WORD_CLASS_BODY = "\\p{L}\\p{M}\\p{Nd}\\p{Pc}";

/** Escapes with a different meaning in Oniguruma than in JS, outside a character class. */
const OUTSIDE_CLASS: Record<string, string> = {
  s: "\\p{White_Space}",
  S: "\\P{White_Space}",
  d: "\\p{Nd}",
  D: "\\P{Nd}",
  w: `[${WORD_CLASS_BODY}]`,
  W: `[^${WORD_CLASS_BODY}]`,
  h: "[0-9a-fA-F]",
  H: "[^0-9a-fA-F]",
  A: "(?<![\\s\\S])",
  z: "(?![\\s\\S])",
  Z: "(?=\\n?(?![\\s\\S]))",
};

/** The same inside a character class (negated shorthands cannot be expressed there). */
const INSIDE_CLASS: Record<string, string> = {
  s: "\\p{White_Space}",
  S: "\\P{White_Space}",
  d: "\\p{Nd}",
  D: "\\P{Nd}",
  w: WORD_CLASS_BODY,
  h: "0-9a-fA-F",
};

/** Escapes that JS rejects or reads differently, with no safe translation here. */
const UNSUPPORTED_ESCAPES = new Set(["G", "b", "B", "K", "R", "X", "O", "k", "g", "Q", "E"]);

/** Translate an Oniguruma pattern to JS source (for the `u` flag); throws naming `where` on unsupported syntax. */
export function onigToJsSource(pattern: string, where: string): string {
  let out = "";
  let inClass = false;
  const fail = (what: string, at: number): never => {
    throw new Error(
      `${where}: unsupported regex construct ${what} at offset ${at} in ${JSON.stringify(pattern)}`,
    );
  };
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "\\") {
      const e = pattern[i + 1];
      if (e === undefined) fail("trailing backslash", i);
      i++;
      if (e === "x" && pattern[i + 1] === "{") {
        const close = pattern.indexOf("}", i);
        if (close < 0) fail("\\x{", i);
        out += `\\u{${pattern.slice(i + 2, close)}}`;
        i = close;
        continue;
      }
      if (e === "p" || e === "P") {
        const close = pattern.indexOf("}", i);
        if (pattern[i + 1] !== "{" || close < 0) fail(`\\${e}`, i);
        out += pattern.slice(i - 1, close + 1);
        i = close;
        continue;
      }
      if (UNSUPPORTED_ESCAPES.has(e)) fail(`\\${e}`, i - 1);
      const table = inClass ? INSIDE_CLASS : OUTSIDE_CLASS;
      if (table[e] !== undefined) out += table[e];
      else if (inClass && "WH".includes(e)) fail(`\\${e} inside a character class`, i - 1);
      else if (/[A-Za-z0-9]/.test(e)) out += `\\${e}`;
      else if (/[\^$\\.*+?()[\]{}|/]/.test(e) || (inClass && e === "-")) out += `\\${e}`;
      else out += e;
      continue;
    }
    if (inClass) {
      if (c === "]") inClass = false;
      else if (c === "[") fail("nested character class", i);
      else if (c === "&" && pattern[i + 1] === "&") fail("class intersection &&", i);
      out += c;
      continue;
    }
    switch (c) {
      case "[":
        inClass = true;
        out += c;
        if (pattern[i + 1] === "^") out += pattern[++i];
        if (pattern[i + 1] === "]") {
          out += "\\]"; // a leading ']' is a literal in Oniguruma
          i++;
        }
        break;
      case ".":
        out += "[^\\n]";
        break;
      case "^":
        out += "(?:(?<![\\s\\S])|(?<=\\n))";
        break;
      case "$":
        out += "(?=\\n|(?![\\s\\S]))";
        break;
      case "(":
        if (pattern[i + 1] === "?" && !/^\(\?(?:[:=!]|<[=!]|<[A-Za-z_])/.test(pattern.slice(i)))
          fail("group option (?…", i);
        out += c;
        break;
      case "+":
      case "*":
      case "?":
        if (pattern[i + 1] === "+") fail(`possessive quantifier ${c}+`, i);
        out += c;
        break;
      default:
        out += c;
    }
  }
  if (inClass) fail("unterminated character class", pattern.length);
  return out;
}

/** Escape a literal string for use inside a JS RegExp (with or without the `u` flag). */
export function escapeLiteral(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");
}

/**
 * A global RegExp matching any of the literal strings, leftmost-longest (alternatives are tried
 * longest first); null for no strings.
 */
export function literalAlternation(strings: readonly string[]): RegExp | null {
  if (strings.length === 0) return null;
  const longestFirst = [...strings].sort((a, b) => b.length - a.length);
  return new RegExp(longestFirst.map(escapeLiteral).join("|"), "g");
}

/** Compile an Oniguruma pattern to a global, Unicode JS RegExp; errors name `where`. */
export function compileOnigRegex(pattern: string, where: string): RegExp {
  const source = onigToJsSource(pattern, where);
  try {
    return new RegExp(source, "gu");
  } catch (e) {
    throw new Error(
      `${where}: regex ${JSON.stringify(pattern)} does not compile (${(e as Error).message})`,
    );
  }
}
