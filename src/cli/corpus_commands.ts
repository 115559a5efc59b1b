/** `narrator corpus build | tokenizer | overlap | pairs`: the pretraining corpus and its tokenizer from the command line. */
import * as fs from "node:fs";
import * as path from "node:path";
import { buildCorpus, type CorpusManifest } from "../corpus/build";
import { CORPUS_SPLITS, readCorpus } from "../corpus/files";
import { corpusOverlap, type OverlapReport } from "../corpus/overlap";
import { corpusPairs, corpusPairsReport } from "../corpus/pairs";
import { bytesPerToken, trainCorpusTokenizer } from "../corpus/tokenizer";
import { renderTable } from "../util/text_table";
import { MissingDataError, resolveDataDir } from "../data/sources";
import { writeJsonAtomic } from "../util/fs";
import { languagesOpt, numberOpt, required, stringOptions, type Command } from "./args";

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(2);
}

function overlapTable(report: OverlapReport): string {
  const rows = report.counts.map((c) => [
    c.dataset,
    c.language,
    c.split,
    String(c.items),
    String(c.inCorpus),
    c.items ? `${((100 * c.inCorpus) / c.items).toFixed(1)}%` : "-",
  ]);
  return renderTable(["dataset", "language", "split", "items", "in corpus", "share"], rows);
}

function corpusTable(m: CorpusManifest): string {
  const rows = m.languages.map((lang) => {
    const s = m.perLanguage[lang];
    if (!s) return [lang, "-", "-", "-", "-", "-", "-"];
    const removed = Object.entries(s.removed)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k} ${n}`)
      .join(", ");
    return [
      lang,
      String(s.candidates),
      String(s.train.files),
      mb(s.train.bytes),
      String(s.val.files),
      mb(s.val.bytes),
      removed,
    ];
  });
  return renderTable(
    ["language", "candidates", "train files", "train MB", "val files", "val MB", "removed"],
    rows,
  );
}

export const corpusBuild: Command = {
  summary:
    "fetch the pinned source packages and build the pretraining corpus (with its eval overlap)",
  usage: `usage: narrator corpus build [--cache DIR] [--out DIR] [--max-bytes-per-language N]
       [--languages python,go,...] [--spec FILE] [--data DIR]

Fetches the packages pinned in src/corpus/packages.json (apt-get download + dpkg-deb, npm pack +
tar; archives checked against their pinned checksums, kept in --cache, default .cache/corpus-packages),
keeps each language's hand-written source files (size, minified and generated-file filters, exact
duplicates removed), holds out 2% of files by path hash, caps each language's train bytes
(--max-bytes-per-language, default 6000000) and writes <out>/corpus/<lang>.{train,val}.jsonl.gz and
MANIFEST.json (--out default .cache). Then counts the val/test functions of the evaluation datasets
(--data, else NARRATOR_DATA, else data/ or ../shared/data) found verbatim in the corpus and adds that to the manifest.`,
  options: stringOptions("cache", "out", "max-bytes-per-language", "languages", "spec", "data"),
  async run(v) {
    const outDir = (v.out as string | undefined) ?? ".cache";
    const max = numberOpt(v, "max-bytes-per-language", 6_000_000, { integer: true, min: 1 });
    const manifest = buildCorpus({
      cacheDir: (v.cache as string | undefined) ?? ".cache/corpus-packages",
      outDir,
      languages: languagesOpt(v),
      limits: { maxTrainBytesPerLanguage: max },
      specFile: v.spec as string | undefined,
      log: (line) => process.stderr.write(line + "\n"),
    });
    const corpusDir = path.join(outDir, "corpus");
    process.stdout.write(corpusTable(manifest) + "\n");
    process.stdout.write(`content hash: ${manifest.contentHash}\n`);
    try {
      manifest.overlap = await corpusOverlap(
        corpusDir,
        resolveDataDir(v.data as string | undefined),
        manifest.languages,
      );
    } catch (e) {
      if (!(e instanceof MissingDataError)) throw e;
      process.stderr.write(`overlap not measured: ${e.message}\n`);
      return;
    }
    writeJsonAtomic(path.join(corpusDir, "MANIFEST.json"), manifest);
    process.stdout.write(`\noverlap with the evaluation data (${manifest.overlap.definition}):\n`);
    process.stdout.write(overlapTable(manifest.overlap) + "\n");
  },
};

export const corpusOverlapCommand: Command = {
  summary: "count evaluation val/test functions found verbatim in a built corpus",
  usage: `usage: narrator corpus overlap --corpus DIR [--data DIR] [--languages python,go,...]

Reads the corpus folder (holding <lang>.{train,val}.jsonl.gz) and the evaluation datasets (--data,
else NARRATOR_DATA, else data/ or ../shared/data) and prints, per dataset, language and split, how many items occur
in the corpus (whitespace-normalised substring of one corpus file of the same language).`,
  options: stringOptions("corpus", "data", "languages"),
  async run(v) {
    const corpusDir = required(v, "corpus", corpusOverlapCommand.usage);
    const report = await corpusOverlap(
      corpusDir,
      resolveDataDir(v.data as string | undefined),
      languagesOpt(v),
    );
    process.stdout.write(overlapTable(report) + "\n");
  },
};

export const corpusTokenizer: Command = {
  summary: "train the byte-level BPE tokenizer on a built corpus's train split",
  usage: `usage: narrator corpus tokenizer --corpus DIR --out FILE [--vocab N] [--languages python,go,...]

Trains a byte-level BPE tokenizer (GPT-2 pre-tokenizer, the project's special tokens first, <|bos|>
before every encoded text) with --vocab entries (default 8192) on every train file of the corpus
folder, writes it to --out as tokenizer.json, and prints the training time and the UTF-8 bytes per
token of each language's held-out (val) files.`,
  options: stringOptions("corpus", "out", "vocab", "languages"),
  async run(v) {
    const corpusDir = required(v, "corpus", corpusTokenizer.usage);
    const out = required(v, "out", corpusTokenizer.usage);
    if (!fs.existsSync(corpusDir))
      throw new Error(`${corpusDir}: no such corpus folder (run narrator corpus build)`);
    const vocabSize = numberOpt(v, "vocab", 8192, { integer: true, min: 1 });
    const languages = languagesOpt(v);
    const result = trainCorpusTokenizer(corpusDir, { vocabSize, languages });
    result.tokenizer.save(out);
    process.stdout.write(
      `trained ${vocabSize} tokens on ${result.trainFiles} files (${mb(result.trainBytes)} MB) in ${result.seconds.toFixed(1)} s -> ${out}\n`,
    );
    const rows = languages.map((lang) => {
      const m = bytesPerToken(
        result.tokenizer,
        readCorpus(corpusDir, lang, CORPUS_SPLITS[1]).map((r) => r.text),
      );
      return [lang, String(m.bytes), String(m.tokens), m.bytesPerToken.toFixed(3)];
    });
    process.stdout.write(
      renderTable(["language", "val bytes", "val tokens", "bytes/token"], rows) + "\n",
    );
  },
};

