// Matrix products with a frozen weight kept as a checkpoint stores it (bfloat16, binary16 or
// float32) outside the wasm heap, such as an untied output head: the weight is widened to
// float32 a tile of rows at a time into a small per-thread buffer and multiplied there, so no
// float32 copy of the whole weight exists. Widening is exact, so results equal those of a
// product with a float32 copy up to the order of the sums.
#pragma once

#include <cstddef>
#include <cstdint>

namespace narrator {

// How the weight's elements are stored (little-endian).
enum class TableFormat { kBf16 = 0, kF16 = 1, kF32 = 2 };

// Bytes per element of a format.
size_t table_element_bytes(TableFormat format);

// W [rows, cols], row-major, at `data` (any alignment).
struct TableWeight {
  const uint8_t* data;
  TableFormat format;
  size_t rows, cols;
};

// out [m, rows] = a [m, cols] * W^T; or, when `transposed`, out [m, cols] = a [m, rows] * W
// (the backward pass of the first). Split over the pool.
void table_matmul(const TableWeight& w, const float* a, float* out, size_t m, bool transposed);

// out [ids, cols] = the rows of W at `ids` (each < rows), widened: an embedding lookup.
void table_gather(const TableWeight& w, const int32_t* ids, size_t count, float* out);

}  // namespace narrator
