#pragma once
// The paged KV cache: fixed-size blocks of memory shared by every sequence, handed out as opaque
// ids. Blocks are reference-counted so a full block of a prompt can be shared by several
// sequences (prefix cache) and is freed only when the last holder lets go.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/anon_buffer.h"
#include "core/status.h"

namespace r1d::models {

class KvBlockPool {
 public:
  static Result<std::unique_ptr<KvBlockPool>> Create(int64_t n_blocks, int64_t block_tokens,
                                                     int64_t block_bytes);
  // A free block with one reference, or -1 when every block is in use.
  int32_t Allocate();
  void Retain(int32_t block);
  // Drops a reference; the block is free again at zero.
  void Release(int32_t block);
  int refcount(int32_t block) const { return refs_[block]; }
  uint8_t* Data(int32_t block) const {
    return static_cast<uint8_t*>(memory_->data()) + block * block_bytes_;
  }
  int64_t block_tokens() const { return block_tokens_; }
  int64_t block_bytes() const { return block_bytes_; }
  int64_t n_blocks() const { return static_cast<int64_t>(refs_.size()); }
  int64_t n_free() const { return static_cast<int64_t>(free_.size()); }

 private:
  KvBlockPool() = default;
  std::unique_ptr<AnonBuffer> memory_;
  int64_t block_tokens_ = 0;
  int64_t block_bytes_ = 0;
  std::vector<int> refs_;
  std::vector<int32_t> free_;  // a stack: recently freed blocks are reused first (warm in cache)
};

// One sequence's KV: a table of blocks from a pool. Position p is in blocks()[p / block_tokens].
class SequenceState {
 public:
  // A state drawing on a shared pool (the serving engine), or owning a private one.
  explicit SequenceState(KvBlockPool& pool) : pool_(&pool) {}
  explicit SequenceState(std::unique_ptr<KvBlockPool> owned)
      : owned_(std::move(owned)), pool_(owned_.get()) {}
  ~SequenceState();
  SequenceState(const SequenceState&) = delete;
  SequenceState& operator=(const SequenceState&) = delete;

  // Positions the sequence can use now: what its blocks hold, at most the limit.
  int64_t capacity() const {
    return std::min(limit_, static_cast<int64_t>(blocks_.size()) * pool_->block_tokens());
  }
  // The most positions this sequence may ever use (its context length).
  void set_limit(int64_t n_positions) { limit_ = n_positions; }
  int64_t limit() const { return limit_; }
  int64_t bytes() const { return static_cast<int64_t>(blocks_.size()) * pool_->block_bytes(); }
  // Grows to hold n positions. kResourceExhausted (and nothing taken) when the pool runs out.
  Status Reserve(int64_t n_positions);
  // Keeps the blocks for positions [0, n) and releases the rest.
  void Truncate(int64_t n_positions);
  // Appends shared blocks (each retained): their contents are reused as they are.
  void AppendShared(const std::vector<int32_t>& blocks);
  const std::vector<int32_t>& blocks() const { return blocks_; }
  KvBlockPool& pool() const { return *pool_; }

 private:
  std::unique_ptr<KvBlockPool> owned_;
  KvBlockPool* pool_;
  std::vector<int32_t> blocks_;
  int64_t limit_ = INT64_MAX;
};

}  // namespace r1d::models
