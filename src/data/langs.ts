/**
 * The study's six dataset languages: those with CodeSearchNet and CommitPackFT rows, in file
 * names, examples, splits and sweeps. The scanner and narration read one more (TypeScript); see
 * src/source/languages.ts, whose names, extensions and parser these are restricted to the six.
 */
import {
  DATASET_LANGS,
  langOfPathAmong,
  parseLanguageList,
  SOURCE_LANG_NAMES,
} from "../source/languages";

/** The six programming languages the study covers, as lower-case ids used in file names and examples. */
export const LANGS = DATASET_LANGS;

/** One of the study's dataset language ids. */
export type Lang = (typeof LANGS)[number];

/** Display names, as CommitPackFT's `lang` field and prose write them. */
export const LANG_NAMES: Readonly<Record<Lang, string>> = SOURCE_LANG_NAMES;

/** The dataset language of a source file by its extension (a bare ".py" is no source file), or null. */
export function langOfPath(file: string): Lang | null {
  return langOfPathAmong(file, LANGS);
}

/** True when `name` is one of the dataset language ids. */
export function isLang(name: string): name is Lang {
  return (LANGS as readonly string[]).includes(name);
}

/** Map a display name ("JavaScript", "PHP", "Go") or an id to a language id; null when not one of the six. */
export function langFromName(name: string): Lang | null {
  const id = name.trim().toLowerCase();
  return isLang(id) ? id : null;
}

/**
 * A user-given list of dataset languages (comma-separated text or names; ids or display names),
 * each once; none named means all six. Errors name the unknown entry.
 */
export function parseLangs(names: string | readonly string[]): Lang[] {
  return parseLanguageList(names, LANGS);
}
