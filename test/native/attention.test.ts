/**
 * Fused causal attention (native addon) against attention written here from its definition in
 * float64, softmax(q k^T / sqrt(d) + causal bias + padding bias) v with each query head reading
 * kv head h / (heads / kvHeads), and its gradients by queries, keys and values worked out by
 * hand (and checked by finite differences): within 1e-5 of the largest reference value, with
 * grouped-query heads, padding, lengths that fill no block evenly, earlier positions (a cache)
 * and more keys than one block. Then a training step of a tiny preset with the fused path
 * gives the gradients of the plain path within 1e-5 relative.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";

import * as tf from "@tensorflow/tfjs-core";

import { initBackend } from "../../src/backend/backend";
import { injectLora, loraParameters, setTraining } from "../../src/lora/model";
import { chunkedAttention } from "../../src/model/chunked_attention";
import { initTensors, modelFromTensors } from "../../src/model/checkpoint";
import { presetConfig } from "../../src/model/presets";
import { ATTENTION, ATTENTION_GRAD, fusedAttention } from "../../src/native/attention";
import { disableNativeKernels, enableNativeKernels } from "../../src/native/kernels";
import { IGNORE_INDEX } from "../../src/train/loss";
import { lossAndGradTensors } from "../../src/train/step";
import { Rng } from "../../src/util/rng";

import { nativeSkip as skip } from "./native_skip";

before(async () => {
  await initBackend("wasm");
});

/** One attention problem: q [B, H, T, D], k and v [B, KV, S, D], and dLoss/dOut w like q. */
interface Problem {
  B: number;
  H: number;
  KV: number;
  T: number;
  S: number;
  D: number;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  w: Float32Array;
  /** [B, S] 1 real / 0 padding. */
  mask?: Float32Array;
}

function problem(
  dims: Omit<Problem, "q" | "k" | "v" | "w" | "mask">,
  seed: number,
  padding?: number[],
): Problem {
  const rng = new Rng(seed);
  const { B, H, KV, T, S, D } = dims;
  const normal = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
  const mask = padding
    ? Float32Array.from({ length: B * S }, (_, i) =>
        i % S < S - padding[Math.floor(i / S)] ? 1 : 0,
      )
    : undefined;
  return {
    ...dims,
    q: normal(B * H * T * D),
    k: normal(B * KV * S * D),
    v: normal(B * KV * S * D),
    w: normal(B * H * T * D),
    mask,
  };
}

/**
 * Output, loss sum(out * w) and the gradients of that loss, in float64. With P the softmax
 * of row t: dv_s += P_s w_t, dP_s = w_t . v_s, dS_s = P_s (dP_s - sum_u P_u dP_u),
 * dq_t = scale sum_s dS_s k_s, dk_s += scale dS_s q_t.
 */
function referenceAttention(
  p: Problem,
  q: ArrayLike<number> = p.q,
  k: ArrayLike<number> = p.k,
  v: ArrayLike<number> = p.v,
) {
  const { B, H, KV, T, S, D, w, mask } = p;
  const past = S - T;
  const scale = 1 / Math.sqrt(D);
  const out = new Float64Array(B * H * T * D);
  const dq = new Float64Array(q.length);
  const dk = new Float64Array(k.length);
  const dv = new Float64Array(v.length);
  let loss = 0;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const j = Math.floor(h / (H / KV));
      const qo = (b * H + h) * T * D;
      const ko = (b * KV + j) * S * D;
      for (let t = 0; t < T; t++) {
        const scores = new Float64Array(S);
        for (let s = 0; s < S; s++) {
          let dot = 0;
          for (let c = 0; c < D; c++) dot += q[qo + t * D + c] * k[ko + s * D + c];
          const causal = s > past + t ? -1e9 : 0;
          const pad = mask ? (1 - mask[b * S + s]) * -1e9 : 0;
          scores[s] = dot * scale + causal + pad;
        }
        const m = Math.max(...scores);
        const e = scores.map((x) => Math.exp(x - m));
        const z = e.reduce((a, x) => a + x, 0);
        const probs = e.map((x) => x / z);
        const dp = new Float64Array(S);
        for (let c = 0; c < D; c++) {
          let o = 0;
          for (let s = 0; s < S; s++) o += probs[s] * v[ko + s * D + c];
          out[qo + t * D + c] = o;
          loss += o * w[qo + t * D + c];
        }
        for (let s = 0; s < S; s++) {
          for (let c = 0; c < D; c++) {
            dp[s] += w[qo + t * D + c] * v[ko + s * D + c];
            dv[ko + s * D + c] += probs[s] * w[qo + t * D + c];
          }
        }
        const delta = probs.reduce((a, x, s) => a + x * dp[s], 0);
        for (let s = 0; s < S; s++) {
          const ds = probs[s] * (dp[s] - delta) * scale;
          for (let c = 0; c < D; c++) {
            dq[qo + t * D + c] += ds * k[ko + s * D + c];
            dk[ko + s * D + c] += ds * q[qo + t * D + c];
          }
        }
      }
    }
  }
  return { out, loss, dq, dk, dv };
}

