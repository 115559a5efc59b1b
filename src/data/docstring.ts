/**
 * CodeSearchNet docstring cleaning and summary filters. A raw docstring becomes its summary: comment
 * markers removed, tag lines (`:param x:`, `@return`, Doxygen `\param`, `.. versionadded::`) and
 * Google/NumPy sections (`Args:`, `Parameters\n----------`) dropped, the first paragraph kept, inline
 * markup (`{@code x}`, `:func:`x``, `<p>`) reduced to text.
 */

// Comment markers, stripped only when every non-blank line carries the same one, so that a
// Markdown heading ("### Note") inside an already-stripped docstring is left alone.
const LINE_MARKERS = [/^\s*\/\/\/?!?\s?/, /^\s*#\s?/, /^\s*\*(?!\/)\s?/];

// A line that starts a tag block; the summary paragraph ends at the first one.
const TAG_LINE = [
  /^:[A-Za-z][\w-]*(\s+[^:]+)?:(\s|$)/, // Sphinx fields: :param x:, :type x:, :returns:, :raises E:
  /^@(?!brief\b)[A-Za-z][\w-]*/, // Javadoc/JSDoc/PHPDoc/YARD: @param, @return, @throws, @since, @phpstan-param
  /^\\(?!brief\b)[a-z]+\b/, // Doxygen: \param, \return, \throws (\brief introduces the summary itself)
  /^\.\.\s+[\w:-]+::/, // reStructuredText directives: .. versionadded::, .. deprecated::, .. code-block::
  /^>>>/, // doctest
];

// Google-style section headers ("Args:"), and NumPy headers when underlined by the next line.
const SECTION =
  /^(args|arguments|parameters|params|other parameters|keyword args|keyword arguments|returns?|yields?|raises|throws|exceptions|examples?|notes?|attributes|warnings?|see also|references|todo)\s*:?\s*$/i;
const UNDERLINE = /^(-{3,}|={3,})\s*$/;

/** True when `line` (trimmed) starts a tag block or section, given the line after it. */
export function isTagLine(line: string, next = ""): boolean {
  const t = line.trim();
  if (TAG_LINE.some((re) => re.test(t))) return true;
  if (/:\s*$/.test(t) && SECTION.test(t)) return true;
  return SECTION.test(t) && UNDERLINE.test(next.trim());
}

/** Remove comment delimiters (`/** *\/`, `//`, `#`, leading `*`) that a raw docstring may still carry. */
export function stripCommentMarkers(raw: string): string {
  let lines = raw.replace(/\r\n?/g, "\n").split("\n");
  lines = lines.map((l) => l.replace(/^\s*\/\*\*?!?/, "").replace(/\s*\*\/\s*$/, ""));
  for (const marker of LINE_MARKERS) {
    const content = lines.filter((l) => l.trim() !== "");
    if (content.length > 0 && content.every((l) => marker.test(l))) {
      lines = lines.map((l) => l.replace(marker, ""));
      break;
    }
  }
  return lines.join("\n");
}

/** Reduce inline markup to its text: Javadoc/JSDoc tags, Sphinx roles, Doxygen \brief and simple HTML. */
export function stripInlineMarkup(text: string): string {
  return text
    .replace(/\{@(?:inheritDoc|inheritdoc)\}/g, "")
    .replace(/\{@(?:link|linkplain)\s+[^\s}]+\s+([^}]+)\}/g, "$1")
    .replace(/\{@(?:code|literal|link|linkplain|value)\s+([^}]*)\}/g, "$1")
    .replace(/:[a-z]+(?::[a-z]+)?:`[~!]?([^`]+)`/g, "`$1`")
    .replace(/^\s*[\\@]brief\s+/, "")
    .replace(/<\/?(?:p|code|tt|b|i|em|strong|br|var|pre)\s*\/?>/gi, "")
    .replace(/\s+/g, " ")
    .trim();
}

/**
 * The summary of a raw docstring: the first paragraph that is not a tag block, with comment
 * markers and inline markup removed and lines joined by single spaces. "" when there is none.
 */
export function cleanDocstring(raw: string): string {
  const lines = stripCommentMarkers(raw).split("\n");
  const blank = (i: number): boolean => lines[i].trim() === "";
  const tag = (i: number): boolean => isTagLine(lines[i], lines[i + 1] ?? "");
  // A Javadoc <p> on its own line starts a new paragraph.
  const breaks = (i: number): boolean => blank(i) || tag(i) || /^\s*<p>/i.test(lines[i]);
  const indent = (i: number): number => /^\s*/.exec(lines[i])![0].length;
  let i = 0;
  // Skip blank lines and leading tag blocks: a tag block runs to the next blank line, then on
  // through lines indented deeper than the tag (a directive's or section's body).
  for (;;) {
    while (i < lines.length && blank(i)) i++;
    if (i >= lines.length || !tag(i)) break;
    const tagIndent = indent(i);
    while (i < lines.length && !blank(i)) i++;
    while (i < lines.length && (blank(i) || indent(i) > tagIndent)) i++;
  }
  const para: string[] = [];
  if (i < lines.length) para.push(lines[i++].replace(/^\s*<p>/i, ""));
  while (i < lines.length && !breaks(i)) para.push(lines[i++]);
  return stripInlineMarkup(para.join(" "));
}

/** A summary filter of the study: a name for the funnel and the test a summary must pass. */
export interface SummaryRule {
  stage: string;
  keep: (summary: string) => boolean;
}

/** The study's summary filters, in funnel order: length, capitalised, final punctuation, not a bare reference. */
export function summaryRules(minChars = 30): SummaryRule[] {
  return [
    { stage: "summary_min_chars", keep: (s) => s.length >= minChars },
    { stage: "summary_capitalised", keep: (s) => /^\p{Lu}/u.test(s) },
    { stage: "summary_end_punctuation", keep: (s) => /[.!?]$/.test(s) },
    { stage: "summary_not_generic", keep: (s) => !/^(see|refer)\b/i.test(s) },
  ];
}

/**
 * Remove a Python function's docstring from its code, so that the model input does not contain
 * the target: the first statement after the `def` line(s), when it is a string literal.
 */
export function stripPythonDocstring(code: string): string {
  const lines = code.split("\n");
  const defLine = lines.findIndex((l) => /^\s*(async\s+)?def\b/.test(l));
  if (defLine < 0) return code;
  // The body starts after the line whose code ends the signature with ':'.
  let i = defLine;
  while (i < lines.length && !/:\s*(#.*)?$/.test(lines[i])) i++;
  i++;
  while (i < lines.length && /^\s*(#.*)?$/.test(lines[i])) i++; // blank and comment-only lines
  if (i >= lines.length) return code;
  const m = /^(\s*)[rRuUbB]{0,2}("""|'''|"|')/.exec(lines[i]);
  if (!m) return code;
  const quote = m[2];
  const openAt = m[0].length;
  let end = -1;
  let endLine = i;
  for (let j = i; j < lines.length; j++) {
    const from = j === i ? openAt : 0;
    const idx = findClosingQuote(lines[j], quote, from);
    if (idx >= 0) {
      end = idx + quote.length;
      endLine = j;
      break;
    }
    if (quote.length === 1) return code; // a one-quote string cannot span lines
  }
  if (end < 0) return code;
  const rest = lines[endLine].slice(end);
  const kept = rest.trim() === "" ? [] : [m[1] + rest.trim()];
  return [...lines.slice(0, i), ...kept, ...lines.slice(endLine + 1)].join("\n");
}

function findClosingQuote(line: string, quote: string, from: number): number {
  for (let k = from; k < line.length; k++) {
    if (line[k] === "\\") {
      k++;
      continue;
    }
    if (line.startsWith(quote, k)) return k;
  }
  return -1;
}