export const corpusPairsCommand: Command = {
  summary: "mine (function, docstring) training pairs from a built corpus's train files",
  usage: `usage: narrator corpus pairs --corpus DIR --out DIR [--data DIR] [--languages python,go,...]
       [--max-file-bytes N] [--force]

Every documented function the source scanner finds in the corpus's train files passes data mine's
CodeSearchNet filters (limit: --max-file-bytes per function, default 6000) and the preparation's
summary filters; one whose whitespace-normalised code hashes like any CodeSearchNet valid or test
row of the evaluation data (--data, else NARRATOR_DATA, else data/ or ../shared/data) is dropped,
as are repeats. Writes OUT/codesearchnet/<lang>.jsonl.gz (partition train; data prepare --data OUT
reads it beside an OUT/commitpackft folder) and prints the funnel per language. Files already there
are an error unless --force.`,
  options: {
    ...stringOptions("corpus", "out", "data", "languages", "max-file-bytes"),
    force: { type: "boolean" },
  },
  async run(v) {
    const result = await corpusPairs({
      corpusDir: required(v, "corpus", corpusPairsCommand.usage),
      outDir: required(v, "out", corpusPairsCommand.usage),
      dataDir: resolveDataDir(v.data as string | undefined),
      languages: languagesOpt(v),
      maxFunctionBytes: numberOpt(v, "max-file-bytes", 6000, { integer: true, min: 1 }),
      force: v.force === true,
    });
    for (const line of corpusPairsReport(result)) process.stdout.write(line + "\n");
  },
};

/** The corpus subcommands, for `narrator corpus <name>`. */
export const CORPUS_COMMANDS: Record<string, Command> = {
  build: corpusBuild,
  tokenizer: corpusTokenizer,
  overlap: corpusOverlapCommand,
  pairs: corpusPairsCommand,
};