/** max |got - want| / max |want|. */
function maxRelative(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let [diff, scale] = [0, 0];
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]));
    diff = Math.max(diff, Math.abs(got[i] - want[i]));
  }
  assert.ok(scale > 0, "the reference is all zero");
  return diff / scale;
}

/** The fused kernel's output and gradients of sum(out * w) by q, k, v. */
function fused(p: Problem) {
  return tf.tidy(() => {
    const q = tf.tensor4d(p.q, [p.B, p.H, p.T, p.D]);
    const k = tf.tensor4d(p.k, [p.B, p.KV, p.S, p.D]);
    const v = tf.tensor4d(p.v, [p.B, p.KV, p.S, p.D]);
    const w = tf.tensor4d(p.w, [p.B, p.H, p.T, p.D]);
    const mask = p.mask ? tf.tensor2d(p.mask, [p.B, p.S]) : undefined;
    const attend = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
      const out = fusedAttention(
        a as tf.Tensor4D,
        b as tf.Tensor4D,
        c as tf.Tensor4D,
        mask,
        1 / Math.sqrt(p.D),
      );
      assert.ok(out !== null, "the fused kernels are not registered");
      return out;
    };
    const { grads } = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
      tf.sum(tf.mul(attend(a, b, c), w)),
    )([q, k, v]);
    return {
      out: attend(q, k, v).dataSync(),
      dq: grads[0].dataSync(),
      dk: grads[1].dataSync(),
      dv: grads[2].dataSync(),
    };
  });
}

const CASES: { name: string; p: Problem }[] = [
  {
    name: "batch 2, 4 heads on 2 kv heads, 7 positions, the second row's last 2 padding",
    p: problem({ B: 2, H: 4, KV: 2, T: 7, S: 7, D: 8 }, 1, [0, 2]),
  },
  {
    name: "4 heads on 1 kv head, 13 positions, no padding",
    p: problem({ B: 1, H: 4, KV: 1, T: 13, S: 13, D: 16 }, 2),
  },
  {
    name: "5 new positions after 4 earlier ones (a cache), padding",
    p: problem({ B: 2, H: 2, KV: 2, T: 5, S: 9, D: 8 }, 3, [3, 0]),
  },
  {
    name: "150 positions (several query and key blocks), 2 heads on 1 kv head, padding",
    p: problem({ B: 2, H: 2, KV: 1, T: 150, S: 150, D: 16 }, 4, [0, 37]),
  },
];

