import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Tokenizer } from "../../src/tokenizer/tokenizer";
import { buildPreTokenizer, preTokenize, splitByPattern } from "../../src/tokenizer/pre_tokenizer";
import { compileOnigRegex } from "../../src/tokenizer/onig_regex";

// A hand-built byte-level BPE: 'Ġ' is the byte symbol of a space.
const MERGES: Array<[string, string]> = [
  ["h", "e"], // 0 -> he
  ["l", "l"], // 1 -> ll
  ["ll", "o"], // 2 -> llo
  ["he", "llo"], // 3 -> hello
  ["Ġ", "w"], // 4 -> Ġw
  ["o", "r"], // 5 -> or
  ["Ġw", "or"], // 6 -> Ġwor
  ["l", "d"], // 7 -> ld
];
const VOCAB: Record<string, number> = {
  h: 0,
  e: 1,
  l: 2,
  o: 3,
  Ġ: 4,
  w: 5,
  r: 6,
  d: 7,
  he: 8,
  ll: 9,
  llo: 10,
  hello: 11,
  Ġw: 12,
  or: 13,
  Ġwor: 14,
  ld: 15,
};

function tinyJson(mergeFormat: "pairs" | "strings", extra: Record<string, unknown> = {}) {
  const byteLevel = {
    type: "ByteLevel",
    add_prefix_space: false,
    trim_offsets: true,
    use_regex: true,
  };
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [
      {
        id: 16,
        content: "<|eos|>",
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      },
      {
        id: 17,
        content: "<s>",
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      },
      {
        id: 18,
        content: "<s><s>",
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: false,
      },
    ],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: byteLevel,
    decoder: byteLevel,
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      vocab: VOCAB,
      merges: mergeFormat === "pairs" ? MERGES : MERGES.map(([a, b]) => `${a} ${b}`),
    },
    ...extra,
  };
}

for (const format of ["pairs", "strings"] as const) {
  test(`tiny tokenizer.json encodes to hand-worked ids (merges as ${format})`, () => {
    const tok = Tokenizer.fromJson(tinyJson(format), "tiny.json");
    // "hello" -> he l l o -> he ll o -> he llo -> hello; " world" -> Ġw o r l d -> Ġw or l d -> Ġwor l d -> Ġwor ld
    assert.deepEqual(tok.encode("hello world"), [11, 14, 15]);
    // lowest rank first: (l,l) rank 1 beats (l,d) rank 7
    assert.deepEqual(tok.encode("lld"), [9, 7]);
    // equal ranks: leftmost first, "l l l d" -> ll l d -> ll ld
    assert.deepEqual(tok.encode("llld"), [9, 15]);
    assert.deepEqual(tok.encode("hold"), [0, 3, 15]);
    // a byte missing from the vocab with no unk token is dropped, as in HF
    assert.deepEqual(tok.encode("hex"), [8]);
    // added tokens are matched in the raw text, leftmost-longest, and never split
    assert.deepEqual(tok.encode("hello<|eos|>world"), [11, 16, 5, 13, 15]);
    assert.deepEqual(tok.encode("<s><s><s>"), [18, 17]);
    assert.equal(tok.decode([11, 16, 5, 13, 15]), "hello<|eos|>world");
    assert.equal(tok.decode([11, 16, 5, 13, 15], { skipSpecial: true }), "helloworld");
    assert.equal(tok.decode([18, 17], { skipSpecial: true }), "<s><s>"); // 18 is not special
    assert.equal(tok.vocabSize, 19);
    assert.equal(tok.tokenToId("Ġwor"), 14);
    assert.equal(tok.idToToken(16), "<|eos|>");
    assert.deepEqual(
      [...tok.specialTokens],
      [
        ["<|eos|>", 16],
        ["<s>", 17],
      ],
    );
    assert.deepEqual(tok.stopIds(), [16]); // <|eos|> ends generation
  });
}

test("TemplateProcessing adds its BOS only when addSpecial is on (default)", () => {
  const post = {
    type: "TemplateProcessing",
    single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
    pair: [],
    special_tokens: { "<s>": { id: "<s>", ids: [17], tokens: ["<s>"] } },
  };
  const tok = Tokenizer.fromJson(tinyJson("pairs", { post_processor: post }), "tiny.json");
  assert.deepEqual(tok.encode("hello"), [17, 11]);
  assert.deepEqual(tok.encode("hello", { addSpecial: false }), [11]);
});

test("unk token stands for missing bytes", () => {
  const json = tinyJson("pairs");
  json.model.vocab = { ...VOCAB, "<unk>": 19 };
  (json.model as Record<string, unknown>).unk_token = "<unk>";
  const tok = Tokenizer.fromJson(json, "tiny.json");
  assert.deepEqual(tok.encode("hex"), [8, 19]);
});

test("toJson round-trips and save writes a loadable file", () => {
  const tok = Tokenizer.fromJson(tinyJson("strings"), "tiny.json");
  const json = tok.toJson() as { model: { merges: unknown } };
  assert.deepEqual(json.model.merges, MERGES);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tok-"));
  const file = path.join(dir, "tokenizer.json");
  tok.save(file);
  const back = Tokenizer.fromFile(file);
  assert.deepEqual(back.encode("hello<|eos|> world"), [11, 16, 14, 15]);
  fs.rmSync(dir, { recursive: true });
});

