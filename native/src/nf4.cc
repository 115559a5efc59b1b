#include "nf4.h"

#include <algorithm>

#include "tiles.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define NARRATOR_X86_SIMD 1
#endif

namespace narrator {
namespace {

// bitsandbytes' NF4 values, index 0..15 (float32).
alignas(64) constexpr float kNf4[16] = {
    -1.0f,
    -0.6961928009986877f,
    -0.5250730514526367f,
    -0.39491748809814453f,
    -0.28444138169288635f,
    -0.18477343022823334f,
    -0.09105003625154495f,
    0.0f,
    0.07958029955625534f,
    0.16093020141124725f,
    0.24611230194568634f,
    0.33791524171829224f,
    0.44070982933044434f,
    0.5626170039176941f,
    0.7229568362236023f,
    1.0f,
};

// Values dequantized per chunk: 16 packed bytes. Blocks (>= 32 values, powers of two) start on
// chunk boundaries, so a chunk never straddles two scales.
constexpr size_t kChunk = 32;

// Dequantizes `chunks` chunks at `bytes` with one scale: dst[2j] is the high nibble of byte j.
using ChunksFn = void (*)(const uint8_t* bytes, size_t chunks, float scale, float* dst);

void chunks_scalar(const uint8_t* bytes, size_t chunks, float scale, float* dst) {
  for (size_t j = 0; j < chunks * (kChunk / 2); ++j) {
    dst[2 * j] = kNf4[bytes[j] >> 4] * scale;
    dst[2 * j + 1] = kNf4[bytes[j] & 0x0f] * scale;
  }
}

#ifdef NARRATOR_X86_SIMD
// GCC 12's AVX-512 headers make their "undefined" vectors by self-initialization, which -Wall
// reports once inlined here (GCC bug 105593); nothing reads an uninitialized value.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// NF4 values of 8 codes (int32 lanes 0..15): two 8-entry permutes, bit 3 picks the upper table.
__attribute__((target("avx2,fma"))) inline __m256 lookup_avx2(__m256i codes, __m256 low,
                                                               __m256 high) {
  const __m256 mask = _mm256_castsi256_ps(_mm256_slli_epi32(codes, 28));
  return _mm256_blendv_ps(_mm256_permutevar8x32_ps(low, codes),
                          _mm256_permutevar8x32_ps(high, codes), mask);
}

__attribute__((target("avx2,fma"))) void chunks_avx2(const uint8_t* bytes, size_t chunks,
                                                     float scale, float* dst) {
  const __m256 low = _mm256_load_ps(kNf4), high = _mm256_load_ps(kNf4 + 8);
  const __m256 s = _mm256_set1_ps(scale);
  const __m256i nibble = _mm256_set1_epi32(0x0f);
  for (size_t h = 0; h < 2 * chunks; ++h, bytes += 8, dst += 16) {
    const __m128i packed = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(bytes));
    const __m256i b = _mm256_cvtepu8_epi32(packed);
    const __m256 hi = _mm256_mul_ps(lookup_avx2(_mm256_srli_epi32(b, 4), low, high), s);
    const __m256 lo = _mm256_mul_ps(lookup_avx2(_mm256_and_si256(b, nibble), low, high), s);
    // Interleave (hi0 lo0 hi1 lo1 ...): unpack within 128-bit lanes, then put the lanes in order.
    const __m256 a = _mm256_unpacklo_ps(hi, lo), c = _mm256_unpackhi_ps(hi, lo);
    _mm256_storeu_ps(dst, _mm256_permute2f128_ps(a, c, 0x20));
    _mm256_storeu_ps(dst + 8, _mm256_permute2f128_ps(a, c, 0x31));
  }
}

__attribute__((target("avx512f"))) void chunks_avx512(const uint8_t* bytes, size_t chunks,
                                                      float scale, float* dst) {
  const __m512 table = _mm512_load_ps(kNf4);
  const __m512 s = _mm512_set1_ps(scale);
  const __m512i nibble = _mm512_set1_epi32(0x0f);
  // Where the interleaved output's lanes come from: hi (0..15) and lo (16..31) alternately.
  const __m512i first = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i second =
      _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  for (size_t c = 0; c < chunks; ++c, bytes += 16, dst += kChunk) {
    const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes));
    const __m512i b = _mm512_cvtepu8_epi32(packed);
    const __m512 hi = _mm512_mul_ps(_mm512_permutexvar_ps(_mm512_srli_epi32(b, 4), table), s);
    const __m512 lo = _mm512_mul_ps(_mm512_permutexvar_ps(_mm512_and_si512(b, nibble), table), s);
    _mm512_storeu_ps(dst, _mm512_permutex2var_ps(hi, first, lo));
    _mm512_storeu_ps(dst + 16, _mm512_permutex2var_ps(hi, second, lo));
  }
}

#pragma GCC diagnostic pop
#endif


// The widest variant this CPU runs (the same choice as the status's `cpuKernels`).
ChunksFn pick_chunks() {
#ifdef NARRATOR_X86_SIMD
  if (__builtin_cpu_supports("avx512f")) return chunks_avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return chunks_avx2;
#endif
  return chunks_scalar;
}

// The scale of block b, rounded as the JavaScript dequantizer rounds it.
inline float block_scale(const Nf4Weight& w, size_t b) {
  if (w.absmax != nullptr) return w.absmax[b];
  const float centered = w.nested_code[w.absmax_codes[b]] * w.nested_absmax[b / w.nested_blocksize];
  return centered + w.nested_offset;
}

inline float code_value(const uint8_t* packed, size_t i) {
  const uint8_t byte = packed[i >> 1];
  return kNf4[(i & 1) != 0 ? byte & 0x0f : byte >> 4];
}

// dst[0, count) = the weight's flattened values [begin, begin + count), in float32.
void dequant_range(const Nf4Weight& w, size_t begin, size_t count, float* dst) {
  static const ChunksFn chunks = pick_chunks();
  const size_t end = begin + count;
  for (size_t i = begin; i < end;) {
    const size_t block = i / w.blocksize;
    const size_t stop = std::min(end, (block + 1) * w.blocksize);
    const float scale = block_scale(w, block);
    for (; i < stop && i % kChunk != 0; ++i) dst[i - begin] = code_value(w.packed, i) * scale;
    const size_t whole = (stop - i) / kChunk;
    chunks(w.packed + i / 2, whole, scale, dst + (i - begin));
    i += whole * kChunk;
    for (; i < stop; ++i) dst[i - begin] = code_value(w.packed, i) * scale;
  }
}

}  // namespace

bool nf4_blocksize_ok(size_t blocksize) {
  return blocksize >= 32 && blocksize <= 4096 && (blocksize & (blocksize - 1)) == 0;
}

void nf4_matmul(const Nf4Weight& w, const float* a, float* out, size_t m, bool transposed) {
  // Bands of whole chunks where cols allows, for the vectorized dequantizer.
  const auto widen = [&w](size_t begin, size_t count, float* dst) {
    dequant_range(w, begin, count, dst);
  };
  tiled_matmul(w.rows, w.cols, widen, kChunk, a, out, m, transposed);
}

}  // namespace narrator
