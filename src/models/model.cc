#include "models/model.h"

#include "core/checked_math.h"
#include "models/deepseek2.h"
#include "models/llama.h"

namespace r1d::models {

Result<std::unique_ptr<Model>> LoadModel(std::unique_ptr<formats::GgufFile> file) {
  R1D_ASSIGN_OR_RETURN(std::string arch, file->GetString("general.architecture"));
  if (arch == "llama" || arch == "qwen2") return LoadLlamaFamily(std::move(file));
  if (arch == "deepseek2") return LoadDeepseek2(std::move(file));
  return Status::Error(file->name() + ": architecture '" + arch +
                       "' is not supported (supported: llama, qwen2, deepseek2)");
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

Result<std::unique_ptr<Model>> LoadModel(const std::string& path) {
  R1D_ASSIGN_OR_RETURN(auto file, formats::GgufFile::Open(path));
  return LoadModel(std::move(file));
}

}  // namespace r1d::models
