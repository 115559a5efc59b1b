/**
 * (function, docstring) pairs from the pretraining corpus, for `narrator corpus pairs`. Every
 * function the source scanner finds in the corpus's train files (the held-out files stay out)
 * passes `data mine`'s CodeSearchNet filters (test/vendor/docs/example paths, no docstring,
 * constructors and special methods, under 3 lines, over the byte limit, summary outside 3-256
 * tokens, with a URL or not ASCII), then CodeSearchNet preparation's summary stages
 * (clean_docstring and the study's summary rules); a function whose model input, whitespace-
 * normalised, hashes like that of any row of an evaluation split (every valid and test row of the
 * data directory's CodeSearchNet files) is dropped, and so is a repeat of one already kept. Kept
 * functions are written as CodeSearchNet rows (repo: the corpus package) with partition "train"
 * to `<out>/codesearchnet/<lang>.jsonl.gz`, which `data prepare --data <out>` reads; code and
 * summary token ranges are preparation's, applied there.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { codeSearchNetSpec } from "../data/codesearchnet";
import { normaliseWhitespace } from "../data/dedup";
import { cleanDocstring, stripPythonDocstring, summaryRules } from "../data/docstring";
import { functionFilter, isSkippedPath } from "../data/function_filters";
import { functionRow, type CodeSearchNetRow } from "../data/function_row";
import { LANGS, type Lang } from "../data/langs";
import { writeJsonlGz } from "../data/mine";
import { datasetFiles, readRows } from "../data/sources";
import { listFunctions } from "../source/functions";
import { readCorpus } from "./files";

/** sha256 (hex) of a function's model input (Python: docstring stripped), whitespace-normalised. */
export function normalisedCodeHash(code: string, lang: Lang): string {
  const input = lang === "python" ? stripPythonDocstring(code) : code;
  return createHash("sha256").update(normaliseWhitespace(input)).digest("hex");
}

/** Hashes of every evaluation function (CodeSearchNet valid and test rows) of these languages. */
export async function evaluationHashes(
  dataDir: string,
  languages: readonly Lang[],
): Promise<Set<string>> {
  const hashes = new Set<string>();
  for (const lang of languages) {
    const { rows } = await readRows(
      datasetFiles(dataDir, "codesearchnet", lang),
      codeSearchNetSpec(path.join(dataDir, "codesearchnet")),
      lang,
      false,
    );
    for (const { row } of rows)
      if (row.partition !== "train") hashes.add(normalisedCodeHash(row.code, lang));
  }
  return hashes;
}

/** The funnel's steps in filter order (`N` stands for the byte limit). */
const PAIR_STEPS = [
  "files", "test/vendor/docs/example path", "functions", "no docstring",
  "constructor or special method", "under 3 lines", "over N bytes", "summary outside 3-256 tokens",
  "summary has a URL", "summary not ASCII", "clean_docstring", ...summaryRules().map((r) => r.stage),
  "in an evaluation split", "duplicate", "kept",
]; // prettier-ignore

export interface CorpusPairsOptions {
  corpusDir: string;
  /** The evaluation data (its CodeSearchNet valid and test rows are kept out). */
  dataDir: string;
  outDir: string;
  languages?: readonly Lang[];
  /** Functions longer than this many bytes are dropped (data mine's limit). */
  maxFunctionBytes?: number;
  /** Replace pair files already in outDir. */
  force?: boolean;
}

export interface CorpusPairsResult {
  /** Per language, how many candidates each step dropped, in step order, ending with `kept`. */
  funnels: Record<string, Record<string, number>>;
  files: string[];
}

/** The pairs of one language's corpus files (see the module comment), with their funnel. */
export function languagePairs(
  records: readonly { path: string; package: string; text: string }[],
  lang: Lang,
  evaluation: ReadonlySet<string>,
  maxBytes: number,
): { rows: CodeSearchNetRow[]; funnel: Record<string, number> } {
  const funnel: Record<string, number> = Object.fromEntries(
    PAIR_STEPS.map((s) => [s === "over N bytes" ? `over ${maxBytes} bytes` : s, 0]),
  );
  const rules = summaryRules();
  const seen = new Set<string>();
  const rows: CodeSearchNetRow[] = [];
  const drop = (step: string) => funnel[step]++;
  for (const record of records) {
    funnel.files++;
    if (isSkippedPath(record.path)) {
      drop("test/vendor/docs/example path");
      continue;
    }
    for (const fn of listFunctions(record.text.replace(/\r\n?/g, "\n"), lang)) {
      funnel.functions++;
      const reason = functionFilter(fn, lang, maxBytes);
      if (reason) {
        drop(reason);
        continue;
      }
      const summary = cleanDocstring(fn.doc!);
      const failed =
        summary === "" ? "clean_docstring" : rules.find((r) => !r.keep(summary))?.stage;
      if (failed) {
        drop(failed);
        continue;
      }
      const hash = normalisedCodeHash(fn.text, lang);
      if (evaluation.has(hash)) drop("in an evaluation split");
      else if (seen.has(hash)) drop("duplicate");
      else {
        seen.add(hash);
        funnel.kept++;
        const origin = { repo: record.package, path: record.path, sha: "", url: "" };
        rows.push(functionRow(fn, lang, { ...origin, partition: "train" }));
      }
    }
  }
  return { rows, funnel };
}

/** The file one language's pairs go to. */
export function pairsFile(outDir: string, lang: Lang): string {
  return path.join(outDir, "codesearchnet", `${lang}.jsonl.gz`);
}

/** Mine the corpus's pairs into `<outDir>/codesearchnet/<lang>.jsonl.gz` (see the module comment). */
export async function corpusPairs(options: CorpusPairsOptions): Promise<CorpusPairsResult> {
  const languages = options.languages ?? LANGS;
  const existing = languages.map((l) => pairsFile(options.outDir, l)).filter(fs.existsSync);
  if (existing.length > 0 && !options.force)
    throw new Error(`corpus pairs: ${existing.join(", ")} already exist; give --force to replace`);
  const evaluation = await evaluationHashes(options.dataDir, languages);
  const result: CorpusPairsResult = { funnels: {}, files: [] };
  for (const lang of languages) {
    const records = readCorpus(options.corpusDir, lang, "train");
    const { rows, funnel } = languagePairs(
      records,
      lang,
      evaluation,
      options.maxFunctionBytes ?? 6000,
    );
    result.funnels[lang] = funnel;
    const file = pairsFile(options.outDir, lang);
    if (rows.length === 0) {
      if (fs.existsSync(file)) fs.rmSync(file); // only with force: an earlier run's pairs
      continue;
    }
    writeJsonlGz(file, rows);
    result.files.push(file);
  }
  return result;
}

/** Report lines: the files written and each language's funnel. */
export function corpusPairsReport(result: CorpusPairsResult): string[] {
  return [
    ...result.files.map((f) => `wrote ${f}`),
    ...Object.entries(result.funnels).map(
      ([lang, funnel]) =>
        `${lang}: ${Object.entries(funnel)
          .map(([step, n]) => `${step} ${n}`)
          .join(", ")}`,
    ),
  ];
}
