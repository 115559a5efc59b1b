/**
 * The addon on its own, over a plain ArrayBuffer standing in for the wasm heap: small
 * hand-worked cases, and the range checks that keep a wrong offset from touching memory
 * outside the heap.
 */
import assert from "node:assert/strict";
import { test } from "node:test";

import { type NativeAddon, loadAddon } from "../../src/native/addon";

const load = loadAddon();
const skip = load.addon === null ? `native addon unavailable: ${load.reason}` : false;
const addon = load.addon as NativeAddon;

/** A heap holding `values` from float index 0, with room after them. */
function heapWith(values: number[], room = 64): { heap: ArrayBuffer; f32: Float32Array } {
  const heap = new ArrayBuffer((values.length + room) * 4);
  const f32 = new Float32Array(heap);
  f32.set(values);
  return { heap, f32 };
}

test("matmul: [[1,2],[3,4]] x [[5,6],[7,8]], then + bias [-20,-100] through relu", { skip }, () => {
  const { heap, f32 } = heapWith([1, 2, 3, 4, 5, 6, 7, 8, -20, -100]);
  // a at float 0, b at 4, bias at 8, c at 16
  addon.matmul(heap, 0, 16, 64, 1, 2, 2, 2, false, false, null, null, -1, 0, 0, 0);
  assert.deepEqual([...f32.subarray(16, 20)], [19, 22, 43, 50]);
  // b^T: [[5,7],[6,8]] -> [[1*5+2*6, 1*7+2*8], [3*5+4*6, 3*7+4*8]]
  addon.matmul(heap, 0, 16, 64, 1, 2, 2, 2, false, true, null, null, -1, 0, 0, 0);
  assert.deepEqual([...f32.subarray(16, 20)], [17, 23, 39, 53]);
  // relu([19-20, 22-100, 43-20, 50-100]) = [0, 0, 23, 0]
  addon.matmul(heap, 0, 16, 64, 1, 2, 2, 2, false, false, null, null, 32, 2, 1, 0);
  assert.deepEqual([...f32.subarray(16, 20)], [0, 0, 23, 0]);
});

test("matmul: batch index maps pick matrices per output batch", { skip }, () => {
  // a = two 1x1 matrices [2], [3]; b = one 1x1 matrix [10]; outputs use a[1], a[0], a[1]
  const { heap, f32 } = heapWith([2, 3, 10]);
  const aIndex = Int32Array.from([1, 0, 1]);
  const bIndex = Int32Array.from([0, 0, 0]);
  addon.matmul(heap, 0, 8, 64, 3, 1, 1, 1, false, false, aIndex, bIndex, -1, 0, 0, 0);
  assert.deepEqual([...f32.subarray(16, 19)], [30, 20, 30]);
});

test("binary, reduce, softmax and unary on hand-worked values", { skip }, () => {
  const { heap, f32 } = heapWith([1, 2, 3, 4, 5, 6, 10, 20]);
  // [[1,2,3],[4,5,6]] - column vector [10,20], small operand on the left: [10-1, ...]
  addon.binary(heap, 1, 2, true, 0, 24, 64, 2, 3);
  assert.deepEqual([...f32.subarray(16, 22)], [9, 8, 7, 16, 15, 14]);
  // sums over rows and over columns of [[1,2,3],[4,5,6]]
  addon.reduce(heap, 0, 0, 64, 2, 3, 1);
  assert.deepEqual([...f32.subarray(16, 18)], [6, 15]);
  addon.reduce(heap, 0, 0, 64, 1, 2, 3);
  assert.deepEqual([...f32.subarray(16, 19)], [5, 7, 9]);
  addon.reduce(heap, 1, 0, 64, 1, 1, 6);
  assert.deepEqual([...f32.subarray(16, 22)], [1, 2, 3, 4, 5, 6]);
  // softmax of [0, ln 3] = [1/4, 3/4]
  f32.set([0, Math.log(3)], 40);
  addon.softmax(heap, 160, 64, 1, 2);
  assert.ok(Math.abs(f32[16] - 0.25) < 1e-7 && Math.abs(f32[17] - 0.75) < 1e-7);
  // exp(0) = 1; int32 16777217 rounds to the float32 16777216
  new Int32Array(heap).set([16777217], 41);
  addon.unary(heap, 0, 160, 64, 1);
  addon.unary(heap, 1, 164, 68, 1);
  assert.deepEqual([...f32.subarray(16, 18)], [1, 16777216]);
});

