import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { loadCorpusSpec } from "../../src/corpus/spec";

// The shared sample's repositories, read from its rows (CodeSearchNet `repo`, CommitPackFT `repos`).
const DATA = process.env.NARRATOR_DATA ?? path.join(__dirname, "..", "..", "..", "shared", "data");
const SRC = path.join(__dirname, "..", "..", "src", "corpus");

function evaluationRepositories(): Set<string> {
  const repos = new Set<string>();
  for (const [dataset, field] of [
    ["codesearchnet", "repo"],
    ["commitpackft", "repos"],
  ]) {
    const dir = path.join(DATA, dataset);
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".jsonl.gz"))) {
      const text = zlib.gunzipSync(fs.readFileSync(path.join(dir, file))).toString("utf8");
      for (const line of text.split("\n")) {
        if (line.trim() === "") continue;
        const value = (JSON.parse(line) as Record<string, string>)[field];
        for (const repo of value.split(",")) repos.add(repo.trim().toLowerCase());
      }
    }
  }
  return repos;
}

/** A name with its packaging prefixes and suffixes and every non-alphanumeric character removed. */
const bare = (name: string) =>
  name
    .toLowerCase()
    .replace(/^(python3-|ruby-|php-|golang-|node-|lib)/, "")
    .replace(/(-java|-src|-go)$/, "")
    .replace(/[^a-z0-9]/g, "");

test(
  "no pinned package of either corpus is an evaluation repository of the shared sample",
  { skip: fs.existsSync(DATA) ? false : `no data at ${DATA}` },
  () => {
    const repos = evaluationRepositories();
    assert.ok(repos.size >= 40, `${repos.size} repositories read`);
    // A repository is matched by its name (lodash/lodash: lodash) or owner and name
    // (symfony/console: symfonyconsole), as Debian and npm name their packages.
    const names = new Map<string, string>();
    for (const repo of repos) {
      const [owner, name] = repo.split("/");
      names.set(bare(name), repo);
      names.set(bare(owner + name), repo);
    }
    for (const list of ["packages.json", "narration_packages.json"]) {
      for (const p of loadCorpusSpec(path.join(SRC, list)).packages) {
        const hit = names.get(bare(p.name));
        assert.equal(hit, undefined, `${list}: ${p.source}:${p.name} is ${hit}`);
      }
    }
    // The matching itself: packages of evaluation repositories are caught.
    for (const [pkg, repo] of [
      ["python3-flask", "pallets/flask"],
      ["php-symfony-console", "symfony/console"],
      ["lodash", "lodash/lodash"],
      ["python3-djangorestframework", "encode/django-rest-framework"],
    ]) {
      assert.equal(names.get(bare(pkg)), repo);
    }
  },
);
