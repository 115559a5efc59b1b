// N-API entry points: kernels that read and write the wasm backend's heap in place.
// Every call names the heap (an ArrayBuffer) and byte offsets into it; each range is checked
// against the heap's length before any native code touches it.
#include <node_api.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "attention.h"
#include "blas.h"
#include "copy.h"
#include "kernels.h"
#include "nf4.h"
#include "pool.h"
#include "table.h"

namespace narrator {
namespace {

constexpr size_t kMaxArgs = 16;

// A number for an error message: integers without a fractional part.
std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, v == static_cast<double>(static_cast<int64_t>(v)) ? "%.0f" : "%g",
                v);
  return buf;
}

// Reads positional arguments, throwing one JS error (naming the function and argument) on the
// first problem; later reads then return zeros and `failed()` is true.
class Args {
 public:
  Args(napi_env env, napi_callback_info info, size_t expected, const char* fn)
      : env_(env), fn_(fn) {
    size_t argc = kMaxArgs;
    napi_get_cb_info(env, info, &argc, argv_, nullptr, nullptr);
    if (argc < expected) fail("expected " + std::to_string(expected) + " arguments");
  }

  bool failed() const { return failed_; }

  void fail(const std::string& message) {
    if (failed_) return;
    failed_ = true;
    napi_throw_range_error(env_, nullptr, (std::string(fn_) + ": " + message).c_str());
  }

  double number(size_t i, const char* name) {
    double v = 0;
    if (!failed_ && napi_get_value_double(env_, argv_[i], &v) != napi_ok) {
      fail(std::string(name) + " must be a number");
    }
    return v;
  }

  // A non-negative integer below 2^31 (the BLAS index type).
  size_t count(size_t i, const char* name) {
    const double v = number(i, name);
    const bool integral = v == static_cast<double>(static_cast<int64_t>(v));
    if (!failed_ && !(v >= 0 && v < 2147483648.0 && integral)) {
      fail(std::string(name) + " must be an integer in [0, 2^31), got " + num(v));
      return 0;
    }
    return static_cast<size_t>(v);
  }

  // Any int32 (negative values allowed).
  int32_t int32(size_t i, const char* name) {
    const double v = number(i, name);
    if (!failed_ && !(v >= -2147483648.0 && v <= 2147483647.0 &&
                      v == static_cast<double>(static_cast<int64_t>(v)))) {
      fail(std::string(name) + " must be an int32, got " + num(v));
      return 0;
    }
    return static_cast<int32_t>(v);
  }

  bool flag(size_t i, const char* name) {
    bool v = false;
    if (!failed_ && napi_get_value_bool(env_, argv_[i], &v) != napi_ok) {
      fail(std::string(name) + " must be a boolean");
    }
    return v;
  }

  // Binds the heap all later offsets refer to.
  void heap(size_t i) {
    void* data = nullptr;
    if (!failed_ && napi_get_arraybuffer_info(env_, argv_[i], &data, &heap_len_) != napi_ok) {
      fail("heap must be an ArrayBuffer");
    }
    heap_ = static_cast<uint8_t*>(data);
  }

  // `bytes` bytes at byte offset argv[i] of the heap, aligned to `align`.
  uint8_t* region(size_t i, double bytes, size_t align, const char* name) {
    const double off = number(i, name);
    if (failed_) return nullptr;
    if (!(off >= 0 && off == static_cast<double>(static_cast<uint64_t>(off)) &&
          off + bytes <= static_cast<double>(heap_len_))) {
      fail(std::string(name) + ": " + num(bytes) + " bytes at offset " + num(off) +
           " exceed the heap (" + std::to_string(heap_len_) + " bytes)");
      return nullptr;
    }
    if (static_cast<uint64_t>(off) % align != 0) {
      fail(std::string(name) + ": byte offset " + num(off) + " is not " + std::to_string(align) +
           "-aligned");
      return nullptr;
    }
    return heap_ + static_cast<uint64_t>(off);
  }

