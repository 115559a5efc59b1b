import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { corpusTokenizer } from "../../src/cli/corpus_commands";
import { corpusFile } from "../../src/corpus/files";
import { bytesPerToken, trainCorpusTokenizer } from "../../src/corpus/tokenizer";
import { BOS, SPECIAL_TOKENS } from "../../src/tokenizer/special";
import { Tokenizer } from "../../src/tokenizer/tokenizer";
const { Tokenizer: HfTokenizer } = require("@huggingface/tokenizers");

const TRAIN = {
  python: 'def add(a, b):\n    """Return the sum."""\n    return a + b\n\n\nprint(add(1, 2))\n',
  go: 'package main\n\nimport "fmt"\n\nfunc Add(a int, b int) int {\n\treturn a + b\n}\n',
  ruby: "def greet(name)\n  puts \"Hello, #{name}!\"\nend\n\ngreet('world')\n",
};
const VAL = "def mul(a, b):\n    return a * b\n";

function tinyCorpus(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-corpus-tok-"));
  for (const [lang, text] of Object.entries(TRAIN)) {
    const line = JSON.stringify({ path: `x.${lang}`, package: "npm:t", text });
    fs.writeFileSync(corpusFile(dir, lang as "python", "train"), zlib.gzipSync(line + "\n"));
  }
  fs.writeFileSync(
    corpusFile(dir, "python", "val"),
    zlib.gzipSync(JSON.stringify({ path: "v.py", package: "npm:t", text: VAL }) + "\n"),
  );
  return dir;
}

test("bytes per token: UTF-8 bytes over tokens, counted by hand", () => {
  const twoTokens = { encode: () => [7, 7] };
  // "abcd" is 4 bytes, "é" 2 bytes: 6 bytes over 4 tokens.
  assert.deepEqual(bytesPerToken(twoTokens, ["abcd", "é"]), {
    bytes: 6,
    tokens: 4,
    bytesPerToken: 1.5,
  });
  assert.deepEqual(bytesPerToken(twoTokens, []), { bytes: 0, tokens: 0, bytesPerToken: 0 });
});

test("the corpus tokenizer has the project's special tokens first and <|bos|> before every text", () => {
  const dir = tinyCorpus();
  const { tokenizer, trainFiles, trainBytes } = trainCorpusTokenizer(dir, { vocabSize: 300 });
  assert.equal(trainFiles, 3);
  assert.equal(
    trainBytes,
    Object.values(TRAIN).reduce((n, t) => n + Buffer.byteLength(t), 0),
  );
  SPECIAL_TOKENS.forEach((t, id) => assert.equal(tokenizer.tokenToId(t), id));
  const ids = tokenizer.encode(VAL);
  assert.equal(ids[0], tokenizer.tokenToId(BOS));
  assert.equal(tokenizer.decode(ids, { skipSpecial: true }), VAL);
  // An independent implementation reads the same file and agrees.
  const hf = new HfTokenizer(tokenizer.toJson(), { clean_up_tokenization_spaces: false });
  assert.deepEqual(hf.encode(VAL).ids, ids);
  assert.throws(
    () =>
      trainCorpusTokenizer(fs.mkdtempSync(path.join(os.tmpdir(), "empty-")), { vocabSize: 300 }),
    /no train files/,
  );
});

test("narrator corpus tokenizer writes a loadable tokenizer.json of the asked size", async () => {
  const dir = tinyCorpus();
  const out = path.join(dir, "tokenizer.json");
  const write = process.stdout.write;
  let printed = "";
  process.stdout.write = ((s: string) => ((printed += s), true)) as typeof process.stdout.write;
  try {
    await corpusTokenizer.run({ corpus: dir, out, vocab: "300", languages: "python,go,ruby" }, []);
  } finally {
    process.stdout.write = write;
  }
  const tok = Tokenizer.fromFile(out);
  assert.equal(tok.tokenToId(SPECIAL_TOKENS[0]), 0);
  assert.match(printed, /trained 300 tokens on 3 files/);
  assert.match(printed, /python\s+\d+\s+\d+\s+\d+\.\d{3}/);
});