test("copyStrided transposes and gather picks rows", { skip }, () => {
  const { heap, f32 } = heapWith([1, 2, 3, 4, 5, 6]);
  // [[1,2,3],[4,5,6]] transposed: out dims [3,2], reading with strides [1,3]
  const i32 = (v: number[]) => Int32Array.from(v);
  addon.copyStrided(heap, 0, 64, i32([3, 2]), i32([1, 3]), i32([2, 1]));
  assert.deepEqual([...f32.subarray(16, 22)], [1, 4, 2, 5, 3, 6]);
  // rows 1, 0, 1 of the 2x3 matrix
  new Int32Array(heap).set([1, 0, 1], 30);
  assert.equal(addon.gather(heap, 0, 64, 1, 2, 3, 120, 3), true);
  assert.deepEqual([...f32.subarray(16, 25)], [4, 5, 6, 1, 2, 3, 4, 5, 6]);
  new Int32Array(heap).set([2], 30);
  assert.equal(addon.gather(heap, 0, 64, 1, 2, 3, 120, 1), false, "index 2 of 2 rows");
});

test(
  "crossEntropy and its gradient on hand-worked values; a bad label writes nothing",
  { skip },
  () => {
    // logits [[0, ln 3], [5, -5]] at float 0, labels [1, -100] at float 4
    const { heap, f32 } = heapWith([0, Math.log(3), 5, -5]);
    const i32 = new Int32Array(heap);
    i32.set([1, -100], 4);
    // nll at float 8, rowMax at 10, logSum at 12
    assert.equal(addon.crossEntropy(heap, 0, 16, 32, 40, 48, 2, 2, -100), -1);
    // softmax [1/4, 3/4]: nll = ln(4/3), max ln 3, log(1 + e^-ln3) = ln(4/3); ignored row all 0
    const near = (a: number, b: number) => Math.abs(a - b) < 2e-7;
    assert.ok(near(f32[8], Math.log(4 / 3)) && f32[9] === 0, `nll ${f32[8]}, ${f32[9]}`);
    assert.ok(near(f32[10], Math.log(3)) && near(f32[12], Math.log(4 / 3)));
    // dnll [2, 7] at float 14, dx at float 16: (softmax - onehot) * 2 = [0.5, -0.5]; ignored row 0
    f32.set([2, 7], 14);
    f32.fill(9, 16, 20);
    assert.equal(addon.crossEntropyGrad(heap, 0, 16, 40, 48, 56, 64, 2, 2, -100), -1);
    const dx = [...f32.subarray(16, 20)];
    assert.ok(near(dx[0], 0.5) && near(dx[1], -0.5), `dx ${dx}`);
    assert.deepEqual(dx.slice(2), [0, 0]);
    // label 2 of 2 columns at row 1: reported, nothing written
    i32.set([1, 2], 4);
    f32.fill(9, 8, 20);
    assert.equal(addon.crossEntropy(heap, 0, 16, 32, 40, 48, 2, 2, -100), 1);
    assert.equal(addon.crossEntropyGrad(heap, 0, 16, 40, 48, 56, 64, 2, 2, -100), 1);
    assert.deepEqual([...f32.subarray(8, 14)], [9, 9, 9, 9, 9, 9]);
    assert.deepEqual([...f32.subarray(16, 20)], [9, 9, 9, 9]);
    // an ignore index that is not an int32 is refused
    assert.throws(
      () => addon.crossEntropy(heap, 0, 16, 32, 40, 48, 2, 2, 0.5),
      /ignore must be an int32/,
    );
  },
);

test("ranges outside the heap and bad arguments throw instead of touching memory", { skip }, () => {
  const { heap } = heapWith([1, 2, 3, 4], 0); // 16 bytes
  assert.throws(() => addon.unary(heap, 0, 0, 8, 4), /out: .*exceed the heap \(16 bytes\)/);
  assert.throws(() => addon.unary(heap, 0, 2, 0, 1), /not 4-aligned/);
  assert.throws(
    () => addon.matmul(heap, 0, 0, 0, 1, 2, 3, 2, false, false, null, null, -1, 0, 0, 0),
    /b: 24 bytes at offset 0 exceed the heap \(16 bytes\)/,
  );
  assert.throws(
    () =>
      addon.matmul(
        heap,
        0,
        0,
        0,
        2,
        1,
        1,
        1,
        false,
        false,
        Int32Array.from([0, 9]),
        null,
        -1,
        0,
        0,
        0,
      ),
    /a: .*exceed the heap/,
  );
  assert.throws(
    () =>
      addon.copyStrided(
        heap,
        0,
        0,
        Int32Array.from([2, 2]),
        Int32Array.from([1, 4]),
        Int32Array.from([2, 1]),
      ),
    /src: .*exceed the heap/,
  );
  assert.throws(() => addon.binary(heap, 7, 0, false, 0, 0, 0, 1, 1), /unknown op code 7/);
  assert.throws(
    () => addon.crossEntropyGrad(heap, 0, 0, 0, 0, 0, 0, 2, 3, -100),
    /crossEntropyGrad: x: 24 bytes at offset 0 exceed the heap \(16 bytes\)/,
  );
  assert.throws(() => addon.unary(heap, 0, 0, 0, -1), /n must be an integer/);
  assert.throws(
    () => addon.unary(new Float32Array(4) as never, 0, 0, 0, 1),
    /heap must be an ArrayBuffer/,
  );
});
