/**
 * `narrator data mine`: build CodeSearchNet-style and CommitPackFT-style datasets from local git
 * repositories, in the published schemas (see shared/data/README.md), for machines that cannot
 * reach the Hugging Face hub.
 *
 * CodeSearchNet rows are the functions the source scanner (src/source/) finds at HEAD, with their
 * doc comments, so that mined rows and `narrator explain --file` see the same spans and code;
 * CommitPackFT rows are non-merge commits that modify exactly one source file, kept only when the
 * subject passes the CommitPackFT recipe's filters. Both return a funnel: how many candidates each
 * filter dropped. This module orchestrates; the filters, tokens, license and git reading are
 * their own modules.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { listFunctions, type SourceFunction } from "../source/functions";
import { writeFileAtomic } from "../util/fs";
import { stripSubjectPrefix, subjectFilter } from "./commit_filters";
import { functionFilter, isSkippedPath, partitionOfPath } from "./function_filters";
import { functionRow, type CodeSearchNetRow } from "./function_row";
import { type Lang, LANG_NAMES, LANGS, langOfPath } from "./langs";
import {
  blobSizes,
  headFiles,
  logCommits,
  readBlobs,
  repoInfo,
  type LoggedCommit,
  type RepoInfo,
} from "./mined_repo";

/** A CommitPackFT row, in the published schema. */
export interface CommitPackFTRow {
  commit: string;
  old_file: string;
  new_file: string;
  old_contents: string;
  new_contents: string;
  subject: string;
  message: string;
  lang: string;
  license: string;
  repos: string;
}

/** How many candidates each filter dropped, in filter order, ending with `kept`. */
export type Funnel = Record<string, number>;

export interface MineOptions {
  repos: string[];
  outDir: string;
  languages?: Lang[];
  maxFileBytes?: number;
  /** Replace dataset files already in outDir (without it, any there is an error naming them). */
  force?: boolean;
}

export interface MineResult {
  codesearchnet: Record<string, Funnel>;
  commitpackft: Record<string, Funnel>;
  /** Commits seen before the language is known: merges, not one file, other languages. */
  commits: Funnel;
  /** Files written. */
  files: string[];
  /** `<dataset>/<lang>` that got no rows, hence no file: an empty file would read as a dataset. */
  empty: string[];
  /** Files of an earlier run removed (with force) because their language got no rows this time. */
  removed: string[];
}

function bump(funnel: Funnel, key: string): void {
  funnel[key] = (funnel[key] ?? 0) + 1;
}

/** Every funnel step in the order the filters run (`N` stands for the byte limit). */
const FUNNEL_STEPS = [
  "commits", "merge", "not exactly one file", "not a modification", "other language",
  "to language filters", "bot author", "WIP", "Merge", "has '#'", "sha-like hex", "version number",
  "issue N", "names the file", "no leading verb", "under 5 words", "files",
  "test/vendor/docs/example path", "file over 1 MiB", "functions", "no docstring",
  "constructor or special method", "under 3 lines", "empty contents", "over N bytes", "not UTF-8",
  "unchanged contents", "summary outside 3-256 tokens", "summary has a URL", "summary not ASCII",
  "duplicate", "kept",
]; // prettier-ignore

/** The funnel with its steps in filter order. */
function ordered(funnel: Funnel): Funnel {
  const rank = (key: string) =>
    FUNNEL_STEPS.indexOf(key.replace(/^over \d+ bytes$/, "over N bytes"));
  return Object.fromEntries(Object.entries(funnel).sort(([a], [b]) => rank(a) - rank(b)));
}

/** The functions of one file as CodeSearchNet rows would hold them (line endings normalised). */
function scannedFunctions(text: string, language: Lang): SourceFunction[] {
  return listFunctions(text.replace(/\r\n?/g, "\n"), language);
}