  // A float32 array of `elements` values at byte offset argv[i] of the heap.
  float* floats(size_t i, size_t elements, const char* name) {
    return reinterpret_cast<float*>(
        region(i, static_cast<double>(elements) * sizeof(float), alignof(float), name));
  }

  // The length of a typed-array argument.
  size_t typed_length(size_t i, const char* name) {
    bool is_typed = false;
    size_t len = 0;
    if (!failed_) napi_is_typedarray(env_, argv_[i], &is_typed);
    if (!failed_ && (!is_typed || napi_get_typedarray_info(env_, argv_[i], nullptr, &len, nullptr,
                                                           nullptr, nullptr) != napi_ok)) {
      fail(std::string(name) + " must be a typed array");
    }
    return len;
  }

  // An Int32Array argument of exactly `length` values (shapes, strides).
  const int32_t* int32s(size_t i, size_t length, const char* name) {
    if (failed_) return nullptr;
    bool is_typed = false;
    napi_is_typedarray(env_, argv_[i], &is_typed);
    napi_typedarray_type kind;
    size_t len = 0;
    void* data = nullptr;
    if (!is_typed ||
        napi_get_typedarray_info(env_, argv_[i], &kind, &len, &data, nullptr, nullptr) != napi_ok ||
        kind != napi_int32_array || len != length) {
      fail(std::string(name) + " must be an Int32Array of " + std::to_string(length) + " values");
      return nullptr;
    }
    return static_cast<const int32_t*>(data);
  }

  // A typed array of `kind` (named `kind_name` in messages) holding exactly `length` values; null
  // for a JS null when `optional`.
  const void* typed(size_t i, napi_typedarray_type kind, const char* kind_name, size_t length,
                    const char* name, bool optional = false) {
    if (failed_) return nullptr;
    napi_valuetype type;
    napi_typeof(env_, argv_[i], &type);
    if (optional && type == napi_null) return nullptr;
    bool is_typed = false;
    napi_is_typedarray(env_, argv_[i], &is_typed);
    napi_typedarray_type got;
    size_t len = 0;
    void* data = nullptr;
    if (!is_typed ||
        napi_get_typedarray_info(env_, argv_[i], &got, &len, &data, nullptr, nullptr) != napi_ok ||
        got != kind || len != length) {
      fail(std::string(name) + " must be " + (optional ? "null or " : "") + "a " + kind_name +
           " of " + std::to_string(length) + " values" +
           (is_typed ? ", got " + std::to_string(len) : ""));
      return nullptr;
    }
    return data;
  }

  // An Int32Array of at least `length` non-negative values (its largest in *max_index), or
  // null / undefined.
  const int32_t* indices(size_t i, size_t length, const char* name, size_t* max_index) {
    *max_index = 0;
    if (failed_) return nullptr;
    napi_valuetype type;
    napi_typeof(env_, argv_[i], &type);
    if (type == napi_null || type == napi_undefined) return nullptr;
    bool is_typed = false;
    napi_is_typedarray(env_, argv_[i], &is_typed);
    napi_typedarray_type kind;
    size_t len = 0;
    void* data = nullptr;
    if (!is_typed ||
        napi_get_typedarray_info(env_, argv_[i], &kind, &len, &data, nullptr, nullptr) != napi_ok ||
        kind != napi_int32_array || len < length) {
      fail(std::string(name) + " must be null or an Int32Array of at least " +
           std::to_string(length) + " values");
      return nullptr;
    }
    const int32_t* idx = static_cast<const int32_t*>(data);
    for (size_t j = 0; j < length; ++j) {
      if (idx[j] < 0) {
        fail(std::string(name) + "[" + std::to_string(j) + "] is negative");
        return nullptr;
      }
      if (static_cast<size_t>(idx[j]) > *max_index) *max_index = idx[j];
    }
    return idx;
  }

