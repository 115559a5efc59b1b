/**
 * A built corpus on disk: `<corpusDir>/<lang>.{train,val}.jsonl.gz`, one JSON record per source
 * file. Written by build.ts; read by the tokenizer training, the overlap check and pretraining.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import type { Lang } from "../data/langs";

/** The corpus splits: train for pretraining, val held out to measure it. */
export const CORPUS_SPLITS = ["train", "val"] as const;
export type CorpusSplit = (typeof CORPUS_SPLITS)[number];

/** One line of a corpus file. */
export interface CorpusRecord {
  /** Path inside the package, "/"-separated. */
  path: string;
  /** Package id, `debian:<name>` or `npm:<name>`. */
  package: string;
  text: string;
}

/** The corpus file of one language and split inside a corpus folder. */
export function corpusFile(corpusDir: string, lang: Lang, split: CorpusSplit): string {
  return path.join(corpusDir, `${lang}.${split}.jsonl.gz`);
}

/** Read one language and split of a built corpus (empty when the file is absent). */
export function readCorpus(corpusDir: string, lang: Lang, split: CorpusSplit): CorpusRecord[] {
  const file = corpusFile(corpusDir, lang, split);
  if (!fs.existsSync(file)) return [];
  const lines = zlib.gunzipSync(fs.readFileSync(file)).toString("utf8").split("\n");
  return lines
    .filter((l) => l !== "")
    .map((l, i) => {
      const r = JSON.parse(l) as CorpusRecord;
      if (typeof r.text !== "string" || typeof r.path !== "string" || typeof r.package !== "string")
        throw new Error(`${file}: line ${i + 1}: expected {path, package, text} strings`);
      return r;
    });
}
