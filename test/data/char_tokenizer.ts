/**
 * A hand-made tokenizer for tests: one id per character (100 + code point), special tokens at the
 * ids below 100 that special.ts lists, BOS put in front when special tokens are added (as HF's
 * template does). Expected ids can be written down by hand.
 */
import { SPECIAL_TOKENS } from "../../src/tokenizer/special";

export const SPECIAL_IDS: Record<string, number> = Object.fromEntries(
  SPECIAL_TOKENS.map((t, i) => [t, i]),
);

/** Id of a character. */
export const c = (ch: string): number => 100 + ch.codePointAt(0)!;

export const charTokenizer = {
  encode(text: string, opts: { addSpecial?: boolean } = {}): number[] {
    const ids = [...text].map(c);
    return opts.addSpecial === false ? ids : [SPECIAL_IDS["<|bos|>"], ...ids];
  },
  tokenToId(token: string): number | undefined {
    return SPECIAL_IDS[token];
  },
  decode(ids: readonly number[], opts: { skipSpecial?: boolean } = {}): string {
    return ids
      .map((id) =>
        id >= 100 ? String.fromCodePoint(id - 100) : opts.skipSpecial ? "" : SPECIAL_TOKENS[id],
      )
      .join("");
  },
};
