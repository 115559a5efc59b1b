#include "attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "blas.h"
#include "pool.h"
#include "simd.h"

namespace narrator {
namespace {

// Queries and keys per block: one block of scores (and, backward, of their gradients) per thread.
constexpr size_t kQueryBlock = 64;
constexpr size_t kKeyBlock = 128;
// The model's additive bias on a key a query may not see.
constexpr float kMasked = -1e9f;
constexpr size_t kLanes = 16;  // independent accumulators in row reductions

// max(m, row[0..n)).
NARRATOR_CLONES float row_max(const float* row, size_t n, float m) {
  float lanes[kLanes];
  std::fill(lanes, lanes + kLanes, m);
  size_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    for (size_t l = 0; l < kLanes; ++l) lanes[l] = std::max(lanes[l], row[j + l]);
  }
  for (; j < n; ++j) m = std::max(m, row[j]);
  for (size_t l = 0; l < kLanes; ++l) m = std::max(m, lanes[l]);
  return m;
}

// row[j] = exp((row[j] - shift) - log_scale); returns their sum.
NARRATOR_CLONES float exp_shifted(float* row, size_t n, float shift, float log_scale) {
  for (size_t j = 0; j < n; ++j) row[j] = exp_f32((row[j] - shift) - log_scale);
  float lanes[kLanes] = {};
  size_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    for (size_t l = 0; l < kLanes; ++l) lanes[l] += row[j + l];
  }
  float sum = 0;
  for (; j < n; ++j) sum += row[j];
  for (size_t l = 0; l < kLanes; ++l) sum += lanes[l];
  return sum;
}

// ds[j] = p[j] * (ds[j] - delta) * scale: the softmax backward of one row, dP in ds.
NARRATOR_CLONES void softmax_grad_row(const float* p, float* ds, size_t n, float delta,
                                      float scale) {
  for (size_t j = 0; j < n; ++j) ds[j] = p[j] * (ds[j] - delta) * scale;
}

// Per batch row: the padding bias of each key ((1 - mask) * -1e9, as the model computes it) and
// the first key without bias. No mask: no bias, every key open.
struct KeyBias {
  std::vector<float> bias;  // [batch, s], empty without a mask
  std::vector<size_t> first_open;
};

KeyBias key_bias(const AttentionShape& p, const float* mask) {
  KeyBias kb;
  kb.first_open.assign(p.batch, 0);
  if (mask == nullptr) return kb;
  kb.bias.resize(p.batch * p.s_len);
  for (size_t b = 0; b < p.batch; ++b) {
    size_t first = p.s_len;
    for (size_t s = 0; s < p.s_len; ++s) {
      const float v = (1.0f - mask[b * p.s_len + s]) * kMasked;
      kb.bias[b * p.s_len + s] = v;
      if (v == 0.0f && first == p.s_len) first = s;
    }
    kb.first_open[b] = first;
  }
  return kb;
}

// The keys [0, end) that queries [t0, t1) read. Up to the block's last position: a later key's
// bias makes its weight exactly 0 in float32 for any row that sees an open key. A row that sees
// none (all its visible keys are padding) weighs every key by its bias, as the plain softmax
// does, so such a block reads them all.
size_t key_end(const AttentionShape& p, size_t first_open, size_t t0, size_t t1) {
  const size_t past = p.s_len - p.t_len;
  return first_open <= past + t0 ? past + t1 : p.s_len;
}

// scores [rows, n] = scale * q[t0 + i] . k[s0 + j] + causal bias + padding bias.
void block_scores(const AttentionShape& p, const float* q, const float* k, const float* kbias,
                  size_t t0, size_t rows, size_t s0, size_t n, float* scores) {
  const size_t d = p.head_dim;
  sgemm(false, true, static_cast<int>(rows), static_cast<int>(n), static_cast<int>(d), p.scale,
        q + t0 * d, static_cast<int>(d), k + s0 * d, static_cast<int>(d), 0.0f, scores,
        static_cast<int>(n));
  const size_t past = p.s_len - p.t_len;
  if (kbias == nullptr && s0 + n <= past + t0 + 1) return;  // below the diagonal: no bias
  for (size_t i = 0; i < rows; ++i) {
    const size_t last = past + t0 + i;  // the last key query t0 + i may see
    float* row = scores + i * n;
    for (size_t j = 0; j < n; ++j) {
      const size_t s = s0 + j;
      float bias = s > last ? kMasked : 0.0f;
      if (kbias != nullptr) bias += kbias[s];
      row[j] += bias;
    }
  }
}

