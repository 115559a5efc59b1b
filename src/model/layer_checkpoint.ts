/**
 * Activation checkpointing of one decoder layer (Hugging Face's gradient checkpointing): the
 * forward pass runs the layer without recording it, keeping only its input (and the attention
 * mask and RoPE tables it shares with the other layers); the backward pass runs the layer's
 * forward again on that input, recorded this time, and takes its gradients from there. Peak
 * activation memory is then L layer inputs plus one layer's intermediates, for a second forward
 * of each layer.
 *
 * The recomputation must see what the first forward saw: the same trainable variables (passed to
 * the recorded op as inputs, so that their gradients reach the caller's tape) and the same
 * dropout masks (the layer's random generators are wound back to where they stood before the
 * first forward, and forward again afterwards, so the run draws exactly the numbers it would
 * without checkpointing).
 */
import * as tf from "@tensorflow/tfjs-core";
import { Rng } from "../util/rng";

/** What a layer's recomputation must reproduce besides its input. */
interface LayerState {
  /** Trainable variables the layer holds (norm weights, trainable projections, LoRA factors). */
  variables: tf.Variable[];
  /** Random generators it draws from (LoRA dropout). */
  rngs: Rng[];
}

/** Layer -> projections -> LoRA -> its base -> the base's tensors. */
const MAX_DEPTH = 5;

const states = new WeakMap<object, LayerState>();

/**
 * The variables and random generators a layer holds, found by walking its fields (norms,
 * projections, and what projections wrap: LoRA around a frozen or quantized base). Found once per
 * layer; which variables are trainable is read at each call.
 */
function layerState(layer: object): LayerState {
  const known = states.get(layer);
  if (known) return known;
  const variables: tf.Variable[] = [];
  const rngs: Rng[] = [];
  const seen = new Set<unknown>();
  const walk = (value: unknown, depth: number): void => {
    if (value === null || typeof value !== "object" || seen.has(value)) return;
    seen.add(value);
    if (value instanceof tf.Variable) variables.push(value);
    else if (value instanceof Rng) rngs.push(value);
    else if (value instanceof tf.Tensor || ArrayBuffer.isView(value)) return;
    else if (depth < MAX_DEPTH) for (const v of Object.values(value)) walk(v, depth + 1);
  };
  walk(layer, 0);
  const state = { variables, rngs };
  states.set(layer, state);
  return state;
}

type CustomGradFn = Parameters<typeof tf.customGrad>[0];

/**
 * `run(x, shared)` for one decoder layer, checkpointed (see the module comment). `shared` are
 * tensors the layer reads that outlive it only until the forward pass ends (mask, RoPE tables):
 * kept for the recomputation.
 */
export function checkpointedLayer(
  layer: object,
  x: tf.Tensor2D,
  shared: tf.Tensor[],
  run: (x: tf.Tensor2D, shared: tf.Tensor[]) => tf.Tensor2D,
): tf.Tensor2D {
  const { rngs } = layerState(layer);
  const variables = layerState(layer).variables.filter((v) => v.trainable);
  const drawn = rngs.map((r) => r.state());
  const f = tf.customGrad(((...args: unknown[]) => {
    const save = args[args.length - 1] as (t: tf.Tensor[]) => void;
    save([x, ...shared]);
    return {
      value: run(x, shared),
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [input, ...kept] = saved;
        const after = rngs.map((r) => r.state());
        rngs.forEach((r, k) => r.setState(drawn[k]));
        // A gradient computed inside another's backward pass: the engine forgets the outer tape
        // when the inner one ends, so it is put back (its saved tensors are freed by the outer).
        const engine = tf.engine();
        const outerTape = engine.state.activeTape;
        const { value, grads } = engine.gradients(
          () => run(input as tf.Tensor2D, kept),
          [input, ...variables],
          dy,
          true,
        );
        engine.state.activeTape = outerTape;
        value.dispose();
        rngs.forEach((r, k) => r.setState(after[k]));
        return [input, ...variables].map((t, k) => grads[k] ?? tf.zerosLike(t));
      },
    };
  }) as CustomGradFn);
  return f(x, ...variables) as tf.Tensor2D;
}