test("the float64 reference's gradients match its finite differences", () => {
  const p = CASES[0].p;
  const ref = referenceAttention(p);
  const rng = new Rng(11);
  const eps = 1e-6;
  for (const [name, x, grad] of [
    ["q", p.q, ref.dq],
    ["k", p.k, ref.dk],
    ["v", p.v, ref.dv],
  ] as const) {
    for (let n = 0; n < 6; n++) {
      const i = rng.int(x.length);
      const shifted = (by: number) => {
        const y = Float64Array.from(x);
        y[i] += by;
        return y;
      };
      const args = (y: Float64Array) =>
        name === "q" ? [y, p.k, p.v] : name === "k" ? [p.q, y, p.v] : [p.q, p.k, y];
      const [up, down] = [shifted(eps), shifted(-eps)].map((y) => {
        const [a, b, c] = args(y);
        return referenceAttention(p, a, b, c).loss;
      });
      const numeric = (up - down) / (2 * eps);
      assert.ok(
        Math.abs(numeric - grad[i]) <= 1e-6 * Math.max(1, Math.abs(grad[i])),
        `d${name}[${i}]: analytic ${grad[i]}, numeric ${numeric}`,
      );
    }
  }
});

for (const { name, p } of CASES) {
  test(`${name}: output, dq, dk, dv equal the float64 definition (1e-5)`, { skip }, () => {
    enableNativeKernels();
    const ref = referenceAttention(p);
    const got = fused(p);
    for (const [what, g, r] of [
      ["output", got.out, ref.out],
      ["dq", got.dq, ref.dq],
      ["dk", got.dk, ref.dk],
      ["dv", got.dv, ref.dv],
    ] as const) {
      const rel = maxRelative(g, r);
      assert.ok(rel <= 1e-5, `${what}: max |fused - reference| / max |reference| = ${rel}`);
    }
  });
}

test(
  "rows whose visible keys are all padding (left padding) weigh the keys as the model's float32 softmax does",
  { skip },
  () => {
    enableNativeKernels();
    // Row 0's first 4 keys are padding: its first 4 queries see no real key. In float32 every
    // score there rounds to -1e9 (or -2e9), so the plain softmax spreads them evenly over the
    // keys with the least bias, later real keys included (past the first block of queries);
    // float64 would not, so the reference here is the tfjs path with the model's own bias (the
    // chunked path in one block).
    const p = problem({ B: 2, H: 2, KV: 1, T: 80, S: 80, D: 8 }, 5);
    p.mask = Float32Array.from({ length: 2 * 80 }, (_, i) => (i < 4 ? 0 : 1));
    const plain = tf.tidy(() => {
      const t = (x: Float32Array, heads: number) => tf.tensor4d(x, [p.B, heads, p.T, p.D]);
      const causal = tf.tensor2d(
        Array.from({ length: p.T * p.S }, (_, i) => (i % p.S > Math.floor(i / p.S) ? -1e9 : 0)),
        [p.T, p.S],
      );
      const keyBias = tf.mul(tf.sub(1, tf.tensor2d(p.mask!, [p.B, p.S])), -1e9);
      const bias = tf.add(causal, tf.reshape(keyBias, [p.B, 1, 1, p.S]));
      const w = t(p.w, p.H);
      const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
        chunkedAttention(
          a as tf.Tensor4D,
          b as tf.Tensor4D,
          c as tf.Tensor4D,
          bias,
          1 / Math.sqrt(p.D),
          p.T,
        );
      const args = [t(p.q, p.H), t(p.k, p.KV), t(p.v, p.KV)];
      const { grads } = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
        tf.sum(tf.mul(f(a, b, c), w)),
      )(args);
      const [a, b, c] = args;
      return [f(a, b, c), ...grads].map((x) => x.dataSync());
    });
    const got = fused(p);
    [got.out, got.dq, got.dk, got.dv].forEach((g, i) => {
      const rel = maxRelative(g, plain[i]);
      assert.ok(rel <= 1e-5, `${["output", "dq", "dk", "dv"][i]}: ${rel}`);
    });
  },
);

test("forward and backward through the fused attention leak no tensors", { skip }, () => {
  enableNativeKernels();
  const p = CASES[0].p;
  fused(p); // first use compiles nothing, but allocates the heap it needs
  const before = tf.memory().numTensors;
  fused(p);
  assert.equal(tf.memory().numTensors, before);
});

