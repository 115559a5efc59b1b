import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { initBackend } from "../../src/backend/backend";
import { loadModel } from "../../src/model/checkpoint";
import { tensorShapes, readLlamaConfig } from "../../src/model/config";
import { tokenizerFor } from "../../src/model/open";
import { openModel } from "../../src/lora/open";
import { encodeExamples, padIdOf, sequencePrefix } from "../../src/data/batches";
import { evaluateCe } from "../../src/train/evaluate";
import { sequenceLogprobs } from "../../src/model/inference";
import { readSafetensorsFile } from "../../src/safetensors/safetensors";
import { zeroShotCe } from "../../src/pretrain/zero_shot";

// The embedded base models, pretrained by `narrator pretrain` (see each model card), and the
// random-initialised floor of the same shape as the small one.
const MODELS = path.join(__dirname, "..", "..", "models");
const TRAINED = ["narrator-2m", "narrator-8m"];
const FLOOR = "narrator-2m-random";

// Hand-written code, in two of the six languages; not from any dataset.
const SNIPPET = `def total_price(items, tax_rate):
    """Return the sum of the item prices with tax added."""
    subtotal = sum(item.price for item in items)
    return subtotal * (1 + tax_rate)


func (s *Server) Close() error {
	if s.listener == nil {
		return nil
	}
	return s.listener.Close()
}
`;

function snippetCe(name: string): number {
  const dir = path.join(MODELS, name);
  const ids = tokenizerFor(dir).encode(SNIPPET);
  const model = loadModel(dir);
  const lp = sequenceLogprobs(model, ids);
  model.dispose();
  return -lp.reduce((a, b) => a + b, 0) / lp.length;
}

// Until the models are committed (they come from long pretraining runs) there is nothing to check.
const SHIPPED = fs.existsSync(MODELS);
const opts = { skip: SHIPPED ? false : "no models/ folder yet" };

before(async () => {
  await initBackend();
});

for (const name of [...TRAINED, FLOOR]) {
  test(`${name}: HF layout, BF16, at most 20 MB, tensor names from its config`, opts, () => {
    const dir = path.join(MODELS, name);
    for (const f of ["config.json", "model.safetensors", "tokenizer.json", "README.md"]) {
      assert.ok(fs.existsSync(path.join(dir, f)), `${name}/${f} is missing`);
    }
    const file = path.join(dir, "model.safetensors");
    assert.ok(fs.statSync(file).size <= 20 * 2 ** 20, `${name} is over 20 MB`);
    const { tensors } = readSafetensorsFile(file);
    const expected = tensorShapes(readLlamaConfig(dir));
    assert.deepEqual([...tensors.keys()].sort(), expected.map(([n]) => n).sort());
    for (const [n, shape] of expected) {
      assert.deepEqual(tensors.get(n)!.shape, shape, n);
      assert.equal(tensors.get(n)!.dtype, "BF16", n);
    }
  });
}

test("pretrained models predict hand-written code far better than the random floor", opts, () => {
  const floor = snippetCe(FLOOR);
  // A random model is near uniform: CE close to ln(vocab) = ln(8192) = 9.01 nats.
  assert.ok(floor > 8, `random floor CE ${floor}`);
  for (const name of TRAINED) {
    const ce = snippetCe(name);
    assert.ok(ce < floor - 3, `${name}: CE ${ce} is not well below the floor's ${floor}`);
  }
});

/** The held-out corpus CE and the zero-shot "all" CE per task that a model card states. */
function cardNumbers(name: string): { heldOut: number; zeroShot: [number, number] } {
  const card = fs.readFileSync(path.join(MODELS, name, "README.md"), "utf8");
  const heldOut = /bfloat16 weights: \*\*([\d.]+) nats\/token\*\*/.exec(card);
  const all = /\| \*\*all\*\* \| \*\*([\d.]+) \(\d+\)\*\* \| \*\*([\d.]+) \(\d+\)\*\* \|/.exec(
    card,
  );
  assert.ok(heldOut && all, `${name}: the card lacks its held-out or zero-shot CE`);
  return { heldOut: Number(heldOut[1]), zeroShot: [Number(all[1]), Number(all[2])] };
}

