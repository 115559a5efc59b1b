/**
 * The dataset layer's entry point: read both datasets, clean and filter them, split, take compact
 * balanced subsets, optionally mix the cocktail, and return everything with the funnel, warnings
 * and a hash of the raw input bytes and settings (for provenance and cache keys).
 */
import { createHash } from "node:crypto";
import { canonicalJson } from "../util/canonical_json";
import * as path from "node:path";
import type { Cocktail } from "./cocktail";
import { mixCocktail } from "./cocktail";
import type { CodeSearchNetSettings } from "./codesearchnet";
import { codeSearchNetSpec, DEFAULT_CODESEARCHNET, prepareCodeSearchNet } from "./codesearchnet";
import type { CommitInput, CommitPackFtSettings } from "./commitpackft";
import {
  COMMIT_INPUTS,
  commitPackFtSpec,
  DEFAULT_COMMITPACKFT,
  prepareCommitPackFt,
} from "./commitpackft";
import type { DataWarning, Example, FunnelRecord, Split, Task } from "./example";
import { SPLITS, TASKS } from "./example";
import { FunnelTracker } from "./funnel";
import type { Lang } from "./langs";
import { LANGS } from "./langs";
import type { SplitSize, SubsetSizes } from "./sampling";
import { balancedSubset, STUDY_SUBSET_SIZES } from "./sampling";
import type { FileReport, RowSpec, SourcedRow } from "./sources";
import { datasetFiles, readRows, resolveDataDir } from "./sources";
import type { CountTokens } from "./tokens";
import { countTokensRegex } from "./tokens";

/** Options of prepareDatasets; everything but the data directory has a default. */
export interface PrepareOptions {
  /** Data directory; defaults to resolveDataDir() (NARRATOR_DATA, else data/). */
  dataDir?: string;
  tasks?: readonly Task[];
  languages?: readonly Lang[];
  seed?: number;
  /** Subset sizes per language, [train, val, test]; Infinity takes everything. Default: the study's 2,100 / 300 / 600. */
  perLanguage?: SubsetSizes;
  /** Skip malformed rows (counted per file and reported) instead of stopping at the first. */
  lenient?: boolean;
  commitInput?: CommitInput;
  codesearchnet?: Partial<CodeSearchNetSettings>;
  commitpackft?: Partial<Omit<CommitPackFtSettings, "input">>;
  /** Token counter for length ranges; give `tokenCounterId` with it (it enters the cache key). */
  countTokens?: CountTokens;
  tokenCounterId?: string;
  /** Mix a cocktail train set from the two tasks' subsets (needs both tasks). */
  cocktail?: { mix?: number; total?: number };
}

/** Every setting that changes the prepared data, as plain JSON: hashed into dataHash and cacheKey. */
export interface PrepareSettings {
  tasks: Task[];
  languages: Lang[];
  seed: number;
  perLanguage: SubsetSizes;
  lenient: boolean;
  codesearchnet: CodeSearchNetSettings;
  commitpackft: CommitPackFtSettings;
  tokenCounter: string;
  cocktail: { mix: number; total: number | null } | null;
}

/** Examples of one task: split -> language -> examples (empty arrays for what was not asked for). */
export type ExamplesBySplit = Record<Split, Record<Lang, Example[]>>;

/** What prepareDatasets returns. */
export interface PreparedDatasets {
  examples: Record<Task, ExamplesBySplit>;
  funnel: FunnelRecord[];
  splitSizes: SplitSize[];
  warnings: DataWarning[];
  files: (FileReport & { dataset: Task; language: Lang })[];
  /** sha256 over the raw input files' bytes (with their paths relative to the data directory) and the settings. */
  dataHash: string;
  settings: PrepareSettings;
  dataDir: string;
  cocktail?: Cocktail;
}

/** The study's default seed for splits and subsets. */
export const DEFAULT_SEED = 42;

/** sha256 (hex) of the canonical JSON of some settings: a cache key that changes whenever a setting does. */
export function cacheKey(settings: unknown): string {
  return createHash("sha256").update(canonicalJson(settings)).digest("hex");
}

