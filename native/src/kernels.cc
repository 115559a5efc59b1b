#include "kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "blas.h"
#include "pool.h"
#include "simd.h"

namespace narrator {
namespace {

// Below these sizes a fork-join costs more than it saves.
constexpr double kMinParallelFlops = 4e6;
constexpr size_t kMinParallelElements = size_t{1} << 16;
constexpr size_t kMinParallelTranscendentals = size_t{1} << 14;
constexpr size_t kLanes = 32;  // independent accumulators in row reductions

struct Range {
  size_t begin, end;
};

// Part `part` of `parts` near-equal pieces of [0, total), piece sizes rounded up to `align`.
Range split(size_t total, size_t parts, size_t part, size_t align) {
  size_t per = (total + parts - 1) / parts;
  per = (per + align - 1) / align * align;
  const size_t begin = std::min(total, part * per);
  return {begin, std::min(total, begin + per)};
}

// How many pieces to cut `total` units of work into, given the size below which one piece is best.
size_t pieces(size_t work, size_t min_work, size_t max_pieces) {
  if (work < min_work) return 1;
  return std::max<size_t>(1, std::min<size_t>(max_pieces, work / (min_work / 2)));
}

NARRATOR_INLINE float activate(float v, int activation, float alpha) {
  switch (activation) {
    case kRelu:
      return v > 0.0f ? v : 0.0f;
    case kRelu6:
      return std::min(v > 0.0f ? v : 0.0f, 6.0f);
    case kLeakyRelu:
      return v < 0.0f ? alpha * v : v;
    case kSigmoid:
      return 1.0f / (1.0f + exp_f32(-v));
    case kElu:
      return v >= 0.0f ? v : exp_f32(v) - 1.0f;
    default:
      return v;
  }
}

template <int Act>
NARRATOR_INLINE void epilogue_row(float* c, const float* bias, bool bias_scalar, size_t cols,
                                  float alpha) {
  if (bias == nullptr) {
    for (size_t j = 0; j < cols; ++j) c[j] = activate(c[j], Act, alpha);
  } else if (bias_scalar) {
    const float b = bias[0];
    for (size_t j = 0; j < cols; ++j) c[j] = activate(c[j] + b, Act, alpha);
  } else {
    for (size_t j = 0; j < cols; ++j) c[j] = activate(c[j] + bias[j], Act, alpha);
  }
}

// Bias then activation over a [rows, cols] block of C with row stride ldc.
NARRATOR_CLONES void epilogue(float* c, size_t rows, size_t cols, size_t ldc, const float* bias,
                              bool bias_scalar, int activation, float alpha) {
  for (size_t i = 0; i < rows; ++i, c += ldc) {
    switch (activation) {
      case kRelu: epilogue_row<kRelu>(c, bias, bias_scalar, cols, alpha); break;
      case kRelu6: epilogue_row<kRelu6>(c, bias, bias_scalar, cols, alpha); break;
      case kLeakyRelu: epilogue_row<kLeakyRelu>(c, bias, bias_scalar, cols, alpha); break;
      case kSigmoid: epilogue_row<kSigmoid>(c, bias, bias_scalar, cols, alpha); break;
      case kElu: epilogue_row<kElu>(c, bias, bias_scalar, cols, alpha); break;
      default: epilogue_row<kLinear>(c, bias, bias_scalar, cols, alpha); break;
    }
  }
}

// One block of output batch i: rows [r0, r1) and columns [c0, c1) of C.
void matmul_block(const MatmulArgs& p, size_t i, size_t r0, size_t r1, size_t c0, size_t c1) {
  if (r0 >= r1 || c0 >= c1) return;
  const size_t m = p.m, n = p.n, k = p.k;
  const size_t ai = p.a_index ? static_cast<size_t>(p.a_index[i]) : i;
  const size_t bi = p.b_index ? static_cast<size_t>(p.b_index[i]) : i;
  const float* a = p.a + ai * m * k;
  const float* b = p.b + bi * k * n;
  float* c = p.c + i * m * n + r0 * n + c0;
  const size_t lda = p.trans_a ? m : k;
  const size_t ldb = p.trans_b ? k : n;
  a += p.trans_a ? r0 : r0 * lda;
  b += p.trans_b ? c0 * ldb : c0;
  if (k == 0) {
    for (size_t r = 0; r < r1 - r0; ++r) std::fill(c + r * n, c + r * n + (c1 - c0), 0.0f);
  } else {
    sgemm(p.trans_a, p.trans_b, static_cast<int>(r1 - r0), static_cast<int>(c1 - c0),
          static_cast<int>(k), 1.0f, a, static_cast<int>(lda), b, static_cast<int>(ldb), 0.0f, c,
          static_cast<int>(n));
  }
  if (p.bias != nullptr || p.activation != kLinear) {
    const bool scalar = p.bias != nullptr && p.bias_len == 1;
    const float* bias = p.bias == nullptr ? nullptr : scalar ? p.bias : p.bias + c0;
    epilogue(c, r1 - r0, c1 - c0, n, bias, scalar, p.activation, p.alpha);
  }
}

size_t gcd(size_t a, size_t b) { return b == 0 ? a : gcd(b, a % b); }

NARRATOR_INLINE float binary_apply(int op, float x, float y) {
  switch (op) {
    case kAdd: return x + y;
    case kSub: return x - y;
    case kMul: return x * y;
    default: return x / y;
  }
}

template <int Op, bool Left>
NARRATOR_INLINE float combine(float full, float small) {
  return Left ? binary_apply(Op, small, full) : binary_apply(Op, full, small);
}

// [begin, end) counts elements for kSame / kScalar and rows for the vector broadcasts.
template <int Op, bool Left>
NARRATOR_INLINE void binary_range_t(int broadcast, const float* full, const float* small,
                                    float* out, size_t begin, size_t end, size_t cols) {
  switch (broadcast) {
    case kSame:
      for (size_t i = begin; i < end; ++i) out[i] = combine<Op, Left>(full[i], small[i]);
      break;
    case kScalar: {
      const float s = small[0];
      for (size_t i = begin; i < end; ++i) out[i] = combine<Op, Left>(full[i], s);
      break;
    }
    case kRowVector:
      for (size_t r = begin; r < end; ++r) {
        const float* f = full + r * cols;
        float* o = out + r * cols;
        for (size_t j = 0; j < cols; ++j) o[j] = combine<Op, Left>(f[j], small[j]);
      }
      break;
    default:  // kColumnVector
      for (size_t r = begin; r < end; ++r) {
        const float* f = full + r * cols;
        float* o = out + r * cols;
        const float s = small[r];
        for (size_t j = 0; j < cols; ++j) o[j] = combine<Op, Left>(f[j], s);
      }
      break;
  }
}

NARRATOR_CLONES void binary_range(int op, int broadcast, bool left, const float* full,
                                  const float* small, float* out, size_t begin, size_t end,
                                  size_t cols) {
  switch (op * 2 + (left ? 1 : 0)) {
    case 0: binary_range_t<kAdd, false>(broadcast, full, small, out, begin, end, cols); break;
    case 1: binary_range_t<kAdd, true>(broadcast, full, small, out, begin, end, cols); break;
    case 2: binary_range_t<kSub, false>(broadcast, full, small, out, begin, end, cols); break;
    case 3: binary_range_t<kSub, true>(broadcast, full, small, out, begin, end, cols); break;
    case 4: binary_range_t<kMul, false>(broadcast, full, small, out, begin, end, cols); break;
    case 5: binary_range_t<kMul, true>(broadcast, full, small, out, begin, end, cols); break;
    case 6: binary_range_t<kDiv, false>(broadcast, full, small, out, begin, end, cols); break;
    default: binary_range_t<kDiv, true>(broadcast, full, small, out, begin, end, cols); break;
  }
}

NARRATOR_CLONES void exp_range(const float* x, float* out, size_t begin, size_t end) {
  for (size_t i = begin; i < end; ++i) out[i] = exp_f32(x[i]);
}

NARRATOR_CLONES void int32_to_float_range(const int32_t* x, float* out, size_t begin,
                                          size_t end) {
  for (size_t i = begin; i < end; ++i) out[i] = static_cast<float>(x[i]);
}

// Reduction combining that propagates NaN for max.
template <int Op>
NARRATOR_INLINE float reduce_step(float acc, float v) {
  if (Op == kSum) return acc + v;
  return (v > acc || v != v) ? v : acc;
}

template <int Op>
NARRATOR_INLINE float reduce_identity() {
  return Op == kSum ? 0.0f : -std::numeric_limits<float>::infinity();
}

// Reduces a contiguous row with kLanes independent accumulators, combined as a tree.
template <int Op>
NARRATOR_INLINE float reduce_row(const float* x, size_t n) {
  float acc[kLanes];
  for (size_t l = 0; l < kLanes; ++l) acc[l] = reduce_identity<Op>();
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (size_t l = 0; l < kLanes; ++l) acc[l] = reduce_step<Op>(acc[l], x[i + l]);
  }
  for (size_t w = kLanes / 2; w > 0; w /= 2) {
    for (size_t l = 0; l < w; ++l) acc[l] = reduce_step<Op>(acc[l], acc[l + w]);
  }
  float r = acc[0];
  for (; i < n; ++i) r = reduce_step<Op>(r, x[i]);
  return r;
}

// out[p, j] for p in [p0, p1), j in [j0, j1) of x viewed as [pre, red, post].
template <int Op>
NARRATOR_INLINE void reduce_range_t(const float* x, float* out, size_t p0, size_t p1, size_t red,
                                    size_t post, size_t j0, size_t j1) {
  for (size_t p = p0; p < p1; ++p) {
    const float* xp = x + p * red * post;
    float* op = out + p * post;
    if (post == 1) {
      op[0] = reduce_row<Op>(xp, red);
      continue;
    }
    for (size_t j = j0; j < j1; ++j) op[j] = xp[j];
    for (size_t r = 1; r < red; ++r) {
      const float* xr = xp + r * post;
      for (size_t j = j0; j < j1; ++j) op[j] = reduce_step<Op>(op[j], xr[j]);
    }
  }
}

NARRATOR_CLONES void reduce_range(int op, const float* x, float* out, size_t p0, size_t p1,
                                  size_t red, size_t post, size_t j0, size_t j1) {
  if (op == kSum) {
    reduce_range_t<kSum>(x, out, p0, p1, red, post, j0, j1);
  } else {
    reduce_range_t<kMax>(x, out, p0, p1, red, post, j0, j1);
  }
}

NARRATOR_CLONES void softmax_rows(const float* x, float* out, size_t r0, size_t r1, size_t cols) {
  for (size_t r = r0; r < r1; ++r) {
    const float* xr = x + r * cols;
    float* o = out + r * cols;
    const float m = reduce_row<kMax>(xr, cols);
    for (size_t j = 0; j < cols; ++j) o[j] = exp_f32(xr[j] - m);
    const float s = reduce_row<kSum>(o, cols);
    for (size_t j = 0; j < cols; ++j) o[j] = o[j] / s;
  }
}

// Sum of exp(x_j - shift) over a contiguous row, accumulated in double over kLanes lanes: the
// loss is then as accurate as its float32 exps, whatever the vocabulary size.
NARRATOR_INLINE double sum_exp_shifted(const float* x, size_t n, float shift) {
  double acc[kLanes] = {};
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (size_t l = 0; l < kLanes; ++l) acc[l] += exp_f32(x[i + l] - shift);
  }
  for (size_t w = kLanes / 2; w > 0; w /= 2) {
    for (size_t l = 0; l < w; ++l) acc[l] += acc[l + w];
  }
  double s = acc[0];
  for (; i < n; ++i) s += exp_f32(x[i] - shift);
  return s;
}

