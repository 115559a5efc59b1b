import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { initBackend } from "../../src/backend/backend";
import { explainCommits } from "../../src/narrate/explain";
import { readCommits } from "../../src/narrate/git";
import { Narrator } from "../../src/narrate/narrator";
import { digestPage } from "../../src/narrate/page";
import { git, makeRepo } from "./repo";

const RANDOM = "models/narrator-2m-random";
const root = fs.mkdtempSync(path.join(os.tmpdir(), "narrate-cli-"));

before(async () => {
  await initBackend();
});
after(() => fs.rmSync(root, { recursive: true, force: true }));

function cli(args: string[]) {
  return spawnSync(process.execPath, ["bin/narrator.js", ...args], { encoding: "utf8" });
}

test("narrator explain --git --format json on a repository made here; a bad range fails with git's message", () => {
  const repo = makeRepo(path.join(root, "repo"));
  const shas = ["HEAD~1", "HEAD"].map((r) => git(repo, ["rev-parse", r]).trim());
  const model = ["--model", RANDOM, "--max-new-tokens", "2"];
  const r = cli([
    "explain",
    ...model,
    "--git",
    repo,
    "--range",
    "HEAD~2..HEAD",
    "--format",
    "json",
  ]);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(out), ["commits", "digest", "provenance"]);
  assert.deepEqual(
    out.commits.map((c: { sha: string; subject: string }) => [c.sha, c.subject]),
    [
      [shas[0], "Add calculator"],
      [shas[1], "Subtract too"],
    ],
  );
  assert.ok(out.commits.every((c: { explanation: unknown }) => typeof c.explanation === "string"));
  assert.match(out.digest, /^2 commits from 2024-03-01 to 2024-03-03/);
  const bad = cli(["explain", ...model, "--git", repo, "--range", "nope..HEAD"]);
  assert.equal(bad.status, 1);
  assert.match(
    bad.stderr,
    /git log in .* failed: fatal: .*nope.*; expected --range A\.\.B where A and B name commits of/,
  );
});

test("narrator digest writes the page atomically; the same range gives the same bytes", async () => {
  const repo = makeRepo(path.join(root, "evil"), `Fix <b>bold</b> & "quotes"`);
  const out = path.join(root, "digest.html");
  const r = cli([
    "digest",
    "--model",
    RANDOM,
    "--max-new-tokens",
    "2",
    "--git",
    repo,
    "--range",
    "HEAD~2..HEAD",
    "--out",
    out,
  ]);
  assert.equal(r.status, 0, r.stderr);
  const html = fs.readFileSync(out, "utf8");
  assert.ok(html.includes("Fix &lt;b&gt;bold&lt;/b&gt; &amp; &quot;quotes&quot;"));
  assert.deepEqual(
    fs.readdirSync(root).filter((f) => f.includes(".tmp-")),
    [],
  );
  // The same narrations through the API give the same page.
  const commits = readCommits(repo, "HEAD~2..HEAD");
  const short = await Narrator.open({ model: RANDOM, maxNewTokens: 2 });
  try {
    const result = explainCommits(short, repo, commits, "javascript");
    const again = await digestPage(result, {
      ...short.provenance(),
      repo,
      range: "HEAD~2..HEAD",
      settings: short.settings.source,
    });
    assert.equal(again, html);
  } finally {
    short.dispose();
  }
});

/** Run the CLI with `input` written to its stdin in chunks, a pause before each. */
async function cliSlowStdin(args: string[], input: string, chunk: number, pauseMs: number) {
  const child = spawn(process.execPath, ["bin/narrator.js", ...args]);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const status = new Promise<number | null>((resolve) => child.on("close", resolve));
  // A reader that failed closes the pipe early; the writer then stops.
  child.stdin.on("error", () => {});
  for (let i = 0; i < input.length && child.exitCode === null; i += chunk) {
    await sleep(pauseMs);
    child.stdin.write(input.slice(i, i + chunk));
  }
  child.stdin.end();
  return { status: await status, stdout, stderr };
}

test("narrator explain --diff reads a large diff from a slow pipe", async () => {
  let diff = "";
  for (let f = 0; diff.length < 800_000; f++) {
    diff += `diff --git a/f${f}.py b/f${f}.py\n--- a/f${f}.py\n+++ b/f${f}.py\n@@ -1 +1,400 @@\n-x = 0\n`;
    for (let i = 0; i < 400; i++) diff += `+value_${i} = compute(${i}, "some padding text")\n`;
  }
  const r = await cliSlowStdin(
    ["explain", "--diff", "--model", RANDOM, "--max-new-tokens", "2", "--format", "json"],
    diff,
    64 * 1024,
    30,
  );
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.kind, "diff");
  // Every file of the diff arrived, the last one too.
  const files = diff.match(/^\+\+\+ b\/(.*)$/gm) ?? [];
  assert.equal(out.files.length, files.length);
  assert.equal(out.files.at(-1), files.at(-1)?.slice("+++ b/".length));
});