 private:
  napi_env env_;
  const char* fn_;
  napi_value argv_[kMaxArgs] = {};
  bool failed_ = false;
  uint8_t* heap_ = nullptr;
  size_t heap_len_ = 0;
};

void set_string(napi_env env, napi_value obj, const char* key, const std::string& value) {
  napi_value v;
  napi_create_string_utf8(env, value.c_str(), value.size(), &v);
  napi_set_named_property(env, obj, key, v);
}

void set_number(napi_env env, napi_value obj, const char* key, double value) {
  napi_value v;
  napi_create_double(env, value, &v);
  napi_set_named_property(env, obj, key, v);
}

const char* cpu_kernels() {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
  if (__builtin_cpu_supports("avx512f")) return "avx512f";
  if (__builtin_cpu_supports("avx2")) return "avx2";
#endif
  return "baseline";
}

// status() -> {ok, reason, threads, blasPath, blasCore, blasConfig, cpuKernels}
napi_value Status(napi_env env, napi_callback_info) {
  const BlasInfo& blas = load_blas();
  napi_value obj;
  napi_create_object(env, &obj);
  napi_value ok;
  napi_get_boolean(env, blas.ok, &ok);
  napi_set_named_property(env, obj, "ok", ok);
  set_string(env, obj, "reason", blas.reason);
  set_number(env, obj, "threads", pool_limit());
  set_string(env, obj, "blasPath", blas.path);
  set_string(env, obj, "blasCore", blas.core);
  set_string(env, obj, "blasConfig", blas.config);
  set_string(env, obj, "cpuKernels", cpu_kernels());
  return obj;
}

// setThreads(n) -> threads now used (1 .. pool size)
napi_value SetThreads(napi_env env, napi_callback_info info) {
  Args args(env, info, 1, "setThreads");
  const size_t n = args.count(0, "threads");
  if (args.failed()) return nullptr;
  napi_value out;
  napi_create_int32(env, set_pool_limit(static_cast<int>(n)), &out);
  return out;
}

bool require_blas(Args& args) {
  const BlasInfo& blas = load_blas();
  if (!blas.ok) args.fail(blas.reason);
  return blas.ok;
}

// matmul(heap, a, b, c, batch, m, n, k, transA, transB, aIndex, bIndex, bias, biasLen,
//        activation, alpha)
napi_value Matmul(napi_env env, napi_callback_info info) {
  Args args(env, info, 16, "matmul");
  if (!require_blas(args)) return nullptr;
  args.heap(0);
  MatmulArgs p{};
  p.batch = static_cast<int>(args.count(4, "batch"));
  p.m = static_cast<int>(args.count(5, "m"));
  p.n = static_cast<int>(args.count(6, "n"));
  p.k = static_cast<int>(args.count(7, "k"));
  p.trans_a = args.flag(8, "transA");
  p.trans_b = args.flag(9, "transB");
  size_t a_max = 0, b_max = 0;
  p.a_index = args.indices(10, p.batch, "aIndex", &a_max);
  p.b_index = args.indices(11, p.batch, "bIndex", &b_max);
  const size_t a_mats = p.a_index ? a_max + 1 : p.batch;
  const size_t b_mats = p.b_index ? b_max + 1 : p.batch;
  const size_t mk = static_cast<size_t>(p.m) * p.k, kn = static_cast<size_t>(p.k) * p.n;
  p.a = args.floats(1, a_mats * mk, "a");
  p.b = args.floats(2, b_mats * kn, "b");
  p.c = args.floats(3, static_cast<size_t>(p.batch) * p.m * p.n, "c");
  const double bias_off = args.number(12, "bias");
  p.bias_len = static_cast<int>(args.count(13, "biasLen"));
  if (bias_off >= 0) {
    if (p.bias_len != 1 && p.bias_len != p.n) args.fail("biasLen must be 1 or n");
    p.bias = args.floats(12, p.bias_len, "bias");
  }
  p.activation = static_cast<int>(args.count(14, "activation"));
  if (p.activation > kElu) args.fail("unknown activation code " + std::to_string(p.activation));
  p.alpha = static_cast<float>(args.number(15, "alpha"));
  if (args.failed()) return nullptr;
  matmul(p);
  return nullptr;
}

