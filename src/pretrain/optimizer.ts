/**
 * AdamW with two parameter groups, as language-model pretraining sets it up (nanoGPT's
 * `configure_optimizers`, the transformers Trainer's decay / no-decay groups): matrices (the
 * embedding and every projection) are decayed, vectors (the RMSNorm weights) are not. Each group is
 * an optimizer of optimizers.ts; this one splits the gradients between them and presents their
 * states as one, so checkpoints hold a single optimizer state.
 */
import type * as tf from "@tensorflow/tfjs-core";
import { createOptimizer, type Optimizer, type OptimizerState } from "../train/optimizers";

/** AdamW over `params`: weight decay on parameters of rank >= 2 only. */
export function createPretrainOptimizer(
  params: Map<string, tf.Variable>,
  opts: { betas: [number, number]; weightDecay: number },
): Optimizer {
  const decayed = new Map<string, tf.Variable>();
  const plain = new Map<string, tf.Variable>();
  for (const [k, v] of params) (v.rank >= 2 ? decayed : plain).set(k, v);
  const groups: [Map<string, tf.Variable>, Optimizer][] = [
    [
      decayed,
      createOptimizer({ name: "adamw", betas: opts.betas, weightDecay: opts.weightDecay }, decayed),
    ],
    [plain, createOptimizer({ name: "adamw", betas: opts.betas, weightDecay: 0 }, plain)],
  ];
  const split = <T>(entries: Iterable<[string, T]>, what: string): Map<string, T>[] => {
    const out = groups.map(() => new Map<string, T>());
    for (const [k, v] of entries) {
      const g = groups.findIndex(([ps]) => ps.has(k));
      if (g < 0) throw new Error(`optimizer adamw: ${what} for unknown parameter '${k}'`);
      out[g].set(k, v);
    }
    return out;
  };
  return {
    name: "adamw",
    config: groups[0][1].config,
    step(grads, lr) {
      split(grads, "gradient").forEach((g, i) => groups[i][1].step(g, lr));
    },
    state(): OptimizerState {
      const params = Object.assign({}, ...groups.map(([, o]) => o.state().params));
      return { name: "adamw", params };
    },
    load(s) {
      if (s.name !== "adamw")
        throw new Error(`optimizer adamw: cannot load state saved by optimizer '${s.name}'`);
      split(Object.entries(s.params), "state").forEach((ps, i) =>
        groups[i][1].load({ name: "adamw", params: Object.fromEntries(ps) }),
      );
    },
    dispose() {
      for (const [, o] of groups) o.dispose();
    },
  };
}
