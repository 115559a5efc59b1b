import assert from "node:assert/strict";
import { test } from "node:test";

import {
  Broadcast,
  batchIndex,
  broadcastShapes,
  collapseCopy,
  planBroadcast,
  planBroadcastTile,
  planConcat,
  planMatmul,
  planReduce,
  planSlice,
  planTranspose,
  stridesOf,
} from "../../src/native/shapes";

test("broadcastShapes follows NumPy rules", () => {
  assert.deepEqual(broadcastShapes([2, 1, 3], [4, 1]), [2, 4, 3]);
  assert.deepEqual(broadcastShapes([], [5]), [5]);
  assert.equal(broadcastShapes([2, 3], [4, 3]), null);
});

test("batchIndex maps output batches to operand matrices", () => {
  // out [2,3]; a [2,1]: batches (0,0),(0,1),(0,2),(1,0),(1,1),(1,2) -> a's 0,0,0,1,1,1
  assert.deepEqual([...batchIndex([2, 3], [2, 1])!], [0, 0, 0, 1, 1, 1]);
  // b [3] (aligned [1,3]): -> 0,1,2,0,1,2
  assert.deepEqual([...batchIndex([2, 3], [3])!], [0, 1, 2, 0, 1, 2]);
  // a single matrix serves every batch
  assert.deepEqual([...batchIndex([2, 3], [])!], [0, 0, 0, 0, 0, 0]);
  assert.equal(batchIndex([2, 3], [2, 3]), null);
});

test("planMatmul: 2-D, transposes and inner-dimension mismatch", () => {
  assert.deepEqual(planMatmul([7, 33], [33, 65], false, false), {
    outShape: [7, 65],
    batch: 1,
    m: 7,
    n: 65,
    k: 33,
    aIndex: null,
    bIndex: null,
  });
  const t = planMatmul([33, 7], [65, 33], true, true)!;
  assert.deepEqual([t.m, t.n, t.k], [7, 65, 33]);
  assert.equal(planMatmul([7, 33], [32, 65], false, false), null);
  assert.equal(planMatmul([33], [33, 65], false, false), null);
});

test("planMatmul folds a batched a against one b into a single product", () => {
  const p = planMatmul([4, 7, 33], [1, 33, 65], false, false)!;
  assert.deepEqual(p.outShape, [4, 7, 65]);
  assert.deepEqual([p.batch, p.m, p.n, p.k], [1, 28, 65, 33]);
  // transposeA keeps the batch: a's matrices are [33,7] column blocks that cannot be stacked
  const q = planMatmul([4, 33, 7], [33, 65], true, false)!;
  assert.deepEqual([q.batch, q.m], [4, 7]);
  assert.equal(q.aIndex, null);
  assert.deepEqual([...q.bIndex!], [0, 0, 0, 0]);
});

test("planMatmul broadcasts batch dims both ways", () => {
  const p = planMatmul([2, 1, 7, 33], [3, 33, 65], false, false)!;
  assert.deepEqual(p.outShape, [2, 3, 7, 65]);
  assert.deepEqual([...p.aIndex!], [0, 0, 0, 1, 1, 1]);
  assert.deepEqual([...p.bIndex!], [0, 1, 2, 0, 1, 2]);
  assert.equal(planMatmul([2, 7, 33], [3, 33, 65], false, false), null);
});

test("planBroadcast recognises same shape, scalar, row and column vectors", () => {
  assert.deepEqual(planBroadcast([4, 5], [1, 4, 5]), {
    outShape: [1, 4, 5],
    broadcast: Broadcast.Same,
    smallIsLeft: false,
    rows: 1,
    cols: 20,
  });
  assert.deepEqual(planBroadcast([], [4, 5]), {
    outShape: [4, 5],
    broadcast: Broadcast.Scalar,
    smallIsLeft: true,
    rows: 1,
    cols: 20,
  });
  // [3,4,5] * [4,5]: the small operand repeats every 20 values, 3 times
  assert.deepEqual(planBroadcast([3, 4, 5], [4, 5]), {
    outShape: [3, 4, 5],
    broadcast: Broadcast.RowVector,
    smallIsLeft: false,
    rows: 3,
    cols: 20,
  });
  // [3,4,1] - [3,4,5]: one value of a per run of 5 values of b
  assert.deepEqual(planBroadcast([3, 4, 1], [3, 4, 5]), {
    outShape: [3, 4, 5],
    broadcast: Broadcast.ColumnVector,
    smallIsLeft: true,
    rows: 12,
    cols: 5,
  });
  assert.equal(planBroadcast([3, 4, 5], [1, 4, 1]), null, "middle broadcast is not covered");
  assert.equal(planBroadcast([3, 1], [1, 5]), null, "both sides broadcast");
});

