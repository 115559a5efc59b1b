/**
 * One source of prompt settings: an adapter's run record (a hand-made OUT/result.json beside
 * OUT/adapter) gives the prompt format, commit input, quantization and max length; `explain`
 * refuses a flag that disagrees, `eval` warns naming both values and uses the flag, a sweep's
 * evaluation warns and keeps the run's; and
 * `narrator eval` itself reads the run record instead of its own defaults.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { narrationSettings } from "../../src/narrate/settings";
import { adapterRunSettings } from "../../src/train/adapter_run";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "narrate-settings-"));
after(() => fs.rmSync(root, { recursive: true, force: true }));

/** OUT/adapter with a hand-written OUT/result.json; the adapter's files copied from `from`. */
function run(name: string, config: Record<string, unknown>, from?: string): string {
  const adapter = path.join(root, name, "adapter");
  fs.mkdirSync(adapter, { recursive: true });
  if (from)
    for (const f of fs.readdirSync(from))
      fs.copyFileSync(path.join(from, f), path.join(adapter, f));
  const result = {
    status: "completed",
    config: { model: "m", out: "o", task: "cocktail", ...config },
  };
  fs.writeFileSync(path.join(root, name, "result.json"), JSON.stringify(result));
  return adapter;
}

test("the run record gives prompt, commit input, quantization and max length", () => {
  const adapter = run("compact", {
    prompt: "compact",
    maxLen: 200,
    quant: "nf4",
    commitInput: "diff",
  });
  const s = narrationSettings(adapter);
  assert.deepEqual(
    [s.prompt, s.commitInput, s.quant, s.maxLen, s.source],
    ["compact", "diff", "nf4", 200, path.join(adapter, "..", "result.json")],
  );
});

test("a disagreeing flag: an error for explain, a warning naming both values for eval", () => {
  const adapter = run("compact2", { prompt: "compact", maxLen: 200 });
  assert.throws(
    () => narrationSettings(adapter, { prompt: "deepseek" }),
    /prompt deepseek disagrees with the adapter's training run .*prompt compact/,
  );
  const warnings: string[] = [];
  const s = narrationSettings(
    adapter,
    { prompt: "deepseek", maxLen: 300, commitInput: "diff" },
    { kind: "warn", warn: (m) => warnings.push(m) },
  );
  assert.deepEqual([s.prompt, s.maxLen, s.commitInput], ["deepseek", 300, "diff"]);
  // commitInput diff is the run's (the default), so only two warnings.
  assert.equal(warnings.length, 2);
  assert.match(warnings[0], /prompt deepseek disagrees .*prompt compact\); using prompt deepseek/);
  assert.match(warnings[1], /maxLen 300 disagrees .*maxLen 200\); using maxLen 300/);
});

test("keep-run (a sweep's evaluation): the run's values are used, a differing one is a warning", () => {
  const adapter = run("compact3", { prompt: "compact", maxLen: 200, quant: "nf4" });
  const warnings: string[] = [];
  const s = adapterRunSettings(
    adapter,
    { prompt: "deepseek", maxLen: 200, quant: "none" },
    { kind: "keep-run", warn: (m) => warnings.push(m) },
  );
  assert.deepEqual([s?.prompt, s?.maxLen, s?.quant], ["compact", 200, "nf4"]);
  assert.deepEqual(warnings, [
    `prompt deepseek disagrees with the adapter's training run (${path.join(adapter, "..", "result.json")}: prompt compact); using the run's prompt compact`,
    `quant none disagrees with the adapter's training run (${path.join(adapter, "..", "result.json")}: quant nf4); using the run's quant nf4`,
  ]);
  assert.equal(adapterRunSettings(path.join(root, "no-run", "adapter")), null);
});

const CLI = path.join(__dirname, "..", "..", "src", "cli", "main.ts");
const DATA = process.env.NARRATOR_DATA ?? path.join(__dirname, "..", "..", "..", "shared", "data");

test(
  "narrator eval --adapter reads the run record: the prompt it was trained with, unless a flag says otherwise (with a warning); beam search named in the results",
  { skip: !fs.existsSync(DATA) && `no data at ${DATA}` },
  () => {
    const adapter = run(
      "shipped-copy",
      { prompt: "compact", maxLen: 200, quant: "nf4" },
      "models/narrator-8m-cocktail/adapter",
    );
    const evaluate = (...extra: string[]) => {
      const args = [
        "--import",
        "tsx",
        CLI,
        "eval",
        "--model",
        "models/narrator-8m",
        "--adapter",
        adapter,
      ];
      args.push("--data", DATA, "--task", "codesearchnet", "--split", "val", "--languages", "go");
      args.push("--size", "1", "--json", ...extra);
      const r = spawnSync(process.execPath, args, { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      return { out: JSON.parse(r.stdout), stderr: r.stderr };
    };
    const own = evaluate("--generate", "--beams", "2", "--max-new-tokens", "4");
    assert.deepEqual(own.out.settings, {
      prompt: "compact",
      commitInput: "diff",
      quant: "nf4",
      maxLen: 200,
      source: path.join(adapter, "..", "result.json"),
    });
    assert.doesNotMatch(own.stderr, /warning/);
    // The decoding is named in the results.
    assert.match(
      own.out.generation.metrics.decoding,
      /^beam search \(2 beams, length penalty 1, early stopping\), at most 4 new tokens, stop at /,
    );
    const other = evaluate("--prompt", "deepseek");
    assert.equal(other.out.settings.prompt, "deepseek");
    assert.match(
      other.stderr,
      /warning: prompt deepseek disagrees with the adapter's training run .*prompt compact\)/,
    );
    // The prompt changes what the model reads, so the CE differs.
    assert.notEqual(other.out.ce.overall.ce, own.out.ce.overall.ce);
  },
);
