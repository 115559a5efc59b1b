/**
 * The token ids a narrator reads: the training layout of an example (src/data/prompts.ts through
 * the encoder's own pieces in src/data/batches.ts: the tokenizer's sequence prefix, the format's
 * frame, the input), without the target. Like training, a long input is cut at its end in token
 * space and the frame is kept; unlike training, the cut is reported (see `truncationNote`).
 */
import { encodeSegments, sequencePrefix, type PromptTokenizer } from "../data/batches";
import type { Task } from "../data/example";
import { formatExample, type PromptFormat } from "../data/prompts";
import type { SourceLang as Lang } from "../source/languages";

/** What to explain: a function or file (codesearchnet) or a change (commitpackft), in the training form. */
export interface NarrationRequest {
  task: Task;
  language: Lang;
  /** The model input exactly as training built it for this task. */
  input: string;
}

/** A prompt's ids and how much of the input it kept. */
export interface NarrationPrompt {
  ids: number[];
  /** Tokens of the frame around the input (sequence prefix included). */
  frameTokens: number;
  /** Tokens of the whole input, and of the part kept. */
  inputTokens: number;
  keptInputTokens: number;
}

/** The frame and the input of a request as ids: [prefix ids, input ids, suffix ids]. */
export function promptParts(
  tok: PromptTokenizer,
  req: NarrationRequest,
  format: PromptFormat,
): PromptParts {
  const f = formatExample({ ...req, target: "" }, format);
  return {
    head: [...sequencePrefix(tok), ...encodeSegments(tok, f.prefix)],
    input: tok.encode(f.input, { addSpecial: false }),
    tail: encodeSegments(tok, f.suffix),
  };
}

/** The ids of a request's frame and input. */
export interface PromptParts {
  head: number[];
  input: number[];
  tail: number[];
}

/** Keep at most `maxInputTokens` of the input (its head, as training cut it) inside the frame. */
export function fitPrompt(parts: PromptParts, maxInputTokens: number): NarrationPrompt {
  if (!(Number.isInteger(maxInputTokens) && maxInputTokens >= 0)) {
    throw new Error(`maxInputTokens must be a non-negative integer, got ${maxInputTokens}`);
  }
  const kept = parts.input.slice(0, maxInputTokens);
  return {
    ids: [...parts.head, ...kept, ...parts.tail],
    frameTokens: parts.head.length + parts.tail.length,
    inputTokens: parts.input.length,
    keptInputTokens: kept.length,
  };
}

/** The prompt of a request with at most `maxInputTokens` input tokens. */
export function buildPrompt(
  tok: PromptTokenizer,
  req: NarrationRequest,
  format: PromptFormat,
  maxInputTokens: number,
): NarrationPrompt {
  return fitPrompt(promptParts(tok, req, format), maxInputTokens);
}

/** "input truncated: kept N of M tokens" when the prompt cut its input, else null. */
export function truncationNote(p: Pick<NarrationPrompt, "inputTokens" | "keptInputTokens">) {
  return p.keptInputTokens < p.inputTokens
    ? `input truncated: kept ${p.keptInputTokens} of ${p.inputTokens} tokens`
    : null;
}

/**
 * Split `budget` input tokens among inputs of these lengths as evenly as they allow: each short
 * input is kept whole, and what the short ones leave is shared equally by the long ones.
 */
export function shareBudget(lengths: readonly number[], budget: number): number[] {
  const kept = lengths.map(() => 0);
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a] - lengths[b] || a - b);
  let left = budget;
  order.forEach((i, k) => {
    kept[i] = Math.min(lengths[i], Math.floor(left / (order.length - k)));
    left -= kept[i];
  });
  return kept;
}
