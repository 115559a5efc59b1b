/**
 * Planning and running sweeps (fake_sweep.ts: a stand-in runner whose own log counts executions):
 * sharing, sharding, and the transfer phase.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Profile } from "../../src/experiments/profile";
import { loadResults } from "../../src/experiments/results";
import { runSweep, type SweepOptions } from "../../src/experiments/sweep";
import type { SweepCounts } from "../../src/experiments/pool";
import { experimentsDir, sweepDef, testProfile, tmp } from "./helpers";
import { data, done, options, UNIQUE } from "./fake_sweep";

test("each distinct trial runs once; a rerun runs nothing", async () => {
  const store = tmp("store");
  const progress: SweepCounts[] = [];
  const report = await runSweep(
    options(store, {
      workers: 2,
      onEvent: (e) => {
        if (e.type === "progress") progress.push(e.counts);
      },
    }),
  );
  // While trials are waiting, both workers hold one: a worker's next trial counts as running
  // when progress is told, not the moment between two trials.
  const busy = progress.filter((c) => c.done > 0 && c.pending > 0);
  assert.ok(busy.length > 0);
  for (const c of busy) assert.equal(c.running, 2, JSON.stringify(c));
  assert.equal(report.phases[0].expanded, 10);
  assert.equal(report.phases[0].trials.length, UNIQUE);
  const shared = report.phases[0].trials.filter((t) => t.uses.length === 2);
  assert.deepEqual(
    shared.map((t) => t.uses.map((u) => `${u.experiment}: ${u.label} ${u.seed}`)),
    [
      ["learning-rate: lr=2e-4 0", "optimizers: adagrad 0"],
      ["learning-rate: lr=2e-4 1", "optimizers: adagrad 1"],
    ],
  );
  assert.equal(done(store).length, UNIQUE);
  assert.equal(report.failed + report.unfinished, 0);
  const again = await runSweep(options(store));
  assert.equal(done(store).length, UNIQUE, "nothing ran again");
  assert.equal(again.phases[0].summary!.executed, 0);
  assert.equal(again.phases[0].summary!.counts.done, UNIQUE);
});

test("two shards against one store, at the same time, run every trial once", async () => {
  const store = tmp("store");
  const [a, b] = await Promise.all(
    [0, 1].map((index) => runSweep(options(store, { workers: 1, shard: { index, count: 2 } }))),
  );
  const ka = a.phases[0].trials.map((t) => t.record.key);
  const kb = b.phases[0].trials.map((t) => t.record.key);
  assert.equal(ka.length + kb.length, UNIQUE);
  assert.equal(new Set([...ka, ...kb]).size, UNIQUE);
  const keys = done(store).map((l) => l.split(" ")[1]);
  assert.equal(keys.length, UNIQUE);
  assert.equal(new Set(keys).size, UNIQUE);
});

test("transfer winners: the second phase trains with each sweep's lowest-CE value", async () => {
  const sweeps = [
    sweepDef("optimizers", { optimizer: ["adamw", "adagrad", "sgd"] }),
    sweepDef("schedulers", { scheduler: ["linear", "cosine"] }),
    sweepDef("epochs", { epochs: [1, 2] }),
    sweepDef("batch-size", { batchSize: [2, 1] }),
    sweepDef("learning-rate", { lr: [3e-4, 1e-4, 2e-4] }),
  ];
  const transfer = {
    ...sweepDef("transfer", { mix: [0.5] }),
    figure: "Table 9",
    transfer: true,
    fixed: { trainedOn: "cocktail" },
  };
  const dir = experimentsDir([...sweeps, transfer]);
  const winners: Profile = { ...testProfile(), transfer: "winners" };
  const store = tmp("store");
  const opts = (names: string[], over: Partial<SweepOptions> = {}) =>
    options(store, { experiments: names, experimentsDir: dir, profile: winners, ...over });
  await assert.rejects(
    runSweep(opts(["transfer"])),
    /transfer "winners" needs the finished sweep optimizers: 3 of 3 trials are not completed/,
  );
  const dry = await runSweep(opts(["transfer"], { dryRun: true }));
  assert.match(dry.phases[0].blocked!, /needs the finished sweep optimizers/);

  const report = await runSweep(opts(["all"]));
  assert.deepEqual(
    report.phases.map((p) => p.experiments),
    [["batch-size", "epochs", "learning-rate", "optimizers", "schedulers"], ["transfer"]],
  );
  // fakeCe: lowest for sgd, the smallest lr and the smallest batch; schedulers and epochs tie,
  // and a tie goes to the value listed first.
  const [t] = report.phases[1].trials.map((p) => p.record.spec);
  assert.equal(t.train!.optimizer, "sgd");
  assert.equal(t.train!.lr, 1e-4);
  assert.equal(t.train!.batchSize, 1);
  assert.equal(t.train!.scheduler, "linear");
  assert.equal(t.train!.epochs, 1);
  const results = await loadResults("transfer", {
    profile: winners,
    store,
    experimentsDir: dir,
    data,
    codeVersion: "test",
  });
  assert.deepEqual(results.transfer, {
    mode: "winners",
    hyperparameters: { optimizer: "sgd", scheduler: "linear", epochs: 1, batchSize: 1, lr: 1e-4 },
  });
  assert.equal(results.trials[0].status, "completed");
  assert.ok(fs.existsSync(path.join(store, "file-hashes.json")));
});