// unary(heap, op, x, out, n): exp of float32, or int32 to float32
napi_value Unary(napi_env env, napi_callback_info info) {
  Args args(env, info, 5, "unary");
  args.heap(0);
  const size_t op = args.count(1, "op");
  if (op > kInt32ToFloat) args.fail("unknown unary op " + std::to_string(op));
  const size_t n = args.count(4, "n");
  const void* x = args.region(2, 4.0 * n, 4, "x");
  float* out = args.floats(3, n, "out");
  if (args.failed()) return nullptr;
  unary(static_cast<int>(op), x, out, n);
  return nullptr;
}

// copyStrided(heap, src, dst, shape, srcStrides, dstStrides): 4-byte elements, strides in
// elements (Int32Arrays of one length).
napi_value CopyStrided(napi_env env, napi_callback_info info) {
  Args args(env, info, 6, "copyStrided");
  args.heap(0);
  const size_t rank = args.typed_length(3, "shape");
  if (rank > static_cast<size_t>(kMaxCopyRank)) {
    args.fail("rank " + std::to_string(rank) + " exceeds " + std::to_string(kMaxCopyRank));
  }
  const int32_t* shape = args.int32s(3, rank, "shape");
  const int32_t* src_strides = args.int32s(4, rank, "srcStrides");
  const int32_t* dst_strides = args.int32s(5, rank, "dstStrides");
  int64_t dims[kMaxCopyRank], ss[kMaxCopyRank], ds[kMaxCopyRank];
  double src_extent = 1, dst_extent = 1;  // one past the largest element index touched
  bool empty = false;
  for (size_t d = 0; !args.failed() && d < rank; ++d) {
    if (shape[d] < 0 || src_strides[d] < 0 || dst_strides[d] < 0) {
      args.fail("shape and strides must be non-negative");
      break;
    }
    dims[d] = shape[d], ss[d] = src_strides[d], ds[d] = dst_strides[d];
    empty = empty || shape[d] == 0;
    src_extent += static_cast<double>(shape[d] - 1) * src_strides[d];
    dst_extent += static_cast<double>(shape[d] - 1) * dst_strides[d];
  }
  if (empty) src_extent = dst_extent = 0;
  const void* src = args.region(1, 4 * src_extent, 4, "src");
  void* dst = args.region(2, 4 * dst_extent, 4, "dst");
  if (args.failed() || empty) return nullptr;
  copy_strided(static_cast<const uint32_t*>(src), static_cast<uint32_t*>(dst),
               static_cast<int>(rank), dims, ss, ds);
  return nullptr;
}

// gather(heap, x, out, outer, dim, inner, indices, count) -> false when an index is out of range
napi_value Gather(napi_env env, napi_callback_info info) {
  Args args(env, info, 8, "gather");
  args.heap(0);
  const size_t outer = args.count(3, "outer"), dim = args.count(4, "dim");
  const size_t inner = args.count(5, "inner"), count = args.count(7, "count");
  const void* x = args.region(1, 4.0 * outer * dim * inner, 4, "x");
  void* out = args.region(2, 4.0 * outer * count * inner, 4, "out");
  const void* indices = args.region(6, 4.0 * count, 4, "indices");
  if (args.failed()) return nullptr;
  const bool ok = gather(static_cast<const uint32_t*>(x), static_cast<uint32_t*>(out), outer, dim,
                         inner, static_cast<const int32_t*>(indices), count);
  napi_value result;
  napi_get_boolean(env, ok, &result);
  return result;
}

