// What the products with a frozen weight stored in another format (NF4 codes, 16-bit floats)
// share: the weight is widened to float32 a tile of rows at a time into a per-thread buffer and
// multiplied there, so no float32 copy of the whole weight ever exists.
#pragma once

#include <algorithm>
#include <cstddef>

namespace narrator {

// Up to this many rows of `a`, a forward product is one dot product per output (no BLAS call).
constexpr size_t kSmallM = 4;
// Output rows per task when dot products are used.
constexpr size_t kDotRowsPerTask = 64;
// Floats in one widened tile (4 MiB per thread). Each BLAS call packs all of `a` again, so a
// tile must be a few hundred rows for that packing to cost little beside the product.
constexpr size_t kTileFloats = size_t{1} << 20;
constexpr size_t kMaxTileRows = 512;

inline size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

// Rows of a widened tile `cols` wide: kTileFloats in all, a multiple of 8 in 8..kMaxTileRows.
inline size_t tile_rows(size_t cols) {
  return std::clamp<size_t>(kTileFloats / std::max<size_t>(cols, 1) / 8 * 8, 8, kMaxTileRows);
}

// A per-thread buffer of at least n floats (pool threads live as long as the process).
float* scratch(size_t n);

// sum a[i] * b[i], with the widest vectors this CPU has.
float dot(const float* a, const float* b, size_t n);

}  // namespace narrator
