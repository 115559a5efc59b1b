/**
 * Whenever native kernels cannot run (addon missing or broken, OpenBLAS missing, switched off,
 * another backend), enabling them registers nothing, says why in one line, and tfjs keeps
 * working on its own kernels. Nothing in this file ever enables them, so the kernel registry
 * of this process stays the wasm backend's own throughout.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { before, test } from "node:test";

import * as tf from "@tensorflow/tfjs-core";

import { backendInfo, initBackend } from "../../src/backend/backend";
import { addonPath, loadAddon } from "../../src/native/addon";
import { disableNativeKernels, enableNativeKernels, nativeStatus } from "../../src/native/kernels";

const ROOT = path.resolve(__dirname, "..", "..");

/** [[1,2],[3,4]] x [[5,6],[7,8]] worked by hand. */
const PRODUCT = [19, 22, 43, 50];

function product(): number[] {
  return Array.from(
    tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([5, 6, 7, 8], [2, 2])).dataSync(),
  );
}

/** Enables with `env` set, and checks that nothing changed and wasm still computes. */
function assertFallback(given: Record<string, string>, reason: RegExp) {
  // Each case simulates one cause alone, also when the whole run has NARRATOR_NATIVE=0.
  const env = { NARRATOR_NATIVE: "1", ...given };
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    const before = tf.getKernel("BatchMatMul", tf.getBackend()).kernelFunc;
    const result = enableNativeKernels();
    assert.equal(result.enabled, false);
    assert.deepEqual(result.kernels, []);
    assert.match(result.reason ?? "", reason);
    assert.ok(!(result.reason ?? "").includes("\n"), "reason is one line");
    assert.equal(tf.getKernel("BatchMatMul", tf.getBackend()).kernelFunc, before);
    assert.equal(nativeStatus().enabled, false);
    assert.match(nativeStatus().reason ?? "", reason);
    assert.equal(backendInfo().label, backendInfo().name);
    assert.deepEqual(product(), PRODUCT);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

before(async () => {
  await initBackend("wasm");
  // initBackend turns native kernels on when the addon built: start this file from plain wasm.
  disableNativeKernels();
});

test("a missing addon leaves plain wasm running", () => {
  assertFallback(
    { NARRATOR_NATIVE_ADDON: "/nonexistent/narrator_native.node" },
    /not built .*node-gyp rebuild/,
  );
});

test("a broken addon file leaves plain wasm running", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-native-"));
  const bogus = path.join(dir, "narrator_native.node");
  fs.writeFileSync(bogus, "not a shared object");
  try {
    assertFallback({ NARRATOR_NATIVE_ADDON: bogus }, /failed to load/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("NARRATOR_NATIVE=0 switches native kernels off", () => {
  assertFallback({ NARRATOR_NATIVE: "0" }, /NARRATOR_NATIVE=0/);
});

test(
  "an addon without OpenBLAS leaves plain wasm running",
  { skip: loadAddon(addonPath()).addon === null ? "native addon not built" : false },
  () => {
    // OpenBLAS is looked up once per process: ask a fresh one.
    const child = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "-e",
        `const { loadAddon } = require(${JSON.stringify(ROOT)} + "/src/native/addon.ts");
         const load = loadAddon();
         console.log(JSON.stringify(load.addon === null ? load.reason : "loaded"));`,
      ],
      {
        cwd: ROOT,
        encoding: "utf8",
        env: { ...process.env, NARRATOR_OPENBLAS: "/nonexistent/libopenblas.so.0" },
      },
    );
    assert.equal(child.status, 0, child.stderr);
    assert.match(JSON.parse(child.stdout.trim()), /^OpenBLAS not found/);
  },
);

test("native kernels stay off under the cpu backend", async () => {
  await initBackend("cpu");
  assertFallback({}, /backend is 'cpu'/);
  assert.equal(backendInfo().label, "cpu");
});
