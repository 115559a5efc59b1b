/**
 * What a narrator reads, built as training built its examples:
 * - a function (or a whole file) is a CodeSearchNet input: the code, a Python function without
 *   its docstring (CodeSearchNet's code carries it, and the summary comes from it);
 * - a change is a CommitPackFT input: per changed file the row training would have read
 *   (`commitModelInput`: the unified diff with file headers only, or the files, as the adapter's
 *   run chose), the files of a commit one after another. A diff given as text is re-laid out in
 *   that form (git's `a/` `b/` prefixes and extended headers dropped).
 * The language is the file's, by extension; for a change, the language with the most changed
 * lines among the files in a language the scanner knows, else a fallback that a note names.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { FILE_HEADERS_ONLY, formatPatch, parsePatch } from "diff";
import { commitModelInput, type CommitInput } from "../data/commitpackft";
import { stripPythonDocstring } from "../data/docstring";
import {
  SOURCE_LANG_EXTENSIONS as LANG_EXTENSIONS,
  SOURCE_LANG_NAMES as LANG_NAMES,
  SOURCE_LANGS as LANGS,
  sourceLangOfPath as langOfPath,
  type SourceLang as Lang,
} from "../source/languages";
import type { CommitPackFtRow } from "../data/schemas";
import { withPath } from "../util/fs";
import { findFunction } from "../source/find_function";
import { sourceText } from "../source/text";
import type { CommitRecord, FileChange } from "./git";
import type { NarrationRequest } from "./prompt";

/** The function or file a request explains. */
export interface FileSubject {
  file: string;
  /** The function asked for (null: the whole file). */
  function: string | null;
  qualifiedName: string | null;
  language: Lang;
  startLine: number;
  endLine: number;
}

/** `PATH` or `PATH:function`: an existing file wins over a split at its last colon. */
export function parseFileSpec(spec: string): { file: string; name: string | null } {
  if (fs.existsSync(spec)) return { file: spec, name: null };
  const colon = spec.lastIndexOf(":");
  if (colon > 0 && colon < spec.length - 1) {
    return { file: spec.slice(0, colon), name: spec.slice(colon + 1) };
  }
  throw new Error(`file not found: ${spec}`);
}

const EXTENSIONS = LANGS.flatMap((l) => LANG_EXTENSIONS[l]).join(", ");

/** The request for `--file PATH[:function]`; `lang` names the language of a file without a known extension. */
export function fileRequest(
  spec: string,
  lang?: Lang,
): { request: NarrationRequest; subject: FileSubject } {
  const { file, name } = parseFileSpec(spec);
  if (!fs.existsSync(file)) throw new Error(`file not found: ${file}`);
  const language = langOfPath(file) ?? lang;
  if (!language) {
    throw new Error(
      `${file}: cannot tell the language from its extension (expected one of ${EXTENSIONS}); pass --lang`,
    );
  }
  const source = readSourceFile(file);
  if (name === null) {
    const lines = source.split("\n").length - (source.endsWith("\n") ? 1 : 0);
    return {
      request: { task: "codesearchnet", language, input: source },
      subject: {
        file,
        function: null,
        qualifiedName: null,
        language,
        startLine: 1,
        endLine: lines,
      },
    };
  }
  const fn = findFunction(source, language, name, file);
  return {
    request: {
      task: "codesearchnet",
      language,
      input: language === "python" ? stripPythonDocstring(fn.text) : fn.text,
    },
    subject: {
      file,
      function: name,
      qualifiedName: fn.qualifiedName,
      language,
      startLine: fn.startLine,
      endLine: fn.endLine,
    },
  };
}

/**
 * A source file's text. A binary file, text in another encoding or an empty file would be
 * narrated as noise ("."), so each is an error naming the file and what was expected.
 */
function readSourceFile(file: string): string {
  const text = sourceText(withPath("read", file, () => fs.readFileSync(file)));
  if (text === null) {
    throw new Error(`${file}: not text (binary, or not UTF-8), expected source code in UTF-8`);
  }
  if (text.trim() === "") throw new Error(`${file} is empty: nothing to explain`);
  return text;
}

/** The language of a change: the known one with most changed lines, else `fallback` with a note. */
export function changeLanguage(
  files: readonly { path: string; changed: number }[],
  fallback: Lang,
): { language: Lang; note: string | null } {
  const byLang = new Map<Lang, number>();
  for (const f of files) {
    const lang = langOfPath(f.path);
    if (lang) byLang.set(lang, (byLang.get(lang) ?? 0) + f.changed);
  }
  if (byLang.size === 0) {
    return {
      language: fallback,
      note: `none of the changed files is in a language the scanner knows; the prompt assumes ${LANG_NAMES[fallback]} (--lang)`,
    };
  }
  // Most changed lines first; ties go to the language listed first in LANGS.
  const best = [...byLang].sort((a, b) => b[1] - a[1] || LANGS.indexOf(a[0]) - LANGS.indexOf(b[0]));
  return { language: best[0][0], note: null };
}

