// What the addon's hot loops share: per-CPU compiled variants and a vectorizable exp.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

// Hot loops are compiled for AVX-512, AVX2 and baseline x86-64; the loader picks one per CPU,
// so a build carried to another machine still runs.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define NARRATOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NARRATOR_CLONES
#endif
#define NARRATOR_INLINE __attribute__((always_inline)) inline

namespace narrator {

NARRATOR_INLINE float from_bits(int32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// exp(x) = 2^n * exp(r) with r = x - n*ln2 in [-ln2/2, ln2/2] (Cody-Waite split of ln2) and
// Cephes' minimax polynomial for exp(r): within ~1 ulp of the correctly rounded value.
NARRATOR_INLINE float exp_f32(float x) {
  const float xc = std::min(std::max(x, -104.0f), 89.0f);  // exp is 0 / inf beyond these
  const float fn = std::floor(xc * 1.44269504088896341f + 0.5f);
  float r = xc - fn * 0.693359375f;
  r = r - fn * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  // 2^n applied as two factors: no overflow of the exponent field, and one rounding in the
  // subnormal range.
  const int32_t n = static_cast<int32_t>(fn);
  const int32_t n1 = n / 2;
  const int32_t n2 = n - n1;
  const float y = p * from_bits((n1 + 127) << 23) * from_bits((n2 + 127) << 23);
  return x != x ? x : y;
}

}  // namespace narrator
