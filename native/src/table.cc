#include "table.h"

#include <algorithm>
#include <cstring>

#include "pool.h"
#include "tiles.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define NARRATOR_X86_SIMD 1
#endif

namespace narrator {
namespace {

// dst[0, n) = the n elements at src, widened to float32.
using WidenFn = void (*)(const uint8_t* src, size_t n, float* dst);

inline uint16_t load16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, sizeof h);
  return h;
}

inline float from_bits32(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// bfloat16 is the upper half of a float32.
void widen_bf16_scalar(const uint8_t* src, size_t n, float* dst) {
  for (size_t i = 0; i < n; ++i) dst[i] = from_bits32(uint32_t{load16(src + 2 * i)} << 16);
}

// binary16 -> float32 bits: every binary16 value (subnormals included) is a normal float32.
uint32_t f16_bits_to_f32_bits(uint16_t h) {
  const uint32_t sign = uint32_t{h & 0x8000u} << 16;
  const uint32_t exponent = (h >> 10) & 0x1f;
  uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0x1f) return sign | 0x7f800000u | (mantissa << 13);  // inf, NaN
  if (exponent != 0) return sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  if (mantissa == 0) return sign;
  // Subnormal: mantissa * 2^-24; shift its leading one into the implicit bit.
  uint32_t e = 127 - 14;
  while ((mantissa & 0x400u) == 0) {
    mantissa <<= 1;
    --e;
  }
  return sign | (e << 23) | ((mantissa & 0x3ffu) << 13);
}

void widen_f16_scalar(const uint8_t* src, size_t n, float* dst) {
  for (size_t i = 0; i < n; ++i) dst[i] = from_bits32(f16_bits_to_f32_bits(load16(src + 2 * i)));
}

void widen_f32(const uint8_t* src, size_t n, float* dst) {
  std::memcpy(dst, src, n * sizeof(float));
}

#ifdef NARRATOR_X86_SIMD
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

__attribute__((target("avx2"))) void widen_bf16_avx2(const uint8_t* src, size_t n, float* dst) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * i));
    const __m256i w = _mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), w);
  }
  widen_bf16_scalar(src + 2 * i, n - i, dst + i);
}

// vcvtph2ps converts exactly, subnormals included (MXCSR's DAZ does not apply to it).
__attribute__((target("avx2,f16c"))) void widen_f16_f16c(const uint8_t* src, size_t n,
                                                         float* dst) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * i));
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
  }
  widen_f16_scalar(src + 2 * i, n - i, dst + i);
}

__attribute__((target("avx512f"))) void widen_bf16_avx512(const uint8_t* src, size_t n,
                                                          float* dst) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + 2 * i));
    const __m512i w = _mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16);
    _mm512_storeu_si512(dst + i, w);
  }
  widen_bf16_scalar(src + 2 * i, n - i, dst + i);
}

__attribute__((target("avx512f"))) void widen_f16_avx512(const uint8_t* src, size_t n,
                                                         float* dst) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + 2 * i));
    _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(h));
  }
  widen_f16_scalar(src + 2 * i, n - i, dst + i);
}
#pragma GCC diagnostic pop
#endif

struct Wideners {
  WidenFn bf16, f16;
};

// The widest variants this CPU runs.
Wideners pick_wideners() {
#ifdef NARRATOR_X86_SIMD
  if (__builtin_cpu_supports("avx512f")) return {widen_bf16_avx512, widen_f16_avx512};
  if (__builtin_cpu_supports("avx2")) {
    return {widen_bf16_avx2,
            __builtin_cpu_supports("f16c") ? widen_f16_f16c : widen_f16_scalar};
  }
#endif
  return {widen_bf16_scalar, widen_f16_scalar};
}

WidenFn widener(TableFormat format) {
  static const Wideners chosen = pick_wideners();
  switch (format) {
    case TableFormat::kBf16:
      return chosen.bf16;
    case TableFormat::kF16:
      return chosen.f16;
    case TableFormat::kF32:
      break;
  }
  return widen_f32;
}

// dst[0, count) = the weight's flattened elements [begin, begin + count), in float32.
inline void widen_range(const TableWeight& w, WidenFn widen, size_t begin, size_t count,
                        float* dst) {
  widen(w.data + begin * table_element_bytes(w.format), count, dst);
}

}  // namespace

size_t table_element_bytes(TableFormat format) { return format == TableFormat::kF32 ? 4 : 2; }

void table_matmul(const TableWeight& w, const float* a, float* out, size_t m, bool transposed) {
  const WidenFn fn = widener(w.format);
  const auto widen = [&w, fn](size_t begin, size_t count, float* dst) {
    widen_range(w, fn, begin, count, dst);
  };
  // Bands of 16 columns: whole vectors for the widest wideners.
  tiled_matmul(w.rows, w.cols, widen, 16, a, out, m, transposed);
}

void table_gather(const TableWeight& w, const int32_t* ids, size_t count, float* out) {
  const WidenFn widen = widener(w.format);
  constexpr size_t kIdsPerTask = 64;
  parallel_for(static_cast<int>(ceil_div(count, kIdsPerTask)), [&](int t) {
    const size_t i1 = std::min(count, (t + 1) * kIdsPerTask);
    for (size_t i = t * kIdsPerTask; i < i1; ++i) {
      widen_range(w, widen, static_cast<size_t>(ids[i]) * w.cols, w.cols, out + i * w.cols);
    }
  });
}

}  // namespace narrator
