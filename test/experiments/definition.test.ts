import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { listExperiments, loadDefinition, parseDefinition } from "../../src/experiments/definition";
import { loadProfile, parseProfile, withEvalData } from "../../src/experiments/profile";
import { PROJECT_ROOT } from "../../src/experiments/paths";
import { FileHashes, specId } from "../../src/experiments/key";
import { STUDY_HYPERPARAMETERS } from "../../src/experiments/transfer";
import { formatNumber } from "../../src/experiments/settings";
import { expandTrials, gridCombinations, comboLabel } from "../../src/experiments/trials";
import { parseTrainConfig } from "../../src/train/config";
import { experimentsDir, placeholderData, sweepDef, testProfile } from "./helpers";

const good = sweepDef("optimizers", { optimizer: ["adamw", "sgd"] });
const bestClaim = {
  id: "adamw-best",
  kind: "best",
  text: "AdamW is lowest",
  source: "Fig. 2",
  setting: "optimizer",
  study: "adamw",
  task: "codesearchnet",
};
const changeClaim = {
  id: "sgd-lower",
  kind: "change",
  text: "SGD is lower than AdamW",
  source: "Fig. 2",
  baseline: { task: "codesearchnet", where: { optimizer: "adamw" } },
  treatment: { task: "codesearchnet", where: { optimizer: "sgd" } },
  study: "lower",
};

test("a bad definition is an error naming the file and the field", () => {
  const bad = (over: Record<string, unknown>) => ({ ...good, ...over });
  const cases: [Record<string, unknown>, RegExp][] = [
    [bad({ grid: { optimiser: ["adamw"] } }), /grid\.optimiser: not a setting/],
    [bad({ grid: { lr: [2e-4, -1] } }), /grid\.lr\.1: /],
    [bad({ grid: { optimizer: ["adam"] } }), /grid\.optimizer\.0: Invalid enum value/],
    [
      bad({ grid: { trainedOn: ["both"] } }),
      /grid\.trainedOn\.0: expected one of base, codesearchnet/,
    ],
    [
      bad({ grid: { seed: [1, 2] } }),
      /grid\.seed: seed is not a setting: it comes from the profile's seeds/,
    ],
    [bad({ grid: {} }), /grid: vary at least one setting/],
    [bad({ grid: { lr: "all" } }), /grid\.lr: "all" is for model and trainLanguage only/],
    [bad({ fixed: {} }), /fixed\.trainedOn: say what trials train on/],
    [
      bad({ fixed: { trainedOn: "codesearchnet", optimizer: "sgd" } }),
      /grid\.optimizer: also in fixed/,
    ],
    [bad({ evaluate: { tasks: ["cobol"] } }), /evaluate\.tasks\.0: Invalid enum value/],
    [bad({ seeds: "many" }), /seeds: Invalid enum value/],
    [bad({ colour: "red" }), /Unrecognized key\(s\) in object: 'colour'/],
    [
      bad({ claims: [{ ...bestClaim, setting: "lr" }] }),
      /claims\.0\.setting: "lr" is not varied by the grid/,
    ],
    [
      bad({ claims: [{ ...bestClaim, study: "adagrad" }] }),
      /claims\.0\.study: "adagrad" is not one of the grid's values of optimizer/,
    ],
    [
      bad({ claims: [{ ...bestClaim, task: "commitpackft" }] }),
      /claims\.0\.task: "commitpackft" is not evaluated by this experiment/,
    ],
    [
      bad({ claims: [bestClaim, bestClaim] }),
      /claims\.1\.id: "adamw-best" is used by another claim/,
    ],
    [
      bad({ claims: [{ ...bestClaim, where: { colour: "red" } }] }),
      /claims\.0\.where\.colour: neither fixed nor varied by this experiment/,
    ],
    [
      bad({
        claims: [
          {
            ...changeClaim,
            treatment: { task: "codesearchnet", where: { optimizer: "adam" } },
          },
        ],
      }),
      /claims\.0\.treatment\.where\.optimizer: /,
    ],
    [
      bad({ claims: [{ ...changeClaim, study: { baseline: 2, treatment: -1 } }] }),
      /claims\.0\.study/,
    ],
    [bad({ claims: [{ ...bestClaim, kind: "guess" }] }), /claims\.0\.kind: Invalid discriminator/],
    [
      bad({ page: { title: "Optimizers", figureId: "Figure 2" } }),
      /page\.figureId: lowercase letters, digits and dashes/,
    ],
    [bad({ page: { title: "" } }), /page\.title: String must contain at least 1 character/],
  ];
  for (const [raw, expected] of cases) {
    assert.throws(
      () => parseDefinition(raw, "experiments/optimizers.json"),
      (e: Error) => {
        assert.match(e.message, /^experiments\/optimizers\.json: invalid experiment definition: /);
        assert.match(e.message, expected);
        return true;
      },
      JSON.stringify(raw),
    );
  }
  assert.throws(
    () => parseDefinition(good, "experiments/other.json"),
    /experiments\/other\.json: .*name: "optimizers" differs from the file name "other"/,
  );
  // Read from a directory: the file's path leads the message.
  const dir = experimentsDir([{ ...good, grid: { lr: [0] } }]);
  assert.throws(() => loadDefinition("optimizers", dir), /optimizers\.json: invalid .*grid\.lr\.0/);
  assert.throws(() => loadDefinition("nope", dir), /no experiment 'nope'.*known: optimizers/);
});