test(
  "operands of the wrong shape are refused, naming the kernel and what was expected",
  { skip },
  () => {
    enableNativeKernels();
    const q = tf.zeros([1, 4, 3, 8]) as tf.Tensor4D;
    const k = tf.zeros([1, 3, 3, 8]) as tf.Tensor4D;
    const mask = tf.ones([1, 5]) as tf.Tensor2D;
    assert.throws(
      () => fusedAttention(q, k, k, undefined, 1),
      new RegExp(`${ATTENTION}: k and v must be \\[1, kvHeads dividing 4`),
    );
    const kk = tf.zeros([1, 2, 3, 8]) as tf.Tensor4D;
    assert.throws(
      () => fusedAttention(q, kk, kk, mask, 1),
      /padding mask must be float32 \[1, 3\], got float32 \[1,5\]/,
    );
    assert.throws(
      () => tf.engine().runKernel(ATTENTION, { q, k: kk, v: kk }, {}),
      new RegExp(`${ATTENTION}: scale must be a finite number`),
    );
    tf.dispose([q, k, kk, mask]);
  },
);

test("without the fused kernels registered the model keeps its own path (null)", () => {
  disableNativeKernels();
  const q = tf.zeros([1, 2, 3, 4]) as tf.Tensor4D;
  const k = tf.zeros([1, 1, 3, 4]) as tf.Tensor4D;
  assert.equal(fusedAttention(q, k, k, undefined, 0.5), null);
  tf.dispose([q, k]);
});

test(
  "a training step of narrator-2m (NF4 + LoRA, padded batch) gives the plain path's gradients with fused attention (1e-5 relative)",
  { skip },
  async () => {
    const config = presetConfig("narrator-2m");
    const model = modelFromTensors(config, initTensors(config, 5), { quant: "nf4" }, "test");
    const lm = injectLora(model, { r: 8, lora_alpha: 16 }, 5);
    setTraining(lm, false);
    const params = loraParameters(lm);
    const rng = new Rng(21);
    // PEFT starts B at zero, which would leave A without gradient: give B values.
    for (const v of params.values()) {
      tf.tidy(() => v.assign(tf.randomUniform(v.shape, -0.1, 0.1, "float32", rng.int(1e9))));
    }
    // Rows: full, right-padded (as batches are), left-padded (rows whose keys are all padding).
    const [batch, seqLen] = [3, 21];
    const real = (b: number, t: number) => (b === 1 ? t < 14 : b === 2 ? t >= 6 : true);
    const ids = Int32Array.from({ length: batch * seqLen }, () => rng.int(config.vocab_size));
    const attentionMask = Float32Array.from({ length: batch * seqLen }, (_, i) =>
      real(Math.floor(i / seqLen), i % seqLen) ? 1 : 0,
    );
    const labels = Int32Array.from({ length: batch * seqLen }, (_, i) => {
      const [b, t] = [Math.floor(i / seqLen), i % seqLen];
      return t + 1 < seqLen && real(b, t) && real(b, t + 1) ? ids[i + 1] : IGNORE_INDEX;
    });
    const tokens = { ids, labels, attentionMask, batch, seqLen };
    const step = (gradientCheckpointing = false) => {
      const r = lossAndGradTensors(model, params, tokens, { gradientCheckpointing });
      const grads = new Map([...r.grads].map(([n, g]) => [n, g.dataSync() as Float32Array]));
      tf.dispose([r.loss, ...r.grads.values()]);
      return grads;
    };
    disableNativeKernels();
    enableNativeKernels({ exclude: [ATTENTION, ATTENTION_GRAD] });
    const plain = step();
    disableNativeKernels();
    enableNativeKernels();
    for (const checkpointing of [false, true]) {
      let got = new Map<string, Float32Array>();
      const { kernelNames } = await tf.profile(() => {
        got = step(checkpointing);
      });
      assert.ok(kernelNames.includes(ATTENTION) && kernelNames.includes(ATTENTION_GRAD));
      for (const [name, want] of plain) {
        const rel = maxRelative(got.get(name)!, want);
        assert.ok(rel <= 1e-5, `${name}${checkpointing ? " (checkpointed)" : ""}: ${rel}`);
      }
    }
    model.dispose();
    tf.dispose([...params.values()]);
  },
);
