import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { z } from "zod";
import {
  describeRange,
  intList,
  numberOpt,
  parse,
  schemaNumberRanges,
  targetModulesOpt,
  UsageError,
} from "../../src/cli/args";
import { downloadOptions, mineOptions } from "../../src/cli/data_commands";
import { explain } from "../../src/cli/narrate_commands";
import { pretrainConfigFromFlags } from "../../src/cli/pretrain_commands";
import { sweep } from "../../src/cli/sweep_commands";
import { trainConfigFromFlags } from "../../src/cli/train_commands";
import { notebooksCommand } from "../../src/notebooks/cli";
import { parseDecimal, parseInteger } from "../../src/util/number";

test("parseDecimal takes plain decimal notation only", () => {
  for (const [text, n] of [
    ["16", 16],
    ["-1", -1],
    ["+2.5", 2.5],
    ["0.5", 0.5],
    [".5", 0.5],
    ["5.", 5],
    ["1e-4", 1e-4],
    ["3E2", 300],
  ] as const) {
    assert.equal(parseDecimal(text), n, text);
  }
  for (const text of [
    "0x10",
    "0b1",
    "0o7",
    "Infinity",
    "-Infinity",
    "NaN",
    "1e",
    "",
    " 1",
    "1 ",
    "1_000",
    "1e999",
    ".",
  ]) {
    assert.equal(parseDecimal(text), null, text);
  }
});

test("parseInteger takes decimal digits only", () => {
  for (const [text, n] of [
    ["16", 16],
    ["-1", -1],
    ["+7", 7],
    ["007", 7],
    ["9007199254740991", 2 ** 53 - 1],
  ] as const) {
    assert.equal(parseInteger(text), n, text);
  }
  for (const text of ["1e3", "2.0", "0x10", "0b1", "", " 1", "1_000", "9007199254740993"]) {
    assert.equal(parseInteger(text), null, text);
  }
});

test("numberOpt: the message names the flag, the range and the value", () => {
  const fails = (value: string, range: Parameters<typeof numberOpt>[3], message: string) =>
    assert.throws(
      () => numberOpt({ x: value }, "x", 0, range),
      (e: Error) => {
        assert.ok(e instanceof UsageError);
        assert.equal(e.message, message);
        return true;
      },
    );
  fails("0", { above: 0, max: 1 }, "--x expects a number in (0, 1], got '0'");
  fails("1.5", { above: 0, max: 1 }, "--x expects a number in (0, 1], got '1.5'");
  fails("-1", { min: 0 }, "--x expects a number >= 0, got '-1'");
  fails("0", { integer: true, min: 1 }, "--x expects a whole number >= 1, got '0'");
  fails("2.5", { integer: true, min: 1 }, "--x expects a whole number >= 1, got '2.5'");
  fails("1e3", { integer: true, min: 1 }, "--x expects a whole number >= 1, got '1e3'");
  fails("0x10", {}, "--x expects a decimal number, got '0x10'");
  fails("Infinity", { above: 0 }, "--x expects a number > 0, got 'Infinity'");
  fails("1e", { integer: true }, "--x expects a whole number, got '1e'");
  assert.equal(numberOpt({ x: "1" }, "x", 0, { above: 0, max: 1 }), 1);
  assert.equal(numberOpt({ x: "2e-5" }, "x", 0), 2e-5);
  assert.equal(numberOpt({}, "x", 7, { integer: true, min: 1 }), 7);
  assert.equal(numberOpt({}, "x", undefined, { integer: true }), undefined);
  assert.equal(numberOpt({ x: "1000" }, "x", undefined, { integer: true }), 1000);
  assert.equal(describeRange({ min: 0, below: 1 }), "a number in [0, 1)");
  assert.equal(describeRange({ integer: true, max: 9 }), "a whole number <= 9");
});

