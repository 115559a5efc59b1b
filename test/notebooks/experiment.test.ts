/**
 * The experiment notebooks' metadata: their heading and the names and order of their settings
 * figures come from experiments/<name>.json (through src/index.ts), as the report pages' do, and
 * no notebook types a title or a setting name of its own.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { experimentInfo, settingsView, type ExperimentName, type TrialRow } from "../../src";
import { headingBundle } from "../../src/notebooks/experiment";
import { listNotebooks } from "../../src/notebooks/runner";
import { PROJECT_ROOT } from "../../src/util/root";

/** experiments/<name>.json as written, read here without the library's loader. */
function definitionJson(name: string): {
  figure: string;
  question: string;
  page: { title: string; figureId?: string; figureTitle?: string; setting?: string };
} {
  return JSON.parse(
    fs.readFileSync(path.join(PROJECT_ROOT, "experiments", `${name}.json`), "utf8"),
  );
}

type Trial = Pick<TrialRow, "label" | "settings" | "trainedOn">;

test("experimentInfo: the page title, question and study figure of the definition", () => {
  for (const name of ["baselines", "batch-size", "cocktail"] as const) {
    const json = definitionJson(name);
    assert.deepEqual(experimentInfo(name), {
      name,
      title: json.page.title,
      question: json.question,
      figure: json.figure,
    });
  }
});

test("settingsView: a sweep's names from its page block, labels in numeric setting order", () => {
  const trial = (batchSize: number): Trial => ({
    label: `batch ${batchSize}`,
    settings: { batchSize },
    trainedOn: "codesearchnet",
  });
  // Text order would put "batch 10" second; the figures order by the setting's value.
  const view = settingsView("batch-size", [trial(4), trial(10), trial(1), trial(2), trial(4)]);
  const page = definitionJson("batch-size").page;
  assert.deepEqual(view, {
    id: page.figureId,
    title: page.figureTitle,
    setting: page.setting,
    order: ["batch 1", "batch 2", "batch 4", "batch 10"],
  });
});

test("settingsView: the cocktail's adapters by what they trained on, base model first", () => {
  const trials: Trial[] = [
    { label: "a mix", settings: {}, trainedOn: "cocktail" },
    { label: "b commits", settings: {}, trainedOn: "commitpackft" },
    { label: "z base", settings: {}, trainedOn: "base" },
    { label: "m summaries", settings: {}, trainedOn: "codesearchnet" },
  ];
  const view = settingsView("cocktail", trials);
  assert.deepEqual(view.order, ["z base", "m summaries", "b commits", "a mix"]);
  assert.equal(view.setting, definitionJson("cocktail").page.setting);
});

test("settingsView: a page without settings figures is an error naming its definition", () => {
  assert.throws(
    () => settingsView("baselines", []),
    /experiments\/baselines\.json: page: .*figureId, figureTitle and setting/,
  );
});

test("headingBundle: the title as a heading and the question, escaped for HTML", () => {
  const bundle = headingBundle({
    name: "batch-size" as ExperimentName,
    title: "Sizes <1 & 2>",
    question: 'Which is "best"?',
    figure: "Fig. 5",
  });
  assert.equal(
    bundle["text/html"],
    "<h1>Sizes &lt;1 &amp; 2&gt;</h1>\n<p>Which is &quot;best&quot;?</p>",
  );
  assert.equal(bundle["text/markdown"], '# Sizes <1 & 2>\n\nWhich is "best"?');
  assert.equal(bundle["text/plain"], 'Sizes <1 & 2>\n\nWhich is "best"?');
});

test("experiment notebooks name their experiment once and type no title or setting name", () => {
  const notebooks = listNotebooks().filter((f) => path.basename(f) !== "data.ipynb");
  assert.ok(notebooks.length >= 9, `${notebooks.length} experiment notebooks`);
  for (const file of notebooks) {
    const name = path.basename(file, ".ipynb");
    const cells: { cell_type: string; source: string[] }[] = JSON.parse(
      fs.readFileSync(file, "utf8"),
    ).cells;
    const code = cells.filter((c) => c.cell_type === "code").map((c) => c.source.join(""));
    const markdown = cells.filter((c) => c.cell_type === "markdown").map((c) => c.source.join(""));
    assert.match(
      code[0],
      new RegExp(`const experiment = "${name}";\\nshowExperimentHeading\\(experiment\\);`),
      name,
    );
    assert.ok(
      !code.some((c) => c.includes(`"${name}"`) && c !== code[0]),
      `${name}: name repeated`,
    );
    assert.ok(!code.some((c) => /\b(title|setting):/.test(c)), `${name}: a typed title or setting`);
    assert.ok(!markdown.some((m) => /^# /m.test(m)), `${name}: a typed heading`);
  }
});
