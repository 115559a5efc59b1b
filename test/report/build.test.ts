import { test } from "node:test";
import assert from "node:assert/strict";
import { renderReport } from "../../src/report/build";
import { PAGES } from "../../src/report/catalog";
import { checkFigureCsv } from "../../src/report/check";
import { reportInput, MALICIOUS } from "./fixtures";

/** Attribute values of a page's markup, outside <script> and <style> contents (an independent scan). */
function attributeValues(html: string): string[] {
  const markup = html.replace(/<(script|style)\b([^>]*)>[\s\S]*?<\/\1>/g, "<$1$2></$1>");
  return [...markup.matchAll(/<[a-zA-Z][^>]*>/g)].flatMap((tag) =>
    [...tag[0].matchAll(/=\s*("[^"]*"|'[^']*'|[^\s>]+)/g)].map((m) => m[1]),
  );
}

test("pages: every figure present, no URL in attributes, data escaped, same bytes twice", async () => {
  const first = await renderReport(reportInput(), { png: false });
  const second = await renderReport(reportInput(), { png: false });
  assert.deepEqual(
    second.map((f) => f.path),
    first.map((f) => f.path),
  );
  for (let i = 0; i < first.length; i++)
    assert.ok(
      first[i].content === second[i].content,
      `${first[i].path} differs between two builds`,
    );

  const pages = new Map(first.map((f) => [f.path, String(f.content)]));
  for (const p of PAGES) {
    const html = pages.get(p.file);
    assert.ok(html, `${p.file} was built`);
    for (const id of p.figures) {
      assert.ok(html.includes(`<figure class="chart" id="${id}">`), `${p.file}: figure ${id}`);
      assert.ok(pages.has(`figures/${id}.svg`), `figures/${id}.svg`);
    }
    const remote = attributeValues(html).filter((v) => /http/i.test(v));
    assert.deepEqual(remote, [], `${p.file}: attributes with http`);
    assert.ok(!html.includes(MALICIOUS), `${p.file}: unescaped data`);
    assert.ok(!/<script>alert/.test(html), `${p.file}: injected script`);
    assert.equal(html.match(/\/\* vega-embed /g)?.length, 1, `${p.file}: bundles inlined once`);
  }

  const optimizers = pages.get("optimizers.html")!;
  assert.ok(
    optimizers.includes("1 failed, 0 running, 1 pending"),
    "unfinished trials are reported",
  );
  assert.ok(
    optimizers.includes("NaN loss at step 3 &lt;script&gt;"),
    "the failed trial's error, escaped",
  );
  const cocktail = pages.get("cocktail.html")!;
  for (const reported of ["2.08", "1.79", "8.04", "5.98", "2.25", "1.95", "9.49", "7.02"])
    assert.ok(
      cocktail.includes(`<td class="num">${reported}</td>`),
      `study value ${reported} in Table 1`,
    );
  assert.ok(
    cocktail.includes("CodeXGLUE") && cocktail.includes("beta = 1.2"),
    "metric variants named",
  );
  assert.ok(cocktail.includes("&lt;b&gt;x&lt;/b&gt;"), "generated text escaped");
  assert.ok(pages.get("index.html")!.includes("transfer = &quot;study&quot;"), "transfer stated");

  // Claims: every shipped claim judged, on the claims page and in claims.json. The fixture's
  // offsets make 2e-4 the lowest learning rate (agrees), 3 epochs the lowest (disagrees), and
  // leave the optimizers open (a failed and a pending sgd trial).
  const record = JSON.parse(String(first.find((f) => f.path === "claims.json")!.content)) as {
    claims: { experiment: string; id: string; verdict: string; interval: number[] | null }[];
  };
  const verdict = (id: string) => record.claims.find((c) => c.id === id)?.verdict;
  assert.equal(verdict("lr-2e-4-best"), "agrees");
  assert.equal(verdict("one-epoch-best"), "disagrees");
  assert.equal(verdict("adagrad-best"), "not resolved");
  assert.equal(verdict("cocktail-lowers-codesearchnet"), "agrees");
  assert.equal(verdict("commits-harder-zero-shot"), "agrees");
  assert.equal(verdict("python-summaries-transfer"), "agrees");
  assert.ok(pages.get("cross-language.html")!.includes('id="cross-language-heatmap"'), "heat map");
  assert.equal(verdict("cocktail-generalises-codesearchnet"), "agrees");
  assert.equal(verdict("cocktail-generalises-commitpackft"), "agrees");
  // Held-out rows: a second Figure 7 and Table 1 beside the in-distribution ones.
  assert.ok(
    cocktail.includes('<figure class="chart" id="fig7-cocktail-held-out">'),
    "held-out Fig. 7",
  );
  assert.ok(
    cocktail.includes("Table 1 · Base model vs cocktail · held-out repositories"),
    "held-out Table 1",
  );
  const claimsHtml = pages.get("claims.html")!;
  for (const c of record.claims)
    assert.ok(claimsHtml.includes(`id="claim-${c.experiment}-${c.id}"`), `${c.id} on the page`);
  assert.match(pages.get("index.html")!, /\d+ claims: \d+ agree, \d+ disagree, \d+ not resolved/);
  assert.match(
    pages.get("learning-rate.html")!,
    /href="claims\.html#claim-learning-rate-lr-2e-4-best"/,
  );
  // Every figure's data beside it as CSV, and as a download on its page.
  for (const p of PAGES)
    for (const id of p.figures) {
      assert.ok(pages.has(`figures/${id}.csv`), `figures/${id}.csv`);
      assert.ok(pages.get(p.file)!.includes(`download="${id}.csv"`), `${p.file}: ${id}.csv link`);
    }
  assert.deepEqual(checkFigureCsv(pages.get("optimizers.html")!, ["fig2-optimizers"]), []);
});
