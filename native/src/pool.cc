#include "pool.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace narrator {
namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Waits for `done()`: spins first, then yields, so that on an oversubscribed machine a worker
// that was descheduled mid-task gets the core back.
template <class Done>
void wait_until(const Done& done) {
  for (int i = 0; !done(); ++i) {
    if (i < 2000) {
      cpu_relax();
    } else {
      std::this_thread::yield();
    }
  }
}

// One fork-join job; lives on the caller's stack until every worker has let go of it.
struct Job {
  TaskFn fn;
  void* ctx;
  int tasks;
  int max_workers;  // workers allowed to join (limit - 1)
  std::atomic<int> next{0};
  std::atomic<int> done{0};
  std::atomic<int> joined{0};
  std::atomic<int> refs{0};

  void work() {
    for (int t = next.fetch_add(1); t < tasks; t = next.fetch_add(1)) {
      fn(ctx, t);
      done.fetch_add(1, std::memory_order_release);
    }
  }
};

class Pool {
 public:
  explicit Pool(int threads) : size_(threads), limit_(threads) {
    for (int i = 1; i < threads; ++i) std::thread([this] { worker(); }).detach();
  }

  int size() const { return size_; }
  int limit() const { return limit_.load(); }
  int set_limit(int n) {
    limit_.store(std::clamp(n, 1, size_));
    return limit_.load();
  }

  void run(int tasks, TaskFn fn, void* ctx) {
    const int limit = limit_.load();
    std::unique_lock<std::mutex> busy(run_mu_, std::try_to_lock);
    if (tasks <= 1 || limit <= 1 || !busy.owns_lock()) {
      for (int t = 0; t < tasks; ++t) fn(ctx, t);
      return;
    }
    Job job{fn, ctx, tasks, limit - 1};
    {
      std::lock_guard<std::mutex> lk(mu_);
      current_ = &job;
      generation_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    job.work();
    wait_until([&] { return job.done.load(std::memory_order_acquire) >= tasks; });
    {
      std::lock_guard<std::mutex> lk(mu_);
      current_ = nullptr;
    }
    wait_until([&] { return job.refs.load(std::memory_order_acquire) == 0; });
  }

 private:
  void worker() {
    unsigned long seen = 0;
    for (;;) {
      // Spin briefly: kernels arrive back to back during a training step, and a futex wake-up
      // costs more than a small matmul.
      for (int i = 0; i < 4000 && generation_.load(std::memory_order_acquire) == seen; ++i) {
        cpu_relax();
      }
      Job* job = nullptr;
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return generation_.load(std::memory_order_relaxed) != seen; });
        seen = generation_.load(std::memory_order_relaxed);
        job = current_;
        if (job != nullptr && job->joined.fetch_add(1) < job->max_workers) {
          job->refs.fetch_add(1);
        } else {
          job = nullptr;
        }
      }
      if (job != nullptr) {
        job->work();
        job->refs.fetch_sub(1, std::memory_order_release);
      }
    }
  }

  const int size_;
  std::atomic<int> limit_;
  std::mutex run_mu_;  // one job at a time (several JS threads could share the addon)
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<unsigned long> generation_{0};
  Job* current_ = nullptr;
};

int detect_threads() {
  if (const char* env = std::getenv("NARRATOR_NATIVE_THREADS")) {
    const int n = std::atoi(env);
    if (n >= 1) return std::min(n, 256);
  }
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

// Created on first use and kept for the life of the process (workers are detached).
Pool& pool() {
  static Pool* p = new Pool(detect_threads());
  return *p;
}

}  // namespace

int pool_size() { return pool().size(); }
int set_pool_limit(int threads) { return pool().set_limit(threads); }
int pool_limit() { return pool().limit(); }
void parallel_run(int tasks, TaskFn fn, void* ctx) { pool().run(tasks, fn, ctx); }

}  // namespace narrator
