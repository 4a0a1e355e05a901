#include "models/model.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "core/checked_math.h"
#include "models/deepseek2.h"
#include "models/llama.h"

namespace r1d::models {

namespace {

// What the packed copies may take: three quarters of the memory available now (page cache
// included: the packed matrices' own file pages are handed back). A model larger than that
// keeps its last matrices (the expert stacks) mapped from the file.
int64_t PackBudget() {
  std::ifstream meminfo("/proc/meminfo");
  std::string line;
  while (std::getline(meminfo, line)) {
    long long kib = 0;
    if (std::sscanf(line.c_str(), "MemAvailable: %lld kB", &kib) == 1) return kib * 1024 / 4 * 3;
  }
  const long pages = ::sysconf(_SC_PHYS_PAGES), page_size = ::sysconf(_SC_PAGE_SIZE);
  return static_cast<int64_t>(pages) * page_size / 2;
}

Result<std::unique_ptr<Model>> LoadArchitecture(std::unique_ptr<formats::GgufFile> file) {
  R1D_ASSIGN_OR_RETURN(std::string arch, file->GetString("general.architecture"));
  if (arch == "llama" || arch == "qwen2") return LoadLlamaFamily(std::move(file));
  if (arch == "deepseek2") return LoadDeepseek2(std::move(file));
  return Status::Error(file->name() + ": architecture '" + arch +
                       "' is not supported (supported: llama, qwen2, deepseek2)");
}

}  // namespace

Result<std::unique_ptr<Model>> LoadModel(std::unique_ptr<formats::GgufFile> file,
                                         const LoadOptions& options) {
  R1D_ASSIGN_OR_RETURN(std::unique_ptr<Model> model, LoadArchitecture(std::move(file)));
  if (options.pack_weights) {
    ThreadPool pool(0);
    R1D_RETURN_IF_ERROR(model->PackWeights(pool, options.row_order));
  }
  return model;
}

std::string DescribePacking(const kernels::PackStats& stats) {
  char text[160];
  std::snprintf(text, sizeof text, "%lld matrices packed (%.1f MiB)",
                static_cast<long long>(stats.matrices), static_cast<double>(stats.bytes) / 1048576);
  std::string out = text;
  if (stats.over_budget > 0) {
    out += ", " + std::to_string(stats.over_budget) + " left in the file layout for lack of memory";
  }
  return out;
}

Status Model::PackWeights(ThreadPool& pool, bool row_order) {
  if (packed_ != nullptr) return Status::Ok();
  std::vector<kernels::PackRequest> requests = MatricesToPack();
  R1D_ASSIGN_OR_RETURN(packed_, kernels::PackWeights(pool, requests, &pack_stats_, PackBudget()));
  for (const kernels::PackRequest& req : requests) {
    kernels::WeightView& w = *req.w;
    if (w.packed == nullptr) continue;
    w.row_order = row_order;
    if (req.keep_file_pages) continue;
    const int64_t rows = req.rows > 0 ? req.rows : w.n_out;
    file().ReleasePages(w.data, static_cast<size_t>(rows * w.row_bytes()));
  }
  return Status::Ok();
}

namespace {
constexpr int64_t kStandaloneBlockTokens = 256;
}  // namespace

Result<std::unique_ptr<KvBlockPool>> Model::NewKvPool(int64_t n_blocks,
                                                      int64_t block_tokens) const {
  uint64_t block_bytes = 0;
  if (block_tokens <= 0 || !CheckedMul(static_cast<uint64_t>(block_tokens),
                                       static_cast<uint64_t>(KvBytesPerToken()), &block_bytes)) {
    return Status::Error("invalid KV block size");
  }
  return KvBlockPool::Create(n_blocks, block_tokens, static_cast<int64_t>(block_bytes));
}

Result<std::unique_ptr<SequenceState>> Model::NewSequence(int64_t n_ctx) const {
  if (n_ctx <= 0) return Status::Error("context length must be positive");
  const int64_t n_blocks = (n_ctx + kStandaloneBlockTokens - 1) / kStandaloneBlockTokens;
  auto pool = NewKvPool(n_blocks, kStandaloneBlockTokens);
  if (!pool.ok()) {
    return Status::Error(pool.status().code(), "KV cache for context " + std::to_string(n_ctx) +
                                                   ": " + pool.status().message());
  }
  auto state = std::make_unique<SequenceState>(std::move(pool).value());
  state->set_limit(n_ctx);
  R1D_RETURN_IF_ERROR(state->Reserve(n_ctx));
  return state;
}

Result<std::unique_ptr<Model>> LoadModel(const std::string& path, const LoadOptions& options) {
  R1D_ASSIGN_OR_RETURN(auto file, formats::GgufFile::Open(path));
  return LoadModel(std::move(file), options);
}

}  // namespace r1d::models