test("the cards: the larger model lowest on held-out code, both far below the floor", opts, () => {
  const [small, large] = TRAINED.map(cardNumbers);
  const floor = cardNumbers(FLOOR);
  assert.ok(large.heldOut < small.heldOut, `8m ${large.heldOut} vs 2m ${small.heldOut}`);
  for (const m of [small, large]) {
    assert.ok(m.heldOut < floor.heldOut - 3, `held-out ${m.heldOut} vs floor ${floor.heldOut}`);
    m.zeroShot.forEach((ce, k) =>
      assert.ok(ce < floor.zeroShot[k] - 2, `zero-shot ${ce} vs floor ${floor.zeroShot[k]}`),
    );
  }
});

// The cards' zero-shot rows are measured on the real data; re-measure one to keep them honest.
const DATA = process.env.NARRATOR_DATA ?? path.join(__dirname, "..", "..", "..", "shared", "data");
test(
  "a card's zero-shot Python row is what evaluation of the folder gives",
  { skip: !SHIPPED ? "no models/ folder yet" : !fs.existsSync(DATA) && `no data at ${DATA}` },
  async () => {
    const name = "narrator-2m";
    const card = fs.readFileSync(path.join(MODELS, name, "README.md"), "utf8");
    const row = /\| Python \| ([\d.]+) \((\d+)\) \| ([\d.]+) \((\d+)\) \|/.exec(card);
    assert.ok(row, "the card has a Python row");
    const z = await zeroShotCe(path.join(MODELS, name), DATA, ["python"]);
    assert.equal(z.codesearchnet.ce.ce.toFixed(4), row[1]);
    assert.equal(z.codesearchnet.ce.examples, Number(row[2]));
    assert.equal(z.commitpackft.ce.ce.toFixed(4), row[3]);
    assert.equal(z.commitpackft.ce.examples, Number(row[4]));
  },
);

// The shipped narration adapter, on hand-written examples of both tasks (not from any dataset).
const ADAPTER = path.join(MODELS, "narrator-8m-cocktail", "adapter");
const NARRATIONS = [
  {
    id: "hand-1",
    task: "codesearchnet" as const,
    language: "python" as const,
    input: "def is_adult(age):\n    return age >= 18",
    target: "Return whether a person of the given age is an adult.",
  },
  {
    id: "hand-2",
    task: "commitpackft" as const,
    language: "go" as const,
    input:
      "--- a/server.go\n+++ b/server.go\n@@ -10,3 +10,6 @@\n func (s *Server) Close() error {\n+\tif s.listener == nil {\n+\t\treturn nil\n+\t}\n \treturn s.listener.Close()\n }",
    target: "Fix a crash when closing a server that never started",
  },
];

function narrationCe(adapter: string | undefined): number {
  const dir = path.join(MODELS, "narrator-8m");
  const tok = tokenizerFor(dir);
  const model = openModel(dir, { adapter, quant: "nf4" });
  const { examples } = encodeExamples(tok, NARRATIONS, {
    format: "compact",
    maxLen: 256,
    start: sequencePrefix(tok),
  });
  const ce = evaluateCe(model, examples, { batchSize: 2, padId: padIdOf(tok, "compact") });
  model.dispose();
  return ce.overall.ce;
}

test(
  "the shipped cocktail adapter predicts hand-written narrations better than its base alone",
  { skip: fs.existsSync(ADAPTER) ? false : "no shipped adapter" },
  () => {
    const base = narrationCe(undefined);
    const tuned = narrationCe(ADAPTER);
    assert.ok(tuned < base - 0.3, `with the adapter ${tuned}, without ${base}`);
  },
);

// The adapter card's validation table is written by hand; the run records are the training's own.
test(
  "the adapter card's validation CE per stage is what the stages' run records say",
  { skip: fs.existsSync(ADAPTER) ? false : "no shipped adapter" },
  () => {
    const dir = path.dirname(ADAPTER);
    const card = fs.readFileSync(path.join(dir, "README.md"), "utf8");
    const finalCe = (file: string, task: string): string => {
      const record = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8"));
      return record.final.byTask[task].ce.toFixed(3);
    };
    for (const [task, label] of [
      ["codesearchnet", "CodeSearchNet"],
      ["commitpackft", "CommitPackFT"],
    ]) {
      const row = new RegExp(
        `^\\| ${label} \\| [\\d.]+ \\| ([\\d.]+) \\| ([\\d.]+) \\| ([\\d.]+) \\|`,
        "m",
      ).exec(card);
      assert.ok(row, `the card has a validation row for ${label}`);
      assert.equal(row[1], finalCe("result-stage-1.json", task), `${label} after stage 1`);
      assert.equal(row[2], finalCe("result-stage-2.json", task), `${label} after stage 2`);
      assert.equal(row[3], finalCe("result.json", task), `${label} after stage 3`);
    }
  },
);
