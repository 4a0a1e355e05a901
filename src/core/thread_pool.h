#pragma once
// Persistent worker pool: workers spin briefly between jobs (ops come back-to-back during a
// forward pass), then sleep on a condition variable so an idle process costs no CPU.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace r1d {

class ThreadPool {
 public:
  // n_threads includes the calling thread; 1 means everything runs on the caller, 0 (or less)
  // means one per core. Every "-t N" flag passes its value straight through.
  explicit ThreadPool(int n_threads);
  // The count a pool built with n_threads will have.
  static int ResolveCount(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Calls fn(ith, nth) once for every ith in [0, nth) in parallel and waits for all.
  void Run(const std::function<void(int ith, int nth)>& fn);

  // Splits [0, n) into contiguous chunks, one per thread, and calls fn(begin, end).
  void ParallelFor(int64_t n, const std::function<void(int64_t begin, int64_t end)>& fn);

  // Calls fn on chunks of at most `grain` indices covering [0, n) once. Each thread starts on its
  // own contiguous share and takes it in order; one that runs out steals the back half of the
  // largest share left. So each thread reads one sequential stream (what the prefetchers of a
  // matrix product want), threads finish together, and a thread that the OS deschedules (a busy
  // machine) delays only its chunk. With one thread (or n <= grain) fn(0, n) is called once.
  // Not reentrant: fn must not call ParallelForDynamic on the same pool.
  void ParallelForDynamic(int64_t n, int64_t grain,
                          const std::function<void(int64_t begin, int64_t end)>& fn);

 private:
  void WorkerLoop(int ith);

  int n_threads_;
  // ParallelForDynamic's unclaimed range per thread, one cache line each.
  struct alignas(64) StealRange {
    std::atomic<uint64_t> r{0};
  };
  std::unique_ptr<StealRange[]> ranges_;
  std::vector<std::thread> workers_;
  // A job is published by storing job_, then bumping generation_; spinning workers see the new
  // generation and read job_ without a lock. Only workers that went to sleep (sleepers_) need
  // the mutex and condition variable, so back-to-back regions cost no lock or system call.
  std::atomic<const std::function<void(int, int)>*> job_{nullptr};
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
};

}  // namespace r1d
