/**
 * The project's byte-level BPE tokenizer trained on the corpus train split (all languages), with
 * the project's special tokens and <|bos|> put before every encoded text, and its compression
 * (UTF-8 bytes per token) measured on the held-out split.
 */
import type { Lang } from "../data/langs";
import { LANGS } from "../data/langs";
import { BOS, SPECIAL_TOKENS } from "../tokenizer/special";
import type { Tokenizer } from "../tokenizer/tokenizer";
import { trainByteLevelBpe } from "../tokenizer/train";
import { readCorpus } from "./files";

/** What training gave: the tokenizer and how long it took on how much text. */
export interface CorpusTokenizerResult {
  tokenizer: Tokenizer;
  seconds: number;
  trainFiles: number;
  trainBytes: number;
}

/** Train the tokenizer on every train file of the given languages (read in LANGS order). */
export function trainCorpusTokenizer(
  corpusDir: string,
  opts: { vocabSize: number; languages?: readonly Lang[] },
): CorpusTokenizerResult {
  const texts = (opts.languages ?? LANGS).flatMap((lang) =>
    readCorpus(corpusDir, lang, "train").map((r) => r.text),
  );
  if (texts.length === 0) throw new Error(`${corpusDir}: no train files (build the corpus first)`);
  const start = process.hrtime.bigint();
  const tokenizer = trainByteLevelBpe(texts, {
    vocabSize: opts.vocabSize,
    specialTokens: [...SPECIAL_TOKENS],
    bosToken: BOS,
  });
  return {
    tokenizer,
    seconds: Number(process.hrtime.bigint() - start) / 1e9,
    trainFiles: texts.length,
    trainBytes: texts.reduce((n, t) => n + Buffer.byteLength(t), 0),
  };
}

/** UTF-8 bytes per token of some texts, encoded without special tokens. */
export function bytesPerToken(
  tokenizer: Pick<Tokenizer, "encode">,
  texts: Iterable<string>,
): { bytes: number; tokens: number; bytesPerToken: number } {
  let bytes = 0;
  let tokens = 0;
  for (const t of texts) {
    bytes += Buffer.byteLength(t);
    tokens += tokenizer.encode(t, { addSpecial: false }).length;
  }
  return { bytes, tokens, bytesPerToken: tokens === 0 ? 0 : bytes / tokens };
}
