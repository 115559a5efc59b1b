/** Seeded splitting and sampling: stratified splits, balanced per-language subsets. Same seed, same result. */
import type { DataWarning, Example, Split, Task } from "./example";
import { SPLITS } from "./example";
import type { Lang } from "./langs";
import { Rng } from "../util/rng";

/**
 * A generator for one named purpose ("split/commitpackft/go"), derived from the seed and the label
 * only, so that adding a language or a task does not change the draws of another.
 */
export function rngFor(seed: number, label: string): Rng {
  let h = 0x811c9dc5; // FNV-1a of the label
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0;
  return new Rng((h ^ Math.imul(seed >>> 0, 0x9e3779b1)) >>> 0);
}

/** Sizes of a train/val/test split of n items: boundaries at round(n*r0) and round(n*(r0+r1)). */
export function splitCounts(
  n: number,
  ratios: readonly [number, number, number],
): [number, number, number] {
  const sum = ratios[0] + ratios[1] + ratios[2];
  if (ratios.some((r) => r < 0) || Math.abs(sum - 1) > 1e-9)
    throw new Error(`split ratios must be >= 0 and sum to 1, got ${ratios.join("/")}`);
  const a = Math.round(n * ratios[0]);
  const b = Math.round(n * (ratios[0] + ratios[1]));
  return [a, b - a, n - b];
}

/** Shuffle the items with rng and cut them into train/val/test by the ratios. */
export function randomSplit<T>(
  items: readonly T[],
  ratios: readonly [number, number, number],
  rng: Rng,
): Record<Split, T[]> {
  const shuffled = rng.shuffle(items);
  const [a, b] = splitCounts(items.length, ratios);
  return {
    train: shuffled.slice(0, a),
    val: shuffled.slice(a, a + b),
    test: shuffled.slice(a + b),
  };
}

/** Requested subset sizes per language: [train, val, test]. The study's: 2,100 / 300 / 600. */
export type SubsetSizes = readonly [number, number, number];
export const STUDY_SUBSET_SIZES: SubsetSizes = [2100, 300, 600];

/** How many examples of one split and language were available, asked for and taken. */
export interface SplitSize {
  dataset: Task;
  language: Lang;
  split: Split;
  available: number;
  requested: number;
  selected: number;
}

/**
 * A seeded random subset of at most n items without repetition. When fewer exist, all are taken
 * (in shuffled order) and the caller reports the shortfall; rows are never duplicated to fill.
 */
export function sampleSubset<T>(items: readonly T[], n: number, rng: Rng): T[] {
  return rng.shuffle(items).slice(0, Math.max(0, n));
}

/** Compact, balanced subsets of one dataset and language: n per split, with shortfall warnings. */
export function balancedSubset(
  dataset: Task,
  language: Lang,
  pools: Record<Split, Example[]>,
  sizes: SubsetSizes,
  seed: number,
): { examples: Record<Split, Example[]>; sizes: SplitSize[]; warnings: DataWarning[] } {
  const examples = { train: [], val: [], test: [] } as Record<Split, Example[]>;
  const sizeRecords: SplitSize[] = [];
  const warnings: DataWarning[] = [];
  SPLITS.forEach((split, k) => {
    const requested = sizes[k];
    const pool = pools[split];
    examples[split] = sampleSubset(
      pool,
      requested,
      rngFor(seed, `subset/${dataset}/${language}/${split}`),
    );
    sizeRecords.push({
      dataset,
      language,
      split,
      available: pool.length,
      requested,
      selected: examples[split].length,
    });
    if (pool.length < requested)
      warnings.push({
        dataset,
        language,
        split,
        kind: "subset_shortfall",
        message: `${dataset}/${language}/${split}: asked for ${requested} examples, only ${pool.length} remain after filtering; using ${pool.length}`,
      });
  });
  return { examples, sizes: sizeRecords, warnings };
}