// binary(heap, op, broadcast, smallIsLeft, full, small, out, rows, cols)
napi_value Binary(napi_env env, napi_callback_info info) {
  Args args(env, info, 9, "binary");
  args.heap(0);
  const size_t op = args.count(1, "op");
  const size_t broadcast = args.count(2, "broadcast");
  const bool left = args.flag(3, "smallIsLeft");
  const size_t rows = args.count(7, "rows"), cols = args.count(8, "cols");
  if (op > kDiv) args.fail("unknown op code " + std::to_string(op));
  size_t small_len = 1;
  switch (broadcast) {
    case kSame: small_len = rows * cols; break;
    case kRowVector: small_len = cols; break;
    case kColumnVector: small_len = rows; break;
    case kScalar: small_len = 1; break;
    default: args.fail("unknown broadcast code " + std::to_string(broadcast));
  }
  const float* full = args.floats(4, rows * cols, "full");
  const float* small = args.floats(5, small_len, "small");
  float* out = args.floats(6, rows * cols, "out");
  if (args.failed()) return nullptr;
  binary(static_cast<int>(op), static_cast<int>(broadcast), left, full, small, out, rows, cols);
  return nullptr;
}

// reduce(heap, op, x, out, pre, red, post)
napi_value Reduce(napi_env env, napi_callback_info info) {
  Args args(env, info, 7, "reduce");
  args.heap(0);
  const size_t op = args.count(1, "op");
  if (op > kMax) args.fail("unknown reduce code " + std::to_string(op));
  const size_t pre = args.count(4, "pre"), red = args.count(5, "red"), post = args.count(6, "post");
  if (red == 0) args.fail("cannot reduce an empty axis");
  const float* x = args.floats(2, pre * red * post, "x");
  float* out = args.floats(3, pre * post, "out");
  if (args.failed()) return nullptr;
  reduce(static_cast<int>(op), x, out, pre, red, post);
  return nullptr;
}

// softmax(heap, x, out, rows, cols)
napi_value Softmax(napi_env env, napi_callback_info info) {
  Args args(env, info, 5, "softmax");
  args.heap(0);
  const size_t rows = args.count(3, "rows"), cols = args.count(4, "cols");
  const float* x = args.floats(1, rows * cols, "x");
  float* out = args.floats(2, rows * cols, "out");
  if (args.failed()) return nullptr;
  softmax(x, out, rows, cols);
  return nullptr;
}

// The first row with a label outside [0, cols) that is not the ignore index, or -1.
napi_value row_result(napi_env env, int64_t row) {
  napi_value out;
  napi_create_double(env, static_cast<double>(row), &out);
  return out;
}

// crossEntropy(heap, x, labels, nll, rowMax, logSum, rows, cols, ignore) -> first bad row or -1
napi_value CrossEntropy(napi_env env, napi_callback_info info) {
  Args args(env, info, 9, "crossEntropy");
  args.heap(0);
  const size_t rows = args.count(6, "rows"), cols = args.count(7, "cols");
  const int32_t ignore = args.int32(8, "ignore");
  const float* x = args.floats(1, rows * cols, "x");
  const auto* labels = reinterpret_cast<const int32_t*>(args.region(2, 4.0 * rows, 4, "labels"));
  float* nll = args.floats(3, rows, "nll");
  float* row_max = args.floats(4, rows, "rowMax");
  float* log_sum = args.floats(5, rows, "logSum");
  if (args.failed()) return nullptr;
  return row_result(env, cross_entropy(x, labels, ignore, nll, row_max, log_sum, rows, cols));
}

// crossEntropyGrad(heap, x, labels, rowMax, logSum, dnll, dx, rows, cols, ignore)
//   -> first bad row or -1
napi_value CrossEntropyGrad(napi_env env, napi_callback_info info) {
  Args args(env, info, 10, "crossEntropyGrad");
  args.heap(0);
  const size_t rows = args.count(7, "rows"), cols = args.count(8, "cols");
  const int32_t ignore = args.int32(9, "ignore");
  const float* x = args.floats(1, rows * cols, "x");
  const auto* labels = reinterpret_cast<const int32_t*>(args.region(2, 4.0 * rows, 4, "labels"));
  const float* row_max = args.floats(3, rows, "rowMax");
  const float* log_sum = args.floats(4, rows, "logSum");
  const float* dnll = args.floats(5, rows, "dnll");
  float* dx = args.floats(6, rows * cols, "dx");
  if (args.failed()) return nullptr;
  return row_result(
      env, cross_entropy_grad(x, labels, ignore, row_max, log_sum, dnll, dx, rows, cols));
}

