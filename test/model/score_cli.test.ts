/**
 * `narrator score` output: {"ids": [...], "logprobs": [...]} with logprobs[i] = log p(ids[i+1] |
 * ids[0..i]), so n - 1 values for n ids. Checked against the independent PyTorch reference values
 * stored with the fixtures, and for --text against a different code path: one forward per prefix,
 * its last row of logits, and a log-softmax in double precision here.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../src/backend/backend";
import { loadModel } from "../../src/model/checkpoint";
import { tokenizerFor } from "../../src/model/open";

const ROOT = path.join(__dirname, "..", "..");
const FIXTURES = path.join(__dirname, "..", "fixtures", "llama");
const NARRATOR_2M = path.join(ROOT, "models", "narrator-2m");

before(async () => {
  await initBackend();
});

interface Scored {
  ids: number[];
  logprobs: number[];
}

function score(args: string[]): Scored {
  const r = spawnSync(process.execPath, [path.join(ROOT, "bin", "narrator.js"), "score", ...args], {
    cwd: ROOT,
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Scored;
  assert.deepEqual(Object.keys(out), ["ids", "logprobs"]);
  return out;
}

for (const name of ["gqa-untied-scaled", "mha-tied"]) {
  test(`score --ids on ${name} equals the stored PyTorch reference log-probabilities`, () => {
    const dir = path.join(FIXTURES, name);
    const expected = JSON.parse(fs.readFileSync(path.join(dir, "expected.json"), "utf8")) as Scored;
    const got = score(["--model", dir, "--ids", expected.ids.join(",")]);
    assert.deepEqual(got.ids, expected.ids);
    assert.equal(got.logprobs.length, expected.ids.length - 1);
    got.logprobs.forEach((v, i) =>
      assert.ok(
        Math.abs(v - expected.logprobs[i]) < 2e-4,
        `logprobs[${i}] = log p(${expected.ids[i + 1]} | ids[0..${i}]): ${v}, reference ${expected.logprobs[i]}`,
      ),
    );
  });
}

test("score of a single id has no next token: logprobs is empty", () => {
  const got = score(["--model", path.join(FIXTURES, "mha-tied"), "--ids", "45"]);
  assert.deepEqual(got, { ids: [45], logprobs: [] });
});

test("score --text on narrator-2m: tokenizer ids, and per-prefix log-softmax of the next id", () => {
  const text = "Returns the sum of two numbers.";
  const got = score(["--model", NARRATOR_2M, "--text", text]);
  assert.deepEqual(got.ids, tokenizerFor(NARRATOR_2M).encode(text));
  assert.ok(got.ids.length >= 3, "a few tokens at least");
  assert.equal(got.logprobs.length, got.ids.length - 1);
  const model = loadModel(NARRATOR_2M);
  try {
    for (let i = 0; i + 1 < got.ids.length; i++) {
      // Forward the prefix ids[0..i] alone; its last row holds the logits of the next token.
      const prefix = got.ids.slice(0, i + 1);
      const row = tf.tidy(() => {
        const { logits } = model.forward(tf.tensor2d(prefix, [1, prefix.length], "int32"));
        return Array.from(tf.slice(logits, [prefix.length - 1, 0], [1, -1]).dataSync());
      });
      const max = Math.max(...row);
      const logZ = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
      const expected = row[got.ids[i + 1]] - logZ;
      assert.ok(
        Math.abs(got.logprobs[i] - expected) < 1e-4,
        `logprobs[${i}]: ${got.logprobs[i]}, per-prefix ${expected}`,
      );
    }
  } finally {
    model.dispose();
  }
});
