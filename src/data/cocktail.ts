/**
 * The cocktail: one training set mixing both tasks. Definition: total = the size of the smaller
 * single-task train set (or a given N); round(mix * total) examples come from CodeSearchNet and the
 * rest from CommitPackFT, each a seeded random sample of that task's train set (all languages
 * pooled); the mixture is then shuffled with the same seed. Evaluation sets are not mixed: they stay
 * per task and per language. A part larger than its train set is cut to what exists, with a warning.
 */
import type { DataWarning, Example } from "./example";
import { rngFor, sampleSubset } from "./sampling";

/** How to mix: `mix` is the fraction from CodeSearchNet (0.5 = 50/50, 0.3 = 30/70); `total` defaults to the smaller train set. */
export interface CocktailOptions {
  mix?: number;
  total?: number;
  seed: number;
}

/** The mixed train set and how it was composed. */
export interface Cocktail {
  train: Example[];
  mix: number;
  total: number;
  counts: { codesearchnet: number; commitpackft: number };
  warnings: DataWarning[];
}

/** Mix the two tasks' train sets at the given ratio (see the module comment for the exact definition). */
export function mixCocktail(
  codesearchnetTrain: readonly Example[],
  commitpackftTrain: readonly Example[],
  opts: CocktailOptions,
): Cocktail {
  const mix = opts.mix ?? 0.5;
  if (!(mix >= 0 && mix <= 1))
    throw new Error(
      `cocktail mix must be a fraction in [0, 1] (share of codesearchnet), got ${mix}`,
    );
  const total = opts.total ?? Math.min(codesearchnetTrain.length, commitpackftTrain.length);
  if (!Number.isInteger(total) || total < 0)
    throw new Error(`cocktail total must be a whole number >= 0, got ${total}`);
  const wanted = {
    codesearchnet: Math.round(mix * total),
    commitpackft: total - Math.round(mix * total),
  };
  const pools = { codesearchnet: codesearchnetTrain, commitpackft: commitpackftTrain };
  const warnings: DataWarning[] = [];
  const parts = (["codesearchnet", "commitpackft"] as const).map((task) => {
    const part = sampleSubset(pools[task], wanted[task], rngFor(opts.seed, `cocktail/${task}`));
    if (part.length < wanted[task])
      warnings.push({
        dataset: task,
        kind: "cocktail_shortfall",
        message: `cocktail: asked for ${wanted[task]} ${task} train examples, only ${part.length} exist; using ${part.length}`,
      });
    return part;
  });
  const train = rngFor(opts.seed, "cocktail/order").shuffle([...parts[0], ...parts[1]]);
  return {
    train,
    mix,
    total,
    counts: { codesearchnet: parts[0].length, commitpackft: parts[1].length },
    warnings,
  };
}