// What the products with a frozen weight outside the heap (nf4Matmul, tableMatmul) take first
// and last: the heap (argv[0]), m (argv[3]) and transposed (argv[4]); then, once the weight's
// shape is known, a [m, cols] (argv[1]) and out [m, rows] on the heap, or a [m, rows] and
// out [m, cols] when transposed.
struct FrozenProduct {
  size_t m = 0;
  bool transposed = false;
  const float* a = nullptr;
  float* out = nullptr;
};

FrozenProduct frozen_product_args(Args& args) {
  args.heap(0);
  FrozenProduct p;
  p.m = args.count(3, "m");
  p.transposed = args.flag(4, "transposed");
  return p;
}

bool frozen_product_operands(Args& args, size_t rows, size_t cols, FrozenProduct* p) {
  const size_t inner = p->transposed ? rows : cols, outer = p->transposed ? cols : rows;
  p->a = args.floats(1, p->m * inner, "a");
  p->out = args.floats(2, p->m * outer, "out");
  return !args.failed();
}

// nf4Matmul(heap, a, out, m, transposed, rows, cols, blocksize, packed, absmax, absmaxCodes,
//           nestedAbsmax, nestedCode, nestedOffset, nestedBlocksize)
// out [m, rows] = a [m, cols] * W^T, or out [m, cols] = a [m, rows] * W when transposed, for W
// [rows, cols] in NF4 (Nf4Weight): packed codes and either float32 absmax or 8-bit absmax codes
// with their nested statistics, in JavaScript typed arrays; a and out on the heap.
napi_value Nf4Matmul(napi_env env, napi_callback_info info) {
  Args args(env, info, 15, "nf4Matmul");
  if (!require_blas(args)) return nullptr;
  FrozenProduct p = frozen_product_args(args);
  Nf4Weight w{};
  w.rows = args.count(5, "rows");
  w.cols = args.count(6, "cols");
  w.blocksize = args.count(7, "blocksize");
  if (!args.failed() && !nf4_blocksize_ok(w.blocksize)) {
    args.fail("blocksize must be a power of two in 32..4096, got " + std::to_string(w.blocksize));
  }
  const size_t n = w.rows * w.cols;
  const size_t blocks = args.failed() ? 0 : (n + w.blocksize - 1) / w.blocksize;
  w.packed = static_cast<const uint8_t*>(
      args.typed(8, napi_uint8_array, "Uint8Array", (n + 1) / 2, "packed"));
  w.absmax = static_cast<const float*>(
      args.typed(9, napi_float32_array, "Float32Array", blocks, "absmax", true));
  w.absmax_codes = static_cast<const uint8_t*>(
      args.typed(10, napi_uint8_array, "Uint8Array", blocks, "absmaxCodes", true));
  if (!args.failed() && (w.absmax == nullptr) == (w.absmax_codes == nullptr)) {
    args.fail("exactly one of absmax and absmaxCodes must be given");
  }
  if (w.absmax_codes != nullptr) {
    w.nested_blocksize = args.count(14, "nestedBlocksize");
    if (!args.failed() && w.nested_blocksize == 0) args.fail("nestedBlocksize must be positive");
    const size_t nested =
        args.failed() ? 0 : (blocks + w.nested_blocksize - 1) / w.nested_blocksize;
    w.nested_absmax = static_cast<const float*>(
        args.typed(11, napi_float32_array, "Float32Array", nested, "nestedAbsmax"));
    w.nested_code = static_cast<const float*>(
        args.typed(12, napi_float32_array, "Float32Array", 256, "nestedCode"));
    w.nested_offset = static_cast<float>(args.number(13, "nestedOffset"));
  }
  if (!frozen_product_operands(args, w.rows, w.cols, &p)) return nullptr;
  nf4_matmul(w, p.a, p.out, p.m, p.transposed);
  return nullptr;
}

