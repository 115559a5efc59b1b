import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadCorpusSpec } from "../../src/corpus/spec";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-spec-"));
after(() => fs.rmSync(root, { recursive: true, force: true }));

const deb = (name: string) => ({
  source: "debian",
  name,
  version: "1.0-1",
  sha256: "a".repeat(64),
});

function write(name: string, spec: object): string {
  const file = path.join(root, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(spec));
  return file;
}

test("a package list that extends another has the other's packages first, then its own", () => {
  write("base.json", { packages: [deb("one"), deb("two")] });
  const more = write("more/narration.json", {
    extends: "../base.json",
    packages: [deb("three")],
  });
  assert.deepEqual(
    loadCorpusSpec(more).packages.map((p) => p.name),
    ["one", "two", "three"],
  );
});

test("a package listed in both lists, or a list that extends itself, is refused naming the file", () => {
  write("base2.json", { packages: [deb("one")] });
  const twice = write("twice.json", { extends: "base2.json", packages: [deb("one")] });
  assert.throws(() => loadCorpusSpec(twice), /twice\.json: package debian:one is listed twice/);
  const a = write("a.json", { extends: "b.json", packages: [deb("xx")] });
  write("b.json", { extends: "a.json", packages: [deb("yy")] });
  assert.throws(() => loadCorpusSpec(a), /a\.json: extends itself through .*a\.json -> .*b\.json/);
});

test("the committed narration list extends the pretraining list without changing it", () => {
  const src = path.join(__dirname, "..", "..", "src", "corpus");
  const pretraining = loadCorpusSpec(path.join(src, "packages.json")).packages;
  const narration = loadCorpusSpec(path.join(src, "narration_packages.json")).packages;
  assert.deepEqual(narration.slice(0, pretraining.length), pretraining);
  assert.ok(narration.length > pretraining.length);
});
