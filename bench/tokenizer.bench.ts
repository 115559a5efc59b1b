/**
 * Tokenizer benchmark: train a byte-level BPE on Python sources installed on this machine, then
 * measure encode throughput on held-out files (a fresh word cache, then a second pass) and check
 * the ids against @huggingface/tokenizers.
 * Run: node --import tsx bench/tokenizer.bench.ts
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { trainByteLevelBpe } from "../src/tokenizer/train";
import { Tokenizer } from "../src/tokenizer/tokenizer";
import { SPECIAL_TOKENS } from "../src/tokenizer/special";

const TRAIN_BYTES = 8 * 1024 * 1024;
const TEST_BYTES = 2 * 1024 * 1024;
const VOCAB_SIZE = 8192;

/** .py files under /usr/lib/python3*, sorted, until `limit` bytes are read. */
function readPythonSources(limit: number): string[] {
  const roots = fs
    .readdirSync("/usr/lib")
    .filter((d) => /^python3/.test(d))
    .sort()
    .map((d) => path.join("/usr/lib", d));
  const files: string[] = [];
  const walk = (dir: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && e.name.endsWith(".py")) files.push(p);
    }
  };
  roots.forEach(walk);
  const texts: string[] = [];
  let total = 0;
  for (const f of files) {
    if (total >= limit) break;
    const t = fs.readFileSync(f, "utf8");
    texts.push(t);
    total += Buffer.byteLength(t);
  }
  if (total < limit) throw new Error(`only ${total} bytes of .py sources under /usr/lib/python3*`);
  return texts;
}

/** Train on ~8 MB, encode ~2 MB held out; returns the measured numbers. */
export async function benchTokenizer(): Promise<Record<string, number>> {
  const all = readPythonSources(TRAIN_BYTES + TEST_BYTES);
  const bytesOf = (ts: string[]) => ts.reduce((s, t) => s + Buffer.byteLength(t), 0);
  let cut = 0;
  for (let acc = 0; cut < all.length && acc < TRAIN_BYTES; cut++)
    acc += Buffer.byteLength(all[cut]);
  const train = all.slice(0, cut);
  const held = all.slice(cut);

  let t0 = performance.now();
  const tok = trainByteLevelBpe(train, {
    vocabSize: VOCAB_SIZE,
    specialTokens: [...SPECIAL_TOKENS],
  });
  const trainSeconds = (performance.now() - t0) / 1000;

  // Warm the JIT on training text, then time a fresh tokenizer (empty word cache) and a second pass.
  for (const t of train.slice(0, 50)) tok.encode(t);
  const fresh = Tokenizer.fromJson(tok.toJson(), "bench");
  const heldBytes = bytesOf(held);
  let tokens = 0;
  t0 = performance.now();
  const encoded = held.map((t) => fresh.encode(t, { addSpecial: false }));
  const coldSeconds = (performance.now() - t0) / 1000;
  encoded.forEach((ids) => (tokens += ids.length));
  t0 = performance.now();
  held.forEach((t) => fresh.encode(t, { addSpecial: false }));
  const warmSeconds = (performance.now() - t0) / 1000;

  let roundTripFailures = 0;
  held.forEach((t, i) => (roundTripFailures += fresh.decode(encoded[i]) === t ? 0 : 1));

  // Independent check and speed reference: the same file in @huggingface/tokenizers.
  const { Tokenizer: HfTokenizer } = require("@huggingface/tokenizers");
  const hf = new HfTokenizer(tok.toJson(), {});
  t0 = performance.now();
  let hfMismatches = 0;
  held.forEach((t, i) => {
    const ids: number[] = hf.encode(t, { add_special_tokens: false }).ids;
    if (ids.length !== encoded[i].length || ids.some((id, k) => id !== encoded[i][k]))
      hfMismatches++;
  });
  const hfSeconds = (performance.now() - t0) / 1000;

  return {
    trainMB: bytesOf(train) / 1e6,
    vocabSize: tok.vocabSize,
    trainSeconds,
    heldOutMB: heldBytes / 1e6,
    heldOutFiles: held.length,
    encodeMBPerSecond: heldBytes / 1e6 / coldSeconds,
    encodeTokensPerSecond: tokens / coldSeconds,
    encodeWarmCacheMBPerSecond: heldBytes / 1e6 / warmSeconds,
    bytesPerToken: heldBytes / tokens,
    roundTripFailures,
    hfMismatchedFiles: hfMismatches,
    hfEncodeMBPerSecond: heldBytes / 1e6 / hfSeconds,
  };
}

if (require.main === module) {
  benchTokenizer().then((r) => {
    for (const [k, v] of Object.entries(r))
      console.log(`${k.padEnd(28)} ${Number.isInteger(v) ? v : v.toFixed(3)}`);
  });
}
