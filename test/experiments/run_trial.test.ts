/**
 * A trial's evaluation reads its adapter as the adapter was trained: the prompt format and length
 * of the adapter's own run record, as `narrator eval --adapter` does, with a warning naming both
 * where the trial's spec says otherwise. Real training of the shipped random-init model on the
 * hand-written data rows; the evaluation is checked against evaluateModel called independently.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { runTrial } from "../../src/experiments/run_trial";
import type { EvalSpec, TrainSettings, TrialSpec } from "../../src/experiments/trials";
import { parseTrainConfig } from "../../src/train/config";
import { evaluateModel } from "../../src/train/evaluate";
import { PROJECT_ROOT } from "../../src/util/root";
import { writePythonData } from "../fixtures/data/rows";
import { tmp } from "./helpers";

test("an adapter is evaluated with its run's prompt and length; a spec that differs is a warning", async () => {
  const data = writePythonData(tmp("run-trial-data"));
  const dir = tmp("run-trial");
  try {
    const config = parseTrainConfig({
      model: "-",
      out: "-",
      task: "codesearchnet",
      languages: ["python"],
      trainSize: 2,
      valSize: 1,
      prompt: "compact",
      maxLen: 64,
      loraR: 2,
      loraAlpha: 4,
      batchSize: 1,
      evalAtStart: false,
    });
    const train: Partial<typeof config> = { ...config };
    for (const key of ["model", "out", "data", "memoryLimit"] as const) delete train[key];
    // The spec's evaluation disagrees with the training run on the prompt and the length.
    const evaluate: EvalSpec = {
      tasks: ["codesearchnet"],
      split: "val",
      size: 1,
      languages: ["python"],
      prompt: "deepseek",
      maxLen: 256,
      commitInput: config.commitInput,
      dataSeed: config.dataSeed,
      lenient: false,
      quant: config.quant,
      batchSize: 4,
      generate: false,
      maxNewTokens: null,
      samples: 0,
    };
    const spec: TrialSpec = {
      experiment: "prompt-check",
      label: "one",
      settings: {},
      model: "tiny",
      modelDir: "models/narrator-2m-random",
      trainedOn: "codesearchnet",
      seed: 0,
      train: train as TrainSettings,
      evaluate,
    };
    const log: string[] = [];
    const outcome = await runTrial(spec, { dir, dataDir: data, log: (l) => log.push(l) });
    const warnings = log.filter((l) => l.startsWith("warning: "));
    assert.equal(warnings.length, 2, log.join("\n"));
    assert.match(
      warnings[0],
      /prompt deepseek disagrees with the adapter's training run \(.*result\.json: prompt compact\); using the run's prompt compact/,
    );
    assert.match(warnings[1], /maxLen 256 disagrees .*maxLen 64\); using the run's maxLen 64/);

    const measure = async (prompt: "compact" | "deepseek", maxLen: number) =>
      (
        await evaluateModel({
          model: path.join(PROJECT_ROOT, spec.modelDir),
          adapter: path.join(dir, "run", "adapter"),
          quant: config.quant,
          data,
          task: "codesearchnet",
          split: "val",
          languages: ["python"],
          size: 1,
          dataSeed: config.dataSeed,
          mix: 0.5,
          commitInput: config.commitInput,
          lenient: false,
          prompt,
          maxLen,
          batchSize: 4,
          generate: false,
          maxNewTokens: 1,
        })
      ).ce.overall.ce;
    const asTrained = await measure("compact", 64);
    assert.equal(outcome.evaluation.ce.overall.ce, asTrained);
    assert.notEqual(
      await measure("deepseek", 256),
      asTrained,
      "the spec's settings measure another CE",
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(data, { recursive: true, force: true });
  }
});
