/** `narrator data stats | prepare | download | mine`: the datasets from the command line. */
import { dataPrepare, dataStats, type DataStatsOptions } from "../data/commands";
import {
  DATASET_NAMES,
  downloadReport,
  parseDatasets,
  type DatasetName,
  type DownloadOptions,
} from "../data/download";
import { mineReport, type MineOptions } from "../data/mine";
import { configuredDataDir } from "../data/sources";
import { COMMIT_INPUTS, type CommitInput } from "../data/commitpackft";
import {
  intList,
  languagesOpt,
  numberOpt,
  stringOptions,
  UsageError,
  type Command,
  type Options,
} from "./args";

/** Options `data stats` and `data prepare` share: where the data is and how it is prepared. */
const PREPARATION_OPTIONS = {
  data: { type: "string" },
  json: { type: "boolean" },
  seed: { type: "string" },
  "per-language": { type: "string" },
  languages: { type: "string" },
  "commit-input": { type: "string" },
  lenient: { type: "boolean" },
} satisfies Options;

/** The shared preparation options, checked; errors name the option. */
function preparationOptions(v: Record<string, unknown>): DataStatsOptions {
  const per = v["per-language"] as string | undefined;
  const sizes = per === undefined ? undefined : intList(per, "per-language");
  if (sizes && sizes.length !== 3) {
    throw new UsageError(`--per-language expects TRAIN,VAL,TEST (three numbers), got '${per}'`);
  }
  const input = v["commit-input"] as string | undefined;
  if (input !== undefined && !COMMIT_INPUTS.includes(input as CommitInput)) {
    throw new UsageError(
      `--commit-input expects one of ${COMMIT_INPUTS.join(", ")}, got '${input}'`,
    );
  }
  return {
    dataDir: v.data as string | undefined,
    seed: numberOpt(v, "seed", 42, { integer: true }),
    perLanguage: sizes as [number, number, number] | undefined,
    languages: v.languages !== undefined ? languagesOpt(v) : undefined,
    commitInput: input as CommitInput | undefined,
    lenient: v.lenient === true,
  };
}

export const stats: Command = {
  summary: "the preparation funnel and split sizes per dataset and language",
  usage: `usage: narrator data stats [--data DIR] [--json] [--seed N] [--per-language TRAIN,VAL,TEST]
       [--languages python,go,...] [--commit-input files|diff|both] [--lenient]

Reads both datasets from the data directory (--data, else NARRATOR_DATA, else data/ or ../shared/data), runs every
filter of the preparation and prints rows read, removed by each filter and kept, then the split
sizes (study: 2100,300,600 per language). --lenient skips malformed rows and counts them.`,
  options: PREPARATION_OPTIONS,
  async run(v) {
    const out = await dataStats(preparationOptions(v));
    process.stdout.write((v.json ? JSON.stringify(out.json) : out.text) + "\n");
  },
};

export const prepare: Command = {
  summary: "write the prepared, split (and tokenized) datasets to a cache, reused when unchanged",
  usage: `usage: narrator data prepare [--data DIR] [--cache DIR] [--tokenizer FILE] [--json] [--seed N]
       [--per-language TRAIN,VAL,TEST] [--languages python,go,...]
       [--commit-input files|diff|both] [--lenient]

Prepares both datasets as \`data stats\` does and writes the examples per task, split and language
(and, with --tokenizer, every input's and target's token ids) to a directory of the cache
(--cache, default .cache/prepared) named by a hash of the input files, the settings and the
tokenizer. When that directory exists it is reused without reading the data again, once its files
match the sizes and sha256 its manifest lists; a damaged one (a file truncated or changed) is
rebuilt, and the report says so.`,
  options: { ...PREPARATION_OPTIONS, ...stringOptions("cache", "tokenizer") },
  async run(v) {
    const out = await dataPrepare({
      ...preparationOptions(v),
      cacheDir: v.cache as string | undefined,
      tokenizer: v.tokenizer as string | undefined,
    });
    process.stdout.write((v.json ? JSON.stringify(out.json) : out.text) + "\n");
  },
};

function print(lines: readonly string[]): void {
  for (const line of lines) process.stdout.write(line + "\n");
}

/** The first of several spellings of one string option that was given (`--data`, `--data-dir`, ...). */
function firstOf(v: Record<string, unknown>, names: readonly string[]): string | undefined {
  for (const name of names) if (typeof v[name] === "string") return v[name] as string;
  return undefined;
}

export const download: Command = {
  summary: "fetch the published CodeSearchNet and CommitPackFT files (resumable)",
  usage: `usage: narrator data download [--data DIR] [--datasets codesearchnet,commitpackft]
       [--languages python,...] [--endpoint URL] [--revision REV] [--retries N]

Downloads from the Hugging Face hub (HF_ENDPOINT, HF_TOKEN are honoured) into the data
directory (--data, also spelled --data-dir or --out; else NARRATOR_DATA, else data/) in the
layout the readers expect; an interrupted run resumes where it stopped.`,
  options: stringOptions(
    "data",
    "data-dir",
    "out",
    "datasets",
    "languages",
    "endpoint",
    "revision",
    "retries",
  ),
  async run(v) {
    print(await downloadReport(downloadOptions(v)));
  },
};

/** `data download`'s parsed options, checked; errors name the option. */
export function downloadOptions(v: Record<string, unknown>): DownloadOptions {
  let datasets: DatasetName[] = [...DATASET_NAMES];
  if (v.datasets !== undefined) {
    try {
      datasets = [...new Set(parseDatasets(String(v.datasets)))];
    } catch (e) {
      throw new UsageError(`--datasets: ${(e as Error).message}`);
    }
  }
  return {
    dataDir: configuredDataDir(firstOf(v, ["data", "data-dir", "out"])),
    datasets,
    languages: languagesOpt(v),
    endpoint: v.endpoint as string | undefined,
    revision: v.revision as string | undefined,
    retries: numberOpt(v, "retries", undefined, { integer: true, min: 0 }),
  };
}

export const mine: Command = {
  summary: "build both datasets from your own git repositories",
  usage: `usage: narrator data mine --out DIR [--languages python,...] [--max-file-bytes N] [--force] REPO...

Functions with docstrings at HEAD become CodeSearchNet rows; single-file commits that pass the
CommitPackFT message filters become CommitPackFT rows, both in the published formats, written to
DIR/codesearchnet/<lang>.jsonl.gz and DIR/commitpackft/<lang>.jsonl.gz (--out, also spelled
--data-dir; default data). A language that gets no rows gets no file. Dataset files already in
DIR are an error unless --force, which replaces them (and removes those whose language gets no
rows this time).`,
  options: {
    ...stringOptions("out", "data-dir", "languages", "max-file-bytes"),
    force: { type: "boolean" },
    repo: { type: "string", multiple: true },
  },
  takesArguments: true,
  async run(v, positionals) {
    print(mineReport(mineOptions(v, positionals)));
  },
};

/** `data mine`'s parsed options, checked; errors name the option. */
export function mineOptions(v: Record<string, unknown>, positionals: string[]): MineOptions {
  const repos = [...((v.repo as string[] | undefined) ?? []), ...positionals];
  if (repos.length === 0)
    throw new UsageError(`data mine: name at least one repository (REPO)\n\n${mine.usage}`);
  return {
    repos,
    outDir: firstOf(v, ["out", "data-dir"]) ?? "data",
    languages: languagesOpt(v),
    maxFileBytes: numberOpt(v, "max-file-bytes", undefined, { integer: true, min: 1 }),
    force: v.force === true,
  };
}
