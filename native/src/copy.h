// Data movement over caller-owned memory, split over the pool: strided copies (transpose,
// slice, concat) and row gathers.
#pragma once

#include <cstddef>
#include <cstdint>

namespace narrator {

constexpr int kMaxCopyRank = 8;

// Copies a box of 4-byte elements: element (i_0..i_{r-1}) moves from
// src[sum i_d * src_strides[d]] to dst[sum i_d * dst_strides[d]] (strides in elements).
// Two dims, the one contiguous in dst and the one contiguous in src, are walked in tiles so
// that transposes stay in cache.
void copy_strided(const uint32_t* src, uint32_t* dst, int rank, const int64_t* shape,
                  const int64_t* src_strides, const int64_t* dst_strides);

// out[o, j, :] = x[o, indices[j], :] for x viewed as [outer, dim, inner] (4-byte elements).
// Returns false, writing nothing, when an index is outside [0, dim).
bool gather(const uint32_t* x, uint32_t* out, size_t outer, size_t dim, size_t inner,
            const int32_t* indices, size_t count);

}  // namespace narrator
