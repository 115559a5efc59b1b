{
  "targets": [
    {
      "target_name": "narrator_native",
      "sources": ["src/addon.cc", "src/blas.cc", "src/pool.cc", "src/kernels.cc", "src/copy.cc", "src/attention.cc", "src/nf4.cc", "src/tiles.cc", "src/table.cc"],
      "cflags_cc": ["-O3", "-std=c++17", "-fno-math-errno", "-ffp-contract=off", "-fno-trapping-math", "-fvisibility=hidden"],
      "cflags_cc!": ["-std=gnu++17"],
      "libraries": ["-ldl", "-lpthread"]
    }
  ]
}