test("Split behaviors match HF's own example ('How are you doing?', inverted \\w+|[^\\w\\s]+)", () => {
  const re = compileOnigRegex("\\w+|[^\\w\\s]+", "test");
  const text = "How are you doing?";
  assert.deepEqual(splitByPattern(text, re, "Removed", true), ["How", "are", "you", "doing", "?"]);
  assert.deepEqual(splitByPattern(text, re, "Isolated", true), [
    "How",
    " ",
    "are",
    " ",
    "you",
    " ",
    "doing",
    "?",
  ]);
  assert.deepEqual(splitByPattern(text, re, "MergedWithPrevious", true), [
    "How ",
    "are ",
    "you ",
    "doing",
    "?",
  ]);
  assert.deepEqual(splitByPattern(text, re, "MergedWithNext", true), [
    "How",
    " are",
    " you",
    " doing",
    "?",
  ]);
  assert.deepEqual(splitByPattern(text, re, "Contiguous", true), [
    "How",
    " ",
    "are",
    " ",
    "you",
    " ",
    "doing?",
  ]);
});

test("DeepSeek-Coder style Sequence pre-tokenizer splits as worked by hand", () => {
  const split = (pattern: string) => ({
    type: "Split",
    pattern: { Regex: pattern },
    behavior: "Isolated",
    invert: false,
  });
  const steps = buildPreTokenizer(
    {
      type: "Sequence",
      pretokenizers: [
        split("[\r\n]"),
        split("\\s?[A-Za-z]+"),
        split("\\s?[!-/:-~]+"),
        split("\\s+$"),
        { type: "Digits", individual_digits: true },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    "pre_tokenizer",
  );
  assert.deepEqual(preTokenize(steps, "def f(x):\n    return x+12  \n"), [
    "def",
    " f",
    "(",
    "x",
    "):",
    "\n",
    "   ",
    " return",
    " x",
    "+",
    "1",
    "2",
    "  ",
    "\n",
  ]);
});

test("Oniguruma patterns: \\s is White_Space, $ is end of line, unsupported syntax is an error", () => {
  assert.deepEqual("a\u0085b\ufeffc".split(compileOnigRegex("\\s", "t")), ["a", "b\ufeffc"]);
  assert.deepEqual("ab \ncd ".match(compileOnigRegex("\\s+$", "t")), [" ", " "]);
  assert.throws(
    () => compileOnigRegex("(?i:abc)", "model.pre_tokenizer.pattern"),
    /pre_tokenizer\.pattern: unsupported regex construct group option/,
  );
  assert.throws(() => compileOnigRegex("a++", "p"), /possessive/);
  assert.throws(() => compileOnigRegex("[a[b]]", "p"), /nested character class/);
});

test("bad tokenizer.json files give errors naming the field", () => {
  const without = (key: string) => {
    const j: Record<string, unknown> = tinyJson("pairs");
    delete j[key];
    return j;
  };
  assert.throws(
    () => Tokenizer.fromJson(without("model"), "bad.json"),
    /^Error: bad\.json: model: missing$/,
  );
  assert.throws(
    () =>
      Tokenizer.fromJson(
        tinyJson("pairs", { model: { type: "WordPiece", vocab: {} } }),
        "bad.json",
      ),
    /bad\.json: model\.type: unsupported "WordPiece"/,
  );
  assert.throws(
    () =>
      Tokenizer.fromJson(tinyJson("pairs", { pre_tokenizer: { type: "Metaspace" } }), "bad.json"),
    /bad\.json: pre_tokenizer\.type: unsupported "Metaspace"/,
  );
  assert.throws(
    () => Tokenizer.fromJson(tinyJson("pairs", { decoder: { type: "WordPiece" } }), "bad.json"),
    /bad\.json: decoder\.type: unsupported "WordPiece"/,
  );
  assert.throws(
    () => Tokenizer.fromJson(tinyJson("pairs", { normalizer: { type: "NFC" } }), "bad.json"),
    /bad\.json: normalizer: unsupported normalizer "NFC"/,
  );
  const badMerge = tinyJson("strings");
  badMerge.model.merges = ["h e", "a b c"];
  assert.throws(
    () => Tokenizer.fromJson(badMerge, "bad.json"),
    /bad\.json: model\.merges\[1\]: expected a merge/,
  );
  const unknownMerge = tinyJson("pairs");
  unknownMerge.model.merges = [["h", "x"]];
  assert.throws(
    () => Tokenizer.fromJson(unknownMerge, "bad.json"),
    /model\.merges\[0\]: token "x" is not in the vocab/,
  );
  const lstrip = tinyJson("pairs");
  lstrip.added_tokens[0].lstrip = true;
  assert.throws(
    () => Tokenizer.fromJson(lstrip, "bad.json"),
    /added_tokens\[0\]\.lstrip: expected false/,
  );
  assert.throws(
    () =>
      Tokenizer.fromJson(
        tinyJson("pairs", {
          pre_tokenizer: { type: "Sequence", pretokenizers: [{ type: "Digits" }] },
        }),
        "bad.json",
      ),
    /must end with exactly one ByteLevel step/,
  );
  assert.throws(
    () => Tokenizer.fromJson(tinyJson("pairs", { truncation: { max_length: 5 } }), "bad.json"),
    /truncation: must be null/,
  );
  assert.throws(() => Tokenizer.fromJson([], "bad.json"), /bad\.json: expected an object/);
});

test("Split with a String pattern splits on the literal", () => {
  const steps = buildPreTokenizer(
    {
      type: "Sequence",
      pretokenizers: [
        { type: "Split", pattern: { String: "-" }, behavior: "Removed", invert: false },
        { type: "ByteLevel", add_prefix_space: false, use_regex: false },
      ],
    },
    "p",
  );
  assert.deepEqual(preTokenize(steps, "a-b--c."), ["a", "b", "c."]);
});

test("repeated added tokens are an error", () => {
  const json = tinyJson("pairs");
  json.added_tokens[1].id = 16;
  assert.throws(() => Tokenizer.fromJson(json, "bad.json"), /bad\.json: added_tokens\[1\]: id 16/);
});
