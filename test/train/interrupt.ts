/**
 * Ctrl-C as a user sends it: run a training command of the CLI, send SIGINT once two optimizer
 * steps are in metrics.jsonl, check that it stopped with a checkpoint, then resume it with
 * --resume. Used by the train and pretrain CLI tests, which compare the result with a run that
 * was never interrupted.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const ROOT = path.join(__dirname, "..", "..");
const CLI = path.join(ROOT, "bin", "narrator.js");

const metrics = (out: string) => path.join(out, "metrics.jsonl");
const readJson = (file: string) => JSON.parse(fs.readFileSync(file, "utf8"));

/** The optimizer steps metrics.jsonl holds so far. */
function stepLines(out: string): number {
  return fs.existsSync(metrics(out))
    ? fs.readFileSync(metrics(out), "utf8").split('{"type":"step"').length - 1
    : 0;
}

/** metrics.jsonl without its timings, which differ from run to run. */
export function metricNumbers(out: string): unknown[] {
  return fs
    .readFileSync(metrics(out), "utf8")
    .trim()
    .split("\n")
    .map((l) => {
      const { tokens_per_s: _t, elapsed_s: _e, ...rest } = JSON.parse(l);
      return rest;
    });
}

/**
 * `narrator <command> ...args --out OUT` interrupted by SIGINT after two steps, then resumed.
 * `whileStopped` checks the folder between the two. Returns the stopped run's result.json.
 */
export async function interruptThenResume(
  command: string,
  args: string[],
  out: string,
  whileStopped: () => void = () => undefined,
): Promise<{ steps: number; totalSteps?: number }> {
  const child = spawn(process.execPath, [CLI, command, ...args, "--out", out], {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  while (stepLines(out) < 2 && child.exitCode === null) {
    await new Promise((r) => setTimeout(r, 5));
  }
  child.kill("SIGINT");
  assert.equal(await exited, 0, stderr);
  assert.match(stderr, /SIGINT: stopping after this step with a checkpoint/);
  const stopped = readJson(path.join(out, "result.json"));
  assert.equal(stopped.status, "stopped");
  assert.ok(stopped.steps >= 2, `${stopped.steps}`);
  assert.equal(readJson(path.join(out, "checkpoint.json")).step, stopped.steps);
  whileStopped();

  const resumed = spawnSync(process.execPath, [CLI, command, ...args, "--out", out, "--resume"], {
    cwd: ROOT,
    encoding: "utf8",
  });
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, new RegExp(`resuming from .*checkpoint-${stopped.steps} at step`));
  assert.equal(readJson(path.join(out, "result.json")).status, "completed");
  return stopped;
}
