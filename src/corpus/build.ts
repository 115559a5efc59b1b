/**
 * Building the pretraining corpus: walk unpacked packages, keep each language's hand-written
 * source files (filters.ts), drop exact duplicates, hold out a fixed fraction of files by a hash of
 * their path, cap every language's bytes so that none dominates, and write
 * `<out>/corpus/<lang>.{train,val}.jsonl.gz` with a MANIFEST.json (packages, licenses, removals per
 * filter, sizes and a content hash over everything written).
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import type { Lang } from "../data/langs";
import { LANGS } from "../data/langs";
import { writeFileAtomic, writeJsonAtomic } from "../util/fs";
import { fetchPackage, listFiles } from "./fetch";
import type { CorpusLimits, RemovalReason } from "./filters";
import { DEFAULT_LIMITS, FILE_FILTERS, filterFile, normaliseSource } from "./filters";
import { langOfPath } from "../data/langs";
import { CORPUS_SPLITS, corpusFile, type CorpusRecord, type CorpusSplit } from "./files";
import type { OverlapReport } from "./overlap";
import { excluded, loadCorpusSpec, packageId, DEFAULT_SPEC_FILE } from "./spec";

/** An unpacked package to take files from. */
export interface PackageSource {
  id: string;
  root: string;
  exclude: readonly string[];
}

/** A file chosen for the corpus; its text is re-read from `file` when the corpus is written. */
export interface PlannedFile {
  package: string;
  path: string;
  file: string;
  /** UTF-8 bytes of the normalised text. */
  bytes: number;
  /** sha256 (hex) of the normalised text. */
  sha256: string;
}

/** Sizes of one split of one language. */
export interface SplitSize {
  files: number;
  bytes: number;
}

/** What happened to one language's files. */
export interface LanguageStats {
  /** Files with the language's extensions, before any filter. */
  candidates: number;
  removed: Record<RemovalReason, number>;
  train: SplitSize;
  val: SplitSize;
  /** The byte caps applied to each split (val's is train's scaled by the held-out fraction). */
  caps: Record<CorpusSplit, number>;
}

/** The chosen files per language and split (in corpus order) and the bookkeeping. */
export interface CorpusPlan {
  files: Record<Lang, Record<CorpusSplit, PlannedFile[]>>;
  stats: Partial<Record<Lang, LanguageStats>>;
  /** Files kept per package and language. */
  kept: Record<string, Partial<Record<Lang, number>>>;
  contentHash: string;
}

function sha256(text: string | Uint8Array): string {
  return createHash("sha256").update(text).digest("hex");
}

/** The hash that orders a file in the corpus and decides its split: sha256 of "<package>/<path>". */
export function pathHash(pkg: string, relPath: string): string {
  return sha256(`${pkg}/${relPath}`);
}

/** Whether a file is held out: the first 32 bits of its path hash, as a fraction of 2^32, fall below `fraction`. */
export function isHeldOut(pkg: string, relPath: string, fraction: number): boolean {
  return parseInt(pathHash(pkg, relPath).slice(0, 8), 16) / 2 ** 32 < fraction;
}

/**
 * sha256 over the corpus content: one line "<lang>\t<split>\t<package>\t<path>\t<sha256 of text>"
 * per file in corpus order. Equal corpora give equal hashes whatever the gzip bytes.
 */
export function corpusContentHash(files: CorpusPlan["files"]): string {
  const h = createHash("sha256");
  for (const lang of LANGS)
    for (const split of CORPUS_SPLITS)
      for (const f of files[lang][split])
        h.update(`${lang}\t${split}\t${f.package}\t${f.path}\t${f.sha256}\n`);
  return h.digest("hex");
}

function emptyRemoved(): Record<RemovalReason, number> {
  const r = {} as Record<RemovalReason, number>;
  for (const k of [...FILE_FILTERS, "duplicate", "over_cap"] as const) r[k] = 0;
  return r;
}

