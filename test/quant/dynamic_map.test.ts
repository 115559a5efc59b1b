import { test } from "node:test";
import assert from "node:assert/strict";
import {
  createDynamicMap,
  dequantizeBlockwise8,
  quantizeBlockwise8,
  dynamicMapLinspace,
} from "../../src/quant/dynamic_map";
import { Rng } from "../../src/util/rng";

const f = Math.fround;

/** |a - b| within `ulps` float32 ulps of b. */
function closeUlps(a: number, b: number, ulps: number): boolean {
  return Math.abs(a - b) <= ulps * Math.abs(b) * 2 ** -23;
}

test("torch.linspace(0.1, 1, k) in float32, by hand, with the fused multiply-add", () => {
  // k = 5: step = (1 - 0.1f)/4; points 0.1, 0.325, 0.55, 0.775, 1 (to the ulp).
  const l5 = dynamicMapLinspace(5);
  [0.1, 0.325, 0.55, 0.775, 1].forEach((v, i) => assert.ok(closeUlps(l5[i], v, 1), `l5[${i}]`));
  assert.equal(l5[0], f(0.1));
  assert.equal(l5[4], 1);
  // k = 17, point 9 (>= halfway 8, so computed from the end as 1 - 7*step):
  //   0.1f = 0.10000000149; 1 - 0.1f = 0.89999999851 -> float32 0.89999997616
  //   step = 0.89999997616 / 16 = 0.05624999851 (exact); 7*step = 0.39374998957
  //   fused: 1 - 0.39374998957 = 0.60625001043 -> float32 0.60624998808 (2.2e-8 below,
  //   3.7e-8 to the next float32 up, 0.60625004768).
  //   Unfused, 7*step would first round to 0.39374998212, leaving 0.60625001788: a tie between
  //   0.60624998808 and 0.60625004768 that rounds to even, 0.60625004768 (the portable build's).
  const l17 = dynamicMapLinspace(17);
  assert.equal(l17[9], 0.606249988079071044921875);
  assert.equal(l17[16], 1);
  // k = 2: [0.1f, 1].
  assert.deepEqual(Array.from(dynamicMapLinspace(2)), [f(0.1), 1]);
});

test("signed dynamic map: layout and spot values from the create_dynamic_map formula", () => {
  // 7 exponents i = 0..6: the midpoints of linspace(0.1, 1, 2^i + 1) times 10^(i-6), both signs:
  // 1+2+4+...+64 = 127 positive values, 127 negative, plus 0 and 1.0 = 256, sorted ascending.
  // So: [0..126] negative, [127] = 0, [128..254] positive, [255] = 1.0, and x[i] = -x[254 - i].
  const m = createDynamicMap();
  assert.equal(m.length, 256);
  for (let i = 1; i < 256; i++) assert.ok(m[i] > m[i - 1], `increasing at ${i}`);
  assert.equal(m[127], 0);
  assert.equal(m[255], 1);
  for (let i = 0; i < 127; i++) assert.equal(m[i], -m[254 - i]);
  // Smallest positive (i = 0): 1e-6 * (0.1 + 1)/2 = 5.5e-7.
  // i = 1: linspace(0.1, 1, 3) = [0.1, 0.55, 1] -> 1e-5 * [0.325, 0.775].
  // i = 2: linspace(0.1, 1, 5) -> 1e-4 * [0.2125, 0.4375, 0.6625, 0.8875].
  // i = 5: linspace(0.1, 1, 33), step 0.028125; its 2nd midpoint 0.1421875 -> 0.01421875 at 160.
  // i = 6 (64 midpoints, step 0.0140625) occupies [191..254]: the last is (0.9859375 + 1)/2.
  const hand: [number, number][] = [
    [128, 5.5e-7],
    [129, 3.25e-6],
    [130, 7.75e-6],
    [131, 2.125e-5],
    [132, 4.375e-5],
    [133, 6.625e-5],
    [134, 8.875e-5],
    [160, 0.01421875],
    [190, 0.09859375],
    [191, 0.10703125],
    [254, 0.99296875],
    [253, 0.97890625],
  ];
  for (const [i, v] of hand) assert.ok(closeUlps(m[i], v, 3), `map[${i}] = ${m[i]}, by hand ${v}`);
  assert.ok(closeUlps(m[0], -0.99296875, 3));
});

test("signed dynamic map equals values printed by PyTorch's create_dynamic_map run", () => {
  // bitsandbytes' formula run with PyTorch 2.11 on CPU with ATEN_CPU_CAPABILITY=avx2 and =avx512
  // (identical maps). The portable kernel (ATEN_CPU_CAPABILITY=default) agrees on these entries
  // but 137 and 162, where it printed 0.00038124999264255166 and 0.019843749701976776.
  const m = createDynamicMap();
  const printed: [number, number][] = [
    [0, -0.992968738079071],
    [1, -0.9789062738418579],
    [2, -0.96484375],
    [63, -0.10703125596046448],
    [64, -0.09859374910593033],
    [100, -0.0074687497690320015],
    [126, -5.500000384017767e-7],
    [128, 5.500000384017767e-7],
    [129, 0.000003250000190746505],
    [135, 0.00015625001105945557],
    [137, 0.0003812500217463821],
    [140, 0.0007187500596046448],
    [160, 0.014218750409781933],
    [162, 0.019843751564621925],
    [190, 0.09859374910593033],
    [200, 0.23359374701976776],
    [230, 0.655468761920929],
    [254, 0.992968738079071],
  ];
  for (const [i, v] of printed) assert.equal(m[i], v, `map[${i}]`);
});