NARRATOR_CLONES void cross_entropy_rows(const float* x, const int32_t* labels, int32_t ignore,
                                        float* nll, float* row_max, float* log_sum, size_t r0,
                                        size_t r1, size_t cols) {
  for (size_t r = r0; r < r1; ++r) {
    if (labels[r] == ignore) {
      nll[r] = row_max[r] = log_sum[r] = 0.0f;
      continue;
    }
    const float* xr = x + r * cols;
    const float m = reduce_row<kMax>(xr, cols);
    const double ls = std::log(sum_exp_shifted(xr, cols, m));
    row_max[r] = m;
    log_sum[r] = static_cast<float>(ls);
    nll[r] = static_cast<float>(ls - (static_cast<double>(xr[labels[r]]) - m));
  }
}

NARRATOR_CLONES void cross_entropy_grad_rows(const float* x, const int32_t* labels,
                                             int32_t ignore, const float* row_max,
                                             const float* log_sum, const float* dnll, float* dx,
                                             size_t r0, size_t r1, size_t cols) {
  for (size_t r = r0; r < r1; ++r) {
    float* d = dx + r * cols;
    if (labels[r] == ignore) {
      std::fill(d, d + cols, 0.0f);
      continue;
    }
    const float* xr = x + r * cols;
    const float m = row_max[r], ls = log_sum[r], g = dnll[r];
    for (size_t j = 0; j < cols; ++j) d[j] = exp_f32((xr[j] - m) - ls) * g;
    d[labels[r]] -= g;
  }
}

