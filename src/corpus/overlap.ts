/**
 * How much of the evaluation data the pretraining corpus already holds. A function (CodeSearchNet
 * `code`) or a file after a commit (CommitPackFT `new_contents`) of the prepared val and test
 * splits counts as "in the corpus" when its whitespace-normalised text (every whitespace run made
 * one space, trimmed: src/data/dedup.ts normaliseWhitespace) is a substring of the
 * whitespace-normalised text of one corpus file (train or held-out) of the same language.
 */
import * as path from "node:path";
import { codeSearchNetSpec } from "../data/codesearchnet";
import { commitPackFtSpec } from "../data/commitpackft";
import { normaliseWhitespace } from "../data/dedup";
import { stripPythonDocstring } from "../data/docstring";
import type { Task } from "../data/example";
import type { Lang } from "../data/langs";
import { LANGS } from "../data/langs";
import { prepareDatasets } from "../data/prepare";
import { datasetFiles, readRows } from "../data/sources";
import { CORPUS_SPLITS, readCorpus } from "./files";

/** Normalised corpus texts of one language, searchable for normalised snippets. */
export class CorpusIndex {
  private readonly joined: string;

  /** Index texts; files are joined with "\n", which no normalised text holds, so no match spans two files. */
  constructor(texts: Iterable<string>) {
    const parts: string[] = [];
    for (const t of texts) parts.push(normaliseWhitespace(t));
    this.joined = parts.join("\n");
  }

  /** Whether the snippet, whitespace-normalised, occurs inside one indexed text (an empty snippet never does). */
  contains(snippet: string): boolean {
    const s = normaliseWhitespace(snippet);
    return s !== "" && this.joined.includes(s);
  }
}

/** Overlap of one dataset, language and split with the corpus. */
export interface OverlapCount {
  dataset: Task;
  language: Lang;
  split: "val" | "test";
  /** Evaluation items checked (functions or post-commit files). */
  items: number;
  /** Of those, how many occur in the corpus. */
  inCorpus: number;
}

/** The overlap report stored in MANIFEST.json. */
export interface OverlapReport {
  definition: string;
  dataDir: string;
  counts: OverlapCount[];
}

export const OVERLAP_DEFINITION =
  "an item (CodeSearchNet `code` / CommitPackFT `new_contents` of a prepared val or test example) is in the corpus when " +
  "its text with every whitespace run collapsed to one space and trimmed is a substring of one corpus file " +
  "(train or val) of the same language, normalised the same way";

/** Count how many snippets occur in the index. */
export function countInCorpus(snippets: readonly string[], index: CorpusIndex): number {
  return snippets.reduce((n, s) => n + (index.contains(s) ? 1 : 0), 0);
}

/**
 * Check the prepared val and test examples of both datasets (read in place from `dataDir` through
 * prepareDatasets and readRows, default settings, every row) against a built corpus folder.
 */
export async function corpusOverlap(
  corpusDir: string,
  dataDir: string,
  languages: readonly Lang[] = LANGS,
): Promise<OverlapReport> {
  const prepared = await prepareDatasets({
    dataDir,
    languages,
    perLanguage: [0, Infinity, Infinity],
  });
  const counts: OverlapCount[] = [];
  for (const lang of languages) {
    const index = new CorpusIndex(
      CORPUS_SPLITS.flatMap((split) => readCorpus(corpusDir, lang, split).map((r) => r.text)),
    );
    const csnRows = await readRows(
      datasetFiles(dataDir, "codesearchnet", lang),
      codeSearchNetSpec(path.join(dataDir, "codesearchnet")),
      lang,
      false,
    );
    // Prepared examples name their function by repo, path and name; overloads share those, so the
    // row is the one whose model input (Python: docstring stripped) is the example's.
    const byFunction = new Map<string, string[]>();
    for (const { row } of csnRows.rows) {
      const key = `${row.repo}\u0000${row.path}\u0000${row.func_name}`;
      byFunction.set(key, [...(byFunction.get(key) ?? []), row.code]);
    }
    const cpfRows = await readRows(
      datasetFiles(dataDir, "commitpackft", lang),
      commitPackFtSpec,
      lang,
      false,
    );
    const newContents = new Map<string, string>();
    for (const { row } of cpfRows.rows)
      newContents.set(`${row.commit}\u0000${row.new_file}`, row.new_contents);

    for (const split of ["val", "test"] as const) {
      const functions = prepared.examples.codesearchnet[split][lang].map((e) => {
        const m = e.meta ?? {};
        const codes = byFunction.get(`${m.repo}\u0000${m.path}\u0000${m.funcName}`) ?? [];
        const code = codes.find(
          (c) => (lang === "python" ? stripPythonDocstring(c) : c) === e.input,
        );
        if (code === undefined)
          throw new Error(`codesearchnet/${lang}: no row found for example ${e.id}`);
        return code;
      });
      const files = prepared.examples.commitpackft[split][lang].map((e) => {
        const m = e.meta ?? {};
        const text = newContents.get(`${m.commit}\u0000${m.newFile}`);
        if (text === undefined)
          throw new Error(`commitpackft/${lang}: no row found for example ${e.id}`);
        return text;
      });
      const count = (dataset: Task, items: readonly string[]): OverlapCount => ({
        dataset,
        language: lang,
        split,
        items: items.length,
        inCorpus: countInCorpus(items, index),
      });
      counts.push(count("codesearchnet", functions), count("commitpackft", files));
    }
  }
  return { definition: OVERLAP_DEFINITION, dataDir, counts };
}
