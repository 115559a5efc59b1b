// Float32 kernels over caller-owned memory (the wasm backend's heap), split over the pool.
#pragma once

#include <cstddef>
#include <cstdint>

namespace narrator {

// Activation codes of the fused matmul epilogue.
enum Activation : int { kLinear = 0, kRelu = 1, kRelu6 = 2, kLeakyRelu = 3, kSigmoid = 4, kElu = 5 };

struct MatmulArgs {
  const float* a;          // batch of [m,k] matrices ([k,m] when trans_a)
  const float* b;          // batch of [k,n] matrices ([n,k] when trans_b)
  float* c;                // [batch, m, n]
  const int32_t* a_index;  // matrix of a used by output batch i; null = i
  const int32_t* b_index;  // matrix of b used by output batch i; null = i
  const float* bias;       // null, or bias_len (n or 1) values added to every row
  int bias_len;
  int batch, m, n, k;
  bool trans_a, trans_b;
  int activation;          // Activation
  float alpha;             // leaky-relu slope
};

// c[i] = act(op(a[a_index[i]]) * op(b[b_index[i]]) + bias).
void matmul(const MatmulArgs& args);

enum UnaryOp : int { kExp = 0, kInt32ToFloat = 1 };
// out = exp(x) for float32 x, or x converted to float32 for int32 x (round to nearest).
void unary(int op, const void* x, float* out, size_t n);

enum BinaryOp : int { kAdd = 0, kSub = 1, kMul = 2, kDiv = 3 };
// How the small operand is laid over the full one, viewed as [rows, cols]:
// same shape, one value per column (a row vector), one value per row (a column vector), a scalar.
enum Broadcast : int { kSame = 0, kRowVector = 1, kColumnVector = 2, kScalar = 3 };
// out = full OP small, or small OP full when small_is_left.
void binary(int op, int broadcast, bool small_is_left, const float* full, const float* small,
            float* out, size_t rows, size_t cols);

enum ReduceOp : int { kSum = 0, kMax = 1 };
// x viewed as [pre, red, post]; out[pre, post] reduces the middle axis.
void reduce(int op, const float* x, float* out, size_t pre, size_t red, size_t post);

// Softmax over the last axis of x viewed as [rows, cols].
void softmax(const float* x, float* out, size_t rows, size_t cols);

// Softmax cross-entropy of logits x [rows, cols] against one integer label per row. For a row
// whose label is not `ignore`: nll = log(sum_j exp(x_j - max)) - (x_label - max), with the row's
// max and that log-sum kept for the backward; rows labelled `ignore` get 0 in all three.
// Returns the first row whose label is neither `ignore` nor in [0, cols), or -1; when a row is
// returned nothing has been written.
int64_t cross_entropy(const float* x, const int32_t* labels, int32_t ignore, float* nll,
                      float* row_max, float* log_sum, size_t rows, size_t cols);

// The backward of cross_entropy: dx = (softmax(x) - onehot(label)) * dnll row by row, the
// softmax recomputed from the forward's row_max and log_sum; rows labelled `ignore` get 0.
// Returns as cross_entropy does.
int64_t cross_entropy_grad(const float* x, const int32_t* labels, int32_t ignore,
                           const float* row_max, const float* log_sum, const float* dnll,
                           float* dx, size_t rows, size_t cols);

}  // namespace narrator
