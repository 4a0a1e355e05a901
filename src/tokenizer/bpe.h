#pragma once
// Byte-level BPE merging of one pre-tokenized piece. Works on token ids: the piece's bytes start as
// their byte-level tokens, and the adjacent pair with the lowest merge rank (leftmost on ties) is
// merged until none is left, using a heap over a linked list of symbols. Pieces seen before come
// from a bounded cache shared by all threads.
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "tokenizer/vocab.h"

namespace r1d::tokenizer {

class BpeModel {
 public:
  // Each merge is "left right" (split at the first space after the first byte); both sides and
  // their concatenation must be tokens. The first occurrence of a pair sets its rank.
  static Result<std::unique_ptr<BpeModel>> Create(const Vocab& vocab,
                                                  const std::vector<std::string>& merges,
                                                  bool ignore_merges);
  explicit BpeModel(const Vocab& vocab) : vocab_(vocab) {}

  // Appends the tokens of `piece` (raw bytes) to *out. Thread-safe.
  void EncodePiece(std::string_view piece, std::vector<int32_t>* out) const;

  size_t num_merges() const { return num_merges_; }

 private:
  struct Merge {
    uint64_t key = kEmpty;  // left id << 32 | right id
    int32_t rank = 0;
    int32_t result = 0;
  };
  static constexpr uint64_t kEmpty = ~uint64_t{0};

  void EncodeUncached(std::string_view piece, std::vector<int32_t>* out) const;
  const Merge* FindMerge(int32_t left, int32_t right) const;
  void InsertMerge(int32_t left, int32_t right, int32_t rank, int32_t result);

  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  const Vocab& vocab_;
  bool ignore_merges_ = false;
  // Open addressing, linear probing; size a power of two at most half full.
  std::vector<Merge> table_;
  uint64_t mask_ = 0;
  size_t num_merges_ = 0;

  static constexpr size_t kMaxCachedPieceBytes = 128;
  static constexpr size_t kMaxCacheEntries = 1 << 16;
  mutable std::shared_mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> cache_;
};

}  // namespace r1d::tokenizer
