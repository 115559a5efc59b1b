// Matrix products with a frozen 4-bit NormalFloat (NF4) weight, as bitsandbytes runs them: the
// weight is dequantized a tile of rows at a time into a small per-thread buffer and multiplied
// there, so no float32 copy of the whole weight ever exists.
#pragma once

#include <cstddef>
#include <cstdint>

namespace narrator {

// W [rows, cols] in bitsandbytes' NF4 layout: the row-major flattened values in blocks of
// `blocksize` (a partial last block has its own scale), two 4-bit codes per byte with the first
// value in the high nibble, value = NF4[code] * scale[block]. The scales are float32 `absmax`, or
// double-quantized: scale[b] = nested_code[absmax_codes[b]] * nested_absmax[b / nested_blocksize]
// + nested_offset, each step rounded to float32.
struct Nf4Weight {
  const uint8_t* packed;         // ceil(rows * cols / 2) bytes
  const float* absmax;           // one per block, or null when double-quantized
  const uint8_t* absmax_codes;   // one per block when double-quantized, else null
  const float* nested_absmax;    // one per nested_blocksize absmax codes
  const float* nested_code;      // the 256-value map the codes index
  float nested_offset;
  size_t nested_blocksize;
  size_t rows, cols, blocksize;  // blocksize: a power of two in 32..4096
};

// Whether the kernels accept `blocksize` (a power of two in 32..4096, as bitsandbytes does).
bool nf4_blocksize_ok(size_t blocksize);

// out [m, rows] = a [m, cols] * W^T; or, when `transposed`, out [m, cols] = a [m, rows] * W
// (the backward pass of the first). Split over the pool.
void nf4_matmul(const Nf4Weight& w, const float* a, float* out, size_t m, bool transposed);

}  // namespace narrator
