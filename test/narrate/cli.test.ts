import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
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
  assert.deepEqual(Object.keys(out), ["commits", "digest"]);
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