test("schemaNumberRanges: each number field's bounds, through refinements, defaults and optionals", () => {
  const schema = z
    .object({
      name: z.string(),
      steps: z.number().int().positive().default(10),
      count: z.number().int().nonnegative().optional(),
      seed: z.number().int(),
      share: z.number().min(0).max(1),
      dropout: z.number().min(0).lt(1).default(0.05),
      lr: z.number().positive(),
      anything: z.number(),
    })
    .strict()
    .superRefine(() => undefined)
    .transform((c) => c);
  assert.deepEqual(schemaNumberRanges(schema), {
    steps: { integer: true, min: 1 },
    count: { integer: true, min: 0 },
    seed: { integer: true },
    share: { min: 0, max: 1 },
    dropout: { min: 0, below: 1 },
    lr: { above: 0 },
    anything: {},
  });
});

test("train: whole-number flags refuse 1e3, 2.0 and values below their bounds, naming the flag", () => {
  const flags = (extra: Record<string, string>) =>
    trainConfigFromFlags({ model: "m", out: "o", task: "cocktail", ...extra });
  const refused = (flag: string, value: string, expected: string) =>
    assert.throws(
      () => flags({ [flag]: value }),
      (e: unknown) => {
        assert.ok(e instanceof UsageError, String(e));
        assert.equal(e.message, `--${flag} expects ${expected}, got '${value}'`);
        return true;
      },
    );
  for (const flag of ["epochs", "batch-size", "max-len", "train-size", "lora-r", "grad-accum"]) {
    refused(flag, "1e3", "a whole number >= 1");
    refused(flag, "2.0", "a whole number >= 1");
    refused(flag, "0", "a whole number >= 1");
  }
  for (const flag of ["val-size", "eval-every", "checkpoint-every", "warmup-steps"]) {
    refused(flag, "-1", "a whole number >= 0");
    refused(flag, "1e2", "a whole number >= 0");
  }
  refused("seed", "1e3", "a whole number");
  refused("data-seed", "0x10", "a whole number");
  refused("weight-decay", "-0.1", "a number >= 0");
  refused("lora-dropout", "1", "a number in [0, 1)");
  refused("mix", "1.5", "a number in [0, 1]");
  refused("lr", "0", "a number > 0");
  const c = flags({ seed: "-3", "data-seed": "7", epochs: "1000", lr: "1e-4", "lora-alpha": "8" });
  assert.deepEqual([c.seed, c.dataSeed, c.epochs, c.lr, c.loraAlpha], [-3, 7, 1000, 1e-4, 8]);
});

test("pretrain: whole-number flags refuse 1e3, 2.0 and values below their bounds, naming the flag", () => {
  const flags = (extra: Record<string, string>) =>
    pretrainConfigFromFlags({
      preset: "narrator-2m",
      tokenizer: "t",
      corpus: "c",
      out: "o",
      ...extra,
    });
  const refused = (flag: string, value: string, expected: string) =>
    assert.throws(
      () => flags({ [flag]: value }),
      (e: unknown) => {
        assert.ok(e instanceof UsageError, String(e));
        assert.equal(e.message, `--${flag} expects ${expected}, got '${value}'`);
        return true;
      },
    );
  for (const flag of ["steps", "seq-len", "batch-size", "eval-windows", "attention-block"]) {
    refused(flag, "1e3", "a whole number >= 1");
    refused(flag, "2.0", "a whole number >= 1");
    refused(flag, "0", "a whole number >= 1");
  }
  for (const flag of ["warmup-steps", "eval-every", "checkpoint-every"]) {
    refused(flag, "-1", "a whole number >= 0");
    refused(flag, "1e2", "a whole number >= 0");
  }
  refused("seed", "1e3", "a whole number");
  refused("lr", "0", "a number > 0");
  refused("weight-decay", "-0.1", "a number >= 0");
  const c = flags({ steps: "1000", seed: "-2", lr: "1e-3", "warmup-steps": "0" });
  assert.deepEqual([c.steps, c.seed, c.lr, c.warmupSteps], [1000, -2, 1e-3, 0]);
});