// The weight of tableMatmul / tableGather: rows, cols and format at argv[i..i+2], its bytes (a
// Uint8Array, row-major) at argv[i+3].
bool table_weight(Args& args, size_t i, TableWeight* w) {
  w->rows = args.count(i, "rows");
  w->cols = args.count(i + 1, "cols");
  const size_t format = args.count(i + 2, "format");
  if (!args.failed() && format > static_cast<size_t>(TableFormat::kF32)) {
    args.fail("unknown format code " + std::to_string(format));
  }
  w->format = static_cast<TableFormat>(format);
  const size_t bytes = args.failed() ? 0 : w->rows * w->cols * table_element_bytes(w->format);
  w->data = static_cast<const uint8_t*>(args.typed(i + 3, napi_uint8_array, "Uint8Array", bytes,
                                                   "data"));
  return !args.failed();
}

// tableMatmul(heap, a, out, m, transposed, rows, cols, format, data)
// out [m, rows] = a [m, cols] * W^T, or out [m, cols] = a [m, rows] * W when transposed, for W
// [rows, cols] stored as bf16 (format 0), f16 (1) or f32 (2) in a Uint8Array outside the heap;
// a and out on the heap.
napi_value TableMatmul(napi_env env, napi_callback_info info) {
  Args args(env, info, 9, "tableMatmul");
  if (!require_blas(args)) return nullptr;
  FrozenProduct p = frozen_product_args(args);
  TableWeight w{};
  if (!table_weight(args, 5, &w)) return nullptr;
  if (!frozen_product_operands(args, w.rows, w.cols, &p)) return nullptr;
  table_matmul(w, p.a, p.out, p.m, p.transposed);
  return nullptr;
}

// tableGather(heap, out, ids, rows, cols, format, data): out [ids.length, cols] on the heap =
// the rows of W (as for tableMatmul) at ids, an Int32Array of values below rows.
napi_value TableGather(napi_env env, napi_callback_info info) {
  Args args(env, info, 7, "tableGather");
  args.heap(0);
  TableWeight w{};
  if (!table_weight(args, 3, &w)) return nullptr;
  const size_t count = args.typed_length(2, "ids");
  size_t max_id = 0;
  const int32_t* ids = args.indices(2, count, "ids", &max_id);
  if (!args.failed() && count > 0 && max_id >= w.rows) {
    args.fail("id " + std::to_string(max_id) + " is outside the table's " +
              std::to_string(w.rows) + " rows");
  }
  float* out = args.floats(1, count * w.cols, "out");
  if (args.failed()) return nullptr;
  table_gather(w, ids, count, out);
  return nullptr;
}

// The [batch, heads, kvHeads, t, s, headDim] Int32Array at argv[i] and the scale after it.
bool attention_shape(Args& args, size_t i, AttentionShape* p) {
  const int32_t* dims = args.int32s(i, 6, "shape");
  const double scale = args.number(i + 1, "scale");
  if (args.failed()) return false;
  for (int d = 0; d < 6; ++d) {
    if (dims[d] < 0) {
      args.fail("shape must be non-negative");
      return false;
    }
  }
  *p = {static_cast<size_t>(dims[0]), static_cast<size_t>(dims[1]), static_cast<size_t>(dims[2]),
        static_cast<size_t>(dims[3]), static_cast<size_t>(dims[4]), static_cast<size_t>(dims[5]),
        static_cast<float>(scale)};
  if (p->kv_heads == 0 || p->heads % p->kv_heads != 0) {
    args.fail("heads " + std::to_string(p->heads) + " must be a multiple of kvHeads " +
              std::to_string(p->kv_heads));
  } else if (p->s_len < p->t_len) {
    args.fail("keys " + std::to_string(p->s_len) + " must be at least the queries " +
              std::to_string(p->t_len));
  } else if (p->head_dim == 0) {
    args.fail("headDim must be positive");
  }
  return !args.failed();
}