test("planReduce views a contiguous block of axes as [pre, red, post]", () => {
  assert.deepEqual(planReduce([4, 7, 33], -1, false), {
    outShape: [4, 7],
    pre: 28,
    red: 33,
    post: 1,
  });
  assert.deepEqual(planReduce([4, 7, 33], [1], true), {
    outShape: [4, 1, 33],
    pre: 4,
    red: 7,
    post: 33,
  });
  assert.deepEqual(planReduce([4, 7, 33], [1, 0], false), {
    outShape: [33],
    pre: 1,
    red: 28,
    post: 33,
  });
  assert.deepEqual(planReduce([4, 7], null, false), { outShape: [], pre: 1, red: 28, post: 1 });
  assert.equal(planReduce([4, 7, 33], [0, 2], false), null, "non-contiguous axes");
  assert.equal(planReduce([4, 0, 3], [1], false), null, "empty reduction");
  assert.equal(planReduce([4, 7], [], false), null);
});

/** A strided copy as plain arrays, for comparing with hand-worked values. */
function plain(c: { dims: Int32Array; srcStrides: Int32Array; dstStrides: Int32Array }) {
  return { dims: [...c.dims], src: [...c.srcStrides], dst: [...c.dstStrides] };
}

test("stridesOf and collapseCopy merge dims that both sides walk as one", () => {
  assert.deepEqual(stridesOf([2, 3, 4]), [12, 4, 1]);
  // a contiguous copy of [2,3,4] is one run of 24
  assert.deepEqual(plain(collapseCopy([2, 3, 4], [12, 4, 1], [12, 4, 1])), {
    dims: [24],
    src: [1],
    dst: [1],
  });
  // size-1 dims vanish; a transposed pair stays apart
  assert.deepEqual(plain(collapseCopy([1, 3, 1, 4], [12, 1, 12, 3], [12, 4, 4, 1])), {
    dims: [3, 4],
    src: [1, 3],
    dst: [4, 1],
  });
});

test("planTranspose: heads swap keeps 64-float runs, a 2-D transpose is one transposed pair", () => {
  // [8,128,4,64] -> [8,4,128,64]: runs of 64 contiguous on both sides
  const heads = planTranspose([8, 128, 4, 64], [0, 2, 1, 3]);
  assert.deepEqual(heads.outShape, [8, 4, 128, 64]);
  assert.deepEqual(plain(heads.copy), {
    dims: [8, 4, 128, 64],
    src: [32768, 64, 256, 1],
    dst: [32768, 8192, 64, 1],
  });
  const t = planTranspose([1024, 256], [1, 0]);
  assert.deepEqual(t.outShape, [256, 1024]);
  assert.deepEqual(plain(t.copy), { dims: [256, 1024], src: [1, 256], dst: [1024, 1] });
});

test("planSlice starts at the flat offset of `begin` and walks the box", () => {
  // x [4,7,33], begin [1,2,5], size [2,3,10]: offset 1*231 + 2*33 + 5 = 302
  const p = planSlice([4, 7, 33], [1, 2, 5], [2, 3, 10]);
  assert.equal(p.srcOffset, 302);
  assert.deepEqual(plain(p.copy), { dims: [2, 3, 10], src: [231, 33, 1], dst: [30, 10, 1] });
  // whole rows of [4,7,33] are one contiguous run
  assert.deepEqual(plain(planSlice([4, 7, 33], [1, 0, 0], [2, 7, 33]).copy), {
    dims: [462],
    src: [1],
    dst: [1],
  });
});

test("planBroadcastTile reads repeated size-1 axes with stride 0; other repeats are not its case", () => {
  // a column [3,1] repeated 4 times along axis 1: out [3,4], element (i,j) reads x[i]
  const col = planBroadcastTile([3, 1], [1, 4])!;
  assert.deepEqual(col.outShape, [3, 4]);
  assert.deepEqual(plain(col.copy), { dims: [3, 4], src: [1, 0], dst: [4, 1] });
  // [1,1] -> [2,3]: both axes read the one value, merged into one run of 6
  assert.deepEqual(plain(planBroadcastTile([1, 1], [2, 3])!.copy), {
    dims: [6],
    src: [0],
    dst: [1],
  });
  // [1,5] repeated twice along axis 0: rows copied, src restarting at 0
  assert.deepEqual(plain(planBroadcastTile([1, 5], [2, 1])!.copy), {
    dims: [2, 5],
    src: [0, 1],
    dst: [5, 1],
  });
  assert.equal(planBroadcastTile([2, 3], [2, 1]), null, "axis of size 2 repeated");
  assert.equal(planBroadcastTile([2, 3], [1]), null, "rank mismatch");
});

test("planConcat places each input at its offset along the axis", () => {
  // [2,3] ++ [2,5] on axis 1 -> [2,8]; the second input starts at column 3
  const p = planConcat(
    [
      [2, 3],
      [2, 5],
    ],
    1,
  )!;
  assert.deepEqual(p.outShape, [2, 8]);
  assert.deepEqual(
    p.parts.map((q) => ({ at: q.dstOffset, ...plain(q.copy) })),
    [
      { at: 0, dims: [2, 3], src: [3, 1], dst: [8, 1] },
      { at: 3, dims: [2, 5], src: [5, 1], dst: [8, 1] },
    ],
  );
  assert.equal(
    planConcat(
      [
        [2, 3],
        [3, 3],
      ],
      1,
    ),
    null,
  );
});