test("unsigned and small dynamic maps; inconsistent arguments are refused as bitsandbytes asserts", () => {
  // Unsigned, 7 exponent bits: midpoints of linspace(0.1, 1, 2^(i+1) + 1), i = 0..6: 2+4+...+128
  // = 254 positive values, plus 0 and 1.0.
  const u = createDynamicMap(false);
  assert.equal(u.length, 256);
  assert.equal(u[0], 0);
  assert.equal(u[255], 1);
  assert.ok(u.every((v) => v >= 0));
  assert.ok(closeUlps(u[1], 1e-6 * 0.325, 3)); // i = 0: linspace(0.1, 1, 3) -> 0.325, 0.775
  // 4 bits, 3 exponent bits, signed: i = 0..2 give 0.01 * [0.55], 0.1 * [0.325, 0.775] and
  // 1 * [0.2125, 0.4375, 0.6625, 0.8875]: 2*(1+2+4) + 2 = 16 values, padded with 240 zeros, sorted:
  // the 7 negatives first (from -0.8875), then 241 zeros, then the 7 positives and 1.0.
  const s4 = createDynamicMap(true, 3, 4);
  assert.equal(s4.length, 256);
  assert.ok(closeUlps(s4[0], -0.8875, 2));
  assert.ok(closeUlps(s4[6], -0.0055, 2));
  assert.equal(s4[7], 0);
  assert.equal(s4[247], 0);
  assert.equal(s4[255], 1);
  // Unsigned with fewer exponent bits than non-sign bits makes 253 values: bitsandbytes asserts.
  assert.throws(() => createDynamicMap(false, 5, 8), /makes 253 values, not 2\^8/);
  assert.throws(() => createDynamicMap(true, 8, 8), /1 <= maxExponentBits <= totalBits-1/);
});

test("8-bit blockwise quantization of a hand-worked block", () => {
  // One partial block [1, 0.5, -0.25, 0] with blocksize 256: absmax 1, scaled = x.
  // Decade i = 6 holds the midpoints 0.1 + (k + 0.5) * 0.0140625 (k = 0..63) at index 191 + k.
  //   1    -> index 255 (1.0).
  //   0.5  -> k = 28: 0.50078125 (0.00078 away; k = 27 gives 0.48671875) -> 191 + 28 = 219.
  //   -0.25-> k = 10: 0.24765625 (0.00234 away; k = 11 gives 0.26171875); negative of index
  //           191 + 10 = 201 is index 254 - 201 = 53.
  //   0    -> 127.
  const m = createDynamicMap();
  const { q, absmax } = quantizeBlockwise8(Float32Array.from([1, 0.5, -0.25, 0]), m, 256);
  assert.deepEqual(Array.from(q), [255, 219, 53, 127]);
  assert.deepEqual(Array.from(absmax), [1]);
  const dq = dequantizeBlockwise8(q, absmax, m, 256);
  assert.equal(dq[0], 1);
  assert.ok(closeUlps(dq[1], 0.50078125, 3));
  assert.ok(closeUlps(dq[2], -0.24765625, 3));
  assert.equal(dq[3], 0);
});

test("8-bit nearest search equals a brute-force float32 argmin over the 256 entries", () => {
  const m = createDynamicMap();
  const rng = new Rng(5);
  const x = new Float32Array(256 * 8 + 100);
  for (let i = 0; i < x.length; i++) x[i] = (rng.next() * 2 - 1) ** 5 * (1 + (i % 3));
  // Include values exactly at map midpoints in a block with absmax 1.
  x[0] = 1;
  for (let i = 1; i < 255; i++) x[i] = f((m[i - 1] + m[i]) / 2);
  const { q, absmax } = quantizeBlockwise8(x, m, 256);
  for (let i = 0; i < x.length; i++) {
    const s = Math.min(Math.max(f(x[i] * f(1 / absmax[Math.floor(i / 256)])), -1), 1);
    let best = 0;
    for (let j = 1; j < 256; j++) {
      if (Math.abs(f(s - m[j])) < Math.abs(f(s - m[best]))) best = j;
    }
    assert.equal(q[i], best, `value ${i}`);
  }
});

test("8-bit errors name what is wrong", () => {
  assert.throws(
    () => quantizeBlockwise8(new Float32Array(4), new Float32Array(16)),
    /256 values, got 16/,
  );
  const decreasing = createDynamicMap().reverse();
  assert.throws(() => quantizeBlockwise8(new Float32Array(4), decreasing), /strictly increasing/);
  assert.throws(
    () => dequantizeBlockwise8(new Uint8Array(300), new Float32Array(1), createDynamicMap()),
    /expected ceil\(300\/256\) = 2/,
  );
});
