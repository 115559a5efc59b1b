import { test } from "node:test";
import assert from "node:assert/strict";
import {
  BYTE_TO_UNICODE,
  GPT2_SPLIT_REGEX,
  byteLevelAlphabet,
  byteOfSymbol,
  splitGpt2,
  toByteLevel,
} from "../../src/tokenizer/byte_level";

test("bytes_to_unicode: printable bytes keep their code point, the rest count up from U+0100", () => {
  // Hand-worked from GPT-2's table: bytes 0..32 -> U+0100..U+0120, 127..160 -> U+0121..U+0142, 173 -> U+0143.
  assert.equal(BYTE_TO_UNICODE[0x61], "a");
  assert.equal(BYTE_TO_UNICODE[0x21], "!");
  assert.equal(BYTE_TO_UNICODE[0x7e], "~");
  assert.equal(BYTE_TO_UNICODE[0], "\u0100"); // 'Ā'
  assert.equal(BYTE_TO_UNICODE[10], "\u010a"); // 'Ċ'
  assert.equal(BYTE_TO_UNICODE[32], "\u0120"); // 'Ġ'
  assert.equal(BYTE_TO_UNICODE[127], "\u0121"); // 'ġ'
  assert.equal(BYTE_TO_UNICODE[160], "\u0142"); // 'ł'
  assert.equal(BYTE_TO_UNICODE[0xa1], "\u00a1");
  assert.equal(BYTE_TO_UNICODE[173], "\u0143"); // 'Ń'
  assert.equal(BYTE_TO_UNICODE[0xff], "\u00ff");
  assert.equal(new Set(BYTE_TO_UNICODE).size, 256);
  for (let b = 0; b < 256; b++) assert.equal(byteOfSymbol(BYTE_TO_UNICODE[b]), b);
  assert.equal(byteOfSymbol("\u0144"), -1);
  assert.equal(byteOfSymbol("€"), -1);
});

test("byte-level strings of text: UTF-8 bytes shown one symbol each", () => {
  assert.equal(toByteLevel("hi there\n"), "hi\u0120there\u010a");
  assert.equal(toByteLevel("é"), "Ã©"); // C3 A9
  assert.equal(toByteLevel("€"), "â\u0124¬"); // E2 82 AC; 0x82 = 127 + 3 -> U+0121 + 3
  // 🙂 = F0 9F 99 82 (a surrogate pair in JS)
  assert.deepEqual(
    [...toByteLevel("🙂")].map((c) => byteOfSymbol(c)),
    [0xf0, 0x9f, 0x99, 0x82],
  );
  // A lone surrogate becomes U+FFFD (EF BF BD), as TextEncoder does.
  assert.deepEqual(
    [...toByteLevel("\ud800")].map((c) => byteOfSymbol(c)),
    [0xef, 0xbf, 0xbd],
  );
});

test("alphabet sorted by code point, as HF's trainer orders it", () => {
  const a = byteLevelAlphabet();
  assert.equal(a.length, 256);
  assert.equal(a[0], "!");
  assert.equal(a[93], "~");
  assert.equal(a[94], "\u00a1");
  assert.equal(a[188], "\u0100"); // 94 + 12 + 82 printable symbols come first
  assert.equal(a[188 + 32], "\u0120");
});

const split = (s: string) => s.match(GPT2_SPLIT_REGEX) ?? [];

test("GPT-2 split regex on hand-worked strings", () => {
  assert.deepEqual(split("Hello world's  end\n\n  x"), [
    "Hello",
    " world",
    "'s",
    " ",
    " end",
    "\n\n ",
    " x",
  ]);
  assert.deepEqual(split("x != 42;  "), ["x", " !=", " 42", ";", "  "]);
  assert.deepEqual(split("we'll I'M"), ["we", "'ll", " I", "'", "M"]);
  assert.deepEqual(split("日本語 テスト"), ["日本語", " テスト"]);
});

test("GPT-2 split treats whitespace as Oniguruma does (U+0085 is space, U+FEFF is not)", () => {
  assert.deepEqual(split("a \u0085b"), ["a", " ", "\u0085", "b"]);
  assert.deepEqual(split("a \ufeffb"), ["a", " \ufeff", "b"]);
});

test("the hand-written GPT-2 scanner splits exactly as the regex on random strings", () => {
  // Pieces chosen to hit every alternative: contractions, leading spaces, Unicode letters/digits,
  // Oniguruma-only whitespace, astral characters and lone surrogates.
  const parts = [
    " ",
    "  ",
    "'",
    "s",
    "re",
    "ll",
    "ve",
    "d",
    "m",
    "t",
    "a",
    "Z",
    "1",
    "٣",
    "²",
    "\t",
    "\n",
    "\r",
    "\u0085",
    "\u00a0",
    "\ufeff",
    "\u3000",
    "\u2028",
    "!",
    ".",
    "(",
    "🙂",
    "𝔘",
    "\ud800",
    "\udc00",
    "é",
    "日",
    "_",
  ];
  let seed = 12345;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let k = 0; k < 20000; k++) {
    let s = "";
    for (let i = rand(14); i > 0; i--) s += parts[rand(parts.length)];
    const pieces: string[] = [];
    splitGpt2(s, (p) => pieces.push(p));
    assert.deepEqual(pieces, s.match(GPT2_SPLIT_REGEX) ?? [], JSON.stringify(s));
  }
});
