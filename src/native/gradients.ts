/**
 * Gradients of Sum and Mean that broadcast dy with tf.broadcastTo (one native copy) where
 * tfjs multiplies it by a ones tensor of the input's shape that it fills in JavaScript, element
 * by element, on every backward pass (the RMSNorm means alone: 2.4M elements per reference
 * step). The values are bit for bit tfjs's: dy * 1 = dy, and (dy * 1) / n = dy / n.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { GradConfig, NamedAttrMap } from "@tensorflow/tfjs-core";

/** dy reshaped to x's rank (reduced axes kept as 1) and the number of elements each reduced. */
function expand(dy: tf.Tensor, x: tf.Tensor, attrs: NamedAttrMap): [tf.Tensor, number] {
  const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape);
  const shape = x.shape.slice();
  for (const a of axes) shape[a] = 1;
  return [tf.reshape(dy, shape), axes.reduce((n, a) => n * x.shape[a], 1)];
}

const sumGrad: GradConfig = {
  kernelName: "Sum",
  inputsToSave: ["x"],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    return { x: () => tf.broadcastTo(expand(dy as tf.Tensor, x, attrs)[0], x.shape) };
  },
};

const meanGrad: GradConfig = {
  kernelName: "Mean",
  inputsToSave: ["x"],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    return {
      x: () => {
        const [expanded, n] = expand(dy as tf.Tensor, x, attrs);
        return tf.broadcastTo(tf.div(expanded, n), x.shape);
      },
    };
  },
};

/** The gradients registered while native kernels are enabled (tfjs's own restored after). */
export const NATIVE_GRADIENTS: readonly GradConfig[] = [sumGrad, meanGrad];
