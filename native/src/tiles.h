// What the products with a frozen weight stored in another format (NF4 codes, 16-bit floats)
// share: the weight is widened to float32 a tile of rows at a time into a per-thread buffer and
// multiplied there, so no float32 copy of the whole weight ever exists.
#pragma once

#include <algorithm>
#include <cstddef>

#include "blas.h"
#include "pool.h"

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

// out [m, rows] = a [m, cols] * W^T with m <= kSmallM: one widened row at a time.
template <class Widen>
void forward_dots(size_t rows, size_t cols, const Widen& widen, const float* a, float* out,
                  size_t m) {
  parallel_for(static_cast<int>(ceil_div(rows, kDotRowsPerTask)), [&](int t) {
    float* row = scratch(cols);
    const size_t r1 = std::min(rows, (t + 1) * kDotRowsPerTask);
    for (size_t r = t * kDotRowsPerTask; r < r1; ++r) {
      widen(r * cols, cols, row);
      for (size_t i = 0; i < m; ++i) out[i * rows + r] = dot(a + i * cols, row, cols);
    }
  });
}

// out [m, rows] = a [m, cols] * W^T: a tile of consecutive rows (contiguous in W) per task, at
// least two tasks per thread.
template <class Widen>
void forward_tiles(size_t rows, size_t cols, const Widen& widen, const float* a, float* out,
                   size_t m) {
  const size_t share = ceil_div(ceil_div(rows, 2 * static_cast<size_t>(pool_limit())), 8) * 8;
  const size_t tile = std::min(tile_rows(cols), share);
  parallel_for(static_cast<int>(ceil_div(rows, tile)), [&](int t) {
    const size_t r0 = t * tile, r1 = std::min(rows, r0 + tile);
    float* buf = scratch(tile * cols);
    widen(r0 * cols, (r1 - r0) * cols, buf);
    sgemm(false, true, static_cast<int>(m), static_cast<int>(r1 - r0), static_cast<int>(cols), 1.0f,
          a, static_cast<int>(cols), buf, static_cast<int>(cols), 0.0f, out + r0,
          static_cast<int>(rows));
  });
}

// out [m, cols] = a [m, rows] * W: each task owns a band of output columns (a multiple of
// `align` wide, two per thread: wide enough for efficient BLAS calls, and a thread that finishes
// early can take another) and runs down all rows of W in tiles, accumulating into its band.
template <class Widen>
void transposed_tiles(size_t rows, size_t cols, const Widen& widen, size_t align,
                      const float* a, float* out, size_t m) {
  const size_t per = ceil_div(cols, 2 * static_cast<size_t>(pool_limit()));
  const size_t band = std::min(cols, ceil_div(std::max(per, align), align) * align);
  parallel_for(static_cast<int>(ceil_div(cols, band)), [&](int t) {
    const size_t c0 = t * band, width = std::min(cols, c0 + band) - c0;
    const size_t tile = tile_rows(width);
    float* buf = scratch(tile * width);
    for (size_t r0 = 0; r0 < rows; r0 += tile) {
      const size_t r1 = std::min(rows, r0 + tile);
      for (size_t r = r0; r < r1; ++r) widen(r * cols + c0, width, buf + (r - r0) * width);
      sgemm(false, false, static_cast<int>(m), static_cast<int>(width), static_cast<int>(r1 - r0),
            1.0f, a + r0, static_cast<int>(rows), buf, static_cast<int>(width),
            r0 == 0 ? 0.0f : 1.0f, out + c0, static_cast<int>(cols));
    }
  });
}

// out [m, rows] = a [m, cols] * W^T; or, when `transposed`, out [m, cols] = a [m, rows] * W, for a
// weight W [rows, cols] whose flattened elements [begin, begin + count) `widen(begin, count, dst)`
// writes to dst in float32; `align` is the column alignment the widening prefers.
template <class Widen>
void tiled_matmul(size_t rows, size_t cols, const Widen& widen, size_t align, const float* a,
                  float* out, size_t m, bool transposed) {
  const size_t inner = transposed ? rows : cols;
  const size_t outer = transposed ? cols : rows;
  if (m == 0 || outer == 0) return;
  if (inner == 0) {
    std::fill(out, out + m * outer, 0.0f);
  } else if (transposed) {
    transposed_tiles(rows, cols, widen, align, a, out, m);
  } else if (m <= kSmallM) {
    forward_dots(rows, cols, widen, a, out, m);
  } else {
    forward_tiles(rows, cols, widen, a, out, m);
  }
}

}  // namespace narrator