// The key padding mask [batch, s] at argv[i], or null for a negative offset.
const float* attention_mask(Args& args, size_t i, const AttentionShape& p) {
  return args.number(i, "mask") < 0 ? nullptr : args.floats(i, p.batch * p.s_len, "mask");
}

// attention(heap, q, k, v, mask, out, stats, shape, scale): fused causal attention (attention.h);
// mask -1 for none.
napi_value Attention(napi_env env, napi_callback_info info) {
  Args args(env, info, 9, "attention");
  if (!require_blas(args)) return nullptr;
  args.heap(0);
  AttentionShape p{};
  if (!attention_shape(args, 7, &p)) return nullptr;
  const size_t rows = p.batch * p.heads * p.t_len, keys = p.batch * p.kv_heads * p.s_len;
  const float* q = args.floats(1, rows * p.head_dim, "q");
  const float* k = args.floats(2, keys * p.head_dim, "k");
  const float* v = args.floats(3, keys * p.head_dim, "v");
  const float* mask = attention_mask(args, 4, p);
  float* out = args.floats(5, rows * p.head_dim, "out");
  float* stats = args.floats(6, 2 * rows, "stats");
  if (args.failed()) return nullptr;
  attention_forward(p, q, k, v, mask, out, stats);
  return nullptr;
}

// attentionGrad(heap, q, k, v, mask, out, stats, dout, dq, dk, dv, shape, scale)
napi_value AttentionGrad(napi_env env, napi_callback_info info) {
  Args args(env, info, 13, "attentionGrad");
  if (!require_blas(args)) return nullptr;
  args.heap(0);
  AttentionShape p{};
  if (!attention_shape(args, 11, &p)) return nullptr;
  const size_t rows = p.batch * p.heads * p.t_len, keys = p.batch * p.kv_heads * p.s_len;
  const float* q = args.floats(1, rows * p.head_dim, "q");
  const float* k = args.floats(2, keys * p.head_dim, "k");
  const float* v = args.floats(3, keys * p.head_dim, "v");
  const float* mask = attention_mask(args, 4, p);
  const float* out = args.floats(5, rows * p.head_dim, "out");
  const float* stats = args.floats(6, 2 * rows, "stats");
  const float* dout = args.floats(7, rows * p.head_dim, "dout");
  float* dq = args.floats(8, rows * p.head_dim, "dq");
  float* dk = args.floats(9, keys * p.head_dim, "dk");
  float* dv = args.floats(10, keys * p.head_dim, "dv");
  if (args.failed()) return nullptr;
  attention_backward(p, q, k, v, mask, out, stats, dout, dq, dk, dv);
  return nullptr;
}

}  // namespace
}  // namespace narrator

NAPI_MODULE_INIT() {
  using namespace narrator;
  const struct {
    const char* name;
    napi_callback fn;
  } functions[] = {{"status", Status},   {"setThreads", SetThreads}, {"matmul", Matmul},
                   {"unary", Unary},     {"binary", Binary},         {"reduce", Reduce},
                   {"softmax", Softmax}, {"copyStrided", CopyStrided},
                   {"gather", Gather},   {"crossEntropy", CrossEntropy},
                   {"crossEntropyGrad", CrossEntropyGrad},
                   {"attention", Attention}, {"attentionGrad", AttentionGrad},
                   {"nf4Matmul", Nf4Matmul}, {"tableMatmul", TableMatmul},
                   {"tableGather", TableGather}};
  for (const auto& f : functions) {
    napi_value fn;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.fn, nullptr, &fn);
    napi_set_named_property(env, exports, f.name, fn);
  }
  return exports;
}
