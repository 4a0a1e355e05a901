#include "models/kv_pool.h"

#include "core/checked_math.h"

namespace r1d::models {

Result<std::unique_ptr<KvBlockPool>> KvBlockPool::Create(int64_t n_blocks, int64_t block_tokens,
                                                         int64_t block_bytes) {
  if (n_blocks <= 0 || block_tokens <= 0 || block_bytes <= 0 || n_blocks > (int64_t{1} << 30)) {
    return Status::Error("invalid KV cache geometry");
  }
  uint64_t total = 0;
  if (!CheckedMul(static_cast<uint64_t>(n_blocks), static_cast<uint64_t>(block_bytes), &total)) {
    return Status::Error(StatusCode::kResourceExhausted, "KV cache is too large");
  }
  std::unique_ptr<KvBlockPool> pool(new KvBlockPool());
  // Attention reads every cell of a sequence at each step, a few rows per page of each block.
  R1D_ASSIGN_OR_RETURN(pool->memory_, AnonBuffer::Allocate(total, "the KV cache",
                                                           /*huge_pages=*/true));
  pool->block_tokens_ = block_tokens;
  pool->block_bytes_ = block_bytes;
  pool->refs_.assign(static_cast<size_t>(n_blocks), 0);
  pool->free_.reserve(static_cast<size_t>(n_blocks));
  for (int64_t b = n_blocks - 1; b >= 0; --b) pool->free_.push_back(static_cast<int32_t>(b));
  return pool;
}

int32_t KvBlockPool::Allocate() {
  if (free_.empty()) return -1;
  const int32_t b = free_.back();
  free_.pop_back();
  refs_[b] = 1;
  return b;
}

void KvBlockPool::Retain(int32_t block) {
  R1D_CHECK(refs_[block] > 0);
  ++refs_[block];
}

void KvBlockPool::Release(int32_t block) {
  R1D_CHECK(refs_[block] > 0);
  if (--refs_[block] == 0) free_.push_back(block);
}

SequenceState::~SequenceState() {
  for (int32_t b : blocks_) pool_->Release(b);
}

Status SequenceState::Reserve(int64_t n_positions) {
  if (n_positions > limit_) {
    return Status::Error("context is full: " + std::to_string(n_positions) +
                         " positions needed, the context length is " + std::to_string(limit_));
  }
  const int64_t need = (n_positions + pool_->block_tokens() - 1) / pool_->block_tokens() -
                       static_cast<int64_t>(blocks_.size());
  if (need <= 0) return Status::Ok();
  if (need > pool_->n_free()) {
    return Status::Error(StatusCode::kResourceExhausted,
                         "KV cache is full: " + std::to_string(need) + " more blocks needed, " +
                             std::to_string(pool_->n_free()) + " free");
  }
  for (int64_t i = 0; i < need; ++i) blocks_.push_back(pool_->Allocate());
  return Status::Ok();
}

void SequenceState::Truncate(int64_t n_positions) {
  const size_t keep =
      static_cast<size_t>((n_positions + pool_->block_tokens() - 1) / pool_->block_tokens());
  while (blocks_.size() > keep) {
    pool_->Release(blocks_.back());
    blocks_.pop_back();
  }
}

void SequenceState::AppendShared(const std::vector<int32_t>& blocks) {
  for (int32_t b : blocks) {
    pool_->Retain(b);
    blocks_.push_back(b);
  }
}

}  // namespace r1d::models
