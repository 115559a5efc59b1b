/**
 * The languages the source scanner reads and narration prompts name: the study's six dataset
 * languages and TypeScript (with TSX). The datasets' own list is a subset (src/data/langs.ts);
 * TypeScript has no CodeSearchNet or CommitPackFT rows, so it is a scanner language only.
 * Also the one parser of user-given language names.
 */

/** The study's six dataset languages, in the study's order (src/data/langs.ts names them LANGS). */
export const DATASET_LANGS = ["python", "java", "javascript", "php", "ruby", "go"] as const;

/** Every language the scanner reads, as lower-case ids: the six, then TypeScript. */
export const SOURCE_LANGS = [...DATASET_LANGS, "typescript"] as const;

/** A language the scanner reads. */
export type SourceLang = (typeof SOURCE_LANGS)[number];

/** Display names, as prompts and CommitPackFT's `lang` field write them. */
export const SOURCE_LANG_NAMES: Readonly<Record<SourceLang, string>> = {
  python: "Python",
  java: "Java",
  javascript: "JavaScript",
  php: "PHP",
  ruby: "Ruby",
  go: "Go",
  typescript: "TypeScript",
};

/** Extensions of each language's source files (lower case, with the dot). */
export const SOURCE_LANG_EXTENSIONS: Readonly<Record<SourceLang, readonly string[]>> = {
  python: [".py"],
  java: [".java"],
  javascript: [".js", ".mjs", ".cjs"],
  php: [".php"],
  ruby: [".rb"],
  go: [".go"],
  typescript: [".ts", ".mts", ".cts", ".tsx"],
};

/** Whether a path is TSX (TypeScript with JSX elements), which the scanner lexes differently. */
export function isTsxPath(file: string): boolean {
  return file.toLowerCase().endsWith(".tsx");
}

/**
 * The language of a source file among `langs` by its extension (a bare ".py" is no source file,
 * and a `.d.ts` declaration file holds no function bodies), or null.
 */
export function langOfPathAmong<L extends SourceLang>(file: string, langs: readonly L[]): L | null {
  const name = file.slice(file.lastIndexOf("/") + 1).toLowerCase();
  const dot = name.lastIndexOf(".");
  if (dot <= 0 || /\.d\.[mc]?ts$/.test(name)) return null;
  const ext = name.slice(dot);
  return langs.find((lang) => SOURCE_LANG_EXTENSIONS[lang].includes(ext)) ?? null;
}

/** The scanner language of a source file by its extension, or null. */
export function sourceLangOfPath(file: string): SourceLang | null {
  return langOfPathAmong(file, SOURCE_LANGS);
}

/** One language name (an id or a display name, any case) among `allowed`; errors list them. */
export function parseLanguage<L extends SourceLang>(name: string, allowed: readonly L[]): L {
  const id = name.trim().toLowerCase();
  const lang = allowed.find((l) => l === id);
  if (lang === undefined)
    throw new Error(`unknown language "${name.trim()}": expected one of ${allowed.join(", ")}`);
  return lang;
}

/**
 * A user-given list of languages among `allowed`: comma-separated text or a list of names, each
 * an id or display name; each language once, in the order first named; none named (an empty
 * list, or text of commas and blanks) means all of `allowed`. Errors name the unknown entry.
 */
export function parseLanguageList<L extends SourceLang>(
  names: string | readonly string[],
  allowed: readonly L[],
): L[] {
  const entries = (typeof names === "string" ? names.split(",") : names)
    .map((n) => n.trim())
    .filter((n) => n !== "");
  const langs = [...new Set(entries.map((n) => parseLanguage(n, allowed)))];
  return langs.length > 0 ? langs : [...allowed];
}