function mineFunctions(
  repo: RepoInfo,
  languages: Lang[],
  maxBytes: number,
  rows: Map<Lang, CodeSearchNetRow[]>,
  seen: Set<string>,
  funnels: Record<string, Funnel>,
): void {
  const files: { path: string; blob: string; language: Lang }[] = [];
  for (const file of headFiles(repo.dir)) {
    const language = langOfPath(file.path);
    if (!language || !languages.includes(language)) continue;
    bump(funnels[language], "files");
    if (isSkippedPath(file.path)) bump(funnels[language], "test/vendor/docs/example path");
    else if (file.bytes > 1 << 20) bump(funnels[language], "file over 1 MiB");
    else files.push({ path: file.path, blob: file.blob, language });
  }
  const blobs = readBlobs(
    repo.dir,
    files.map((f) => f.blob),
  );
  for (const file of files) {
    const funnel = funnels[file.language];
    for (const fn of scannedFunctions(blobs.get(file.blob)!.toString("utf8"), file.language)) {
      bump(funnel, "functions");
      const reason = functionFilter(fn, file.language, maxBytes);
      const key = fn.text.replace(/\s+/g, " ");
      if (reason) bump(funnel, reason);
      else if (seen.has(key)) bump(funnel, "duplicate");
      else {
        seen.add(key);
        bump(funnel, "kept");
        rows.get(file.language)!.push(
          functionRow(fn, file.language, {
            repo: repo.name,
            path: file.path,
            sha: repo.head,
            url: repo.github
              ? `https://github.com/${repo.name}/blob/${repo.head}/${file.path}#L${fn.startLine}-L${fn.endLine}`
              : "",
            partition: partitionOfPath(file.path),
          }),
        );
      }
    }
  }
}

function mineCommits(
  repo: RepoInfo,
  languages: Lang[],
  maxBytes: number,
  rows: Map<Lang, CommitPackFTRow[]>,
  byCommit: Map<string, CommitPackFTRow>,
  funnels: Record<string, Funnel>,
  commitFunnel: Funnel,
): void {
  const candidates: { commit: LoggedCommit; language: Lang; subject: string }[] = [];
  for (const commit of logCommits(repo.dir)) {
    bump(commitFunnel, "commits");
    const change = commit.changes[0];
    const language = change && langOfPath(change.path);
    if (commit.parents.length > 1) bump(commitFunnel, "merge");
    else if (commit.changes.length !== 1) bump(commitFunnel, "not exactly one file");
    else if (change.status !== "M" || !/^100(644|755)$/.test(change.newMode))
      bump(commitFunnel, "not a modification");
    else if (!language || !languages.includes(language)) bump(commitFunnel, "other language");
    else {
      bump(commitFunnel, "to language filters");
      const funnel = funnels[language];
      bump(funnel, "commits");
      const subject = stripSubjectPrefix(commit.message.split("\n")[0].trim());
      const reason = subjectFilter(subject, commit.author, change.path);
      if (reason) bump(funnel, reason);
      else candidates.push({ commit, language, subject });
    }
  }
  const sizes = blobSizes(
    repo.dir,
    candidates.flatMap((c) => [c.commit.changes[0].oldBlob, c.commit.changes[0].newBlob]),
  );
  const sized = candidates.filter(({ commit, language }) => {
    const { oldBlob, newBlob } = commit.changes[0];
    const [a, b] = [sizes.get(oldBlob) ?? 0, sizes.get(newBlob) ?? 0];
    if (a === 0 || b === 0) bump(funnels[language], "empty contents");
    else if (a > maxBytes || b > maxBytes) bump(funnels[language], `over ${maxBytes} bytes`);
    else return true;
    return false;
  });
  const blobs = readBlobs(
    repo.dir,
    sized.flatMap((c) => [c.commit.changes[0].oldBlob, c.commit.changes[0].newBlob]),
  );
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  for (const { commit, language, subject } of sized) {
    const funnel = funnels[language];
    const change = commit.changes[0];
    let oldText: string, newText: string;
    try {
      oldText = utf8.decode(blobs.get(change.oldBlob)!);
      newText = utf8.decode(blobs.get(change.newBlob)!);
    } catch {
      bump(funnel, "not UTF-8");
      continue;
    }
    if (oldText === newText) {
      bump(funnel, "unchanged contents");
      continue;
    }
    const known = byCommit.get(commit.sha);
    if (known) {
      // The same commit in a fork: one row naming every repository, as CommitPackFT does.
      known.repos += `,${repo.name}`;
      bump(funnel, "duplicate");
      continue;
    }
    bump(funnel, "kept");
    const row: CommitPackFTRow = {
      commit: commit.sha,
      old_file: change.path,
      new_file: change.path,
      old_contents: oldText,
      new_contents: newText,
      subject,
      message: commit.message,
      lang: LANG_NAMES[language],
      license: repo.license,
      repos: repo.name,
    };
    byCommit.set(commit.sha, row);
    rows.get(language)!.push(row);
  }
}

