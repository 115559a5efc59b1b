import { test } from "node:test";
import assert from "node:assert/strict";
import type { TopLevelSpec } from "vega-lite";
import { hasRsvgConvert, inlineSvg, renderSvg, svgToPng } from "../../src/report/render";

/** A small chart whose bars are clipped (so the SVG holds a clip path with a generated id). */
function chart(title: string): TopLevelSpec {
  return {
    title,
    data: {
      values: [
        { a: "x", b: 1 },
        { a: "y", b: 3 },
      ],
    },
    mark: { type: "bar", clip: true },
    encoding: { x: { field: "a", type: "nominal" }, y: { field: "b", type: "quantitative" } },
  };
}

test("the same spec renders to the same SVG bytes, whatever was rendered before", async () => {
  const first = await renderSvg(chart("CE & <seeds>"));
  await renderSvg(chart("another chart"));
  const again = await renderSvg(chart("CE & <seeds>"));
  assert.equal(again, first);
  assert.match(first, /^<svg /);
  assert.ok(first.includes("CE &amp; &lt;seeds&gt;"), "the title, escaped");
  assert.ok(first.includes('clip-path="url(#clip1)"'), "a clip path to make the id counter matter");
});

test("inlineSvg drops namespace declarations and prefixes internal ids", () => {
  const svg =
    '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="2"><defs><clipPath id="clip1"><rect/></clipPath></defs><g clip-path="url(#clip1)"></g></svg>';
  assert.equal(
    inlineSvg(svg, "fig"),
    '<svg width="2"><defs><clipPath id="fig-clip1"><rect/></clipPath></defs><g clip-path="url(#fig-clip1)"></g></svg>',
  );
});

test("svgToPng gives a PNG with rsvg-convert, and null without it", async (t) => {
  const svg = await renderSvg(chart("png"));
  if (hasRsvgConvert()) {
    const png = svgToPng(svg)!;
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  } else t.diagnostic("rsvg-convert not installed: only the missing case is checked");
  const path = process.env.PATH;
  process.env.PATH = "/nonexistent";
  try {
    assert.equal(svgToPng(svg), null);
  } finally {
    process.env.PATH = path;
  }
});
