import { test } from "node:test";
import assert from "node:assert/strict";
import { csvDataUri, figureCsv, toCsv } from "../../src/report/csv";

test("CSV: columns in first-seen order, RFC 4180 quoting, CRLF line ends", () => {
  const csv = toCsv([
    { setting: "adamw", ce: 2.5, note: 'says "hi", twice' },
    { setting: "sgd", extra: true, ce: null },
    { setting: "a\nb", ce: 3, list: [1, 2] },
  ]);
  assert.equal(
    csv,
    [
      "setting,ce,note,extra,list",
      'adamw,2.5,"says ""hi"", twice",,',
      "sgd,,,true,",
      '"a\nb",3,,,"[1,2]"',
      "",
    ].join("\r\n"),
  );
});

test("a figure's CSV holds the rows of its inline data, and a data: URI carries it", () => {
  const spec = {
    data: { values: [{ x: 1, y: "é,z" }] },
    mark: "point",
  } as unknown as Parameters<typeof figureCsv>[0];
  assert.equal(figureCsv(spec), 'x,y\r\n1,"é,z"\r\n');
  assert.equal(figureCsv({ mark: "point" } as unknown as Parameters<typeof figureCsv>[0]), "\r\n");
  assert.equal(
    csvDataUri('x,y\r\n1,"é,z"\r\n'),
    "data:text/csv;charset=utf-8,x%2Cy%0D%0A1%2C%22%C3%A9%2Cz%22%0D%0A",
  );
});
