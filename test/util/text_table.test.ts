import { test } from "node:test";
import assert from "node:assert/strict";
import { renderTable } from "../../src/util/text_table";

test("renderTable pads columns: the first left-aligned, the others right-aligned, no trailing blanks", () => {
  const table = renderTable(
    ["language", "rows", "share"],
    [
      ["go", "12", "5.0%"],
      ["javascript", "3", ""],
    ],
  );
  assert.equal(
    table,
    [
      "language    rows  share",
      "----------  ----  -----",
      "go            12   5.0%",
      "javascript     3",
    ].join("\n"),
  );
});
