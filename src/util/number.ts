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

/** A byte count for people: "512 B", "1.5 KiB", "3.2 GiB". */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

/** An integer with comma thousands separators (locale-independent). */
export function groupDigits(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** A mean with its sample sd over n values (sd null when n < 2). */
export interface MeanSd {
  mean: number;
  sd: number | null;
  n: number;
}

/** "mean ± sd (n=k)" (without the count when `withN` is false), or "—" when there is nothing to summarise. */
export function formatSpread(s: MeanSd | null, digits: number, withN = true): string {
  if (s === null) return "—";
  const sd = s.sd === null ? "" : ` ± ${s.sd.toFixed(digits)}`;
  return `${s.mean.toFixed(digits)}${sd}${withN ? ` (n=${s.n})` : ""}`;
}