/** Check limits; errors name the bad field. */
export function resolveLimits(limits: Partial<CorpusLimits> = {}): CorpusLimits {
  const out = { ...DEFAULT_LIMITS, ...limits };
  for (const [k, v] of Object.entries(out)) {
    if (!(typeof v === "number" && v >= 0))
      throw new Error(`corpus limits: ${k} must be a number >= 0, got ${String(v)}`);
  }
  if (!(out.heldOutFraction < 1))
    throw new Error(`corpus limits: heldOutFraction must be < 1, got ${out.heldOutFraction}`);
  return out;
}

/**
 * Choose the corpus files from unpacked packages (in the given order, which decides which copy of
 * a duplicate is kept): filters, exact-content dedup, held-out split, then per-language caps taken
 * in path-hash order (a file that would overflow the cap is skipped and later smaller ones still fit).
 */
export function collectCorpus(
  packages: readonly PackageSource[],
  languages: readonly Lang[],
  limits: CorpusLimits,
): CorpusPlan {
  const files = Object.fromEntries(
    LANGS.map((l) => [l, { train: [], val: [] }]),
  ) as unknown as CorpusPlan["files"];
  const stats: CorpusPlan["stats"] = {};
  const kept: CorpusPlan["kept"] = {};
  const pools = new Map<Lang, { f: PlannedFile; key: string; split: CorpusSplit }[]>();
  for (const lang of languages) {
    stats[lang] = {
      candidates: 0,
      removed: emptyRemoved(),
      train: { files: 0, bytes: 0 },
      val: { files: 0, bytes: 0 },
      caps: {
        train: limits.maxTrainBytesPerLanguage,
        val: Math.floor(
          (limits.maxTrainBytesPerLanguage * limits.heldOutFraction) / (1 - limits.heldOutFraction),
        ),
      },
    };
    pools.set(lang, []);
  }
  const seen = new Set<string>();
  for (const pkg of packages) {
    kept[pkg.id] = {};
    for (const rel of listFiles(pkg.root)) {
      const lang = langOfPath(rel);
      const st = lang && stats[lang];
      if (!lang || !st) continue;
      st.candidates++;
      if (excluded(rel, pkg.exclude)) {
        st.removed.excluded_path++;
        continue;
      }
      const file = path.join(pkg.root, rel);
      const result = filterFile(rel, fs.readFileSync(file), limits);
      if (result.removed) {
        st.removed[result.removed]++;
        continue;
      }
      const digest = sha256(result.text);
      if (seen.has(digest)) {
        st.removed.duplicate++;
        continue;
      }
      seen.add(digest);
      const f = {
        package: pkg.id,
        path: rel,
        file,
        bytes: Buffer.byteLength(result.text),
        sha256: digest,
      };
      const split: CorpusSplit = isHeldOut(pkg.id, rel, limits.heldOutFraction) ? "val" : "train";
      pools.get(lang)?.push({ f, key: pathHash(pkg.id, rel), split });
    }
  }
  for (const [lang, pool] of pools) {
    const st = stats[lang] as LanguageStats;
    pool.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (const { f, split } of pool) {
      if (st[split].bytes + f.bytes > st.caps[split]) {
        st.removed.over_cap++;
        continue;
      }
      st[split].files++;
      st[split].bytes += f.bytes;
      files[lang][split].push(f);
      const perPkg = kept[f.package];
      perPkg[lang] = (perPkg[lang] ?? 0) + 1;
    }
  }
  return { files, stats, kept, contentHash: corpusContentHash(files) };
}

/** A package as the manifest records it. */
export interface ManifestPackage {
  id: string;
  source: "debian" | "npm";
  name: string;
  version: string;
  license: string;
  licenseSource: string;
  /** The pinned archive checksum (Debian sha256, npm integrity). */
  checksum: string;
  /** Files kept per language (train + val). */
  files: Partial<Record<Lang, number>>;
}