/** Write rows as gzip-compressed JSON Lines, atomically. */
export function writeJsonlGz(file: string, rows: unknown[]): void {
  const text = rows.map((r) => JSON.stringify(r) + "\n").join("");
  writeFileAtomic(file, gzipSync(Buffer.from(text, "utf8")));
}

const MINED_DATASETS = ["codesearchnet", "commitpackft"] as const;

/** The file a dataset's rows for one language go to. */
function minedFile(outDir: string, dataset: string, lang: Lang): string {
  return path.join(outDir, dataset, `${lang}.jsonl.gz`);
}

/**
 * Mine local git repositories into `<outDir>/codesearchnet/<lang>.jsonl.gz` and
 * `<outDir>/commitpackft/<lang>.jsonl.gz` (one file per requested language that got rows; a
 * language with none gets no file); returns the funnel of every filter. Dataset files already
 * there are an error before any work unless `force`, which replaces them, and removes those
 * whose language got no rows, so that no stale rows remain.
 */
export function mineRepos(options: MineOptions): MineResult {
  const languages = options.languages ?? [...LANGS];
  const maxBytes = options.maxFileBytes ?? 6000;
  if (options.repos.length === 0) throw new Error("mine: no repositories given");
  const existing = languages
    .flatMap((l) => MINED_DATASETS.map((d) => minedFile(options.outDir, d, l)))
    .filter((f) => fs.existsSync(f));
  if (existing.length > 0 && !options.force)
    throw new Error(
      `mine: ${existing.join(", ")} already exist${existing.length === 1 ? "s" : ""}; ` +
        `give --force to replace them (or another --out)`,
    );
  const repos = options.repos.map(repoInfo);
  const result: MineResult = {
    codesearchnet: {},
    commitpackft: {},
    commits: {},
    files: [],
    empty: [],
    removed: [],
  };
  const csn = new Map(languages.map((l) => [l, [] as CodeSearchNetRow[]]));
  const cpf = new Map(languages.map((l) => [l, [] as CommitPackFTRow[]]));
  for (const lang of languages) {
    result.codesearchnet[lang] = {};
    result.commitpackft[lang] = {};
  }
  const seenCode = new Set<string>();
  const byCommit = new Map<string, CommitPackFTRow>();
  for (const repo of repos) {
    mineFunctions(repo, languages, maxBytes, csn, seenCode, result.codesearchnet);
    mineCommits(repo, languages, maxBytes, cpf, byCommit, result.commitpackft, result.commits);
  }
  for (const lang of languages) {
    for (const [dataset, rows] of [
      ["codesearchnet", csn.get(lang)!],
      ["commitpackft", cpf.get(lang)!],
    ] as const) {
      const file = minedFile(options.outDir, dataset, lang);
      result[dataset][lang] = ordered({ kept: 0, ...result[dataset][lang] });
      if (rows.length > 0) {
        writeJsonlGz(file, rows);
        result.files.push(file);
        continue;
      }
      result.empty.push(`${dataset}/${lang}`);
      if (fs.existsSync(file)) {
        fs.rmSync(file); // only reached with force: the check above refused otherwise
        result.removed.push(file);
      }
    }
  }
  result.commits = ordered(result.commits);
  return result;
}

function formatFunnel(funnel: Funnel): string {
  return Object.entries(funnel)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
}

/**
 * `narrator data mine`: mine the repositories and return the report lines (the files written, the
 * languages that got no file, and the funnel per language).
 */
export function mineReport(options: MineOptions): string[] {
  const result = mineRepos(options);
  const written = MINED_DATASETS.flatMap((dataset) =>
    Object.entries(result[dataset])
      .map(([lang, funnel]) => ({ file: minedFile(options.outDir, dataset, lang as Lang), funnel }))
      .filter(({ file }) => result.files.includes(file))
      .map(({ file, funnel }) => `wrote ${file} (${funnel.kept} rows)`),
  );
  const lines = [
    `mined ${options.repos.length} repositories into ${options.outDir}`,
    ...written,
    ...(result.empty.length ? [`no rows, so no file: ${result.empty.join(", ")}`] : []),
    ...result.removed.map((f) => `removed ${f} (an earlier run's; no rows this time)`),
    `commits: ${formatFunnel(result.commits)}`,
  ];
  for (const lang of Object.keys(result.codesearchnet)) {
    lines.push(`codesearchnet/${lang}: ${formatFunnel(result.codesearchnet[lang])}`);
    lines.push(`commitpackft/${lang}: ${formatFunnel(result.commitpackft[lang])}`);
  }
  return lines;
}
