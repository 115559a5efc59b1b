import { test } from "node:test";
import assert from "node:assert/strict";
import { escapeHtml, htmlTable, scriptJson, stableJson } from "../../src/report/html";

test("escapeHtml escapes & < > \" ' in a hand-written malicious string", () => {
  const evil = `<img src=x onerror="alert('1')"> & </script>`;
  assert.equal(
    escapeHtml(evil),
    "&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt; &amp; &lt;/script&gt;",
  );
  // Already-escaped text is escaped again (no double-unescape shortcuts).
  assert.equal(escapeHtml("&amp;"), "&amp;amp;");
});

test("scriptJson cannot close its script element and parses back to the same value", () => {
  const value = { text: "</script><!-- & \u2028" };
  const json = scriptJson(value);
  assert.ok(!json.includes("<") && !json.includes(">") && !json.includes("&"));
  assert.ok(!json.includes("\u2028"));
  assert.deepEqual(JSON.parse(json), value);
});

test("stableJson sorts keys at every level", () => {
  assert.equal(
    stableJson({ b: 1, a: { d: 2, c: [{ f: 1, e: 0 }] } }),
    JSON.stringify({ a: { c: [{ e: 0, f: 1 }], d: 2 }, b: 1 }, null, 2),
  );
});

test("htmlTable escapes every cell, header and caption", () => {
  const html = htmlTable(
    ["<h>"],
    [["<td>", { text: "a&b", strong: true, href: "x.html?a=1&b=2" }]],
    "<cap>",
  );
  assert.ok(html.includes("<th>&lt;h&gt;</th>"));
  assert.ok(html.includes("<td>&lt;td&gt;</td>"));
  assert.ok(html.includes('<a href="x.html?a=1&amp;b=2">a&amp;b</a>'));
  assert.ok(html.includes("<caption>&lt;cap&gt;</caption>"));
});
