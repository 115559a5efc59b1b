import assert from "node:assert/strict";
import { test } from "node:test";

import {
  Broadcast,
  batchIndex,
  broadcastShapes,
  planBroadcast,
  planMatmul,
  planReduce,
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