test("a bad profile is an error naming the field", () => {
  const base = testProfile();
  const bad = (over: Record<string, unknown>) => () => parseProfile({ ...base, ...over }, "p.json");
  assert.throws(
    bad({ baseModel: "big" }),
    /p\.json: invalid profile: baseModel: "big" is not one of models \(tiny\)/,
  );
  assert.throws(
    bad({ train: { trainSize: 5 } }),
    /train\.trainSize: trainSize is not a setting: it comes from the profile's sizes/,
  );
  assert.throws(
    bad({ train: { trainedOn: "cocktail" } }),
    /train\.trainedOn: trainedOn cannot be set here/,
  );
  assert.throws(bad({ train: { loraR: 0 } }), /train\.loraR: Number must be greater than 0/);
  assert.throws(bad({ languages: ["cobol"] }), /languages\.0: Invalid enum value/);
  assert.throws(bad({ seeds: { sweep: [1, 1], table: [0] } }), /seeds\.sweep: seeds must differ/);
  assert.throws(bad({ transfer: "best" }), /transfer: Invalid enum value/);
});

test("the shipped definitions and profiles load", () => {
  assert.deepEqual(listExperiments(), [
    "baselines",
    "batch-size",
    "cocktail",
    "cocktail-ratios",
    "cross-language",
    "diff-vs-files",
    "epochs",
    "learning-rate",
    "optimizers",
    "schedulers",
  ]);
  for (const name of listExperiments()) assert.equal(loadDefinition(name).name, name);
  for (const name of ["smoke", "mini", "paper"]) {
    const p = loadProfile(name);
    assert.equal(p.name, name);
    assert.ok(p.seeds.table.length >= (name === "smoke" ? 1 : 3), `${name}: Table 1 seeds`);
  }
  assert.ok(loadProfile("mini").seeds.sweep.length >= 2);
  const paper = loadProfile("paper");
  assert.deepEqual(paper.sizes, { train: 2100, val: 300, test: 600 });
  assert.equal(paper.train.maxLen, 512);
  assert.equal(paper.train.loraR, 64);
  for (const dir of Object.values(loadProfile("mini").models))
    assert.ok(fs.existsSync(path.join(__dirname, "..", "..", dir, "config.json")), dir);
});

test("the study's hyperparameters (README 6.2) are the train config's defaults", () => {
  assert.deepEqual(STUDY_HYPERPARAMETERS, {
    optimizer: "adagrad",
    scheduler: "constant_with_warmup",
    epochs: 1,
    batchSize: 4,
    lr: 2e-4,
  });
  const c = parseTrainConfig({ model: "m", out: "o", task: "codesearchnet" });
  for (const [k, v] of Object.entries(STUDY_HYPERPARAMETERS))
    assert.equal(c[k as keyof typeof c], v, k);
});

