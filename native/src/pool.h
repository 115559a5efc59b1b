// A small fork-join thread pool: the calling thread plus (cores - 1) workers.
#pragma once

namespace narrator {

using TaskFn = void (*)(void* ctx, int task);

// Threads the pool may use, caller included (set once from the CPU affinity mask, or from
// NARRATOR_NATIVE_THREADS).
int pool_size();

// Caps how many threads later calls use (1 = caller only); returns the cap now in force.
int set_pool_limit(int threads);
int pool_limit();

// Runs fn(ctx, t) for t in [0, tasks) and returns when all are done. Runs on the caller alone
// when tasks == 1, when the limit is 1, or when another thread is already using the pool.
void parallel_run(int tasks, TaskFn fn, void* ctx);

// Convenience wrapper for lambdas.
template <class F>
void parallel_for(int tasks, const F& f) {
  parallel_run(
      tasks, [](void* ctx, int t) { (*static_cast<const F*>(ctx))(t); },
      const_cast<void*>(static_cast<const void*>(&f)));
}

}  // namespace narrator
