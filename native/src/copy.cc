#include "copy.h"

#include <algorithm>
#include <cstring>

#include "pool.h"

namespace narrator {
namespace {

constexpr size_t kMinParallelBytes = size_t{1} << 18;
constexpr int64_t kTile = 32;  // transpose tile edge: 32x32 4-byte elements = 4 KiB

struct Range {
  size_t begin, end;
};

Range split(size_t total, size_t parts, size_t part) {
  const size_t per = (total + parts - 1) / parts;
  const size_t begin = std::min(total, part * per);
  return {begin, std::min(total, begin + per)};
}

size_t pieces(size_t bytes) {
  if (bytes < kMinParallelBytes) return 1;
  return std::max<size_t>(1, std::min<size_t>(pool_limit(), bytes / (kMinParallelBytes / 2)));
}

// The strided copy as loops: `outer` dims walked as an odometer, then the tiled pair (b, a):
// a is contiguous in dst (innermost loop), b is contiguous in src (or absent: tile_b == 1).
struct StridedPlan {
  int outer_rank = 0;
  int64_t outer_shape[kMaxCopyRank];
  int64_t outer_src[kMaxCopyRank];
  int64_t outer_dst[kMaxCopyRank];
  int64_t na = 1, sa = 0, da = 0;  // dim a: extent, src stride, dst stride
  int64_t nb = 1, sb = 0, db = 0;  // dim b
};

void copy_block(const StridedPlan& p, const uint32_t* src, uint32_t* dst, int64_t b0, int64_t b1) {
  if (p.nb == 1 || p.sb != 1) {
    // No transposed pair: each b is a run along a.
    for (int64_t b = b0; b < b1; ++b) {
      const uint32_t* s = src + b * p.sb;
      uint32_t* d = dst + b * p.db;
      if (p.sa == 1 && p.da == 1) {
        std::memcpy(d, s, static_cast<size_t>(p.na) * 4);
      } else {
        for (int64_t i = 0; i < p.na; ++i) d[i * p.da] = s[i * p.sa];
      }
    }
    return;
  }
  for (int64_t bt = b0; bt < b1; bt += kTile) {
    const int64_t be = std::min(b1, bt + kTile);
    for (int64_t at = 0; at < p.na; at += kTile) {
      const int64_t ae = std::min(p.na, at + kTile);
      for (int64_t b = bt; b < be; ++b) {
        const uint32_t* s = src + b;  // sb == 1
        uint32_t* d = dst + b * p.db;
        for (int64_t a = at; a < ae; ++a) d[a * p.da] = s[a * p.sa];
      }
    }
  }
}

}  // namespace

void copy_strided(const uint32_t* src, uint32_t* dst, int rank, const int64_t* shape,
                  const int64_t* src_strides, const int64_t* dst_strides) {
  size_t total = 1;
  for (int d = 0; d < rank; ++d) total *= static_cast<size_t>(shape[d]);
  if (total == 0) return;
  // a: the dim with the smallest dst stride (contiguous in dst); b: the dim contiguous in src.
  int a = -1, b = -1;
  for (int d = 0; d < rank; ++d) {
    if (shape[d] == 1) continue;
    if (a < 0 || dst_strides[d] < dst_strides[a]) a = d;
  }
  for (int d = 0; d < rank; ++d) {
    if (shape[d] != 1 && d != a && src_strides[d] == 1) b = d;
  }
  StridedPlan p;
  if (a >= 0) {
    p.na = shape[a], p.sa = src_strides[a], p.da = dst_strides[a];
  }
  if (b >= 0) {
    p.nb = shape[b], p.sb = src_strides[b], p.db = dst_strides[b];
  }
  for (int d = 0; d < rank; ++d) {
    if (d == a || d == b || shape[d] == 1) continue;
    p.outer_shape[p.outer_rank] = shape[d];
    p.outer_src[p.outer_rank] = src_strides[d];
    p.outer_dst[p.outer_rank] = dst_strides[d];
    ++p.outer_rank;
  }
  size_t outer = 1;
  for (int d = 0; d < p.outer_rank; ++d) outer *= static_cast<size_t>(p.outer_shape[d]);
  // Work units: (outer index, tile of b); pieces are contiguous ranges of units.
  const size_t b_tiles = (p.sb == 1 && p.nb > 1) ? (p.nb + kTile - 1) / kTile : 1;
  const size_t units = outer * b_tiles;
  const size_t tasks = std::min(units, pieces(total * 4));
  parallel_for(static_cast<int>(tasks), [&](int t) {
    const Range r = split(units, tasks, t);
    if (r.begin >= r.end) return;
    // Odometer over the outer dims, starting at unit r.begin.
    int64_t idx[kMaxCopyRank];
    size_t rest = r.begin / b_tiles;
    for (int d = p.outer_rank - 1; d >= 0; --d) {
      idx[d] = static_cast<int64_t>(rest % p.outer_shape[d]);
      rest /= p.outer_shape[d];
    }
    for (size_t u = r.begin; u < r.end; ++u) {
      int64_t so = 0, dof = 0;
      for (int d = 0; d < p.outer_rank; ++d) {
        so += idx[d] * p.outer_src[d];
        dof += idx[d] * p.outer_dst[d];
      }
      const size_t tile = u % b_tiles;
      const int64_t b0 = b_tiles == 1 ? 0 : static_cast<int64_t>(tile) * kTile;
      const int64_t b1 = b_tiles == 1 ? p.nb : std::min(p.nb, b0 + kTile);
      copy_block(p, src + so, dst + dof, b0, b1);
      if (tile + 1 == b_tiles) {
        for (int d = p.outer_rank - 1; d >= 0; --d) {
          if (++idx[d] < p.outer_shape[d]) break;
          idx[d] = 0;
        }
      }
    }
  });
}

bool gather(const uint32_t* x, uint32_t* out, size_t outer, size_t dim, size_t inner,
            const int32_t* indices, size_t count) {
  for (size_t j = 0; j < count; ++j) {
    if (indices[j] < 0 || static_cast<size_t>(indices[j]) >= dim) return false;
  }
  const size_t rows = outer * count;
  const size_t tasks = std::min(rows, pieces(rows * inner * 4));
  parallel_for(static_cast<int>(tasks), [&](int t) {
    const Range r = split(rows, tasks, t);
    for (size_t row = r.begin; row < r.end; ++row) {
      const size_t o = row / count, j = row % count;
      std::memcpy(out + row * inner, x + (o * dim + indices[j]) * inner, inner * 4);
    }
  });
  return true;
}

}  // namespace narrator