test("grid combinations and labels, worked by hand", () => {
  const combos = gridCombinations({ optimizer: ["adamw", "sgd"], lr: [1e-4, 0.3, 2] });
  assert.equal(combos.length, 6);
  assert.deepEqual(combos.map(comboLabel), [
    "adamw, lr=1e-4",
    "adamw, lr=0.3",
    "adamw, lr=2",
    "sgd, lr=1e-4",
    "sgd, lr=0.3",
    "sgd, lr=2",
  ]);
  assert.equal(comboLabel({ batchSize: 4 }), "batch=4");
  assert.equal(comboLabel({ doubleQuant: true }), "doubleQuant=true");
  assert.equal(formatNumber(2.5e-4), "2.5e-4");
  assert.equal(formatNumber(0.001), "0.001");
});

test("shipped experiments in the smoke profile: trial counts and labels, worked by hand", () => {
  const smoke = loadProfile("smoke");
  const expand = (name: string) => expandTrials(loadDefinition(name), smoke, STUDY_HYPERPARAMETERS);
  assert.deepEqual(
    expand("learning-rate").map((t) => t.label),
    ["lr=1e-4", "lr=2e-4", "lr=3e-4", "lr=4e-4", "lr=5e-4"],
  );
  assert.deepEqual(
    expand("baselines").map((t) => [t.model, t.trainedOn, t.train]),
    [
      ["narrator-2m", "base", null],
      ["narrator-8m", "base", null],
      ["narrator-2m-random", "base", null],
    ],
  );
  // Cocktail with table seeds [0, 1]: base once (its numbers do not depend on the seed), 3 adapters per seed.
  assert.deepEqual(
    expand("cocktail").map((t) => `${t.label}/${t.seed}`),
    [
      "base/0",
      "codesearchnet/0",
      "commitpackft/0",
      "cocktail/0",
      "codesearchnet/1",
      "commitpackft/1",
      "cocktail/1",
    ],
  );
  const counts: Record<string, number> = {
    baselines: 3,
    optimizers: 3,
    schedulers: 4,
    epochs: 3,
    "batch-size": 3,
    "learning-rate": 5,
    cocktail: 7,
    "cocktail-ratios": 5,
    "diff-vs-files": 2,
    // Smoke trains on python and go: base, CodeSearchNet and CommitPackFT on each (one seed).
    "cross-language": 6,
  };
  const all = listExperiments().flatMap(expand);
  for (const [name, n] of Object.entries(counts))
    assert.equal(all.filter((t) => t.experiment === name).length, n, name);
  assert.equal(all.length, 41);
  // The study's default (adagrad, constant_with_warmup, 1 epoch, batch 4, lr 2e-4) is one trial of
  // each of the five sweeps: 35 - 4 distinct trials. Cross-language adds 6, of which its two base
  // trials are one run (the same whatever their trainLanguage), the very run of the baselines'
  // narrator-2m (both tasks, validation split): 31 + 6 - 2.
  assert.equal(new Set(all.map(specId)).size, 35);
  // One language's adapter trains on that language alone and is evaluated on every language.
  const go = expand("cross-language").find((t) => t.label === "codesearchnet, go")!;
  assert.deepEqual(go.train!.languages, ["go"]);
  assert.deepEqual(go.evaluate.languages, ["python", "go"]);
});

