import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { learnBpe, trainByteLevelBpe, countWords } from "../../src/tokenizer/train";
import { Tokenizer } from "../../src/tokenizer/tokenizer";
import { byteLevelAlphabet, toByteLevel } from "../../src/tokenizer/byte_level";
import { BOS, CODE, EOS, EOT, SPECIAL_TOKENS, SUMMARY } from "../../src/tokenizer/special";

const { Tokenizer: HfTokenizer } = require("@huggingface/tokenizers");

// Hand-written snippets in the six languages of the study.
const SNIPPETS = [
  'def add(a, b):\n    """Return the sum of a and b."""\n    return a + b\n\n\nclass Counter:\n    def __init__(self):\n        self.count = 0\n\n    def increment(self, by=1):\n        self.count += by\n        return self.count\n',
  "function add(a, b) {\n  return a + b;\n}\n\nconst doubled = [1, 2, 3].map((value) => value * 2);\nexport default { add, doubled };\n",
  'package main\n\nimport "fmt"\n\nfunc Add(a int, b int) int {\n\treturn a + b\n}\n\nfunc main() {\n\tfmt.Println(Add(1, 2))\n}\n',
  "public class Counter {\n    private int count = 0;\n\n    public int increment(int by) {\n        count += by;\n        return count;\n    }\n}\n",
  "class Counter\n  def initialize\n    @count = 0\n  end\n\n  def increment(by = 1)\n    @count += by\n  end\nend\n",
  "<?php\nfunction add($a, $b) {\n    return $a + $b;\n}\necho add(1, 2);\n",
];

// Text the tokenizer never saw: other scripts, emoji (with ZWJ and skin tone), odd whitespace, CRLF.
const VARIED = [
  "def add(a, b):\n    return a + b\n",
  "Ünïcödé façade — naïve café; 日本語のテキスト; Ελληνικά; עברית; русский текст",
  "emoji 🙂👩‍👩‍👧‍👦👍🏽 and flags 🇫🇷",
  "tabs\t\tand   spaces      \n\n\n\r\n  trailing   ",
  "    \n",
  "x=1;y=2;if(x<y){return\"ok\"}else{throw new Error('no')}",
  "it's we'll they're I'M you've",
  "numbers 0 12 345 6789 3.14159 1e-10 0xFF",
  "",
  " ",
  "\u00a0non-breaking\u2003em\u3000ideographic",
  `${BOS}${CODE}def f(): pass${SUMMARY}Does nothing.${EOS}`,
  `### Instruction:\nExplain.\n### Response:\nIt adds.\n${EOT}`,
];

const tok = trainByteLevelBpe(SNIPPETS, {
  vocabSize: 600,
  specialTokens: [...SPECIAL_TOKENS],
  bosToken: BOS,
});

test("special tokens get the lowest ids and encode to single ids", () => {
  SPECIAL_TOKENS.forEach((t, id) => {
    assert.equal(tok.tokenToId(t), id);
    assert.deepEqual(tok.encode(t, { addSpecial: false }), [id]);
    assert.equal(tok.specialTokens.get(t), id);
  });
  assert.deepEqual(
    tok.encode(`a${EOS}b`, { addSpecial: false }).filter((id) => id === SPECIAL_TOKENS.indexOf(EOS))
      .length,
    1,
  );
  assert.deepEqual(tok.encode("x").slice(0, 1), [SPECIAL_TOKENS.indexOf(BOS)]);
  assert.deepEqual(tok.stopIds(), [SPECIAL_TOKENS.indexOf(EOS), SPECIAL_TOKENS.indexOf(EOT)]);
  // every byte symbol is in the vocab, right after the specials, in code-point order
  byteLevelAlphabet().forEach((s, i) => assert.equal(tok.tokenToId(s), SPECIAL_TOKENS.length + i));
});

test("trained tokenizer round-trips arbitrary text exactly", () => {
  for (const text of VARIED) {
    const ids = tok.encode(text, { addSpecial: false });
    assert.equal(tok.decode(ids), text, JSON.stringify(text));
  }
  assert.equal(
    tok.decode(tok.encode("lone \ud800 surrogate", { addSpecial: false })),
    "lone \ufffd surrogate",
  );
  assert.equal(tok.decode(tok.encode(`${BOS}hi${EOS}`), { skipSpecial: true }), "hi");
  assert.ok(
    tok.encode(SNIPPETS[0], { addSpecial: false }).length < Buffer.byteLength(SNIPPETS[0]) / 2,
    "merges compress",
  );
});

