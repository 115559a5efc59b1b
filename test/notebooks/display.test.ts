import { test } from "node:test";
import assert from "node:assert/strict";
import type { TopLevelSpec } from "vega-lite";
import {
  figureBundle,
  renderFigureBundle,
  tableBundle,
  VEGA_LITE_MIME,
} from "../../src/notebooks/display";

const SPEC: TopLevelSpec = {
  title: "Three bars",
  data: {
    values: [
      { k: "a", v: 1 },
      { k: "b", v: 2 },
      { k: "c", v: 3 },
    ],
  },
  mark: "bar",
  encoding: { x: { field: "k", type: "nominal" }, y: { field: "v", type: "quantitative" } },
};

test("figureBundle: spec, HTML holding the SVG with prefixed ids, and text", () => {
  // A hand-written standalone SVG with one clip path, as vega writes them.
  const svg =
    '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><defs><clipPath id="clip1"><rect/></clipPath></defs><g clip-path="url(#clip1)"><rect width="5" height="5"/></g></svg>';
  const bundle = figureBundle({ id: "fig-a", caption: "Bars <by> key", spec: SPEC }, svg);
  assert.deepEqual(Object.keys(bundle).sort(), [VEGA_LITE_MIME, "text/html", "text/plain"].sort());
  assert.equal(bundle[VEGA_LITE_MIME], SPEC);
  const html = bundle["text/html"];
  assert.match(html, /^<figure class="narrator-figure"><svg[^>]* width="10" height="10">/);
  assert.match(html, /<\/svg><figcaption>Bars &lt;by&gt; key<\/figcaption><\/figure>$/);
  // Ids carry the figure's id, references follow them: two figures on a page never collide.
  assert.match(html, /<clipPath id="fig-a-clip1">/);
  assert.match(html, /clip-path="url\(#fig-a-clip1\)"/);
  assert.doesNotMatch(html, /id="clip1"/);
  assert.equal(bundle["text/plain"], "Three bars: Bars <by> key");
});

test("renderFigureBundle: a bare spec renders to an SVG inside the HTML, one rect mark per bar", async () => {
  const bundle = await renderFigureBundle(SPEC);
  assert.equal(bundle[VEGA_LITE_MIME], SPEC);
  const html = bundle["text/html"];
  assert.match(html, /^<figure class="narrator-figure"><svg [^>]*width="\d+"/);
  assert.match(html, /<\/svg><\/figure>$/);
  assert.equal(html.match(/role-mark marks/g)?.length, 1);
  // vega draws the three bars as three paths inside the mark group.
  const marks = html.slice(html.indexOf('class="mark-rect role-mark marks"'));
  assert.equal(marks.slice(0, marks.indexOf("</g>")).match(/<path /g)?.length, 3);
  assert.match(html, />Three bars</);
  assert.equal(bundle["text/plain"], "Three bars");
});

test("tableBundle: escaped HTML cells, numbers right-aligned and rounded, aligned text", () => {
  const rows = [
    { name: "a<b", ce: 1.23456, n: 12 },
    { name: "c", ce: 2, n: null },
  ];
  const bundle = tableBundle(rows, { digits: 2 });
  const html = bundle["text/html"];
  assert.equal(html.match(/<tr>/g)?.length, 3); // header and two rows
  assert.match(html, /<th>name<\/th><th class="num">ce<\/th><th class="num">n<\/th>/);
  assert.match(html, /<td>a&lt;b<\/td><td class="num">1\.23<\/td><td class="num">12<\/td>/);
  assert.match(html, /<td>c<\/td><td class="num">2<\/td><td class="num"><\/td>/);
  assert.equal(
    bundle["text/plain"],
    ["name    ce   n", "----  ----  --", "a<b   1.23  12", "c        2"].join("\n"),
  );
});
