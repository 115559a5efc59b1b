/**
 * Causal attention computed a block of queries at a time, with recomputation in the backward
 * pass: softmax(q k^T * scale + bias) v without ever holding B x heads x T x T scores. The forward
 * keeps only q, k, v and the bias; for each block of C queries it forms the block's scores over
 * the keys the block may see (up to its last position: a causal block needs no later key), their
 * softmax and its product with v, and frees them. The backward pass forms each block's
 * probabilities again and takes the gradients from them:
 *   dV += P^T dO,  dP = dO V^T,  dS = P * (dP - rowsum(dP * P)),  dQ = dS K * scale,  dK += dS^T Q * scale.
 * So at most one block's B x heads x C x S scores (and their gradients) exist at a time, where the
 * plain path keeps the scores, the masked scores and the probabilities of every layer.
 *
 * With native kernels the model runs the fused kernel of src/native/attention.ts instead (the same
 * recomputation, without any tfjs tensor per block); this is the path of plain wasm.
 *
 * Grouped-query heads as in the plain path: query head h = j*g + r reads kv head j, so queries are
 * viewed as [B*kv, g*C, hd] against keys [B*kv, S, hd], and no key is copied.
 */
import * as tf from "@tensorflow/tfjs-core";

type CustomGradFn = Parameters<typeof tf.customGrad>[0];

/** The shapes of one attention call, and its blocks of queries. */
interface Plan {
  B: number;
  heads: number;
  kv: number;
  g: number;
  T: number;
  S: number;
  hd: number;
  /** Query blocks [t0, t1) and the keys [0, s1) each may see. */
  blocks: { t0: number; t1: number; s1: number }[];
}

function plan(q: tf.Tensor4D, k: tf.Tensor4D, block: number): Plan {
  const [B, heads, T, hd] = q.shape;
  const [, kv, S] = k.shape;
  const past = S - T;
  const blocks = [];
  for (let t0 = 0; t0 < T; t0 += block) {
    const t1 = Math.min(T, t0 + block);
    blocks.push({ t0, t1, s1: past + t1 });
  }
  return { B, heads, kv, g: heads / kv, T, S, hd, blocks };
}

/**
 * One block's probabilities [B*kv, g*C, s1] and the block's queries and keys in the grouped
 * layout. `bias` is [T, S] or [B, 1, T, S], as the plain path adds it.
 */
function blockProbs(
  p: Plan,
  qg: tf.Tensor4D,
  kk: tf.Tensor3D,
  bias: tf.Tensor,
  scale: number,
  b: Plan["blocks"][number],
): { probs: tf.Tensor3D; qc: tf.Tensor3D; kc: tf.Tensor3D } {
  const C = b.t1 - b.t0;
  const qc = tf.reshape(tf.slice(qg, [0, 0, b.t0, 0], [-1, -1, C, -1]), [
    p.B * p.kv,
    p.g * C,
    p.hd,
  ]);
  const kc = tf.slice(kk, [0, 0, 0], [-1, b.s1, -1]);
  const scores = tf.reshape(tf.mul(tf.matMul(qc, kc, false, true), scale), [p.B, p.heads, C, b.s1]);
  const blockBias =
    bias.rank === 2
      ? tf.slice(bias, [b.t0, 0], [C, b.s1])
      : tf.slice(bias, [0, 0, b.t0, 0], [-1, -1, C, b.s1]);
  const probs = tf.reshape(tf.softmax(tf.add(scores, blockBias)), [p.B * p.kv, p.g * C, b.s1]);
  return { probs: probs as tf.Tensor3D, qc: qc as tf.Tensor3D, kc: kc as tf.Tensor3D };
}

/** dK or dV of a block's keys [0, s1) widened to all S keys. */
function padKeys(d: tf.Tensor3D, S: number): tf.Tensor3D {
  const s1 = d.shape[1];
  return s1 === S
    ? d
    : tf.pad(d, [
        [0, 0],
        [0, S - s1],
        [0, 0],
      ]);
}