test("@huggingface/tokenizers loads the saved file and gives identical ids and text", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tok-"));
  const file = path.join(dir, "tokenizer.json");
  tok.save(file);
  const json = JSON.parse(fs.readFileSync(file, "utf8"));
  const hf = new HfTokenizer(json, { clean_up_tokenization_spaces: false });
  const reloaded = Tokenizer.fromFile(file);
  for (const text of VARIED) {
    const ids = tok.encode(text);
    assert.deepEqual(hf.encode(text).ids, ids, JSON.stringify(text));
    assert.deepEqual(reloaded.encode(text), ids);
    if (ids.length > 0) {
      assert.equal(hf.decode(ids), tok.decode(ids));
      assert.equal(
        hf.decode(ids, { skip_special_tokens: true }),
        tok.decode(ids, { skipSpecial: true }),
      );
    }
  }
  fs.rmSync(dir, { recursive: true });
});

test("a DeepSeek-Coder style pre-tokenizer over the trained vocab agrees with @huggingface/tokenizers", () => {
  const split = (pattern: string) => ({
    type: "Split",
    pattern: { Regex: pattern },
    behavior: "Isolated",
    invert: false,
  });
  const json = tok.toJson() as Record<string, unknown>;
  json.normalizer = { type: "Sequence", normalizers: [] };
  json.pre_tokenizer = {
    type: "Sequence",
    pretokenizers: [
      split("[\r\n]"),
      split("\\s?[A-Za-zµÀ-ÖØ-öø-ƺ]+"),
      split("\\s?[!-/:-~！-／：-～‘-‟　-。]+"),
      split("\\s+$"),
      split("[一-龥ࠀ-一가-퟿]+"),
      { type: "Digits", individual_digits: true },
      { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
    ],
  };
  const ours = Tokenizer.fromJson(json, "deepseek-style");
  const hf = new HfTokenizer(json, { clean_up_tokenization_spaces: false });
  for (const text of VARIED) {
    assert.deepEqual(ours.encode(text), hf.encode(text).ids, JSON.stringify(text));
    assert.equal(ours.decode(ours.encode(text, { addSpecial: false })), text);
  }
});

test("learned merges on 'aaab aaab ab' follow the hand-worked order and tie-break", () => {
  // Words: "aaab", "Ġaaab", "Ġab". Pair counts: (a,a)=4, (a,b)=3, (Ġ,a)=2 -> merge a+a.
  // Then (a,b)=3 -> ab; (aa,ab)=2 -> aaab; then (Ġ,ab)=1 and (Ġ,aaab)=1 tie: smaller id (ab) first.
  const t = trainByteLevelBpe(["aaab aaab ab"], {
    vocabSize: 1000,
    specialTokens: [],
    minFrequency: 1,
  });
  const json = t.toJson() as { model: { merges: string[][]; vocab: Record<string, number> } };
  assert.deepEqual(json.model.merges, [
    ["a", "a"],
    ["a", "b"],
    ["aa", "ab"],
    ["Ġ", "ab"],
    ["Ġ", "aaab"],
  ]);
  assert.deepEqual(
    ["aa", "ab", "aaab", "Ġab", "Ġaaab"].map((s) => json.model.vocab[s]),
    [256, 257, 258, 259, 260],
  );
  const t2 = trainByteLevelBpe(["aaab aaab ab"], { vocabSize: 1000, specialTokens: [] }); // minFrequency 2
  assert.deepEqual((t2.toJson() as { model: { merges: string[][] } }).model.merges, [
    ["a", "a"],
    ["a", "b"],
    ["aa", "ab"],
  ]);
});

test("learnBpe reproduces the vocab of HF tokenizers' own BpeTrainer unit test", () => {
  // tokenizers/src/models/bpe/trainer.rs, test_train: min_frequency 2, no initial alphabet.
  const words = new Map<string, number>([
    ["roses", 1],
    ["are", 2],
    ["red", 1],
    ["voilets", 1],
    ["blue", 1],
    ["BERT", 1],
    ["is", 2],
    ["big", 1],
    ["and", 1],
    ["so", 1],
    ["GPT-2", 1],
  ]);
  const learned = learnBpe(words, {
    vocabSize: 30000,
    minFrequency: 2,
    specialTokens: [],
    initialAlphabet: [],
  });
  assert.deepEqual(learned.vocab, [
    "-",
    "2",
    "B",
    "E",
    "G",
    "P",
    "R",
    "T",
    "a",
    "b",
    "d",
    "e",
    "g",
    "i",
    "l",
    "n",
    "o",
    "r",
    "s",
    "t",
    "u",
    "v",
    "re",
    "are",
    "is",
  ]);
  assert.deepEqual(learned.merges, [
    ["r", "e"],
    ["a", "re"],
    ["i", "s"],
  ]);
});

/** Reference trainer: recount every pair from scratch each round (slow, obviously correct). */
function naiveMerges(
  wordCounts: Map<string, number>,
  vocabSize: number,
  minFrequency: number,
): string[][] {
  const vocab: string[] = [...new Set([...wordCounts.keys()].flatMap((w) => [...w]))].sort(
    (a, b) => (a.codePointAt(0) as number) - (b.codePointAt(0) as number),
  );
  const idOf = new Map(vocab.map((t, i) => [t, i]));
  const words = [...wordCounts].map(([w, c]) => ({
    syms: [...w].map((ch) => idOf.get(ch) as number),
    c,
  }));
  const merges: string[][] = [];
  const seen = new Set<string>();
  while (vocab.length < vocabSize) {
    const counts = new Map<string, number>();
    for (const { syms, c } of words) {
      for (let i = 0; i + 1 < syms.length; i++) {
        const k = `${syms[i]},${syms[i + 1]}`;
        counts.set(k, (counts.get(k) ?? 0) + c);
      }
    }
    let best: [number, number] | null = null;
    let bestCount = 0;
    for (const [k, c] of counts) {
      const [a, b] = k.split(",").map(Number);
      if (
        c > bestCount ||
        (c === bestCount && best && (a < best[0] || (a === best[0] && b < best[1])))
      ) {
        best = [a, b];
        bestCount = c;
      }
    }
    if (best === null || bestCount < minFrequency) break;
    const [a, b] = best;
    const merged = vocab[a] + vocab[b];
    let id = idOf.get(merged);
    if (id === undefined) {
      id = vocab.length;
      vocab.push(merged);
      idOf.set(merged, id);
    }
    if (!seen.has(`${a},${b}`)) merges.push([vocab[a], vocab[b]]);
    seen.add(`${a},${b}`);
    for (const w of words) {
      const out: number[] = [];
      for (let i = 0; i < w.syms.length; i++) {
        if (i + 1 < w.syms.length && w.syms[i] === a && w.syms[i + 1] === b) {
          out.push(id);
          i++;
        } else out.push(w.syms[i]);
      }
      w.syms = out;
    }
  }
  return merges;
}

test("incremental pair counting gives the same merges as recounting from scratch", () => {
  const raw = countWords(SNIPPETS, []);
  const words = new Map([...raw].map(([w, c]) => [toByteLevel(w), c]));
  for (const minFrequency of [1, 2]) {
    const fast = learnBpe(words, {
      vocabSize: 700,
      minFrequency,
      specialTokens: [],
      initialAlphabet: [],
    });
    const slow = naiveMerges(words, 700, minFrequency);
    assert.ok(slow.length > 50, `only ${slow.length} merges`);
    assert.deepEqual(fast.merges, slow);
  }
});

test("training options are checked", () => {
  assert.throws(
    () => trainByteLevelBpe(["x"], { vocabSize: 100, specialTokens: [] }),
    /vocabSize 100 < 256/,
  );
  assert.throws(
    () => trainByteLevelBpe(["x"], { vocabSize: 300, specialTokens: ["<a>", "<a>"] }),
    /duplicate/,
  );
  assert.throws(
    () => trainByteLevelBpe(["x"], { vocabSize: 300, specialTokens: [], bosToken: "<s>" }),
    /bosToken/,
  );
});
