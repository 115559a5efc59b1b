/**
 * CodeSearchNet's function filters, as `narrator data mine` applies them to the functions the
 * source scanner finds at HEAD: test, vendored, documentation and example paths; no docstring;
 * constructors and special methods; under 3 lines; over the byte limit; docstring summaries
 * outside 3-256 tokens, with a URL or not ASCII. Also the path-hash partition.
 */
import { createHash } from "node:crypto";
import type { SourceFunction } from "../source/functions";
import { textTokens } from "./code_tokens";
import type { Lang } from "./langs";

const SKIPPED_DIRS =
  /(^|\/)(tests?|spec|specs|__tests__|testdata|testing|vendor|third_party|node_modules|docs?|examples?|samples?|benchmarks?|fixtures?)\//i;
const SKIPPED_FILES = /(^|\/)(test_[^/]*|[^/]*_test\.\w+|[^/]*_spec\.rb|[^/]*Tests?\.java|[^/]*\.(test|spec)\.[cm]?js|[^/]*\.min\.js|conftest\.py)$/; // prettier-ignore

/** Whether a path is test, vendored, documentation or example code (dropped by CodeSearchNet). */
export function isSkippedPath(file: string): boolean {
  return SKIPPED_DIRS.test(file) || SKIPPED_FILES.test(file);
}

const SPECIAL_NAMES: Record<Lang, RegExp> = {
  python: /^__\w+__$/,
  java: /^(toString|hashCode|equals|clone|finalize)$/,
  javascript: /^(constructor|toString|valueOf|toJSON)$/,
  php: /^__\w+$/,
  ruby: /^(initialize|to_s|to_str|inspect|hash|eql\?|==|===|<=>|method_missing|respond_to_missing\?)$/,
  go: /^(String|GoString|Error)$/,
};

/** The docstring's summary: its first paragraph, before any tag or parameter section. */
export function docstringSummary(docstring: string): string {
  const out: string[] = [];
  for (const raw of docstring.split("\n")) {
    const line = raw.replace(/^\s*\/\/ ?/, "").trim();
    if (
      line === "" ||
      /^(@\w|:\w+|\.\. |(Args|Arguments|Returns|Raises|Parameters|Example)s?:)/.test(line)
    ) {
      if (out.length) break;
      if (line === "") continue;
      break;
    }
    out.push(line);
  }
  return out.join(" ");
}

/** A Java constructor: a member named as the class it belongs to. */
function isJavaConstructor(fn: SourceFunction, language: Lang): boolean {
  return language === "java" && fn.owner !== null && fn.owner.split(".").pop() === fn.name;
}

/** Which CodeSearchNet filter drops a function, or undefined when it is kept. */
export function functionFilter(
  fn: SourceFunction,
  language: Lang,
  maxBytes: number,
): string | undefined {
  if (fn.doc === null) return "no docstring";
  if (SPECIAL_NAMES[language].test(fn.name) || isJavaConstructor(fn, language))
    return "constructor or special method";
  if (fn.endLine - fn.startLine + 1 < 3) return "under 3 lines";
  if (Buffer.byteLength(fn.text) > maxBytes) return `over ${maxBytes} bytes`;
  const summary = docstringSummary(fn.doc);
  const n = textTokens(summary).length;
  if (n < 3 || n > 256) return "summary outside 3-256 tokens";
  if (/https?:\/\/|www\./i.test(summary)) return "summary has a URL";
  if (/[\u0080-\uFFFF]/.test(summary)) return "summary not ASCII";
  return undefined;
}

/** train/valid/test (80/10/10) from a hash of the file path, so a file never straddles splits. */
export function partitionOfPath(file: string): "train" | "valid" | "test" {
  const bucket = parseInt(createHash("sha256").update(file).digest("hex").slice(0, 8), 16) % 10;
  return bucket < 8 ? "train" : bucket === 8 ? "valid" : "test";
}
