/** A hand-written corpus for pretraining tests: a few short files in four languages, two held out. */
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { LANGS, type Lang } from "../../src/data/langs";

export const TRAIN: [Lang, string][] = [
  ["python", "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"],
  [
    "python",
    "class Stack:\n    def __init__(self):\n        self.items = []\n\n    def push(self, x):\n        self.items.append(x)\n",
  ],
  ["python", "for i in range(10):\n    if i % 2 == 0:\n        print(i)\n"],
  [
    "java",
    "public class Point {\n    private int x;\n    private int y;\n\n    public int getX() {\n        return x;\n    }\n}\n",
  ],
  [
    "javascript",
    "function add(a, b) {\n  return a + b;\n}\n\nconst items = [1, 2, 3].map((x) => x * 2);\n",
  ],
  ["javascript", "export function last(xs) {\n  return xs[xs.length - 1];\n}\n"],
  [
    "go",
    "package main\n\nfunc Add(a int, b int) int {\n\treturn a + b\n}\n\nfunc Sub(a int, b int) int {\n\treturn a - b\n}\n",
  ],
];
export const VAL: [Lang, string][] = [
  ["python", "def mul(a, b):\n    return a * b\n"],
  ["go", "func Mul(a int, b int) int {\n\treturn a * b\n}\n"],
];

/** DIR/corpus/ in the corpus builder's layout (per language and split, gzipped JSONL) and a MANIFEST. */
export function writeCorpus(dir: string, contentHash: string): void {
  const corpusDir = path.join(dir, "corpus");
  fs.mkdirSync(corpusDir, { recursive: true });
  for (const [split, files] of [
    ["train", TRAIN],
    ["val", VAL],
  ] as const) {
    for (const lang of LANGS) {
      const lines = files
        .filter(([l]) => l === lang)
        .map(([, text], i) => JSON.stringify({ path: `src/f${i}`, package: "npm:hand", text }));
      if (lines.length === 0) continue;
      fs.writeFileSync(
        path.join(corpusDir, `${lang}.${split}.jsonl.gz`),
        zlib.gzipSync(lines.join("\n") + "\n"),
      );
    }
  }
  fs.writeFileSync(
    path.join(corpusDir, "MANIFEST.json"),
    JSON.stringify({ format: 1, contentHash }),
  );
}
