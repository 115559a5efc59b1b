import { test } from "node:test";
import assert from "node:assert/strict";
import { LANGS, langOfPath, parseLangs } from "../../src/data/langs";
import {
  parseLanguage,
  parseLanguageList,
  SOURCE_LANGS,
  sourceLangOfPath,
} from "../../src/source/languages";

test("one parser of language lists: ids or display names, each once in the order named, none named means all", () => {
  assert.deepEqual(parseLanguageList(" python, Go,go ,,", LANGS), ["python", "go"]);
  assert.deepEqual(parseLanguageList(["PHP", "java"], LANGS), ["php", "java"]);
  assert.deepEqual(parseLanguageList(" , ", LANGS), [
    "python",
    "java",
    "javascript",
    "php",
    "ruby",
    "go",
  ]);
  assert.deepEqual(parseLangs([]), [...LANGS]);
  assert.equal(parseLanguage("TypeScript", SOURCE_LANGS), "typescript");
  // TypeScript is a scanner language, not one of the datasets'.
  assert.throws(
    () => parseLangs("python,TypeScript"),
    /^Error: unknown language "TypeScript": expected one of python, java, javascript, php, ruby, go$/,
  );
  assert.throws(() => parseLanguage("cobol", SOURCE_LANGS), /expected one of .*, go, typescript$/);
});

test("languages of paths: the scanner's seven, the datasets' six", () => {
  const cases: [string, string | null, string | null][] = [
    ["src/a.ts", "typescript", null],
    ["web/App.TSX", "typescript", null],
    ["types/index.d.ts", null, null],
    ["lib/x.mjs", "javascript", "javascript"],
    ["pkg/util.py", "python", "python"],
    [".py", null, null],
    ["README.md", null, null],
  ];
  for (const [file, source, dataset] of cases) {
    assert.equal(sourceLangOfPath(file), source, file);
    assert.equal(langOfPath(file), dataset, file);
  }
});
