/**
 * A function found by the source scanner as a CodeSearchNet row in the published schema: what
 * `narrator data mine` writes for a repository's functions and `narrator corpus pairs` for the
 * pretraining corpus's, so that both are prepared as the published rows are.
 */
import type { SourceFunction } from "../source/functions";
import { codeTokens, textTokens } from "./code_tokens";
import { stripPythonDocstring } from "./docstring";
import { docstringSummary } from "./function_filters";
import type { Lang } from "./langs";

/** A CodeSearchNet row, in the published schema. */
export interface CodeSearchNetRow {
  repo: string;
  path: string;
  func_name: string;
  original_string: string;
  language: Lang;
  code: string;
  code_tokens: string[];
  docstring: string;
  docstring_tokens: string[];
  sha: string;
  url: string;
  partition: "train" | "valid" | "test";
}

/** Where a function comes from: the row's repository fields. */
export interface FunctionOrigin {
  repo: string;
  path: string;
  sha: string;
  url: string;
  partition: CodeSearchNetRow["partition"];
}

/** The row of a documented function (`fn.doc` set; the filters drop the others first). */
export function functionRow(
  fn: SourceFunction,
  language: Lang,
  origin: FunctionOrigin,
): CodeSearchNetRow {
  if (fn.doc === null) throw new Error(`${origin.path}: ${fn.qualifiedName} has no doc comment`);
  const withoutDocstring = language === "python" ? stripPythonDocstring(fn.text) : fn.text;
  return {
    repo: origin.repo,
    path: origin.path,
    func_name: fn.owner ? `${fn.owner}.${fn.name}` : fn.name,
    original_string: fn.text,
    language,
    code: fn.text,
    code_tokens: codeTokens(withoutDocstring, language),
    docstring: fn.doc,
    docstring_tokens: textTokens(docstringSummary(fn.doc)),
    sha: origin.sha,
    url: origin.url,
    partition: origin.partition,
  };
}