test("intList takes decimal integers only", () => {
  assert.deepEqual(intList("1, 2,3", "ids"), [1, 2, 3]);
  assert.throws(() => intList("1,0x10", "ids"), /--ids: item 2 \('0x10'\) is not a whole number/);
  assert.throws(() => intList("1,1e3", "ids"), /--ids: item 2 \('1e3'\) is not a whole number/);
  assert.throws(() => intList("1,,2", "ids"), /--ids: item 2 \(''\) is not a whole number/);
});

test("data download, data mine and notebooks refuse 0x10 and 1e3 for their whole-number flags, naming the flag", async () => {
  const refused = (flag: string, value: string, expected: string) => (e: unknown) => {
    assert.ok(e instanceof UsageError, String(e));
    assert.equal(e.message, `--${flag} expects ${expected}, got '${value}'`);
    return true;
  };
  for (const value of ["0x10", "1e3", "2.5", " 3"]) {
    assert.throws(
      () => downloadOptions({ retries: value }),
      refused("retries", value, "a whole number >= 0"),
    );
    assert.throws(
      () => mineOptions({ "max-file-bytes": value }, ["repo"]),
      refused("max-file-bytes", value, "a whole number >= 1"),
    );
    await assert.rejects(
      notebooksCommand.run({ "cell-timeout": value }, []),
      refused("cell-timeout", value, "a whole number >= 0"),
    );
  }
  assert.equal(downloadOptions({ retries: "16" }).retries, 16);
  assert.equal(downloadOptions({}).retries, undefined);
  assert.equal(mineOptions({ "max-file-bytes": "1000" }, ["repo"]).maxFileBytes, 1000);
});

test("--target-modules names the flag and the unknown module", () => {
  assert.deepEqual(targetModulesOpt({ "target-modules": "q_proj, v_proj" }), ["q_proj", "v_proj"]);
  const expected = "expected some of q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj";
  assert.throws(() => targetModulesOpt({ "target-modules": "q_proj,foo" }), {
    message: `--target-modules: unknown module 'foo' (${expected})`,
  });
  assert.throws(() => targetModulesOpt({ "target-modules": " , " }), {
    message: `--target-modules: no module given (${expected})`,
  });
  const flags = { model: "m", data: "d", task: "cocktail", out: "o" };
  assert.throws(() => trainConfigFromFlags({ ...flags, "target-modules": "q_proj,foo" }), {
    message: `--target-modules: unknown module 'foo' (${expected})`,
  });
  assert.throws(() => trainConfigFromFlags({ ...flags, lr: "0x10" }), {
    message: "--lr expects a number > 0, got '0x10'",
  });
});

test("narrator generate and eval: a number out of range is a usage error naming the range", () => {
  const cli = (args: string[]) =>
    spawnSync(process.execPath, ["bin/narrator.js", ...args], { encoding: "utf8" });
  const model = ["--model", "models/narrator-2m-random", "--text", "hi"];
  for (const [args, message] of [
    [["generate", ...model, "--top-p", "0"], "--top-p expects a number in (0, 1], got '0'"],
    [["generate", ...model, "--temperature=-1"], "--temperature expects a number >= 0, got '-1'"],
    [
      ["eval", "--model", "m", "--task", "cocktail", "--split", "val", "--size", "0"],
      "--size expects a whole number >= 1, got '0'",
    ],
  ] as const) {
    const r = cli([...args]);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr, `narrator: ${message}\n`);
  }
});

test("a command that reads stdin or options only refuses a stray argument, naming it", () => {
  assert.throws(
    () => parse(explain, ["--model", "m", "--diff", "change.diff"]),
    (e: Error) =>
      e instanceof UsageError && e.message.startsWith("unexpected argument 'change.diff'"),
  );
  // Commands whose usage names arguments still take them.
  assert.deepEqual(parse(sweep, ["optimizers", "--dry-run"]).positionals, ["optimizers"]);
});
