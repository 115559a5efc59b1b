/** Scaffolding shared by the experiment tests: a temporary project of definitions, data files and a model directory. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseProfile, type Profile } from "../../src/experiments/profile";

export const FAKE_RUNNER = path.join(__dirname, "fake_runner.ts");

/** A temporary directory. */
export function tmp(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `narrator-${prefix}-`));
}

/** A profile for tests, overridable field by field. */
export function testProfile(over: Record<string, unknown> = {}): Profile {
  return parseProfile(
    {
      name: "test",
      description: "tests",
      models: { tiny: "models/narrator-2m-random" },
      baseModel: "tiny",
      languages: ["python", "go"],
      sizes: { train: 4, val: 2, test: 2 },
      train: { maxLen: 64, loraR: 4 },
      seeds: { sweep: [0], table: [0, 1, 2] },
      evaluate: { split: "val", maxNewTokens: 8, samples: 1 },
      transfer: "study",
      workers: 2,
      ...over,
    },
    "test profile",
  );
}

/**
 * A data directory whose files only need to exist (the fake runner reads nothing; keys hash the
 * files): one empty JSON Lines file per task and language.
 */
export function placeholderData(langs: readonly string[] = ["python", "go"]): string {
  const dir = tmp("data");
  for (const task of ["codesearchnet", "commitpackft"]) {
    fs.mkdirSync(path.join(dir, task));
    for (const l of langs) fs.writeFileSync(path.join(dir, task, `${l}.jsonl`), `${task} ${l}\n`);
  }
  return dir;
}

/** An experiments directory holding the given definitions (objects, written as <name>.json). */
export function experimentsDir(defs: readonly Record<string, unknown>[]): string {
  const dir = tmp("experiments");
  for (const d of defs) fs.writeFileSync(path.join(dir, `${d.name}.json`), JSON.stringify(d));
  return dir;
}

/** A one-setting CodeSearchNet sweep definition. */
export function sweepDef(
  name: string,
  grid: Record<string, unknown[]>,
  over: Record<string, unknown> = {},
) {
  return {
    name,
    figure: `Fig. ${name}`,
    title: name,
    question: `${name}?`,
    seeds: "sweep",
    fixed: { trainedOn: "codesearchnet" },
    grid,
    evaluate: { tasks: ["codesearchnet"], split: "val" },
    ...over,
  };
}

/** Lines of the fake runner's executions log of a store. */
export function executions(store: string): string[] {
  const f = path.join(store, "executions.log");
  return fs.existsSync(f) ? fs.readFileSync(f, "utf8").trim().split("\n").filter(Boolean) : [];
}
