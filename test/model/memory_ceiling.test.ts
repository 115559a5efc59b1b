/**
 * The memory ceiling: the wasm heap's maximum read from the module, refusals that name it, and a
 * failed tensor allocation reported as such instead of tfjs writing the tensor over address 0.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../src/backend/backend";
import {
  declaredMaximum,
  HeapExhaustedError,
  heapExhaustionLine,
  wasmHeapCeiling,
  withoutAbortEcho,
  type WasmBackend,
} from "../../src/native/wasm_heap";
import {
  estimateInferenceMemory,
  memoryCeiling,
  tablesOffHeapByDefault,
} from "../../src/model/memory";
import { parseLlamaConfig } from "../../src/model/config";
import { presetConfig } from "../../src/model/presets";
import { writeRandomCheckpoint } from "../../src/model/random_checkpoint";
import { openBase } from "../../src/model/open";
import { quantizeModelDir } from "../../src/model/quantize_dir";

import { writePythonData } from "../fixtures/data/rows";

const ROOT = path.join(__dirname, "..", "..");

before(async () => {
  await initBackend();
});

/** A wasm module with the given sections (id, payload bytes), hand-assembled. */
function wasmModule(sections: [number, number[]][]): Uint8Array {
  const bytes = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  for (const [id, payload] of sections) bytes.push(id, payload.length, ...payload);
  return Uint8Array.from(bytes);
}

test("declaredMaximum reads a memory's maximum pages, defined or imported", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-wasm-"));
  const write = (name: string, sections: [number, number[]][]) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, wasmModule(sections));
    return file;
  };
  // Memory section: 1 memory, flags 1 (has maximum), minimum 2, maximum 300 (LEB128: 0xac 0x02).
  assert.equal(declaredMaximum(write("defined.wasm", [[5, [1, 1, 2, 0xac, 0x02]]])), 300);
  // No maximum: wasm32's 65536 pages.
  assert.equal(declaredMaximum(write("unbounded.wasm", [[5, [1, 0, 2]]])), 65536);
  // Import section: a function import "env"."f" (type 0), then memory "env"."m" with max 17.
  const name = (s: string) => [s.length, ...Buffer.from(s)];
  const imports = [
    2,
    ...name("env"),
    ...name("f"),
    0,
    0,
    ...name("env"),
    ...name("m"),
    2,
    1,
    1,
    17,
  ];
  assert.equal(declaredMaximum(write("imported.wasm", [[2, imports]])), 17);
  assert.throws(() => declaredMaximum(write("none.wasm", [])), /the module has no memory/);
  fs.rmSync(dir, { recursive: true });
});

test("the heap ceiling is what emscripten's glue code grows the heap to", () => {
  // Independent source: the module's JavaScript, whose getHeapMax() bounds every heap growth.
  const glue = fs.readFileSync(
    require.resolve("@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.node.js"),
    "utf8",
  );
  const m = /function getHeapMax\(\) \{ return (\d+);/.exec(glue);
  assert.ok(m, "getHeapMax in the glue code");
  assert.equal(wasmHeapCeiling(), Number(m[1]));
  assert.equal(memoryCeiling(64 * 2 ** 30).heap, Number(m[1]));
  // A process budget below the heap's maximum bounds the heap too.
  assert.equal(memoryCeiling(2 ** 30).heap, 2 ** 30);
});

test("inference estimate: hand-worked terms for a tiny untied model", () => {
  const config = parseLlamaConfig({
    vocab_size: 100,
    hidden_size: 16,
    intermediate_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 4,
  });
  const m = estimateInferenceMemory(config, {
    quant: "nf4",
    doubleQuant: false,
    tablesOffHeap: true,
    tableBytes: 2,
    batchSize: 1,
    seqLen: 8,
  });
  // Heap weights: norms only, 2 layers x 2 x 16 + 16 = 80 floats.
  assert.equal(m.heapWeights, 80 * 4);
  // Work: one layer 8 x (24*16 + 6*32) + 3*4*64 floats; the largest linear (32x16) and its
  // transpose; one head tile (100 x 16, all of it); logits and log-softmax 2 x 8 x 100.
  const layer = 8 * (24 * 16 + 6 * 32) + 3 * 4 * 64;
  assert.equal(m.heapWork, (layer + 2 * 512 + 1600 + 1600) * 4);
  // Outside: NF4 codes (half a byte each) + absmax per 64 values, per layer: linears 4 x 256 + 3 x 512
  // = 2560 values -> 1280 bytes + blocks (4 x 4 + 3 x 8 = 40) x 4; tables 2 x 1600 x 2 bytes.
  assert.equal(m.outside, 2 * (1280 + 160) + 6400);
  assert.equal(m.total, m.heap + m.outside);
});

test("score refuses before loading a run that cannot fit the heap, naming ceiling and estimate", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-ceiling-"));
  writeRandomCheckpoint(dir, presetConfig("narrator-2m"), { seed: 1, shards: 1, dtype: "BF16" });
  // 20,000 tokens: attention scores alone are 3 x 4 heads x 20000^2 floats, 18 GiB.
  const ids = Array.from({ length: 20000 }, (_, i) => i % 8192).join(",");
  const r = spawnSync(
    process.execPath,
    [path.join(ROOT, "bin", "narrator.js"), "score", "--model", dir, "--ids", ids],
    { cwd: ROOT, encoding: "utf8" },
  );
  assert.equal(r.status, 1);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(
    lines[0],
    /^narrator: refusing to start: scoring 20000 tokens needs an estimated [\d.]+ MiB of wasm heap .* but the wasm heap holds at most 4095\.94 MiB; /,
  );
  fs.rmSync(dir, { recursive: true });
});

