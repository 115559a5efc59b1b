/** The six programming languages the study covers, as lower-case ids used in file names and examples. */
export const LANGS = ["python", "java", "javascript", "php", "ruby", "go"] as const;

/** One of the study's language ids. */
export type Lang = (typeof LANGS)[number];

/** Display names, as CommitPackFT's `lang` field and prose write them. */
export const LANG_NAMES: Readonly<Record<Lang, string>> = {
  python: "Python",
  java: "Java",
  javascript: "JavaScript",
  php: "PHP",
  ruby: "Ruby",
  go: "Go",
};

/** Extensions of each language's source files (lower case, with the dot). */
export const LANG_EXTENSIONS: Readonly<Record<Lang, readonly string[]>> = {
  python: [".py"],
  java: [".java"],
  javascript: [".js", ".mjs", ".cjs"],
  php: [".php"],
  ruby: [".rb"],
  go: [".go"],
};

/** The language of a source file by its extension (a bare ".py" is no source file), or null. */
export function langOfPath(file: string): Lang | null {
  const name = file.slice(file.lastIndexOf("/") + 1).toLowerCase();
  const dot = name.lastIndexOf(".");
  if (dot <= 0) return null;
  const ext = name.slice(dot);
  return LANGS.find((lang) => LANG_EXTENSIONS[lang].includes(ext)) ?? null;
}

/** True when `name` is one of the language ids. */
export function isLang(name: string): name is Lang {
  return (LANGS as readonly string[]).includes(name);
}

/** Map a display name ("JavaScript", "PHP", "Go") or an id to a language id; null when not one of the six. */
export function langFromName(name: string): Lang | null {
  const id = name.trim().toLowerCase();
  return isLang(id) ? id : null;
}

/** Parse a user-given list of languages (ids or display names); errors name the unknown entry. */
export function parseLangs(names: readonly string[]): Lang[] {
  return names.map((n) => {
    const lang = langFromName(n);
    if (!lang) throw new Error(`unknown language "${n}": expected one of ${LANGS.join(", ")}`);
    return lang;
  });
}
