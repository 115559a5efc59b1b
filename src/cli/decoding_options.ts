/** The beam search flags shared by `generate`, `explain`, `digest` and `eval --generate`. */
import { numberOpt, UsageError } from "./args";

export const BEAM_OPTIONS = {
  beams: { type: "string" },
  "length-penalty": { type: "string" },
} as const;

export const BEAM_HELP = `  --beams N                 beam search with N beams (default 1: greedy decoding); stops once N
                            answers are finished, as Hugging Face's early_stopping=True
  --length-penalty X        beam search ranks answers by summed log-probability / length^X
                            (default 1; above 0 favours longer answers, below 0 shorter ones)`;

/** `beams` and `lengthPenalty` from the flags (lengthPenalty only with more than one beam). */
export function beamOptions(v: Record<string, unknown>): {
  beams?: number;
  lengthPenalty?: number;
} {
  const beams = numberOpt(v, "beams", 1, { integer: true, min: 1 });
  const lengthPenalty = numberOpt(v, "length-penalty", undefined);
  if (lengthPenalty !== undefined && beams === 1) {
    throw new UsageError("--length-penalty applies to beam search: give --beams N (N > 1) with it");
  }
  return beams > 1 ? { beams, lengthPenalty: lengthPenalty ?? 1 } : {};
}
