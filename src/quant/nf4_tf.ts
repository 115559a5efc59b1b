/**
 * NF4 dequantization in TensorFlow.js, for a frozen NF4 weight rebuilt on every forward pass:
 * one gather of the 16-value table by int32 codes and one broadcast multiply by the block absmax.
 * Codes are best kept as int32 [nBlocks, blocksize] (nf4CodesTensor does this when n is a multiple
 * of blocksize), so the multiply is a plain [nBlocks, blocksize] x [nBlocks, 1] broadcast.
 */
import * as tf from "@tensorflow/tfjs-core";
import { blockCount, validateBlocksize } from "./blockwise";
import { NF4_CODE, unpackNf4Codes } from "./nf4";

/** int32 code tensor of packed NF4 data: [n/blocksize, blocksize] when that divides, else [n]. */
export function nf4CodesTensor(packed: Uint8Array, n: number, blocksize: number): tf.Tensor {
  validateBlocksize(blocksize);
  const codes = Int32Array.from(unpackNf4Codes(packed, n));
  return n % blocksize === 0
    ? tf.tensor2d(codes, [n / blocksize, blocksize], "int32")
    : tf.tensor1d(codes, "int32");
}

/**
 * Float32 weight [rows, cols] = NF4_CODE[codes] * absmax[block]. `codes`: int32, [n] or
 * [n/blocksize, blocksize]; `absmax`: float32 [ceil(n/blocksize)] (dequantized if nested).
 */
export function dequantizeNf4Tensor(
  codes: tf.Tensor,
  absmax: tf.Tensor1D,
  blocksize: number,
  shape: [number, number],
): tf.Tensor2D {
  validateBlocksize(blocksize);
  const n = shape[0] * shape[1];
  const blocks = blockCount(n, blocksize);
  if (codes.dtype !== "int32") throw new Error(`NF4 codes must be int32, got ${codes.dtype}`);
  if (codes.size !== n)
    throw new Error(`NF4 codes hold ${codes.size} values, shape [${shape}] needs ${n}`);
  if (absmax.size !== blocks) {
    throw new Error(
      `NF4 absmax holds ${absmax.size} values, expected ceil(${n}/${blocksize}) = ${blocks}`,
    );
  }
  return tf.tidy(() => {
    const table = tf.tensor1d(NF4_CODE, "float32");
    const full = Math.floor(n / blocksize);
    if (full === blocks) {
      const values = tf.gather(table, tf.reshape(codes, [blocks, blocksize]));
      return tf.reshape(tf.mul(values, tf.reshape(absmax, [blocks, 1])), shape);
    }
    // A partial last block: full blocks as one broadcast, the tail times the last absmax.
    const values = tf.gather(table, tf.reshape(codes, [n]));
    const parts: tf.Tensor[] = [];
    if (full > 0) {
      const head = tf.reshape(tf.slice(values, [0], [full * blocksize]), [full, blocksize]);
      const scales = tf.reshape(tf.slice(absmax, [0], [full]), [full, 1]);
      parts.push(tf.reshape(tf.mul(head, scales), [-1]));
    }
    parts.push(tf.mul(tf.slice(values, [full * blocksize]), tf.slice(absmax, [full], [1])));
    return tf.reshape(tf.concat(parts), shape);
  });
}
