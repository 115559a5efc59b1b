/**
 * The whole suite in the smoke profile, through the command line, on the shared real data: every
 * experiment's trials complete and the Results API gives a metric row for every trial, task and
 * language. Minutes, not seconds: it runs only with NARRATOR_SMOKE=1 (a CI step of its own).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { listExperiments } from "../../src/experiments/definition";
import { loadProfile } from "../../src/experiments/profile";
import { loadResults } from "../../src/experiments/results";
import { tmp } from "./helpers";

const data = process.env.NARRATOR_DATA;
const skip =
  process.env.NARRATOR_SMOKE !== "1"
    ? "set NARRATOR_SMOKE=1 to run the smoke suite (a few minutes)"
    : !data || !fs.existsSync(data)
      ? "NARRATOR_DATA does not name a data directory"
      : false;

test("smoke profile: every experiment runs and reads back complete", { skip }, async () => {
  const store = tmp("smoke");
  const cli = path.join(__dirname, "..", "..", "bin", "narrator.js");
  const run = spawnSync(
    process.execPath,
    [cli, "sweep", "all", "--profile", "smoke", "--store", store],
    { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
  );
  assert.equal(run.status, 0, run.stderr.slice(-3000));
  const profile = loadProfile("smoke");
  for (const name of listExperiments()) {
    const r = await loadResults(name, { profile, store });
    assert.deepEqual(r.outdated, [], name);
    for (const t of r.trials) assert.equal(t.status, "completed", `${name} ${t.label}`);
    const tasks = r.definition.evaluate.tasks.length;
    const perTrial = tasks * (profile.languages.length + 1);
    assert.equal(r.metrics.length, r.trials.length * perTrial, `${name}: metric rows`);
    for (const m of r.metrics) assert.ok(Number.isFinite(m.ce), `${name} ${m.label} CE`);
    if (r.definition.evaluate.generate) {
      assert.ok(
        r.metrics.every((m) => m.bleu !== null && m.rougeL !== null),
        `${name}: scores`,
      );
      assert.ok(r.samples.length > 0, `${name}: samples`);
    }
    const trained = r.trials.filter((t) => t.trainedOn !== "base");
    for (const t of trained)
      assert.ok(
        r.curves.some((c) => c.key === t.key && c.loss !== null),
        `${name} ${t.label} curve`,
      );
  }
});