/** Fill in the defaults and check the options; errors name the bad option. */
export function resolveSettings(opts: PrepareOptions): PrepareSettings {
  const seed = opts.seed ?? DEFAULT_SEED;
  if (!Number.isSafeInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
  const perLanguage = opts.perLanguage ?? STUDY_SUBSET_SIZES;
  if (
    perLanguage.length !== 3 ||
    perLanguage.some((n) => !(n >= 0) || (Number.isFinite(n) && !Number.isInteger(n)))
  )
    throw new Error(
      `perLanguage must be [train, val, test] whole numbers >= 0 (or Infinity), got ${JSON.stringify(perLanguage)}`,
    );
  const input = opts.commitInput ?? DEFAULT_COMMITPACKFT.input;
  if (!COMMIT_INPUTS.includes(input))
    throw new Error(`commitInput must be one of ${COMMIT_INPUTS.join(", ")}, got "${input}"`);
  if (opts.countTokens && !opts.tokenCounterId)
    throw new Error("countTokens needs tokenCounterId (it names the counter in the cache key)");
  const tasks = [...(opts.tasks ?? TASKS)];
  if (opts.cocktail && tasks.length !== 2) throw new Error("a cocktail needs both tasks");
  return {
    tasks,
    languages: [...(opts.languages ?? LANGS)],
    seed,
    perLanguage: [...perLanguage] as unknown as SubsetSizes,
    lenient: opts.lenient ?? false,
    codesearchnet: { ...DEFAULT_CODESEARCHNET, ...opts.codesearchnet },
    commitpackft: { ...DEFAULT_COMMITPACKFT, ...opts.commitpackft, input },
    tokenCounter: opts.tokenCounterId ?? "regex",
    cocktail: opts.cocktail
      ? { mix: opts.cocktail.mix ?? 0.5, total: opts.cocktail.total ?? null }
      : null,
  };
}

function emptyBySplit(): ExamplesBySplit {
  const bySplit = {} as ExamplesBySplit;
  for (const split of SPLITS)
    bySplit[split] = Object.fromEntries(LANGS.map((l) => [l, [] as Example[]])) as Record<
      Lang,
      Example[]
    >;
  return bySplit;
}

/** All examples of one task and split, languages in LANGS order. */
export function examplesOf(
  prepared: Pick<PreparedDatasets, "examples">,
  task: Task,
  split: Split,
): Example[] {
  return LANGS.flatMap((l) => prepared.examples[task][split][l]);
}

/** Read, clean, filter, split and subset the datasets (see PrepareOptions); never drops a row without counting it. */
export async function prepareDatasets(opts: PrepareOptions = {}): Promise<PreparedDatasets> {
  const settings = resolveSettings(opts);
  const dataDir = path.resolve(opts.dataDir ?? resolveDataDir());
  const countTokens = opts.countTokens ?? countTokensRegex;
  const examples = { codesearchnet: emptyBySplit(), commitpackft: emptyBySplit() };
  const result: PreparedDatasets = {
    examples,
    funnel: [],
    splitSizes: [],
    warnings: [],
    files: [],
    dataHash: "",
    settings,
    dataDir,
  };

  for (const dataset of settings.tasks) {
    for (const lang of settings.languages) {
      const files = datasetFiles(dataDir, dataset, lang);
      const funnel = new FunnelTracker(dataset, lang);
      const read = async <T>(spec: RowSpec<T>): Promise<SourcedRow<T>[]> => {
        const { rows, reports } = await readRows(files, spec, lang, settings.lenient);
        for (const r of reports) {
          result.files.push({ ...r, dataset, language: lang });
          if (r.skipped > 0)
            result.warnings.push({
              dataset,
              language: lang,
              kind: "skipped_rows",
              message: `${r.file}: skipped ${r.skipped} malformed row(s) (lenient mode), first: ${r.firstErrors[0]}`,
            });
        }
        const skipped = reports.reduce((s, r) => s + r.skipped, 0);
        funnel.record("read", rows.length + skipped, rows.length);
        return rows;
      };
      const pools =
        dataset === "codesearchnet"
          ? prepareCodeSearchNet(
              await read(codeSearchNetSpec(path.join(dataDir, dataset))),
              lang,
              settings.codesearchnet,
              countTokens,
              funnel,
            )
          : prepareCommitPackFt(
              await read(commitPackFtSpec),
              lang,
              settings.commitpackft,
              countTokens,
              funnel,
              settings.seed,
            );
      const subset = balancedSubset(dataset, lang, pools, settings.perLanguage, settings.seed);
      for (const [k, split] of SPLITS.entries()) {
        funnel.record("subset", pools[split].length, subset.sizes[k].selected, split);
        examples[dataset][split][lang] = subset.examples[split];
      }
      result.funnel.push(...funnel.records);
      result.splitSizes.push(...subset.sizes);
      result.warnings.push(...subset.warnings);
    }
  }

  if (settings.cocktail) {
    const c = settings.cocktail;
    result.cocktail = mixCocktail(
      examplesOf(result, "codesearchnet", "train"),
      examplesOf(result, "commitpackft", "train"),
      {
        mix: c.mix,
        total: c.total ?? undefined,
        seed: settings.seed,
      },
    );
    result.warnings.push(...result.cocktail.warnings);
  }

  const hash = createHash("sha256");
  const files = [...result.files].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  for (const f of files)
    hash.update(`${path.relative(dataDir, f.file).split(path.sep).join("/")}\t${f.sha256}\n`);
  hash.update(`settings\t${canonicalJson(settings)}\n`);
  result.dataHash = hash.digest("hex");
  return result;
}
