#include "core/thread_pool.h"

#include <algorithm>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace r1d {
namespace {

inline void CpuRelax() {
#if defined(__x86_64__)
  _mm_pause();
#endif
}

constexpr int kSpinIterations = 20000;

}  // namespace

int ThreadPool::ResolveCount(int n_threads) {
  if (n_threads > 0) return n_threads;
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

ThreadPool::ThreadPool(int n_threads)
    : n_threads_(ResolveCount(n_threads)), ranges_(new StealRange[n_threads_]) {
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { WorkerLoop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_.store(true);
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::Run(const std::function<void(int, int)>& fn) {
  if (n_threads_ == 1) {
    fn(0, 1);
    return;
  }
  job_.store(&fn, std::memory_order_relaxed);
  pending_.store(n_threads_ - 1, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_seq_cst);  // publishes job_ and pending_
  // A worker about to sleep registers in sleepers_ before its last look at generation_ (both
  // sequentially consistent): either it sees the new generation, or this sees it and wakes it.
  if (sleepers_.load(std::memory_order_seq_cst) > 0) {
    std::lock_guard<std::mutex> lock(mutex_);
    wake_.notify_all();
  }
  fn(0, n_threads_);
  while (pending_.load(std::memory_order_acquire) != 0) CpuRelax();
}

void ThreadPool::ParallelFor(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  const int nth = static_cast<int>(std::min<int64_t>(n_threads_, n));
  if (nth == 1) {
    fn(0, n);
    return;
  }
  Run([&](int ith, int all) {
    if (ith >= nth) return;
    (void)all;
    const int64_t chunk = (n + nth - 1) / nth;
    const int64_t begin = std::min<int64_t>(n, chunk * ith);
    const int64_t end = std::min<int64_t>(n, begin + chunk);
    if (begin < end) fn(begin, end);
  });
}

namespace {

// A thread's unclaimed range [front, back) in one word, so that the owner taking from the
// front and a thief taking from the back never both get the same index.
uint64_t PackRange(int64_t front, int64_t back) {
  return static_cast<uint64_t>(front) | (static_cast<uint64_t>(back) << 32);
}
int64_t Front(uint64_t r) { return static_cast<int64_t>(r & 0xFFFFFFFFu); }
int64_t Back(uint64_t r) { return static_cast<int64_t>(r >> 32); }

}  // namespace

void ThreadPool::ParallelForDynamic(int64_t n, int64_t grain,
                                    const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  if (n_threads_ == 1 || n <= grain) {
    fn(0, n);
    return;
  }
  if (n > 0xFFFFFFFF) {  // beyond the packed ranges: plain chunks
    ParallelFor((n + grain - 1) / grain, [&](int64_t b, int64_t e) {
      for (int64_t c = b; c < e; ++c) fn(c * grain, std::min(n, (c + 1) * grain));
    });
    return;
  }
  // Work stealing: each thread walks its own contiguous share front to back, `grain` at a time
  // (one sequential stream, as a static split gives), and a thread that runs out takes the back
  // half of the largest share left. Threads finish within about one grain of each other, and a
  // descheduled thread delays only the chunk it holds.
  const int nth = n_threads_;
  for (int i = 0; i < nth; ++i) {
    ranges_[i].r.store(PackRange(n * i / nth, n * (i + 1) / nth), std::memory_order_relaxed);
  }
  Run([&](int self, int) {
    for (;;) {
      uint64_t v = ranges_[self].r.load(std::memory_order_acquire);
      while (Front(v) < Back(v)) {
        const int64_t begin = Front(v), end = std::min(Back(v), begin + grain);
        if (ranges_[self].r.compare_exchange_weak(v, PackRange(end, Back(v)),
                                                  std::memory_order_acq_rel)) {
          fn(begin, end);
          v = ranges_[self].r.load(std::memory_order_acquire);
        }
      }
      // Out of work: steal from the thread with the most left.
      bool stolen = false;
      while (!stolen) {
        int victim = -1;
        int64_t most = 0;
        for (int j = 0; j < nth; ++j) {
          const uint64_t r = ranges_[j].r.load(std::memory_order_acquire);
          if (Back(r) - Front(r) > most) {
            most = Back(r) - Front(r);
            victim = j;
          }
        }
        if (victim < 0) return;  // nothing left anywhere
        uint64_t r = ranges_[victim].r.load(std::memory_order_acquire);
        const int64_t f = Front(r), b = Back(r);
        if (f >= b) continue;
        const int64_t mid = b - f <= grain ? f : f + (b - f) / 2;
        if (ranges_[victim].r.compare_exchange_strong(r, PackRange(f, mid),
                                                      std::memory_order_acq_rel)) {
          ranges_[self].r.store(PackRange(mid, b), std::memory_order_release);
          stolen = true;
        }
      }
    }
  });
}

void ThreadPool::WorkerLoop(int ith) {
  uint64_t seen = 0;
  for (;;) {
    uint64_t gen = generation_.load(std::memory_order_acquire);
    for (int spin = 0; gen == seen && spin < kSpinIterations; ++spin) {
      CpuRelax();
      gen = generation_.load(std::memory_order_acquire);
    }
    if (gen == seen) {
      std::unique_lock<std::mutex> lock(mutex_);
      sleepers_.fetch_add(1, std::memory_order_seq_cst);
      wake_.wait(lock, [&] { return generation_.load(std::memory_order_seq_cst) != seen; });
      sleepers_.fetch_sub(1, std::memory_order_relaxed);
      gen = generation_.load(std::memory_order_acquire);
    }
    seen = gen;
    if (stop_.load()) return;
    (*job_.load(std::memory_order_relaxed))(ith, n_threads_);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

}  // namespace r1d
