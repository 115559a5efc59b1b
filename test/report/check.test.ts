import { test } from "node:test";
import assert from "node:assert/strict";
import {
  checkClaimsJson,
  checkFigureCsv,
  checkPageHtml,
  checkRenderedDom,
} from "../../src/report/check";

const FIGURE =
  '<figure class="chart" id="f1"><div class="chart-static"><svg width="1"></svg></div><script type="application/json" class="chart-spec">{}</script></figure>';

function pageWith(extra: string): string {
  return `<!DOCTYPE html><html><head><style>body { color: red; }</style></head><body>${FIGURE}${extra}</body></html>`;
}

test("a clean page passes, with URLs in escaped text and in inline script code", () => {
  const html = pageWith(
    '<p>see https://example.org &lt;a href="https://x"&gt;</p><a href="optimizers.html">next</a><script>var u = "https://vega.github.io"; var s = "<a href=\'http://x\'>";</script>',
  );
  assert.deepEqual(checkPageHtml(html, ["f1"]), []);
});

test("the checker flags an external script, stylesheet, image and CSS url()", () => {
  const problems = (extra: string) => checkPageHtml(pageWith(extra), ["f1"]);
  assert.equal(problems('<script src="https://cdn.example/vega.js"></script>').length, 1);
  assert.equal(
    problems("<script src='vega.js'></script>").length,
    1,
    "another file is not self-contained",
  );
  assert.equal(problems('<link rel="stylesheet" href="//cdn.example/a.css">').length, 1);
  assert.equal(problems("<img src=http://x/a.png>").length, 1);
  assert.equal(problems('<div style="background: url(https://x/a.png)"></div>').length, 1);
  assert.equal(
    checkPageHtml(`<style>body { background: url("https://x/a.png"); }</style>${FIGURE}`, ["f1"])
      .length,
    1,
  );
  assert.equal(problems('<a href="https://example.org">out</a>').length, 1);
});

test("the checker flags a missing figure and a figure without its SVG", () => {
  assert.deepEqual(checkPageHtml(pageWith(""), ["f1", "f2"]), ["page: figure f2 is missing"]);
  const noSvg =
    '<figure class="chart" id="f1"><script type="application/json" class="chart-spec">{}</script></figure>';
  assert.equal(checkPageHtml(noSvg, ["f1"]).length, 1);
});

test("a rendered page passes only where vega-embed replaced the static SVG", () => {
  const embedded =
    '<figure class="chart" id="f1"><div class="chart-static" hidden=""><svg></svg></div><div class="chart-live vega-embed" role="graphics-document"><svg class="marks"></svg></div></figure>';
  const fallback =
    '<figure class="chart" id="f1"><div class="chart-static"><svg></svg></div><div class="chart-live" hidden=""></div></figure>';
  assert.deepEqual(checkRenderedDom(embedded, ["f1"]), []);
  assert.equal(checkRenderedDom(fallback, ["f1"]).length, 1);
});

test("the checker flags a figure without a CSV download of its data", () => {
  const withCsv = FIGURE.replace(
    "</figure>",
    '<p class="figure-data"><a class="csv" download="f1.csv" href="data:text/csv;charset=utf-8,a%0D%0A">Data</a></p></figure>',
  );
  const page = (figure: string) => `<!DOCTYPE html><html><body>${figure}</body></html>`;
  assert.deepEqual(checkFigureCsv(page(withCsv), ["f1"]), []);
  assert.deepEqual(checkFigureCsv(page(FIGURE), ["f1"]), [
    "page: figure f1 has no CSV download of its data",
  ]);
  // A link to another file is not a download that travels with the page.
  const elsewhere = withCsv.replace(/href="[^"]*"/, 'href="figures/f1.csv"');
  assert.equal(checkFigureCsv(page(elsewhere), ["f1"]).length, 1);
});

test("the checker flags claims.json records without a verdict, a reason or a row on the page", () => {
  const row = (id: string) => `<td id="claim-optimizers-${id}">`;
  const claim = (over: Record<string, unknown>) => ({
    experiment: "optimizers",
    id: "a",
    verdict: "agrees",
    reason: "why",
    ...over,
  });
  const json = (claims: unknown[]) => JSON.stringify({ claims });
  assert.deepEqual(checkClaimsJson(json([claim({})]), row("a")), []);
  assert.match(
    checkClaimsJson(json([claim({ verdict: "maybe" })]), row("a"))[0],
    /verdict "maybe" is not one of agrees, disagrees, not resolved/,
  );
  assert.match(checkClaimsJson(json([claim({ reason: "" })]), row("a"))[0], /no reason/);
  assert.match(
    checkClaimsJson(json([claim({ id: "b" })]), row("a"))[0],
    /optimizers: b\): not on claims\.html/,
  );
  assert.match(checkClaimsJson("{", "")[0], /claims\.json: not JSON/);
});
