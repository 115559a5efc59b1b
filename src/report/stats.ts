/** Summaries of repeated measurements (seeds) as figures and tables show them: mean, sample sd, extent. */

/** The spread of one quantity over repeats: mean, sample standard deviation (n - 1), mean ± sd. */
export interface Spread {
  mean: number;
  /** Sample standard deviation (divisor n - 1); null with fewer than two values. */
  sd: number | null;
  n: number;
  /** mean - sd and mean + sd (both the mean when sd is null): the error bar's ends. */
  lo: number;
  hi: number;
}

/** Arithmetic mean; errors on an empty list. */
export function mean(values: readonly number[]): number {
  if (values.length === 0) throw new Error("mean of an empty list");
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/** Sample standard deviation (divisor n - 1); null with fewer than two values. */
export function sampleSd(values: readonly number[]): number | null {
  if (values.length < 2) return null;
  const m = mean(values);
  let ss = 0;
  for (const v of values) ss += (v - m) ** 2;
  return Math.sqrt(ss / (values.length - 1));
}

/** Mean, sample sd and the mean ± sd interval of a non-empty list. */
export function spread(values: readonly number[]): Spread {
  const m = mean(values);
  const sd = sampleSd(values);
  return { mean: m, sd, n: values.length, lo: m - (sd ?? 0), hi: m + (sd ?? 0) };
}

/** Group items by a string key, keeping first-seen order of keys and of items within a group. */
export function groupBy<T>(items: Iterable<T>, key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}
