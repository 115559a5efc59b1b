import { test } from "node:test";
import assert from "node:assert/strict";
import { canonicalJson } from "../../src/util/canonical_json";

test("canonicalJson sorts keys at every depth, keeps array order and spells out non-finite numbers", () => {
  assert.equal(
    canonicalJson({ b: 1, a: { d: Infinity, c: [2, 1, { z: NaN, y: -Infinity }] } }),
    '{"a":{"c":[2,1,{"y":"-Infinity","z":"NaN"}],"d":"Infinity"},"b":1}',
  );
  assert.equal(canonicalJson({ x: 1, y: 2 }), canonicalJson({ y: 2, x: 1 }));
});
