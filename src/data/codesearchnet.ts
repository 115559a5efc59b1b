/**
 * CodeSearchNet preparation: code -> summary examples. Stages, each recorded in the funnel:
 * clean_docstring (summary of the raw docstring, empty ones dropped), the summary filters
 * (summary_min_chars, summary_capitalised, summary_end_punctuation, summary_not_generic),
 * dedup_exact (identical (code, summary) pairs), dedup_code (code equal after whitespace
 * normalisation, whatever its summary: one code keeps one target), code_tokens, summary_tokens.
 * Duplicates are dropped across partitions too, keeping the first in file order, so that no code
 * is both trained on and tested. The published `partition` is kept as the split (valid -> val).
 */
import * as path from "node:path";
import { createHash } from "node:crypto";
import { dedupStage, normaliseWhitespace } from "./dedup";
import { cleanDocstring, stripPythonDocstring, summaryRules } from "./docstring";
import type { Example, Split } from "./example";
import type { FunnelTracker } from "./funnel";
import type { Lang } from "./langs";
import type { CodeSearchNetRow } from "./schemas";
import { CODESEARCHNET_HF_COLUMNS, codeSearchNetRowSchema, renameColumns } from "./schemas";
import type { RowSpec, SourcedRow } from "./sources";
import { splitFromPath } from "./sources";
import type { CountTokens, TokenRange } from "./tokens";
import { inRange } from "./tokens";

/** Filter settings for CodeSearchNet; token ranges are inclusive. */
export interface CodeSearchNetSettings {
  minSummaryChars: number;
  codeTokens: TokenRange;
  summaryTokens: TokenRange;
}

/** Defaults: the study's 30-character minimum; code and summary ranges that keep nearly all real functions. */
export const DEFAULT_CODESEARCHNET: CodeSearchNetSettings = {
  minSummaryChars: 30,
  codeTokens: [8, 512],
  summaryTokens: [3, 128],
};

/**
 * How CodeSearchNet rows are read: the published schema, Hugging Face column names accepted, and a
 * missing `partition` taken from the shard's path below the dataset folder (train/, valid-0000.parquet).
 */
export function codeSearchNetSpec(datasetDir: string): RowSpec<CodeSearchNetRow> {
  return {
    schema: codeSearchNetRowSchema,
    langField: "language",
    prepare: (raw, file) => {
      renameColumns(raw, CODESEARCHNET_HF_COLUMNS);
      if (!("partition" in raw)) {
        const split = splitFromPath(path.relative(datasetDir, file));
        if (split) raw.partition = split;
      }
    },
  };
}

function splitOf(partition: CodeSearchNetRow["partition"]): Split {
  return partition === "train" ? "train" : partition === "test" ? "test" : "val";
}

/** Turn one language's validated rows into filtered examples per split, recording every stage. */
export function prepareCodeSearchNet(
  rows: readonly SourcedRow<CodeSearchNetRow>[],
  lang: Lang,
  settings: CodeSearchNetSettings,
  countTokens: CountTokens,
  funnel: FunnelTracker,
): Record<Split, Example[]> {
  let examples: Example[] = rows.map(({ row }) => {
    const input = lang === "python" ? stripPythonDocstring(row.code) : row.code;
    const meta: Record<string, string> = {
      repo: row.repo,
      path: row.path,
      funcName: row.func_name,
      partition: row.partition,
    };
    if (row.url) meta.url = row.url;
    return {
      id: "",
      task: "codesearchnet",
      language: lang,
      split: splitOf(row.partition),
      input,
      target: cleanDocstring(row.docstring),
      meta,
    };
  });
  examples = funnel.filter("clean_docstring", examples, (e) => e.target !== "");
  for (const rule of summaryRules(settings.minSummaryChars))
    examples = funnel.filter(rule.stage, examples, (e) => rule.keep(e.target));
  examples = dedupStage(funnel, "dedup_exact", examples, (e) => `${e.input}\u0000${e.target}`);
  examples = dedupStage(funnel, "dedup_code", examples, (e) => normaliseWhitespace(e.input));
  examples = funnel.filter("code_tokens", examples, (e) =>
    inRange(countTokens(e.input), settings.codeTokens),
  );
  examples = funnel.filter("summary_tokens", examples, (e) =>
    inRange(countTokens(e.target), settings.summaryTokens),
  );
  const pools: Record<Split, Example[]> = { train: [], val: [], test: [] };
  for (const e of examples) {
    e.id = `codesearchnet/${lang}/${createHash("sha256").update(e.input).digest("hex").slice(0, 16)}`;
    pools[e.split].push(e);
  }
  return pools;
}
