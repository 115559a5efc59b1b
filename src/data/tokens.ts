/** Token counting for length filters and statistics; a real tokenizer can be plugged in through the same signature. */

/** Counts the tokens of a text. */
export type CountTokens = (text: string) => number;

/** Default counter: runs of letters, digits and underscores, and each other non-space character, count one token each. */
export const countTokensRegex: CountTokens = (text) =>
  text.match(/[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]/gu)?.length ?? 0;

/** Inclusive [min, max] token range; max may be Infinity. */
export type TokenRange = readonly [number, number];

/** True when n lies in the inclusive range. */
export function inRange(n: number, [min, max]: TokenRange): boolean {
  return n >= min && n <= max;
}
