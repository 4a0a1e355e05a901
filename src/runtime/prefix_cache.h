#pragma once
// Prompt-prefix reuse by block hashes: full KV blocks are remembered under the hash of every
// token up to their end, so a new sequence whose prompt starts the same way adopts them instead
// of recomputing. The cache holds one reference per block; blocks only it holds are evicted
// least-recently-used first when the pool needs room.
#include <cstdint>
#include <list>
#include <unordered_map>
#include <vector>

#include "models/kv_pool.h"

namespace r1d::runtime {

class PrefixCache {
 public:
  explicit PrefixCache(models::KvBlockPool& pool) : pool_(pool) {}
  ~PrefixCache();

  // Hash of each full block of `tokens` (chained: block i's hash covers tokens [0, (i+1)*B)).
  std::vector<uint64_t> BlockHashes(const std::vector<int32_t>& tokens, int64_t n_blocks) const;
  // Extends `hashes`, the BlockHashes of its first hashes.size() blocks, to n_blocks (as far as
  // `tokens` has full blocks), hashing only the new ones.
  void ExtendHashes(const std::vector<int32_t>& tokens, int64_t n_blocks,
                    std::vector<uint64_t>& hashes) const;
  // Cached blocks for the longest run of leading hashes found (not retained).
  std::vector<int32_t> Match(const std::vector<uint64_t>& hashes);
  // Remembers blocks (retains those not yet cached) under their hashes.
  void Insert(const std::vector<uint64_t>& hashes, const std::vector<int32_t>& blocks);
  // Releases up to n blocks that only the cache holds; returns how many were freed.
  int64_t Evict(int64_t n);
  // Blocks held only by the cache (could be freed at once).
  int64_t reclaimable() const;

 private:
  struct Entry {
    int32_t block;
    std::list<uint64_t>::iterator lru;
  };
  models::KvBlockPool& pool_;
  std::unordered_map<uint64_t, Entry> entries_;
  std::list<uint64_t> lru_;  // front: least recently used
};

}  // namespace r1d::runtime
