#include "blas.h"

#include <dlfcn.h>

#include <cstdlib>

namespace narrator {
namespace {

// CBLAS enum values, fixed by the CBLAS standard.
constexpr int kRowMajor = 101;
constexpr int kNoTrans = 111;
constexpr int kTrans = 112;

using SgemmFn = void (*)(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                         const float* a, int lda, const float* b, int ldb, float beta, float* c,
                         int ldc);
using SetThreadsFn = void (*)(int);
using GetStringFn = char* (*)();

SgemmFn g_sgemm = nullptr;

BlasInfo open_blas() {
  BlasInfo info;
  // NARRATOR_OPENBLAS names a specific library; otherwise the loader's search path decides.
  // OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, when set, are read by OpenBLAS itself: left untouched.
  const char* forced = std::getenv("NARRATOR_OPENBLAS");
  const char* candidates[] = {forced, "libopenblas.so.0", "libopenblas.so",
                              "/usr/lib/x86_64-linux-gnu/libopenblas.so.0"};
  void* lib = nullptr;
  std::string last_error = "no candidate tried";
  for (const char* name : candidates) {
    if (name == nullptr || *name == '\0') continue;
    lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (lib != nullptr) {
      info.path = name;
      break;
    }
    const char* err = dlerror();
    last_error = err != nullptr ? err : name;
    if (forced != nullptr && name == forced) break;  // a forced library must not be replaced
  }
  if (lib == nullptr) {
    info.reason = "OpenBLAS not found (" + last_error + ")";
    return info;
  }
  g_sgemm = reinterpret_cast<SgemmFn>(dlsym(lib, "cblas_sgemm"));
  auto set_threads = reinterpret_cast<SetThreadsFn>(dlsym(lib, "openblas_set_num_threads"));
  if (g_sgemm == nullptr || set_threads == nullptr) {
    info.reason = info.path + " lacks cblas_sgemm or openblas_set_num_threads";
    g_sgemm = nullptr;
    return info;
  }
  set_threads(1);
  if (auto core = reinterpret_cast<GetStringFn>(dlsym(lib, "openblas_get_corename"))) {
    info.core = core();
  }
  if (auto config = reinterpret_cast<GetStringFn>(dlsym(lib, "openblas_get_config"))) {
    info.config = config();
  }
  info.ok = true;
  return info;
}

}  // namespace

const BlasInfo& load_blas() {
  static const BlasInfo info = open_blas();
  return info;
}

void sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
           const float* b, int ldb, float beta, float* c, int ldc) {
  g_sgemm(kRowMajor, trans_a ? kTrans : kNoTrans, trans_b ? kTrans : kNoTrans, m, n, k, alpha, a,
          lda, b, ldb, beta, c, ldc);
}

}  // namespace narrator