// The pointers of one (batch, query head) pair and of the kv head it reads.
struct Head {
  const float *q, *k, *v, *kbias;
  size_t first_open;
};

Head head_of(const AttentionShape& p, const KeyBias& kb, const float* q, const float* k,
             const float* v, size_t b, size_t h) {
  const size_t kvh = h / (p.heads / p.kv_heads);
  const size_t d = p.head_dim;
  return {q + (b * p.heads + h) * p.t_len * d, k + (b * p.kv_heads + kvh) * p.s_len * d,
          v + (b * p.kv_heads + kvh) * p.s_len * d,
          kb.bias.empty() ? nullptr : kb.bias.data() + b * p.s_len, kb.first_open[b]};
}

// One query head: out [t, d] and stats [t, 2] by online softmax over key blocks.
void forward_head(const AttentionShape& p, const Head& x, float* out, float* stats) {
  const size_t d = p.head_dim;
  std::vector<float> scores(kQueryBlock * kKeyBlock), acc(kQueryBlock * d);
  std::vector<float> running_max(kQueryBlock);
  std::vector<double> running_sum(kQueryBlock);
  for (size_t t0 = 0; t0 < p.t_len; t0 += kQueryBlock) {
    const size_t rows = std::min(kQueryBlock, p.t_len - t0);
    const size_t end = key_end(p, x.first_open, t0, t0 + rows);
    std::fill(acc.begin(), acc.end(), 0.0f);
    std::fill(running_max.begin(), running_max.end(), -std::numeric_limits<float>::infinity());
    std::fill(running_sum.begin(), running_sum.end(), 0.0);
    for (size_t s0 = 0; s0 < end; s0 += kKeyBlock) {
      const size_t n = std::min(kKeyBlock, end - s0);
      block_scores(p, x.q, x.k, x.kbias, t0, rows, s0, n, scores.data());
      for (size_t i = 0; i < rows; ++i) {
        float* row = scores.data() + i * n;
        const float m = row_max(row, n, running_max[i]);
        // Rescale what earlier blocks summed to the new max (0 on the first block: max -inf).
        const float rescale = std::exp(running_max[i] - m);
        running_sum[i] = running_sum[i] * rescale + exp_shifted(row, n, m, 0.0f);
        if (rescale != 1.0f) {
          for (size_t c = 0; c < d; ++c) acc[i * d + c] *= rescale;
        }
        running_max[i] = m;
      }
      sgemm(false, false, static_cast<int>(rows), static_cast<int>(d), static_cast<int>(n), 1.0f,
            scores.data(), static_cast<int>(n), x.v + s0 * d, static_cast<int>(d), 1.0f,
            acc.data(), static_cast<int>(d));
    }
    for (size_t i = 0; i < rows; ++i) {
      for (size_t c = 0; c < d; ++c) {
        out[(t0 + i) * d + c] = static_cast<float>(acc[i * d + c] / running_sum[i]);
      }
      stats[2 * (t0 + i)] = running_max[i];
      stats[2 * (t0 + i) + 1] = static_cast<float>(std::log(running_sum[i]));
    }
  }
}

