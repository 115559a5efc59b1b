/**
 * The float64 reference the native product tests compare with: c = a b (or a b^T) summed in
 * float64 from the definition, and the sum of |a||b| per entry that sets each entry's tolerance.
 */
import assert from "node:assert/strict";

/** c [m, p] = a [m, k] * b, with b [p, k] (`bT`) or [k, p]; and sum |a||b| per entry. */
export function product(
  a: ArrayLike<number>,
  b: Float64Array,
  m: number,
  k: number,
  p: number,
  bT: boolean,
) {
  const value = new Float64Array(m * p);
  const magnitude = new Float64Array(m * p);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < p; j++) {
      let s = 0;
      let t = 0;
      for (let q = 0; q < k; q++) {
        const bv = bT ? b[j * k + q] : b[q * p + j];
        s += a[i * k + q] * bv;
        t += Math.abs(a[i * k + q] * bv);
      }
      value[i * p + j] = s;
      magnitude[i * p + j] = t;
    }
  }
  return { value, magnitude };
}

/** Every entry of `got` within `relative` x sum |a||b| of the reference (see the tests' headers). */
export function assertClose(
  got: ArrayLike<number>,
  ref: ReturnType<typeof product>,
  what: string,
  relative = 1e-5,
) {
  assert.equal(got.length, ref.value.length, `${what}: size`);
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i] - ref.value[i]);
    const tol = relative * ref.magnitude[i] + 1e-30;
    if (!(err <= tol)) {
      assert.fail(
        `${what}: element ${i} is ${got[i]}, reference ${ref.value[i]} (tolerance ${tol})`,
      );
    }
  }
}