const unprefixed = (name: string, prefix: string): string =>
  name.startsWith(prefix) ? name.slice(prefix.length) : name;

/** One changed file's part of a change's model input. */
export interface FileInput {
  path: string;
  /** The file's input as training built it (its diff, or its files). */
  input: string;
  /** Lines added and deleted. */
  changed: number;
}

/** A change to explain: the request for the whole change, and each file's part of its input. */
export interface ChangeRequest {
  request: NarrationRequest;
  /** The files' inputs, in the change's order; joined with `joiner` they are the request's input. */
  inputs: FileInput[];
  joiner: string;
}

/** A unified diff re-laid out as training's diffs (file headers only), with the files it touches. */
export function normaliseDiff(text: string): {
  diff: string;
  files: { path: string; changed: number }[];
  /** Each file's re-laid-out diff, in the order of `files`. */
  parts: string[];
} {
  let patches;
  try {
    patches = parsePatch(text);
  } catch (e) {
    throw new Error(`the diff on stdin cannot be read: ${(e as Error).message}`);
  }
  const files: { path: string; changed: number }[] = [];
  const parts: string[] = [];
  for (const p of patches) {
    if (p.hunks.length === 0) continue;
    // git's a/ and b/ prefixes, with or without its `diff --git` header line.
    const [o, n] = [p.oldFileName ?? "", p.newFileName ?? ""];
    const prefixed =
      (o.startsWith("a/") || o === "/dev/null") && (n.startsWith("b/") || n === "/dev/null");
    let oldName = prefixed ? unprefixed(o, "a/") : o;
    let newName = prefixed ? unprefixed(n, "b/") : n;
    if (oldName === "/dev/null") oldName = newName;
    if (newName === "/dev/null") newName = oldName;
    const changed = p.hunks.reduce(
      (a, h) => a + h.lines.filter((l) => l[0] === "+" || l[0] === "-").length,
      0,
    );
    files.push({ path: newName, changed });
    parts.push(
      formatPatch(
        {
          ...p,
          isGit: false,
          oldFileName: oldName,
          newFileName: newName,
          oldHeader: undefined,
          newHeader: undefined,
        },
        FILE_HEADERS_ONLY,
      ),
    );
  }
  if (parts.length === 0) {
    throw new Error(
      "stdin holds no unified diff with changes (expected '--- a/file', '+++ b/file' and '@@ -1,2 +1,2 @@' hunks)",
    );
  }
  return { diff: parts.join(""), files, parts };
}

/** The request for `--diff`: a unified diff explained as a commit. */
export function diffRequest(
  text: string,
  commitInput: CommitInput,
  fallback: Lang,
): ChangeRequest & { files: string[]; note: string | null } {
  if (commitInput !== "diff") {
    throw new Error(
      `the adapter was trained on commit input '${commitInput}' (whole files), which a diff alone cannot give; explain the commit with --git instead`,
    );
  }
  const { diff, files, parts } = normaliseDiff(text);
  const { language, note } = changeLanguage(files, fallback);
  return {
    request: { task: "commitpackft", language, input: diff },
    inputs: files.map((f, i) => ({ ...f, input: parts[i] })),
    joiner: "",
    files: files.map((f) => f.path),
    note,
  };
}

/** The request for one commit of `--git`: each text file's training input, in the commit's order. */
export function commitRequest(
  commit: CommitRecord,
  changes: readonly FileChange[],
  commitInput: CommitInput,
  repo: string,
  fallback: Lang,
): ChangeRequest & { note: string | null } {
  const changed = commit.files.map((f) => ({
    path: f.path,
    changed: (f.insertions ?? 0) + (f.deletions ?? 0),
  }));
  const { language, note } = changeLanguage(changed, fallback);
  const lines = new Map(changed.map((f) => [f.path, f.changed]));
  const inputs = changes.map((c): FileInput => {
    const row: CommitPackFtRow = {
      commit: commit.sha,
      old_file: c.path,
      new_file: c.path,
      old_contents: c.oldContents,
      new_contents: c.newContents,
      subject: commit.subject,
      message: commit.message,
      lang: LANG_NAMES[langOfPath(c.path) ?? language],
      repos: path.basename(path.resolve(repo)),
    };
    return {
      path: c.path,
      input: commitModelInput(row, commitInput),
      changed: lines.get(c.path) ?? 0,
    };
  });
  const joiner = commitInput === "diff" ? "" : "\n";
  return {
    request: {
      task: "commitpackft",
      language,
      input: inputs.map((i) => i.input).join(joiner),
    },
    inputs,
    joiner,
    note,
  };
}