// One query head's share of the backward: dq [t, d] written, dk and dv [s, d] of its kv head
// accumulated. P = exp((score - max) - log sum), dP = dout v^T,
// dS = P * (dP - rowsum(dout * out)) * scale.
void backward_head(const AttentionShape& p, const Head& x, const float* out, const float* stats,
                   const float* dout, float* dq, float* dk, float* dv) {
  const size_t d = p.head_dim;
  const int di = static_cast<int>(d);
  std::vector<float> probs(kQueryBlock * kKeyBlock), dscores(kQueryBlock * kKeyBlock);
  std::vector<float> delta(kQueryBlock);
  std::fill(dq, dq + p.t_len * d, 0.0f);
  for (size_t t0 = 0; t0 < p.t_len; t0 += kQueryBlock) {
    const size_t rows = std::min(kQueryBlock, p.t_len - t0);
    const size_t end = key_end(p, x.first_open, t0, t0 + rows);
    const int ri = static_cast<int>(rows);
    for (size_t i = 0; i < rows; ++i) {
      const float *o = out + (t0 + i) * d, *g = dout + (t0 + i) * d;
      double s = 0;
      for (size_t c = 0; c < d; ++c) s += static_cast<double>(g[c]) * o[c];
      delta[i] = static_cast<float>(s);
    }
    for (size_t s0 = 0; s0 < end; s0 += kKeyBlock) {
      const size_t n = std::min(kKeyBlock, end - s0);
      const int ni = static_cast<int>(n);
      block_scores(p, x.q, x.k, x.kbias, t0, rows, s0, n, probs.data());
      for (size_t i = 0; i < rows; ++i) {
        const float* st = stats + 2 * (t0 + i);
        exp_shifted(probs.data() + i * n, n, st[0], st[1]);
      }
      sgemm(false, true, ri, ni, di, 1.0f, dout + t0 * d, di, x.v + s0 * d, di, 0.0f,
            dscores.data(), ni);
      for (size_t i = 0; i < rows; ++i) {
        softmax_grad_row(probs.data() + i * n, dscores.data() + i * n, n, delta[i], p.scale);
      }
      sgemm(true, false, ni, di, ri, 1.0f, probs.data(), ni, dout + t0 * d, di, 1.0f, dv + s0 * d,
            di);
      sgemm(false, false, ri, di, ni, 1.0f, dscores.data(), ni, x.k + s0 * d, di, 1.0f,
            dq + t0 * d, di);
      sgemm(true, false, ni, di, ri, 1.0f, dscores.data(), ni, x.q + t0 * d, di, 1.0f,
            dk + s0 * d, di);
    }
  }
}

}  // namespace

void attention_forward(const AttentionShape& p, const float* q, const float* k, const float* v,
                       const float* mask, float* out, float* stats) {
  const KeyBias kb = key_bias(p, mask);
  const size_t tasks = p.batch * p.heads;
  parallel_for(static_cast<int>(tasks), [&](int task) {
    const size_t b = task / p.heads, h = task % p.heads;
    const size_t row0 = (b * p.heads + h) * p.t_len;
    forward_head(p, head_of(p, kb, q, k, v, b, h), out + row0 * p.head_dim, stats + 2 * row0);
  });
}

void attention_backward(const AttentionShape& p, const float* q, const float* k, const float* v,
                        const float* mask, const float* out, const float* stats, const float* dout,
                        float* dq, float* dk, float* dv) {
  const KeyBias kb = key_bias(p, mask);
  const size_t group = p.heads / p.kv_heads, d = p.head_dim;
  // One task per kv head: it owns that head's dk and dv and the dq of the query heads it serves.
  const size_t tasks = p.batch * p.kv_heads;
  parallel_for(static_cast<int>(tasks), [&](int task) {
    const size_t b = task / p.kv_heads, kvh = task % p.kv_heads;
    float* dk_head = dk + (b * p.kv_heads + kvh) * p.s_len * d;
    float* dv_head = dv + (b * p.kv_heads + kvh) * p.s_len * d;
    std::fill(dk_head, dk_head + p.s_len * d, 0.0f);
    std::fill(dv_head, dv_head + p.s_len * d, 0.0f);
    for (size_t h = kvh * group; h < (kvh + 1) * group; ++h) {
      const size_t row0 = (b * p.heads + h) * p.t_len;
      backward_head(p, head_of(p, kb, q, k, v, b, h), out + row0 * d, stats + 2 * row0,
                    dout + row0 * d, dq + row0 * d, dk_head, dv_head);
    }
  });
}

}  // namespace narrator