/** MANIFEST.json of a built corpus. */
export interface CorpusManifest {
  format: 1;
  spec: { file: string; sha256: string } | null;
  languages: Lang[];
  limits: CorpusLimits;
  packages: ManifestPackage[];
  perLanguage: Partial<Record<Lang, LanguageStats>>;
  totals: Record<CorpusSplit, SplitSize>;
  contentHash: string;
  overlap: OverlapReport | null;
}

/** Write the planned files as gzip JSON Lines plus MANIFEST.json into `corpusDir`; returns the manifest. */
export function writeCorpus(
  plan: CorpusPlan,
  corpusDir: string,
  manifest: Omit<CorpusManifest, "perLanguage" | "totals" | "contentHash" | "format">,
): CorpusManifest {
  const totals = { train: { files: 0, bytes: 0 }, val: { files: 0, bytes: 0 } };
  for (const lang of LANGS) {
    for (const split of CORPUS_SPLITS) {
      const lines: string[] = [];
      for (const f of plan.files[lang][split]) {
        const text = normaliseSource(fs.readFileSync(f.file, "utf8"));
        if (sha256(text) !== f.sha256)
          throw new Error(`${f.file}: changed while the corpus was being built`);
        lines.push(
          JSON.stringify({ path: f.path, package: f.package, text } satisfies CorpusRecord),
        );
        totals[split].files++;
        totals[split].bytes += f.bytes;
      }
      const out = corpusFile(corpusDir, lang, split);
      if (lines.length) writeFileAtomic(out, zlib.gzipSync(lines.join("\n") + "\n", { level: 9 }));
      else fs.rmSync(out, { force: true });
    }
  }
  const full: CorpusManifest = {
    format: 1,
    ...manifest,
    perLanguage: plan.stats,
    totals,
    contentHash: plan.contentHash,
  };
  writeJsonAtomic(path.join(corpusDir, "MANIFEST.json"), full);
  return full;
}

/** Options of buildCorpus. */
export interface BuildCorpusOptions {
  /** Where downloaded archives and unpacked packages are kept between runs. */
  cacheDir: string;
  /** The corpus is written to `<outDir>/corpus/`. */
  outDir: string;
  languages?: readonly Lang[];
  limits?: Partial<CorpusLimits>;
  /** The package list; defaults to src/corpus/packages.json. */
  specFile?: string;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** Fetch the pinned packages, choose the files and write the corpus; returns the manifest (overlap not yet filled in). */
export function buildCorpus(opts: BuildCorpusOptions): CorpusManifest {
  const specFile = path.resolve(opts.specFile ?? DEFAULT_SPEC_FILE);
  const spec = loadCorpusSpec(specFile);
  const limits = resolveLimits(opts.limits);
  const languages = [...(opts.languages ?? LANGS)];
  const log = opts.log ?? (() => {});
  const sources: PackageSource[] = [];
  const entries: ManifestPackage[] = [];
  for (const p of spec.packages) {
    log(`fetch ${p.source} ${p.name} ${p.version}`);
    const got = fetchPackage(p, path.resolve(opts.cacheDir));
    const id = packageId(p);
    sources.push({ id, root: got.root, exclude: p.exclude });
    entries.push({
      id,
      source: p.source,
      name: p.name,
      version: p.version,
      license: got.license,
      licenseSource: got.licenseSource,
      checksum: p.source === "debian" ? `sha256:${p.sha256}` : p.integrity,
      files: {},
    });
  }
  log(`select files for ${languages.join(", ")}`);
  const plan = collectCorpus(sources, languages, limits);
  for (const e of entries) e.files = plan.kept[e.id] ?? {};
  return writeCorpus(plan, path.join(opts.outDir, "corpus"), {
    spec: {
      file: path.relative(process.cwd(), specFile),
      sha256: sha256(fs.readFileSync(specFile)),
    },
    languages,
    limits,
    packages: entries,
    overlap: null,
  });
}
