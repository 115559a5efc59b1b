/**
 * Shape planning for the native kernels: pure functions that turn tfjs tensor shapes into the
 * flat [batch, m, n, k] / [rows, cols] / [pre, red, post] views the addon works on, or `null`
 * when a case is not covered (the caller then runs the original wasm kernel).
 */

/** Number of elements of a shape (1 for a scalar). */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** NumPy-style broadcast of two shapes, or null when they are incompatible. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] | null {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return null;
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** `shape` padded with leading 1s to `rank` dimensions. */
function alignTo(shape: readonly number[], rank: number): number[] {
  return [...Array<number>(rank - shape.length).fill(1), ...shape];
}

/**
 * For each output batch index (row-major over `outDims`), the index of the matrix of an operand
 * whose batch dims are `dims` (broadcast to `outDims`); null when that map is the identity.
 */
export function batchIndex(outDims: readonly number[], dims: readonly number[]): Int32Array | null {
  const batch = sizeOf(outDims);
  if (sizeOf(dims) === batch) return null;
  const aligned = alignTo(dims, outDims.length);
  const strides = new Array<number>(aligned.length);
  for (let i = aligned.length - 1, s = 1; i >= 0; i--) {
    strides[i] = aligned[i] === 1 ? 0 : s;
    s *= aligned[i];
  }
  const index = new Int32Array(batch);
  for (let flat = 0; flat < batch; flat++) {
    let rest = flat;
    let src = 0;
    for (let i = outDims.length - 1; i >= 0; i--) {
      src += (rest % outDims[i]) * strides[i];
      rest = Math.floor(rest / outDims[i]);
    }
    index[flat] = src;
  }
  return index;
}

export interface MatmulPlan {
  /** Shape of the result, as tfjs defines it: broadcast batch dims then [m, n]. */
  outShape: number[];
  batch: number;
  m: number;
  n: number;
  k: number;
  /** Matrix of a (b) used by each output batch; null = the same index. */
  aIndex: Int32Array | null;
  bIndex: Int32Array | null;
}

/**
 * Plans op(a) x op(b) for rank >= 2 operands with broadcast batch dims. A batched, untransposed
 * `a` against a single `b` folds into one [batch*m, k] x [k, n] product.
 */
export function planMatmul(
  aShape: readonly number[],
  bShape: readonly number[],
  transposeA: boolean,
  transposeB: boolean,
): MatmulPlan | null {
  const ra = aShape.length;
  const rb = bShape.length;
  if (ra < 2 || rb < 2) return null;
  const k = transposeA ? aShape[ra - 2] : aShape[ra - 1];
  if (k !== (transposeB ? bShape[rb - 1] : bShape[rb - 2])) return null;
  const m = transposeA ? aShape[ra - 1] : aShape[ra - 2];
  const n = transposeB ? bShape[rb - 2] : bShape[rb - 1];
  const aDims = aShape.slice(0, -2);
  const bDims = bShape.slice(0, -2);
  const outDims = broadcastShapes(aDims, bDims);
  if (outDims === null) return null;
  const outShape = [...outDims, m, n];
  const batch = sizeOf(outDims);
  if (sizeOf(bDims) === 1 && !transposeA && sizeOf(aDims) === batch) {
    return { outShape, batch: 1, m: batch * m, n, k, aIndex: null, bIndex: null };
  }
  return {
    outShape,
    batch,
    m,
    n,
    k,
    aIndex: batchIndex(outDims, aDims),
    bIndex: batchIndex(outDims, bDims),
  };
}

/** Layout of the smaller operand of an elementwise op over the full one, seen as [rows, cols]. */
export enum Broadcast {
  Same = 0,
  /** The small operand is one row of `cols` values, repeated for every row. */
  RowVector = 1,
  /** The small operand holds one value per row. */
  ColumnVector = 2,
  Scalar = 3,
}

export interface BroadcastPlan {
  outShape: number[];
  broadcast: Broadcast;
  /** The broadcast (small) operand is `a`, the left one. */
  smallIsLeft: boolean;
  rows: number;
  cols: number;
}

/**
 * Plans a binary elementwise op when one operand has the output's full size and the other is
 * the same shape, a scalar, a trailing block (row vector) or a leading block (column vector).
 */
export function planBroadcast(
  aShape: readonly number[],
  bShape: readonly number[],
): BroadcastPlan | null {
  const outShape = broadcastShapes(aShape, bShape);
  if (outShape === null) return null;
  const size = sizeOf(outShape);
  const aFull = sizeOf(aShape) === size;
  const bFull = sizeOf(bShape) === size;
  if (aFull && bFull) {
    return { outShape, broadcast: Broadcast.Same, smallIsLeft: false, rows: 1, cols: size };
  }
  if (!aFull && !bFull) return null;
  const smallIsLeft = !aFull;
  const small = alignTo(smallIsLeft ? aShape : bShape, outShape.length);
  if (sizeOf(small) === 1) {
    return { outShape, broadcast: Broadcast.Scalar, smallIsLeft, rows: 1, cols: size };
  }
  const first = small.findIndex((d) => d !== 1);
  if (small.every((d, i) => i < first || d === outShape[i])) {
    const cols = sizeOf(outShape.slice(first));
    return { outShape, broadcast: Broadcast.RowVector, smallIsLeft, rows: size / cols, cols };
  }
  let last = small.length - 1;
  while (small[last] === 1) last--;
  if (small.every((d, i) => i > last || d === outShape[i])) {
    const rows = sizeOf(outShape.slice(0, last + 1));
    return { outShape, broadcast: Broadcast.ColumnVector, smallIsLeft, rows, cols: size / rows };
  }
  return null;
}

export interface ReducePlan {
  outShape: number[];
  pre: number;
  red: number;
  post: number;
}

/**
 * Plans a reduction over `axes` (negative allowed; null = all, as in tfjs) when they form one
 * contiguous block: x is then viewed as [pre, red, post] and reduced over the middle. Null for
 * empty axes or an empty reduction.
 */
export function planReduce(
  shape: readonly number[],
  axes: number | readonly number[] | null | undefined,
  keepDims: boolean,
): ReducePlan | null {
  const rank = shape.length;
  const given = axes ?? shape.map((_, i) => i);
  const list = (typeof given === "number" ? [given] : [...given]).map((a) =>
    a < 0 ? a + rank : a,
  );
  const sorted = [...new Set(list)].sort((x, y) => x - y);
  if (sorted.length === 0 || sorted[0] < 0 || sorted[sorted.length - 1] >= rank) return null;
  if (sorted.some((a, i) => a !== sorted[0] + i)) return null;
  const lo = sorted[0];
  const hi = sorted[sorted.length - 1];
  const red = sizeOf(shape.slice(lo, hi + 1));
  if (red === 0) return null;
  const outShape = keepDims
    ? shape.map((d, i) => (i >= lo && i <= hi ? 1 : d))
    : shape.filter((_, i) => i < lo || i > hi);
  return { outShape, pre: sizeOf(shape.slice(0, lo)), red, post: sizeOf(shape.slice(hi + 1)) };
}

/** Row-major strides (in elements) of a contiguous tensor. */
export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  for (let i = shape.length - 1, s = 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/** A box of elements copied from strided source positions to strided destination ones. */
export interface StridedCopy {
  dims: Int32Array;
  srcStrides: Int32Array;
  dstStrides: Int32Array;
}

/**
 * The same copy with size-1 dims dropped and neighbouring dims merged wherever both sides
 * walk them as one (fewer, longer loops for the addon).
 */
export function collapseCopy(
  shape: readonly number[],
  srcStrides: readonly number[],
  dstStrides: readonly number[],
): StridedCopy {
  const dims: number[] = [];
  const src: number[] = [];
  const dst: number[] = [];
  shape.forEach((d, i) => {
    if (d === 1) return;
    const last = dims.length - 1;
    if (last >= 0 && src[last] === srcStrides[i] * d && dst[last] === dstStrides[i] * d) {
      dims[last] *= d;
      src[last] = srcStrides[i];
      dst[last] = dstStrides[i];
    } else {
      dims.push(d);
      src.push(srcStrides[i]);
      dst.push(dstStrides[i]);
    }
  });
  return {
    dims: Int32Array.from(dims),
    srcStrides: Int32Array.from(src),
    dstStrides: Int32Array.from(dst),
  };
}

/** Transpose as a strided copy into a contiguous output of shape perm(shape). */
export function planTranspose(
  shape: readonly number[],
  perm: readonly number[],
): { outShape: number[]; copy: StridedCopy } {
  const outShape = perm.map((p) => shape[p]);
  const inStrides = stridesOf(shape);
  const copy = collapseCopy(
    outShape,
    perm.map((p) => inStrides[p]),
    stridesOf(outShape),
  );
  return { outShape, copy };
}

/**
 * Tile that only repeats axes of size 1 (a broadcast, which is how tf.broadcastTo runs it): the
 * output shape and a copy reading x with stride 0 along those axes; null when an axis of size
 * above 1 repeats or the ranks differ.
 */
export function planBroadcastTile(
  shape: readonly number[],
  reps: readonly number[],
): { outShape: number[]; copy: StridedCopy } | null {
  if (reps.length !== shape.length || reps.some((r, i) => r !== 1 && shape[i] !== 1)) return null;
  const outShape = shape.map((d, i) => d * reps[i]);
  const inStrides = stridesOf(shape).map((s, i) => (shape[i] === 1 ? 0 : s));
  return { outShape, copy: collapseCopy(outShape, inStrides, stridesOf(outShape)) };
}

/** Slice (begin/size already resolved) as a strided copy starting `srcOffset` elements in. */
export function planSlice(
  shape: readonly number[],
  begin: readonly number[],
  size: readonly number[],
): { srcOffset: number; copy: StridedCopy } {
  const strides = stridesOf(shape);
  const srcOffset = begin.reduce((acc, b, i) => acc + b * strides[i], 0);
  return { srcOffset, copy: collapseCopy(size, strides, stridesOf(size)) };
}

/**
 * Concatenation along `axis`: for each input, a strided copy into the output starting
 * `dstOffset` elements in; null when the shapes do not line up.
 */
export function planConcat(
  shapes: readonly (readonly number[])[],
  axis: number,
): { outShape: number[]; parts: { dstOffset: number; copy: StridedCopy }[] } | null {
  const first = shapes[0];
  const rank = first.length;
  if (axis < 0 || axis >= rank) return null;
  for (const s of shapes) {
    if (s.length !== rank || s.some((d, i) => i !== axis && d !== first[i])) return null;
  }
  const outShape = first.slice();
  outShape[axis] = shapes.reduce((acc, s) => acc + s[axis], 0);
  const outStrides = stridesOf(outShape);
  let at = 0;
  const parts = shapes.map((s) => {
    const part = {
      dstOffset: at * outStrides[axis],
      copy: collapseCopy(s, stridesOf(s), outStrides),
    };
    at += s[axis];
    return part;
  });
  return { outShape, parts };
}