// The first row whose label is neither `ignore` nor a column index, or -1.
int64_t first_bad_label(const int32_t* labels, int32_t ignore, size_t rows, size_t cols) {
  for (size_t r = 0; r < rows; ++r) {
    const int32_t l = labels[r];
    if (l != ignore && (l < 0 || static_cast<size_t>(l) >= cols)) return static_cast<int64_t>(r);
  }
  return -1;
}

// Splits rows of a [rows, cols] pass with one exp per element over the pool.
template <class F>
void parallel_rows(size_t rows, size_t cols, const F& f) {
  const size_t tasks =
      std::min(rows, pieces(rows * cols, kMinParallelTranscendentals, pool_limit()));
  parallel_for(static_cast<int>(tasks), [&](int t) {
    const Range r = split(rows, tasks, t, 1);
    f(r.begin, r.end);
  });
}

}  // namespace

void matmul(const MatmulArgs& p) {
  const size_t batch = p.batch, m = p.m, n = p.n;
  if (batch == 0 || m == 0 || n == 0) return;
  const double flops = 2.0 * batch * m * n * static_cast<double>(p.k);
  const size_t threads = pool_limit();
  if (threads == 1 || flops < kMinParallelFlops) {
    for (size_t i = 0; i < batch; ++i) matmul_block(p, i, 0, m, 0, n);
    return;
  }
  // Whole matrices per task when the batch divides evenly over the threads; otherwise cut each
  // matrix along its longer output side so that every thread gets the same share.
  size_t parts = threads / gcd(batch, threads);
  const bool by_rows = m >= n;
  const size_t align = by_rows ? 8 : 16;
  parts = std::max<size_t>(1, std::min(parts, (by_rows ? m : n) / align));
  const size_t tasks = batch * parts;
  if (parts == 1) {
    const size_t chunks = std::min(batch, threads);
    parallel_for(static_cast<int>(chunks), [&](int t) {
      const Range r = split(batch, chunks, t, 1);
      for (size_t i = r.begin; i < r.end; ++i) matmul_block(p, i, 0, m, 0, n);
    });
    return;
  }
  parallel_for(static_cast<int>(tasks), [&](int t) {
    const size_t i = t / parts, part = t % parts;
    if (by_rows) {
      const Range r = split(m, parts, part, align);
      matmul_block(p, i, r.begin, r.end, 0, n);
    } else {
      const Range c = split(n, parts, part, align);
      matmul_block(p, i, 0, m, c.begin, c.end);
    }
  });
}

