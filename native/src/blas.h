// OpenBLAS loaded at run time (Debian ships the runtime library without headers).
#pragma once

#include <string>

namespace narrator {

// Row-major single-precision GEMM: C = alpha * op(A) * op(B) + beta * C.
void sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
           const float* b, int ldb, float beta, float* c, int ldc);

struct BlasInfo {
  bool ok = false;
  std::string reason;  // why loading failed, empty when ok
  std::string path;    // the library that was loaded
  std::string core;    // OpenBLAS's kernel family (e.g. Haswell, SkylakeX)
  std::string config;  // OpenBLAS's build configuration string
};

// Loads OpenBLAS once (forced to one thread: the addon does its own splitting).
const BlasInfo& load_blas();

}  // namespace narrator
