#include "runtime/prefix_cache.h"

namespace r1d::runtime {
namespace {

uint64_t Mix(uint64_t h, uint64_t v) {
  // splitmix64-style mixing of each token into the running hash.
  h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  h ^= h >> 31;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 29;
  return h;
}

}  // namespace

PrefixCache::~PrefixCache() {
  for (auto& [hash, e] : entries_) pool_.Release(e.block);
}

std::vector<uint64_t> PrefixCache::BlockHashes(const std::vector<int32_t>& tokens,
                                               int64_t n_blocks) const {
  std::vector<uint64_t> hashes;
  ExtendHashes(tokens, n_blocks, hashes);
  return hashes;
}

void PrefixCache::ExtendHashes(const std::vector<int32_t>& tokens, int64_t n_blocks,
                               std::vector<uint64_t>& hashes) const {
  const int64_t B = pool_.block_tokens();
  uint64_t h = hashes.empty() ? 0x51ed270b27a1f3c5ull : hashes.back();
  for (int64_t b = static_cast<int64_t>(hashes.size());
       b < n_blocks && (b + 1) * B <= static_cast<int64_t>(tokens.size()); ++b) {
    for (int64_t i = b * B; i < (b + 1) * B; ++i) h = Mix(h, static_cast<uint32_t>(tokens[i]));
    hashes.push_back(h);
  }
}

std::vector<int32_t> PrefixCache::Match(const std::vector<uint64_t>& hashes) {
  std::vector<int32_t> blocks;
  for (uint64_t h : hashes) {
    auto it = entries_.find(h);
    if (it == entries_.end()) break;
    lru_.splice(lru_.end(), lru_, it->second.lru);  // most recently used now
    blocks.push_back(it->second.block);
  }
  return blocks;
}

void PrefixCache::Insert(const std::vector<uint64_t>& hashes, const std::vector<int32_t>& blocks) {
  for (size_t i = 0; i < hashes.size() && i < blocks.size(); ++i) {
    if (entries_.count(hashes[i]) != 0) continue;
    pool_.Retain(blocks[i]);
    lru_.push_back(hashes[i]);
    entries_[hashes[i]] = {blocks[i], std::prev(lru_.end())};
  }
}

int64_t PrefixCache::Evict(int64_t n) {
  int64_t freed = 0;
  for (auto it = lru_.begin(); it != lru_.end() && freed < n;) {
    auto e = entries_.find(*it);
    if (pool_.refcount(e->second.block) == 1) {
      pool_.Release(e->second.block);
      entries_.erase(e);
      it = lru_.erase(it);
      ++freed;
    } else {
      ++it;
    }
  }
  return freed;
}

int64_t PrefixCache::reclaimable() const {
  int64_t n = 0;
  for (const auto& [hash, e] : entries_) n += pool_.refcount(e.block) == 1;
  return n;
}

}  // namespace r1d::runtime
