/** The decoding flags shared by `generate`, `explain`, `digest` and `eval --generate`. */
import { numberOpt, UsageError } from "./args";

export const DECODING_OPTIONS = {
  beams: { type: "string" },
  "length-penalty": { type: "string" },
  "min-new-tokens": { type: "string" },
} as const;

export const DECODING_HELP = `  --beams N                 beam search with N beams (default 1: greedy decoding); stops once N
                            answers are finished, as Hugging Face's early_stopping=True
  --length-penalty X        beam search ranks answers by summed log-probability / length^X
                            (default 1; above 0 favours longer answers, below 0 shorter ones)
  --min-new-tokens N        no end token before N tokens are generated (default 0), as Hugging
                            Face's min_new_tokens`;

/** `beams`, `lengthPenalty` (only with more than one beam) and `minNewTokens` from the flags. */
export function decodingOptions(v: Record<string, unknown>): {
  beams?: number;
  lengthPenalty?: number;
  minNewTokens?: number;
} {
  const beams = numberOpt(v, "beams", 1, { integer: true, min: 1 });
  const lengthPenalty = numberOpt(v, "length-penalty", undefined);
  if (lengthPenalty !== undefined && beams === 1) {
    throw new UsageError("--length-penalty applies to beam search: give --beams N (N > 1) with it");
  }
  const minNewTokens = numberOpt(v, "min-new-tokens", 0, { integer: true, min: 0 });
  return {
    ...(beams > 1 ? { beams, lengthPenalty: lengthPenalty ?? 1 } : {}),
    ...(minNewTokens > 0 ? { minNewTokens } : {}),
  };
}
