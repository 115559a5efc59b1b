/**
 * A change too long for the window, narrated file by file and then as a whole: a hand-written
 * diff of three files explained by a small shipped model with a 60-token input window. Each file's
 * narration reads at most the window; the whole change's narration reads every file cut to its
 * share; the notes name the tokens and files left out, counted here from the tokenizer.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { initBackend } from "../../src/backend/backend";
import { explainDiff } from "../../src/narrate/explain";
import { renderExplanation } from "../../src/narrate/format";
import { normaliseDiff } from "../../src/narrate/inputs";
import { Narrator } from "../../src/narrate/narrator";
import { shareBudget } from "../../src/narrate/prompt";

const WINDOW = 60;

const DIFF = `--- a/billing/invoice.py
+++ b/billing/invoice.py
@@ -1,2 +1,4 @@
 def total_unpaid(invoices):
-    return sum(i.amount for i in invoices)
+    """Sum of the amounts still owed."""
+    unpaid = [i for i in invoices if not i.paid]
+    return sum(i.amount - i.credited for i in unpaid)
--- a/web/cart.js
+++ b/web/cart.js
@@ -3,3 +3,4 @@
 function cartTotal(items) {
-  return items.reduce((t, i) => t + i.price, 0);
+  const lines = items.filter((i) => i.quantity > 0);
+  return lines.reduce((t, i) => t + i.price * i.quantity, 0);
 }
--- a/README.md
+++ b/README.md
@@ -1 +1 @@
-Billing
+Billing and cart totals
`;

let narrator: Narrator;
before(async () => {
  await initBackend();
  narrator = await Narrator.open({
    model: "models/narrator-2m-random",
    maxNewTokens: 2,
    maxInputTokens: WINDOW,
    maxFiles: 2,
  });
});
after(() => narrator.dispose());

test("shareBudget: short inputs whole, the rest shared equally (hand-worked)", () => {
  // 90 over [10, 50, 100]: 10 whole (30 each would be its share), then 80 over two: 40 and 40.
  assert.deepEqual(shareBudget([10, 50, 100], 90), [10, 40, 40]);
  assert.deepEqual(shareBudget([100, 10], 90), [80, 10]);
  assert.deepEqual(shareBudget([5, 5], 90), [5, 5]);
});

test("a long multi-file diff is narrated file by file within the window, then as a whole, naming what was left out", () => {
  // Each file's input tokens as the prompt lays them out (training's layout of an input).
  const tokens = normaliseDiff(DIFF).parts.map(
    (p) =>
      narrator.promptParts({ task: "commitpackft", language: "python", input: p }).input.length,
  );
  const total = tokens.reduce((a, b) => a + b, 0);
  assert.ok(total > WINDOW, `the hand-written diff has ${total} tokens, more than ${WINDOW}`);
  const e = explainDiff(narrator, DIFF, "python");
  assert.deepEqual(e.files, ["billing/invoice.py", "web/cart.js", "README.md"]);
  assert.equal(e.inputTokens, total);
  assert.ok(e.keptInputTokens <= WINDOW);
  // Two files at most narrated alone: the two most changed (4 and 3 lines against 2), each
  // reading what fits the window.
  assert.deepEqual(
    e.fileNarrations.map((f) => f.path),
    ["billing/invoice.py", "web/cart.js"],
  );
  e.fileNarrations.forEach((f, i) => {
    assert.equal(f.inputTokens, tokens[i]);
    assert.equal(f.keptInputTokens, Math.min(tokens[i], WINDOW));
  });
  assert.ok(
    e.notes.some((n) =>
      n.includes(`holds ${total} input tokens in 3 files, more than the ${WINDOW}`),
    ),
    e.notes.join("\n"),
  );
  assert.ok(
    e.notes.some((n) =>
      n.startsWith(
        `left out of the whole change's narration: ${total - e.keptInputTokens} of ${total} tokens`,
      ),
    ),
    e.notes.join("\n"),
  );
  assert.ok(
    e.notes.some(
      (n) => n.includes(`not narrated alone`) && n.includes(`README.md (${tokens[2]} tokens)`),
    ),
    e.notes.join("\n"),
  );
  // Every format shows the files' narrations.
  const provenance = narrator.provenance();
  assert.match(renderExplanation(e, "text", provenance), /^- web\/cart\.js: /m);
  assert.match(renderExplanation(e, "markdown", provenance), /^- `billing\/invoice\.py`: /m);
  const json = JSON.parse(renderExplanation(e, "json", provenance));
  assert.deepEqual(
    json.fileNarrations.map((f: { path: string }) => f.path),
    ["billing/invoice.py", "web/cart.js"],
  );
});

test("a change that fits is narrated once, as before", () => {
  const small = `--- a/README.md${DIFF.split("--- a/README.md")[1]}`;
  const e = explainDiff(narrator, small, "python");
  assert.deepEqual(e.fileNarrations, []);
  assert.equal(e.keptInputTokens, e.inputTokens);
});
