/**
 * Held-out cross-entropy of a model on a fixed sample of validation windows: mean NLL per
 * predicted token in nats (every label of a window counts), overall and per language (a window
 * counts for the language its first token belongs to).
 */
import type { Lang } from "../data/langs";
import type { Llama } from "../model/llama";
import { rowNll } from "../train/evaluate";
import { languageAt, type TokenStream } from "./stream";
import { windowBatch } from "./windows";

/** CE of a group of windows. */
export interface WindowCe {
  /** Mean NLL per predicted token, nats. */
  ce: number;
  tokens: number;
  windows: number;
}

/** Validation CE overall (with PPL = exp(ce)) and per language. */
export interface ValReport extends WindowCe {
  ppl: number;
  byLanguage: Partial<Record<Lang, WindowCe>>;
}

/** CE of `model` on the given windows of `stream`, in batches of `batchSize` (forward only). */
export function validationCe(
  model: Llama,
  stream: TokenStream,
  windows: readonly number[],
  seqLen: number,
  batchSize: number,
): ValReport {
  const sums = new Map<Lang | "all", { nll: number; tokens: number; windows: number }>();
  const add = (key: Lang | "all", nll: number, tokens: number) => {
    const s = sums.get(key) ?? { nll: 0, tokens: 0, windows: 0 };
    s.nll += nll;
    s.tokens += tokens;
    s.windows++;
    sums.set(key, s);
  };
  for (let i = 0; i < windows.length; i += batchSize) {
    const chunk = windows.slice(i, i + batchSize);
    const r = rowNll(model, windowBatch(stream.tokens, seqLen, chunk));
    chunk.forEach((w, k) => {
      add("all", r.nll[k], r.tokens[k]);
      add(languageAt(stream.spans, w * seqLen), r.nll[k], r.tokens[k]);
    });
  }
  const stat = (s = { nll: 0, tokens: 0, windows: 0 }): WindowCe => ({
    ce: s.tokens > 0 ? s.nll / s.tokens : NaN,
    tokens: s.tokens,
    windows: s.windows,
  });
  const all = stat(sums.get("all"));
  const byLanguage: ValReport["byLanguage"] = {};
  for (const span of stream.spans)
    if (sums.has(span.lang)) byLanguage[span.lang] = stat(sums.get(span.lang));
  return { ...all, ppl: Math.exp(all.ce), byLanguage };
}