void unary(int op, const void* x, float* out, size_t n) {
  const size_t min = op == kExp ? kMinParallelTranscendentals : kMinParallelElements;
  const size_t tasks = pieces(n, min, pool_limit());
  parallel_for(static_cast<int>(tasks), [&](int t) {
    const Range r = split(n, tasks, t, 16);
    if (op == kExp) {
      exp_range(static_cast<const float*>(x), out, r.begin, r.end);
    } else {
      int32_to_float_range(static_cast<const int32_t*>(x), out, r.begin, r.end);
    }
  });
}

void binary(int op, int broadcast, bool small_is_left, const float* full, const float* small,
            float* out, size_t rows, size_t cols) {
  const bool by_rows = broadcast == kRowVector || broadcast == kColumnVector;
  const size_t units = by_rows ? rows : rows * cols;
  const size_t tasks = pieces(rows * cols, kMinParallelElements, pool_limit());
  parallel_for(static_cast<int>(tasks), [&](int t) {
    const Range r = split(units, tasks, t, by_rows ? 1 : 16);
    binary_range(op, broadcast, small_is_left, full, small, out, r.begin, r.end, cols);
  });
}

void reduce(int op, const float* x, float* out, size_t pre, size_t red, size_t post) {
  size_t tasks = pieces(pre * red * post, kMinParallelElements, pool_limit());
  if (pre >= tasks || post < 16 * tasks) {
    tasks = std::min(tasks, pre);
    parallel_for(static_cast<int>(tasks), [&](int t) {
      const Range r = split(pre, tasks, t, 1);
      reduce_range(op, x, out, r.begin, r.end, red, post, 0, post);
    });
  } else {
    parallel_for(static_cast<int>(tasks), [&](int t) {
      const Range c = split(post, tasks, t, 16);
      reduce_range(op, x, out, 0, pre, red, post, c.begin, c.end);
    });
  }
}

void softmax(const float* x, float* out, size_t rows, size_t cols) {
  parallel_rows(rows, cols, [&](size_t r0, size_t r1) { softmax_rows(x, out, r0, r1, cols); });
}

int64_t cross_entropy(const float* x, const int32_t* labels, int32_t ignore, float* nll,
                      float* row_max, float* log_sum, size_t rows, size_t cols) {
  const int64_t bad = first_bad_label(labels, ignore, rows, cols);
  if (bad >= 0) return bad;
  parallel_rows(rows, cols, [&](size_t r0, size_t r1) {
    cross_entropy_rows(x, labels, ignore, nll, row_max, log_sum, r0, r1, cols);
  });
  return -1;
}

int64_t cross_entropy_grad(const float* x, const int32_t* labels, int32_t ignore,
                           const float* row_max, const float* log_sum, const float* dnll,
                           float* dx, size_t rows, size_t cols) {
  const int64_t bad = first_bad_label(labels, ignore, rows, cols);
  if (bad >= 0) return bad;
  parallel_rows(rows, cols, [&](size_t r0, size_t r1) {
    cross_entropy_grad_rows(x, labels, ignore, row_max, log_sum, dnll, dx, r0, r1, cols);
  });
  return -1;
}

}  // namespace narrator
