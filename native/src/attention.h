// Fused causal attention (flash-attention style) over caller-owned memory, split over the pool.
//
// out = softmax(q k^T * scale + bias) v per query head, where the additive bias is the model's:
// -1e9 on keys after the query (key s > past + t, past = s_len - t_len) plus (1 - mask[s]) * -1e9
// for a key padding mask, summed in float32 as the plain path sums them. The forward keeps a
// running max and sum per query row over blocks of keys and never holds more than one block of
// scores; it saves only each row's logsumexp, as its max and the log of the shifted sum (one
// float would lose the sum next to the -1e9 of a row that sees only padding). The backward
// recomputes each block's probabilities from q, k and those two numbers.
#pragma once

#include <cstddef>

namespace narrator {

struct AttentionShape {
  size_t batch;
  size_t heads;     // query heads; query head h reads kv head h / (heads / kv_heads)
  size_t kv_heads;  // divides heads
  size_t t_len;     // queries
  size_t s_len;     // keys, >= t_len (the first s_len - t_len are earlier positions)
  size_t head_dim;
  float scale;
};

// q, out [batch, heads, t, d]; k, v [batch, kv, s, d]; mask null or [batch, s] (1 real, 0
// padding); stats [batch, heads, t, 2] receives each row's max score m and
// log(sum(exp(score - m))).
void attention_forward(const AttentionShape& shape, const float* q, const float* k,
                       const float* v, const float* mask, float* out, float* stats);

// Gradients of the forward's output given dout (shaped like out): dq like q, dk and dv like k.
// out and stats are the forward's.
void attention_backward(const AttentionShape& shape, const float* q, const float* k,
                        const float* v, const float* mask, const float* out, const float* stats,
                        const float* dout, float* dq, float* dk, float* dv);

}  // namespace narrator
