/** Round to a number of decimal digits (for logged figures such as wall times). */
export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
