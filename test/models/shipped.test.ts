import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { initBackend } from "../../src/backend/backend";
import { loadModel } from "../../src/model/checkpoint";
import { tensorShapes, readLlamaConfig } from "../../src/model/config";
import { tokenizerFor } from "../../src/model/open";
import { sequenceLogprobs } from "../../src/model/inference";
import { readSafetensorsFile } from "../../src/safetensors/safetensors";

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