test("trial settings: defaults < profile < transfer < fixed < grid; evaluation from the profile", () => {
  const def = parseDefinition(
    {
      ...sweepDef("t", { lr: [5e-4] }),
      transfer: true,
      fixed: { trainedOn: "cocktail", optimizer: "adamw", mix: 0.3 },
      evaluate: { tasks: ["codesearchnet", "commitpackft"], split: "test", generate: true },
    },
    "t",
  );
  const profile = testProfile({ train: { maxLen: 64, loraR: 4, lr: 1e-3, epochs: 2 } });
  const transfer = { ...STUDY_HYPERPARAMETERS, optimizer: "sgd" as const, lr: 3e-4, epochs: 3 };
  const [t] = expandTrials(def, profile, transfer);
  assert.equal(t.train!.task, "cocktail");
  assert.equal(t.train!.optimizer, "adamw"); // fixed over transfer
  assert.equal(t.train!.lr, 5e-4); // grid over transfer and profile
  assert.equal(t.train!.epochs, 3); // transfer over profile
  assert.equal(t.train!.loraR, 4); // profile over defaults
  assert.equal(t.train!.mix, 0.3);
  assert.equal(t.train!.scheduler, "constant_with_warmup"); // default
  assert.deepEqual(t.train!.languages, ["python", "go"]);
  assert.equal(t.train!.trainSize, 4);
  assert.equal(t.train!.valSize, 2);
  assert.equal("out" in t.train!, false);
  assert.equal("model" in t.train!, false);
  assert.deepEqual(t.settings, { lr: 5e-4 });
  assert.equal(t.modelDir, "models/narrator-2m-random");
  assert.deepEqual(t.evaluate, {
    tasks: ["codesearchnet", "commitpackft"],
    split: "test",
    size: 2,
    languages: ["python", "go"],
    prompt: "deepseek",
    maxLen: 64,
    commitInput: "diff",
    dataSeed: 42,
    lenient: false,
    quant: "nf4",
    batchSize: 8,
    generate: true,
    maxNewTokens: 8,
    samples: 1,
  });
  // Without generation the generation settings stay out of the spec (and its key).
  const [plain] = expandTrials(
    { ...def, evaluate: { ...def.evaluate, generate: false } },
    profile,
    transfer,
  );
  assert.equal(plain.evaluate.maxNewTokens, null);
  assert.equal(plain.evaluate.samples, 0);
  assert.throws(() => expandTrials(def, profile, null), /needs the transferred hyperparameters/);
  assert.throws(
    () => expandTrials({ ...def, grid: { model: ["huge"] } }, profile, transfer),
    /t: model "huge" is not in profile test \(tiny\)/,
  );
});

test("a held-out dataset joins the evaluation of definitions that ask for it, and only theirs", async () => {
  const smoke = loadProfile("smoke");
  const withHeldOut = withEvalData(smoke, path.join(process.cwd(), "elsewhere", "mined"));
  assert.equal(withHeldOut.evalData, path.relative(PROJECT_ROOT, path.resolve("elsewhere/mined")));
  assert.equal(withEvalData(smoke, undefined), smoke);
  const expand = (name: string, p: typeof smoke) =>
    expandTrials(loadDefinition(name), p, STUDY_HYPERPARAMETERS);
  // The cocktail asks for it: every trial names it, so their keys differ from trials without it.
  for (const t of expand("cocktail", withHeldOut))
    assert.equal(t.evaluate.heldOut, withHeldOut.evalData);
  assert.ok(expand("cocktail", smoke).every((t) => t.evaluate.heldOut === undefined));
  assert.notEqual(specId(expand("cocktail", withHeldOut)[0]), specId(expand("cocktail", smoke)[0]));
  // Sweeps do not: their trials (and keys) are the same with or without one.
  assert.deepEqual(
    expand("optimizers", withHeldOut).map(specId),
    expand("optimizers", smoke).map(specId),
  );
  // The held-out files are part of the data fingerprint.
  const data = placeholderData();
  const heldOut = placeholderData();
  const spec = { ...expand("cocktail", smoke)[0] };
  const hashes = new FileHashes(null);
  const own = await hashes.dataHash(data, spec);
  const withIt = {
    ...spec,
    evaluate: { ...spec.evaluate, heldOut: path.relative(PROJECT_ROOT, heldOut) },
  };
  const first = await hashes.dataHash(data, withIt);
  assert.notEqual(first, own);
  fs.appendFileSync(path.join(heldOut, "commitpackft", "go.jsonl"), "changed\n");
  assert.notEqual(await new FileHashes(null).dataHash(data, withIt), first);
  // A definition cannot judge held-out slices without evaluating a held-out dataset.
  assert.throws(
    () =>
      parseDefinition(
        {
          ...good,
          claims: [
            {
              ...changeClaim,
              treatment: { task: "codesearchnet", where: { optimizer: "sgd" }, heldOut: true },
            },
          ],
        },
        "experiments/optimizers.json",
      ),
    /claims\.0\.treatment\.heldOut: the experiment does not evaluate a held-out dataset/,
  );
});
