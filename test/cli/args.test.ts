import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  describeRange,
  intList,
  numberOpt,
  parseDecimal,
  targetModulesOpt,
  UsageError,
} from "../../src/cli/args";
import { trainConfigFromFlags } from "../../src/cli/train_commands";

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
  fails("0", { integer: true, min: 1 }, "--x expects an integer >= 1, got '0'");
  fails("2.5", { integer: true, min: 1 }, "--x expects an integer >= 1, got '2.5'");
  fails("0x10", {}, "--x expects a decimal number, got '0x10'");
  fails("Infinity", { above: 0 }, "--x expects a number > 0, got 'Infinity'");
  fails("1e", { integer: true }, "--x expects an integer, got '1e'");
  assert.equal(numberOpt({ x: "1" }, "x", 0, { above: 0, max: 1 }), 1);
  assert.equal(numberOpt({ x: "2e-5" }, "x", 0), 2e-5);
  assert.equal(numberOpt({}, "x", 7, { integer: true, min: 1 }), 7);
  assert.equal(describeRange({ min: 0, below: 1 }), "a number in [0, 1)");
  assert.equal(describeRange({ integer: true, max: 9 }), "an integer <= 9");
});

test("intList takes decimal integers only", () => {
  assert.deepEqual(intList("1, 2,3", "ids"), [1, 2, 3]);
  assert.throws(() => intList("1,0x10", "ids"), /--ids: item 2 \('0x10'\) is not an integer/);
  assert.throws(() => intList("1,,2", "ids"), /--ids: item 2 \(''\) is not an integer/);
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
    message: "--lr expects a decimal number, got '0x10'",
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
      "--size expects an integer >= 1, got '0'",
    ],
  ] as const) {
    const r = cli([...args]);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr, `narrator: ${message}\n`);
  }
});
