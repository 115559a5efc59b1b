/**
 * When the native kernel tests run, skip or fail: NARRATOR_NATIVE=0 skips, a missing addon skips,
 * and a missing addon under NARRATOR_REQUIRE_NATIVE=1 fails with the load error.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";

import type { AddonLoad } from "../../src/native/addon";

import { nativeDecision } from "./native_skip";

const ROOT = path.resolve(__dirname, "..", "..");
const MISSING: AddonLoad = { addon: null, path: "/x.node", reason: "native addon not built (x)" };
const LOADED = { addon: {}, path: "/x.node", status: {} } as unknown as AddonLoad;

test("decision: loaded runs; missing skips, or fails when required; NARRATOR_NATIVE=0 skips", () => {
  assert.deepEqual(nativeDecision({}, LOADED), { skip: false, failure: null });
  assert.deepEqual(nativeDecision({ NARRATOR_REQUIRE_NATIVE: "1" }, LOADED), {
    skip: false,
    failure: null,
  });
  assert.deepEqual(nativeDecision({}, MISSING), {
    skip: "native addon unavailable: native addon not built (x)",
    failure: null,
  });
  const required = nativeDecision({ NARRATOR_REQUIRE_NATIVE: "1" }, MISSING);
  assert.match(required.failure ?? "", /NARRATOR_REQUIRE_NATIVE=1 .*native addon not built \(x\)/);
  // The explicit opt-out wins over the requirement.
  for (const load of [MISSING, LOADED]) {
    const off = nativeDecision({ NARRATOR_NATIVE: "0", NARRATOR_REQUIRE_NATIVE: "1" }, load);
    assert.equal(off.failure, null);
    assert.match(String(off.skip), /NARRATOR_NATIVE=0/);
  }
});

test("a test file using nativeSkip fails under NARRATOR_REQUIRE_NATIVE=1 without the addon", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-native-skip-"));
  const file = path.join(dir, "uses_native.test.ts");
  fs.writeFileSync(
    file,
    `import { test } from "node:test";
import { nativeSkip as skip } from ${JSON.stringify(path.join(__dirname, "native_skip.ts"))};
test("a native kernel", { skip }, () => {});
`,
  );
  const run = (env: Record<string, string>) => {
    const childEnv: Record<string, string | undefined> = {
      ...process.env,
      NARRATOR_NATIVE_ADDON: path.join(dir, "missing", "narrator_native.node"),
      NARRATOR_NATIVE: undefined,
      NARRATOR_REQUIRE_NATIVE: undefined,
      NODE_TEST_CONTEXT: undefined,
      ...env,
    };
    return spawnSync(process.execPath, ["--import", "tsx", "--test", file], {
      cwd: ROOT,
      encoding: "utf8",
      env: Object.fromEntries(Object.entries(childEnv).filter(([, v]) => v !== undefined)),
    });
  };
  try {
    const required = run({ NARRATOR_REQUIRE_NATIVE: "1" });
    assert.notEqual(required.status, 0, required.stdout);
    assert.match(required.stdout, /# fail 1/);
    assert.match(required.stdout, /NARRATOR_REQUIRE_NATIVE=1 but the native addon is unavailable/);
    assert.match(required.stdout, /missing[/\\]narrator_native\.node is missing/);

    const optional = run({});
    assert.equal(optional.status, 0, optional.stdout);
    assert.match(optional.stdout, /# skipped 1/);
    assert.match(optional.stdout, /# fail 0/);

    const off = run({ NARRATOR_NATIVE: "0", NARRATOR_REQUIRE_NATIVE: "1" });
    assert.equal(off.status, 0, off.stdout);
    assert.match(off.stdout, /# skipped 1/);
    assert.match(off.stdout, /NARRATOR_NATIVE=0/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
