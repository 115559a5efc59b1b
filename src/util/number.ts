/** Numbers from text and for display. */

/** Plain decimal notation only: Number() would also take 0x10, 0b1, Infinity and " 1 ". */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
/** Digits with an optional sign: no point, no exponent. */
const INTEGER = /^[+-]?\d+$/;

/** A decimal number written out in full, or null (hex, "Infinity", "1e", overflow, ...). */
export function parseDecimal(text: string): number | null {
  if (!DECIMAL.test(text)) return null;
  const n = Number(text);
  return Number.isFinite(n) ? n : null;
}

/** A whole number written in decimal digits, or null (1e3, 2.0, 0x10, beyond 2^53, ...). */
export function parseInteger(text: string): number | null {
  if (!INTEGER.test(text)) return null;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : null;
}

/** Round to a number of decimal digits (for logged figures such as wall times). */
export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
