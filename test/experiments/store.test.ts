/**
 * The run store under interruptions, failures and competing processes (fake_sweep.ts: a stand-in
 * runner whose own log counts executions).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { RunStore } from "../../src/experiments/store";
import { runSweep } from "../../src/experiments/sweep";
import { loadResults } from "../../src/experiments/results";
import { tmp } from "./helpers";
import { data, done, experiments, options, profile, started, UNIQUE, withEnv } from "./fake_sweep";

test("a sweep stopped part-way runs only its unfinished trials when started again", async () => {
  const store = tmp("store");
  const controller = new AbortController();
  let completed = 0;
  // Stop at the first step after three trials completed: mid-trial, deterministically.
  const first = await runSweep(
    options(store, {
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === "end" && e.end === "completed") completed++;
        if (e.type === "step" && completed === 3) controller.abort();
      },
    }),
  );
  assert.equal(first.phases[0].summary!.aborted, true);
  const s = new RunStore(store);
  const completedFirst = new Set(s.keys().filter((k) => s.status(k) === "completed"));
  assert.ok(
    completedFirst.size >= 3 && completedFirst.size < UNIQUE,
    `${completedFirst.size} completed`,
  );
  // The worker killed mid-trial left a started, unfinished trial (no result, no lock, no error).
  const startedFirst = started(store).length;
  assert.ok(startedFirst > completedFirst.size);
  assert.ok(s.keys().some((k) => s.status(k) === "pending"));
  const second = await runSweep(options(store));
  const startedSecond = started(store)
    .slice(startedFirst)
    .map((l) => l.split(" ")[1]);
  assert.equal(startedSecond.length, UNIQUE - completedFirst.size, "only the unfinished ran");
  assert.equal(second.phases[0].summary!.executed, UNIQUE - completedFirst.size);
  for (const k of startedSecond) assert.ok(!completedFirst.has(k), `${k} ran twice`);
  assert.equal(s.keys().filter((k) => s.status(k) === "completed").length, UNIQUE);
});

test("a failing trial is recorded and the others complete; it reruns only when asked", async () => {
  const store = tmp("store");
  const report = await withEnv({ FAKE_FAIL_LABEL: "sgd" }, () => runSweep(options(store)));
  assert.equal(report.failed, 2, "sgd in seeds 0 and 1");
  assert.equal(done(store).length, UNIQUE - 2);
  const s = new RunStore(store);
  const failed = s.keys().filter((k) => s.status(k) === "failed");
  assert.equal(failed.length, 2);
  assert.equal(s.readError(failed[0])!.message, "fake failure of sgd");
  assert.equal(s.readSpec(failed[0])!.spec.label, "sgd");
  const rows = await loadResults("optimizers", {
    profile,
    store,
    experimentsDir: experiments,
    data,
    codeVersion: "test",
  });
  assert.deepEqual(
    rows.trials.map((t) => [t.label, t.status, t.error]),
    [
      ["adamw", "completed", null],
      ["adagrad", "completed", null],
      ["sgd", "failed", "fake failure of sgd"],
      ["adamw", "completed", null],
      ["adagrad", "completed", null],
      ["sgd", "failed", "fake failure of sgd"],
    ],
  );

  const startsBefore = started(store).length;
  const rerun = await runSweep(options(store));
  assert.equal(started(store).length, startsBefore, "failed trials are not retried by default");
  assert.equal(rerun.failed, 2);
  const retried = await runSweep(options(store, { retryFailed: true }));
  assert.equal(started(store).length, startsBefore + 2);
  assert.equal(retried.failed, 0, "the failure was not deterministic");
  const forced = await runSweep(options(store, { force: true }));
  assert.equal(forced.phases[0].summary!.executed, UNIQUE);
});

test("a worker killed mid-trial leaves the trial unfinished, the others go on, the rerun finishes it", async () => {
  const store = tmp("store");
  const report = await withEnv({ FAKE_KILL_LABEL: "lr=1e-4" }, () => runSweep(options(store)));
  const ends = [...report.phases[0].summary!.ends.values()];
  assert.equal(ends.filter((e) => e === "interrupted").length, 2);
  assert.equal(ends.filter((e) => e === "completed").length, UNIQUE - 2);
  assert.equal(report.failed, 0);
  assert.equal(report.unfinished, 2);
  const s = new RunStore(store);
  // Killed trials hold no lock and no error: they are simply not done.
  const pending = s.keys().filter((k) => s.status(k) === "pending");
  assert.equal(pending.length, 2);
  for (const k of pending) assert.equal(s.readLock(k), null);
  const rerun = await runSweep(options(store));
  assert.equal(rerun.phases[0].summary!.executed, 2);
  assert.equal(rerun.unfinished + rerun.failed, 0);
});

test("claims: a trial held by a live process is left alone; a dead process's claim is taken over", async () => {
  const store = tmp("store");
  const plan = await runSweep(options(store, { dryRun: true }));
  const [heldKey, staleKey] = plan.phases[0].trials.map((t) => t.record.key);
  const s = new RunStore(store);
  assert.equal(s.claim(heldKey), true, "this (live) process claims one trial");
  assert.equal(s.claim(heldKey), false, "a second claim fails");
  // A claim by a process that has exited.
  const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]);
  const deadPid = Number(dead.stdout.toString());
  assert.equal(s.claim(staleKey, deadPid), true);
  assert.equal(s.status(staleKey), "pending", "a dead process's claim does not count as running");
  assert.equal(s.status(heldKey), "running");
  const report = await runSweep(options(store));
  const ends = report.phases[0].summary!.ends;
  assert.equal(ends.get(heldKey), "busy");
  assert.equal(ends.get(staleKey), "completed");
  assert.equal(done(store).length, UNIQUE - 1);
  s.release(heldKey);
  assert.equal(s.readLock(heldKey), null);
});
