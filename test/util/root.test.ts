import { test } from "node:test";
import assert from "node:assert/strict";
import * as os from "node:os";
import * as path from "node:path";
import { checkoutPath, fromRoot, PROJECT_ROOT, runName } from "../../src/util/root";

test("fromRoot: relative inside the checkout, absolute outside", () => {
  assert.equal(fromRoot(path.join(PROJECT_ROOT, "models", "narrator-2m")), "models/narrator-2m");
  const outside = path.join(os.tmpdir(), "narrator-x");
  assert.equal(fromRoot(outside), outside);
  // A sibling folder whose name starts with the checkout's is outside it.
  assert.equal(fromRoot(`${PROJECT_ROOT}-other/a`), `${PROJECT_ROOT}-other/a`);
  // A folder inside it whose name starts with two dots is inside.
  assert.equal(fromRoot(path.join(PROJECT_ROOT, "..x", "y")), "..x/y");
});

test("runName: the path from the root inside the checkout, runs/<name> for a folder elsewhere", () => {
  assert.equal(runName(path.join(PROJECT_ROOT, "runs", "pt")), "runs/pt");
  assert.equal(runName(path.join(PROJECT_ROOT, "scratch", "a", "b")), "scratch/a/b");
  assert.equal(
    runName(path.join(os.tmpdir(), "narrator-runs", "narrator-8m-stage2")),
    "runs/narrator-8m-stage2",
  );
  assert.equal(runName(path.join(os.tmpdir(), "narrator-pt-1", "stage1")), "runs/stage1");
  // Relative folders are taken from the working directory, as the CLI takes --out.
  const cwd = process.cwd();
  process.chdir(PROJECT_ROOT);
  try {
    assert.equal(runName("o2"), "o2");
  } finally {
    process.chdir(cwd);
  }
});

test("checkoutPath names a model folder outside the checkout models/<name>", () => {
  assert.equal(
    checkoutPath(path.join(os.tmpdir(), "someone", "out", "narrator-8m"), "models"),
    "models/narrator-8m",
  );
  assert.equal(
    checkoutPath(path.join(PROJECT_ROOT, "models", "narrator-2m"), "models"),
    "models/narrator-2m",
  );
});
