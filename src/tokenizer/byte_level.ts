/**
 * Byte-level alphabet of GPT-2 style BPE (HF tokenizers `ByteLevel`): every UTF-8 byte is shown
 * as one printable character, so any text maps to a string over exactly 256 symbols.
 */

/** BYTE_TO_UNICODE[b] is the character standing for byte b (GPT-2 `bytes_to_unicode`). */
export const BYTE_TO_UNICODE: readonly string[] = buildByteToUnicode();

/** Inverse of BYTE_TO_UNICODE: character code -> byte (-1 where the character is not a byte symbol). */
const CODE_TO_BYTE: Int16Array = buildCodeToByte();

/**
 * The GPT-2 pre-tokenization regex of HF `ByteLevel(use_regex=true)`. The reference compiles it with
 * Oniguruma, whose `\s` is Unicode White_Space (it includes U+0085 and excludes U+FEFF, unlike JS `\s`),
 * so `\s` is written as `\p{White_Space}` here.
 */
export const GPT2_SPLIT_REGEX =
  /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;

const OTHER = 0;
const LETTER = 1;
const NUMBER = 2;
const SPACE = 3;

/** Class of each BMP code unit for the GPT-2 split (surrogates: OTHER); built on first use. */
let bmpClasses: Uint8Array | null = null;
const astralClasses = new Map<number, number>();

function buildBmpClasses(): Uint8Array {
  const table = new Uint8Array(0x10000); // OTHER
  let all = "";
  for (let c = 0; c < 0x10000; c++)
    all += c >= 0xd800 && c <= 0xdfff ? "\0" : String.fromCharCode(c);
  const mark = (re: RegExp, cls: number) => {
    for (const m of all.matchAll(re)) table[m.index] = cls;
  };
  mark(/\p{L}/gu, LETTER);
  mark(/\p{N}/gu, NUMBER);
  mark(/\p{White_Space}/gu, SPACE);
  return table;
}

function classOf(cp: number): number {
  if (cp < 0x10000) return (bmpClasses ??= buildBmpClasses())[cp];
  let cls = astralClasses.get(cp);
  if (cls === undefined) {
    const ch = String.fromCodePoint(cp);
    cls = /\p{L}/u.test(ch) ? LETTER : /\p{N}/u.test(ch) ? NUMBER : OTHER; // no astral White_Space
    astralClasses.set(cp, cls);
  }
  return cls;
}

/** UTF-16 length of the code point at i. */
function cpLen(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c < 0xd800 || c > 0xdbff || i + 1 >= text.length) return 1;
  const d = text.charCodeAt(i + 1);
  return d >= 0xdc00 && d <= 0xdfff ? 2 : 1;
}

/** End of the run of code points of class `cls` starting at i. */
function runEnd(text: string, i: number, cls: number): number {
  while (i < text.length && classOf(text.codePointAt(i) as number) === cls) i += cpLen(text, i);
  return i;
}

/**
 * The pieces GPT2_SPLIT_REGEX would match, found by a hand-written scanner (same result, several
 * times faster, no match objects); calls `emit` for each piece in order.
 */
export function splitGpt2(text: string, emit: (piece: string) => void): void {
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    let end = -1;
    if (c === 0x27 && i + 1 < n) {
      // 's 't 're 've 'm 'll 'd
      const a = text[i + 1];
      const b = i + 2 < n ? text[i + 2] : "";
      if (a === "s" || a === "t" || a === "m" || a === "d") end = i + 2;
      else if ((a === "r" || a === "v") && b === "e") end = i + 3;
      else if (a === "l" && b === "l") end = i + 3;
    }
    if (end < 0) {
      const cls = classOf(text.codePointAt(i) as number);
      if (c === 0x20 && i + 1 < n) {
        // " ?\p{L}+", " ?\p{N}+", " ?[^\s\p{L}\p{N}]+" take a leading space
        const next = classOf(text.codePointAt(i + 1) as number);
        if (next !== SPACE) end = runEnd(text, i + 1, next);
      }
      if (end < 0 && cls !== SPACE) end = runEnd(text, i, cls);
      if (end < 0) {
        // "\s+(?!\S)" keeps the last space for the next piece when a non-space follows; else "\s+"
        const wsEnd = runEnd(text, i, SPACE);
        end = wsEnd < n && wsEnd - i >= 2 ? wsEnd - 1 : wsEnd;
      }
    }
    emit(text.slice(i, end));
    i = end;
  }
}

function buildByteToUnicode(): string[] {
  // Printable Latin-1 bytes keep their own code point; the other 68 get 256, 257, ... in byte order.
  const printable = (b: number) =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const table: string[] = [];
  let next = 256;
  for (let b = 0; b < 256; b++) table.push(String.fromCharCode(printable(b) ? b : next++));
  return table;
}

function buildCodeToByte(): Int16Array {
  const inv = new Int16Array(512).fill(-1);
  BYTE_TO_UNICODE.forEach((ch, b) => (inv[ch.charCodeAt(0)] = b));
  return inv;
}

/** The byte of a byte-level character, or -1 when the character is not one of the 256 symbols. */
export function byteOfSymbol(ch: string): number {
  const code = ch.charCodeAt(0);
  return ch.length === 1 && code < CODE_TO_BYTE.length ? CODE_TO_BYTE[code] : -1;
}

/** The 256 byte-level symbols, sorted by code point (the order HF's trainer gives the initial alphabet). */
export function byteLevelAlphabet(): string[] {
  return [...BYTE_TO_UNICODE].sort((a, b) => a.charCodeAt(0) - b.charCodeAt(0));
}

/**
 * UTF-8 bytes of a JS string, written into `out` (grown as needed); returns the byte count.
 * Lone surrogates become U+FFFD, as TextEncoder and Rust's lossy conversion do.
 */
export function utf8Bytes(text: string, out: { buf: Uint8Array }): number {
  if (out.buf.length < text.length * 3) out.buf = new Uint8Array(text.length * 3 + 16);
  const buf = out.buf;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      buf[n++] = c;
      continue;
    }
    if (c < 0x800) {
      buf[n++] = 0xc0 | (c >> 6);
      buf[n++] = 0x80 | (c & 63);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const lo = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && lo >= 0xdc00 && lo <= 0xdfff) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
        i++;
        buf[n++] = 0xf0 | (cp >> 18);
        buf[n++] = 0x80 | ((cp >> 12) & 63);
        buf[n++] = 0x80 | ((cp >> 6) & 63);
        buf[n++] = 0x80 | (cp & 63);
        continue;
      }
      c = 0xfffd;
    }
    buf[n++] = 0xe0 | (c >> 12);
    buf[n++] = 0x80 | ((c >> 6) & 63);
    buf[n++] = 0x80 | (c & 63);
  }
  return n;
}

/** Text -> its byte-level string (one symbol per UTF-8 byte). */
export function toByteLevel(text: string): string {
  const scratch = { buf: new Uint8Array(0) };
  const n = utf8Bytes(text, scratch);
  let s = "";
  for (let i = 0; i < n; i++) s += BYTE_TO_UNICODE[scratch.buf[i]];
  return s;
}
