import { test } from "node:test";
import assert from "node:assert/strict";
import type { RangeExplanation } from "../../src/narrate/explain";
import { activityFigure, digestPage } from "../../src/narrate/page";
import { checkPageHtml } from "../../src/report/check";

const EVIL_SUBJECT = `<script>alert("x")</script>`;
const EVIL_AUTHOR = `Eve "><img src=x onerror=alert(1)>`;

const range: RangeExplanation = {
  commits: [
    {
      sha: "0123456789abcdef0123456789abcdef01234567",
      subject: EVIL_SUBJECT,
      author: EVIL_AUTHOR,
      email: "eve@example.com",
      date: "2024-03-01T10:00:00+01:00",
      language: "javascript",
      files: [
        { path: "<b>bold</b>.js", insertions: 2, deletions: 1 },
        { path: "logo.png", insertions: null, deletions: null },
      ],
      insertions: 2,
      deletions: 1,
      explanation: "It </p><iframe src=//evil.example></iframe> works.",
      notes: ["input truncated: kept 3 of 12 tokens"],
      inputTokens: 12,
      keptInputTokens: 3,
      fileNarrations: [
        {
          path: "<b>bold</b>.js",
          explanation: "Adds <script>alert(2)</script> here.",
          notes: ["input truncated: kept 3 of 9 tokens"],
          inputTokens: 9,
          keptInputTokens: 3,
        },
      ],
    },
    {
      sha: "fedcba9876543210fedcba9876543210fedcba98",
      subject: "Second",
      author: "Ada",
      email: "ada@example.com",
      date: "2024-03-03T09:00:00-05:00",
      language: "python",
      files: [{ path: "a.py", insertions: 5, deletions: 0 }],
      insertions: 5,
      deletions: 0,
      explanation: "",
      notes: [],
      inputTokens: 4,
      keptInputTokens: 4,
      fileNarrations: [],
    },
  ],
  digest: `2 commits; "${EVIL_SUBJECT}" is the largest.`,
};
const source = {
  repo: "/tmp/<repo>",
  range: "A..B",
  model: "models/m",
  adapter: null,
  prompt: "compact",
  decoding: "greedy decoding",
  settings: "training defaults",
};

test("the digest page escapes every text from data and loads nothing from elsewhere; same input, same bytes", async () => {
  const html = await digestPage(range, source);
  // Data is escaped ...
  assert.ok(!html.includes(EVIL_SUBJECT));
  assert.ok(html.includes("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"));
  assert.ok(!html.includes("<img src=x"));
  assert.ok(html.includes("Eve &quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
  assert.ok(!html.includes("<iframe"));
  // A long change's narrations file by file are shown, escaped, with their notes.
  assert.ok(html.includes("Adds &lt;script&gt;alert(2)&lt;/script&gt; here."));
  assert.ok(html.includes("(input truncated: kept 3 of 9 tokens)"));
  assert.ok(html.includes("&lt;b&gt;bold&lt;/b&gt;.js"));
  assert.ok(html.includes("/tmp/&lt;repo&gt;"));
  // ... so the only script elements are the page's own: the vega bundles, the embedding code
  // and the chart's spec.
  assert.equal(html.match(/<script\b/g)?.length, 3);
  // Nothing is loaded from elsewhere, and the chart has its static SVG and its spec (the
  // reports' own page checker).
  assert.deepEqual(checkPageHtml(html, ["activity"], "digest"), []);
  assert.doesNotMatch(html, /<script\b[^>]*\bsrc\s*=/i);
  // Each commit's narration, author, date, size and files.
  assert.ok(html.includes("input truncated: kept 3 of 12 tokens"));
  assert.ok(html.includes("2024-03-03T09:00:00-05:00"));
  assert.ok(html.includes("1 file, +5/-0"));
  assert.ok(html.includes("<code>a.py</code> +5/-0"));
  assert.ok(html.includes("<code>logo.png</code> binary"));
  assert.ok(html.includes('<figure class="chart" id="activity">'));
  assert.equal(await digestPage(range, source), html);
});

test("the activity chart counts commits and lines per day (removed lines below zero)", () => {
  const spec = activityFigure(range.commits).spec as unknown as {
    vconcat: { data: { values: unknown[] } }[];
  };
  assert.deepEqual(spec.vconcat[0].data.values, [
    { day: "2024-03-01", commits: 1, insertions: 2, deletions: 1 },
    { day: "2024-03-02", commits: 0, insertions: 0, deletions: 0 },
    { day: "2024-03-03", commits: 1, insertions: 5, deletions: 0 },
  ]);
  assert.deepEqual(spec.vconcat[1].data.values, [
    { day: "2024-03-01", kind: "added", lines: 2 },
    { day: "2024-03-01", kind: "removed", lines: -1 },
    { day: "2024-03-02", kind: "added", lines: 0 },
    { day: "2024-03-02", kind: "removed", lines: -0 },
    { day: "2024-03-03", kind: "added", lines: 5 },
    { day: "2024-03-03", kind: "removed", lines: -0 },
  ]);
});
