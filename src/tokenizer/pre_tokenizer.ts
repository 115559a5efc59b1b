/**
 * Pre-tokenizers of tokenizer.json (ByteLevel, Split, Digits, Sequence) as splitters of raw text.
 * The byte-level mapping itself is left to the caller: a pipeline must end with ByteLevel, so every
 * piece it yields is mapped to byte symbols after all splits, exactly once.
 */
import { splitGpt2 } from "./byte_level";
import { compileOnigRegex, escapeLiteral } from "./onig_regex";
import { asArray, asBool, asObject, asString, typeOf, unsupported, type Json } from "./json_check";

/** How a Split keeps the matched delimiters (HF `SplitDelimiterBehavior`). */
export type SplitBehavior =
  "Removed" | "Isolated" | "MergedWithPrevious" | "MergedWithNext" | "Contiguous";

const BEHAVIORS: readonly SplitBehavior[] = [
  "Removed",
  "Isolated",
  "MergedWithPrevious",
  "MergedWithNext",
  "Contiguous",
];

/** One pre-tokenization step: calls `emit` with each piece a piece of text splits into (none empty). */
export type PieceSplitter = (piece: string, emit: (p: string) => void) => void;

/**
 * Split `text` at the matches of the global regex `re` (HF `NormalizedString::split`): the text is cut
 * into alternating non-match / match segments, `invert` swaps which are the delimiters, and `behavior`
 * says what happens to the delimiters.
 */
export function splitByPattern(
  text: string,
  re: RegExp,
  behavior: SplitBehavior,
  invert = false,
): string[] {
  // Segments [start, end, isDelimiter] covering the text.
  const segments: Array<[number, number, boolean]> = [];
  let prev = 0;
  re.lastIndex = 0;
  for (const m of text.matchAll(re)) {
    if (m.index > prev) segments.push([prev, m.index, invert]);
    prev = m.index + m[0].length;
    segments.push([m.index, prev, !invert]);
  }
  if (prev < text.length) segments.push([prev, text.length, invert]);

  // Pieces [start, end, dropped], built as HF does for each behavior.
  const pieces: Array<[number, number, boolean]> = [];
  const ordered = behavior === "MergedWithNext" ? segments.reverse() : segments;
  let prevDelimiter = false;
  for (const [start, end, delimiter] of ordered) {
    const last = pieces[pieces.length - 1];
    const joins =
      last !== undefined &&
      (behavior === "Contiguous"
        ? delimiter === prevDelimiter
        : (behavior === "MergedWithPrevious" || behavior === "MergedWithNext") &&
          delimiter &&
          !prevDelimiter);
    if (joins && behavior === "MergedWithNext") last[0] = start;
    else if (joins) last[1] = end;
    else pieces.push([start, end, behavior === "Removed" && delimiter]);
    prevDelimiter = delimiter;
  }
  if (behavior === "MergedWithNext") pieces.reverse();
  const out: string[] = [];
  for (const [start, end, dropped] of pieces)
    if (!dropped && end > start) out.push(text.slice(start, end));
  return out;
}

/** The GPT-2 split of HF ByteLevel, with its optional prefix space. */
function byteLevelSplitter(addPrefixSpace: boolean, useRegex: boolean): PieceSplitter {
  return (piece, emit) => {
    const text = addPrefixSpace && !piece.startsWith(" ") ? " " + piece : piece;
    if (useRegex) splitGpt2(text, emit);
    else if (text.length > 0) emit(text);
  };
}

const SUPPORTED = ["ByteLevel", "Split", "Digits", "Sequence"];

/** Flatten a pre_tokenizer config into its steps (Sequences expanded). */
function flatten(config: Json, where: string, out: Array<{ config: Json; where: string }>): void {
  if (typeOf(config, where) !== "Sequence") {
    out.push({ config, where });
    return;
  }
  asArray(config.pretokenizers, `${where}.pretokenizers`).forEach((c, i) => {
    const w = `${where}.pretokenizers[${i}]`;
    flatten(asObject(c, w), w, out);
  });
}

/** One non-Sequence step as a splitter. */
function buildStep(config: Json, where: string): PieceSplitter {
  const type = typeOf(config, where);
  switch (type) {
    case "ByteLevel":
      return byteLevelSplitter(
        asBool(config.add_prefix_space, `${where}.add_prefix_space`, false),
        asBool(config.use_regex, `${where}.use_regex`, true),
      );
    case "Digits": {
      // HF splits on char::is_numeric, i.e. Unicode \p{N}; individual digits are isolated one by one.
      const individual = asBool(config.individual_digits, `${where}.individual_digits`, false);
      const re = individual ? /\p{N}/gu : /\p{N}+/gu;
      return (piece, emit) => splitByPattern(piece, re, "Isolated").forEach((p) => emit(p));
    }
    case "Split": {
      const pattern = asObject(config.pattern, `${where}.pattern`);
      let re: RegExp;
      if (pattern.Regex !== undefined) {
        re = compileOnigRegex(
          asString(pattern.Regex, `${where}.pattern.Regex`),
          `${where}.pattern.Regex`,
        );
      } else if (pattern.String !== undefined) {
        const literal = asString(pattern.String, `${where}.pattern.String`);
        re = literal === "" ? /(?!)/gu : new RegExp(escapeLiteral(literal), "gu");
      } else {
        throw new Error(`${where}.pattern: expected {"Regex": ...} or {"String": ...}`);
      }
      const behavior = asString(config.behavior, `${where}.behavior`) as SplitBehavior;
      if (!BEHAVIORS.includes(behavior)) {
        throw new Error(
          `${where}.behavior: unsupported ${JSON.stringify(behavior)} (supported: ${BEHAVIORS.join(", ")})`,
        );
      }
      const invert = asBool(config.invert, `${where}.invert`, false);
      return (piece, emit) => splitByPattern(piece, re, behavior, invert).forEach((p) => emit(p));
    }
    default:
      throw unsupported(where, type, SUPPORTED);
  }
}

/**
 * The splitting steps of a byte-level pre_tokenizer config. It must be ByteLevel, or a Sequence whose
 * last step is ByteLevel (as in GPT-2 and DeepSeek-Coder); the byte mapping follows the last step.
 */
export function buildPreTokenizer(config: unknown, where: string): PieceSplitter[] {
  const steps: Array<{ config: Json; where: string }> = [];
  flatten(asObject(config, where), where, steps);
  const splitters = steps.map((s) => buildStep(s.config, s.where));
  const byteLevelAt = steps.findIndex((s) => s.config.type === "ByteLevel");
  if (byteLevelAt !== steps.length - 1) {
    const at = byteLevelAt < 0 ? where : steps[byteLevelAt].where;
    throw new Error(
      `${at}: a byte-level BPE pre_tokenizer must end with exactly one ByteLevel step`,
    );
  }
  return splitters;
}

/** All steps composed into one: text -> `emit` for each final piece, in order. */
export function composeSteps(steps: readonly PieceSplitter[]): PieceSplitter {
  return steps.reduceRight<PieceSplitter>(
    (inner, step) => (text, emit) => step(text, (p) => inner(p, emit)),
    (text, emit) => emit(text),
  );
}

/** The pieces the steps split one text section into. */
export function preTokenize(steps: readonly PieceSplitter[], text: string): string[] {
  const pieces: string[] = [];
  composeSteps(steps)(text, (p) => pieces.push(p));
  return pieces;
}