test("eval refuses before loading a batch that cannot fit the heap, naming ceiling and plan", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-ceiling-"));
  writeRandomCheckpoint(dir, presetConfig("narrator-2m"), { seed: 1, shards: 1, dtype: "BF16" });
  const data = writePythonData(path.join(dir, "data"));
  // 8 x 4,096 tokens: attention scores alone are 3 x 8 x 4 heads x 4096^2 floats, 6 GiB.
  const r = spawnSync(
    process.execPath,
    [
      path.join(ROOT, "bin", "narrator.js"),
      ...["eval", "--model", dir, "--data", data, "--task", "codesearchnet", "--split", "test"],
      ...["--languages", "python", "--max-len", "4096", "--batch-size", "8"],
    ],
    { cwd: ROOT, encoding: "utf8" },
  );
  assert.equal(r.status, 1, r.stderr);
  const lines = r.stderr.trim().split("\n");
  assert.match(
    lines.at(-1)!,
    /^narrator: refusing to start: evaluating batches of 8 x 4096 tokens needs an estimated [\d.]+ MiB of wasm heap .* but the wasm heap holds at most 4095\.94 MiB; /,
  );
  fs.rmSync(dir, { recursive: true });
});

test("an allocation the heap cannot make is an error, and the heap stays sound", () => {
  const b = tf.backend() as unknown as WasmBackend;
  const made: tf.TensorInfo[] = [];
  // 1 GiB outputs, never written (so no memory is touched), until the 4 GiB heap refuses one.
  const allocate = () => {
    for (let i = 0; i < 5; i++) made.push(b.makeOutput([2 ** 28], "float32"));
  };
  assert.throws(allocate, (e: unknown) => {
    assert.ok(e instanceof HeapExhaustedError);
    assert.match(e.message, /the wasm heap ran out of memory \(it holds at most 4095\.94 MiB/);
    assert.match(e.message, /an allocation of 1024\.00 MiB failed/);
    return true;
  });
  assert.equal(made.length, 3);
  for (const t of made) b.disposeData(t.dataId);
  // Before the guard, the refused tensor landed on address 0 and this sum came out wrong.
  assert.equal(tf.sum(tf.ones([10])).dataSync()[0], 10);
});

test("a trap of the heap becomes one line; emscripten's own Aborted() line is not printed", async () => {
  const { RuntimeError } = (
    globalThis as unknown as { WebAssembly: { RuntimeError: ErrorConstructor } }
  ).WebAssembly;
  for (const message of [
    "Aborted(). Build with -sASSERTIONS for more info.",
    "memory access out of bounds",
  ]) {
    assert.match(
      heapExhaustionLine(new RuntimeError(message)) ?? "",
      /^the wasm heap ran out of memory \(it holds at most 4095\.94 MiB/,
    );
  }
  assert.equal(heapExhaustionLine(new RuntimeError("unreachable")), null);
  assert.equal(heapExhaustionLine(new Error("memory access out of bounds")), null);

  const printed: unknown[][] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => printed.push(args);
  try {
    let echo: (...args: unknown[]) => void = () => {};
    // As emscripten does: bind console.warn while the module is being created, print later.
    await withoutAbortEcho(async () => {
      echo = console.warn.bind(console);
    });
    echo("Aborted()");
    echo("a warning", 1);
    assert.deepEqual(printed, [["a warning", 1]]);
  } finally {
    console.warn = warn;
  }
});

test("a 4-bit checkpoint is estimated as 4 bits: it opens where its float source is refused", () => {
  const src = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-ceiling-"));
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-ceiling-"));
  const config = presetConfig("narrator-2m");
  writeRandomCheckpoint(src, config, { seed: 2, shards: 1, dtype: "BF16" });
  quantizeModelDir(src, out, { blocksize: 64, doubleQuant: false });
  const input = {
    doubleQuant: false,
    tablesOffHeap: true,
    tableBytes: 2,
    batchSize: 1,
    seqLen: 64,
  };
  const nf4 = estimateInferenceMemory(config, { ...input, quant: "nf4" });
  const float = estimateInferenceMemory(config, { ...input, quant: "none" });
  assert.ok(nf4.heap < float.heap);
  // A heap between the two: the float model is refused, the 4-bit one opens (without --quant).
  const ceiling = { heap: (nf4.heap + float.heap) / 2, process: 2 ** 40, heapName: "wasm heap" };
  // (Under so small a heap the tables stay off it, as the estimates above assume.)
  assert.ok(tablesOffHeapByDefault(config, ceiling));
  const plan = { batchSize: 1, seqLen: 64, what: "scoring 64 tokens" };
  assert.throws(() => openBase(src, { plan, ceiling }), /refusing to start: scoring 64 tokens/);
  openBase(out, { plan, ceiling }).dispose();
  fs.rmSync(src, { recursive: true });
  fs.rmSync(out, { recursive: true });
});
