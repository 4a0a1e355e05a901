#include "kernels/weight_packing.h"

#include <algorithm>
#include <cstdint>
#include <map>

#include "kernels/strip/packed_gemm.h"

namespace r1d::kernels {
namespace {

constexpr int64_t kStripRows = 16;

struct Job {
  WeightView source;  // data, type, n_in of the matrix as stored
  int64_t rows = 0;
  int64_t offset = 0;  // into the packed buffer
  int64_t strips = 0;
};

}  // namespace

Result<std::unique_ptr<AnonBuffer>> PackWeights(ThreadPool& pool,
                                                const std::vector<PackRequest>& requests,
                                                PackStats* stats, int64_t max_bytes) {
  PackStats local;
  std::vector<Job> jobs;
  std::map<const void*, size_t> job_of;  // by source data
  int64_t total = 0;
  for (const PackRequest& req : requests) {
    const WeightView& w = *req.w;
    const int type = static_cast<int>(w.type);
    if (w.data == nullptr || !strip::CanPack(type, w.n_in)) {
      ++local.skipped;
      continue;
    }
    if (job_of.count(w.data) == 0) {
      Job job;
      job.source = w;
      job.rows = req.rows > 0 ? req.rows : w.n_out;
      job.offset = total;
      job.strips = (job.rows + kStripRows - 1) / kStripRows;
      const int64_t bytes = strip::PackedMatrixBytes(type, w.n_in, job.rows);
      if (bytes > max_bytes - total) {
        ++local.over_budget;
        continue;
      }
      total += bytes;
      job_of[w.data] = jobs.size();
      jobs.push_back(job);
    }
  }
  // Decode streams every weight once per token: huge pages spare it most TLB misses.
  R1D_ASSIGN_OR_RETURN(std::unique_ptr<AnonBuffer> buffer,
                       AnonBuffer::Allocate(static_cast<size_t>(total), "packed weights",
                                            /*huge_pages=*/true));
  if (total == 0) {
    if (stats != nullptr) *stats = local;
    return buffer;
  }
  auto* base = static_cast<uint8_t*>(buffer->data());

  // All strips of all matrices, handed out dynamically in chunks.
  std::vector<int64_t> first_strip(jobs.size() + 1, 0);
  for (size_t i = 0; i < jobs.size(); ++i) first_strip[i + 1] = first_strip[i] + jobs[i].strips;
  const int64_t n_strips = first_strip.back();
  pool.ParallelForDynamic(n_strips, 64, [&](int64_t begin, int64_t end) {
    for (int64_t s = begin; s < end;) {
      const size_t i = static_cast<size_t>(
          std::upper_bound(first_strip.begin(), first_strip.end(), s) - first_strip.begin() - 1);
      const Job& job = jobs[i];
      const int64_t last = std::min(end, first_strip[i + 1]);
      strip::PackStrips(static_cast<int>(job.source.type), job.source.n_in, job.source.data,
                        job.rows, s - first_strip[i], last - first_strip[i], base + job.offset);
      s = last;
    }
  });

  for (const PackRequest& req : requests) {
    WeightView& w = *req.w;
    auto it = job_of.find(w.data);
    if (it == job_of.end()) continue;
    const Job& job = jobs[it->second];
    // A view of the same data must fit in what was packed (same layout, no more rows).
    if (job.source.type != w.type || job.source.n_in != w.n_in || w.n_out > job.rows) continue;
    w.packed = base + job.offset;
    w.packed_row_bytes = strip::PackedRowBytes(static_cast<int>(w.type), w.n_in);
    ++local.matrices;
  }
  local.bytes = total;
  if (stats != nullptr) *stats = local;
  return buffer;
}

}  // namespace r1d::kernels