/**
 * softmax(q k^T * scale + bias) v, [B, heads, T, hd], for q [B, heads, T, hd], k and v
 * [B, kv, S, hd] (S = past + T) and a causal additive bias [T, S] or [B, 1, T, S]; `block`
 * queries at a time (see the module comment).
 */
export function chunkedAttention(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  bias: tf.Tensor,
  scale: number,
  block: number,
): tf.Tensor4D {
  const p = plan(q, k, block);
  const grouped = (qq: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor) => ({
    qg: tf.reshape(qq, [p.B * p.kv, p.g, p.T, p.hd]) as tf.Tensor4D,
    kk: tf.reshape(kk, [p.B * p.kv, p.S, p.hd]) as tf.Tensor3D,
    vv: tf.reshape(vv, [p.B * p.kv, p.S, p.hd]) as tf.Tensor3D,
  });
  const f = tf.customGrad(((
    qIn: tf.Tensor4D,
    kIn: tf.Tensor4D,
    vIn: tf.Tensor4D,
    save: (t: tf.Tensor[]) => void,
  ) => {
    save([qIn, kIn, vIn, bias]);
    const { qg, kk, vv } = grouped(qIn, kIn, vIn);
    const outs = p.blocks.map((b) =>
      tf.tidy(() => {
        const { probs } = blockProbs(p, qg, kk, bias, scale, b);
        const vc = tf.slice(vv, [0, 0, 0], [-1, b.s1, -1]);
        return tf.reshape(tf.matMul(probs, vc), [p.B, p.heads, b.t1 - b.t0, p.hd]);
      }),
    );
    return {
      value: outs.length === 1 ? outs[0] : tf.concat(outs, 2),
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
        const [qs, ks, vs, biasSaved] = saved;
        const { qg: qgs, kk: kks, vv: vvs } = grouped(qs, ks, vs);
        let dk = tf.zeros([p.B * p.kv, p.S, p.hd]) as tf.Tensor3D;
        let dv = tf.zeros([p.B * p.kv, p.S, p.hd]) as tf.Tensor3D;
        const dqs: tf.Tensor[] = [];
        for (const b of p.blocks) {
          const C = b.t1 - b.t0;
          const [dqc, dkc, dvc] = tf.tidy(() => {
            const { probs, qc, kc } = blockProbs(p, qgs, kks, biasSaved, scale, b);
            const vc = tf.slice(vvs, [0, 0, 0], [-1, b.s1, -1]);
            const dOut = tf.reshape(tf.slice(dy, [0, 0, b.t0, 0], [-1, -1, C, -1]), [
              p.B * p.kv,
              p.g * C,
              p.hd,
            ]);
            const dProbs = tf.matMul(dOut, vc, false, true);
            const rowDot = tf.sum(tf.mul(dProbs, probs), -1, true);
            const dScores = tf.mul(tf.mul(probs, tf.sub(dProbs, rowDot)), scale);
            return [
              tf.reshape(tf.matMul(dScores, kc), [p.B * p.kv, p.g, C, p.hd]),
              tf.matMul(dScores, qc, true, false) as tf.Tensor3D,
              tf.matMul(probs, dOut, true, false) as tf.Tensor3D,
            ];
          });
          dqs.push(dqc);
          const [nk, nv] = [tf.add(dk, padKeys(dkc, p.S)), tf.add(dv, padKeys(dvc, p.S))];
          tf.dispose([dk, dv, dkc, dvc]);
          [dk, dv] = [nk as tf.Tensor3D, nv as tf.Tensor3D];
        }
        const dq = tf.reshape(dqs.length === 1 ? dqs[0] : tf.concat(dqs, 2), [
          p.B,
          p.heads,
          p.T,
          p.hd,
        ]);
        return [dq, tf.reshape(dk, ks.shape), tf.reshape(dv, vs.shape)];
      },
    };
  }) as CustomGradFn);
  return f(q, k, v) as tf.Tensor4D;
}
