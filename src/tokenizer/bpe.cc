#include "tokenizer/bpe.h"

#include <algorithm>
#include <mutex>

#include "tokenizer/unicode.h"

namespace r1d::tokenizer {
namespace {

inline uint64_t PairKey(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

inline uint64_t HashKey(uint64_t key) {
  key ^= key >> 33;
  key *= 0xFF51AFD7ED558CCDull;
  key ^= key >> 33;
  return key;
}

struct Symbol {
  int32_t id;    // token, or kNoToken for a byte that has no token (never merges)
  int32_t prev;  // index of the previous live symbol, -1 at the start
  int32_t next;  // index of the next live symbol, -1 at the end
};

struct Candidate {
  int32_t rank;
  int32_t left;  // symbol index
  int32_t right;
  int32_t left_id;
  int32_t right_id;
  int32_t result;
};

// Min-heap order: lowest rank, then leftmost.
struct CandidateAfter {
  bool operator()(const Candidate& a, const Candidate& b) const {
    return a.rank != b.rank ? a.rank > b.rank : a.left > b.left;
  }
};

}  // namespace

Result<std::unique_ptr<BpeModel>> BpeModel::Create(const Vocab& vocab,
                                                   const std::vector<std::string>& merges,
                                                   bool ignore_merges) {
  auto model = std::make_unique<BpeModel>(vocab);
  model->ignore_merges_ = ignore_merges;
  size_t capacity = 16;
  while (capacity < merges.size() * 2) capacity *= 2;
  model->table_.assign(capacity, Merge{});
  model->mask_ = capacity - 1;
  std::string joined;
  for (size_t i = 0; i < merges.size(); ++i) {
    const std::string& merge = merges[i];
    const size_t space = merge.size() > 1 ? merge.find(' ', 1) : std::string::npos;
    auto fail = [&](const std::string& why) {
      return Status::Error("tokenizer.ggml.merges[" + std::to_string(i) + "] '" + merge +
                           "': " + why);
    };
    if (space == std::string::npos || space + 1 >= merge.size()) {
      return fail("expected two tokens separated by a space");
    }
    const std::string_view left(merge.data(), space);
    const std::string_view right(merge.data() + space + 1, merge.size() - space - 1);
    const int32_t left_id = vocab.Find(left);
    const int32_t right_id = vocab.Find(right);
    if (left_id == kNoToken) return fail("'" + std::string(left) + "' is not a token");
    if (right_id == kNoToken) return fail("'" + std::string(right) + "' is not a token");
    joined.assign(left);
    joined.append(right);
    const int32_t result = vocab.Find(joined);
    if (result == kNoToken) return fail("the merged '" + joined + "' is not a token");
    model->InsertMerge(left_id, right_id, static_cast<int32_t>(i), result);
  }
  return model;
}

void BpeModel::InsertMerge(int32_t left, int32_t right, int32_t rank, int32_t result) {
  const uint64_t key = PairKey(left, right);
  for (uint64_t slot = HashKey(key) & mask_;; slot = (slot + 1) & mask_) {
    Merge& m = table_[slot];
    if (m.key == key) return;  // a repeated pair keeps its first (best) rank
    if (m.key == kEmpty) {
      m = {key, rank, result};
      ++num_merges_;
      return;
    }
  }
}

const BpeModel::Merge* BpeModel::FindMerge(int32_t left, int32_t right) const {
  const uint64_t key = PairKey(left, right);
  for (uint64_t slot = HashKey(key) & mask_;; slot = (slot + 1) & mask_) {
    const Merge& m = table_[slot];
    if (m.key == key) return &m;
    if (m.key == kEmpty) return nullptr;
  }
}

void BpeModel::EncodePiece(std::string_view piece, std::vector<int32_t>* out) const {
  if (piece.size() > kMaxCachedPieceBytes) {
    EncodeUncached(piece, out);
    return;
  }
  {
    std::shared_lock lock(cache_mutex_);
    auto it = cache_.find(piece);
    if (it != cache_.end()) {
      out->insert(out->end(), it->second.begin(), it->second.end());
      return;
    }
  }
  const size_t start = out->size();
  EncodeUncached(piece, out);
  std::vector<int32_t> ids(out->begin() + static_cast<std::ptrdiff_t>(start), out->end());
  std::unique_lock lock(cache_mutex_);
  // Bounded memory: start over when full (the common pieces come back within a few requests).
  if (cache_.size() >= kMaxCacheEntries) cache_.clear();
  cache_.emplace(std::string(piece), std::move(ids));
}

void BpeModel::EncodeUncached(std::string_view piece, std::vector<int32_t>* out) const {
  if (piece.empty()) return;
  if (ignore_merges_) {
    // Llama 3: a piece that is a token as a whole is taken as is, whatever the merges say.
    std::string encoded;
    for (char c : piece) encoded.append(ByteToUnicode(static_cast<uint8_t>(c)));
    const int32_t id = vocab_.Find(encoded);
    if (id != kNoToken) {
      out->push_back(id);
      return;
    }
  }
  if (piece.size() == 1) {
    const int32_t id = vocab_.byte_tokens[static_cast<uint8_t>(piece[0])];
    if (id != kNoToken) out->push_back(id);
    return;
  }

  thread_local std::vector<Symbol> symbols;
  thread_local std::vector<Candidate> heap;
  symbols.clear();
  heap.clear();
  const auto n = static_cast<int32_t>(piece.size());
  for (int32_t i = 0; i < n; ++i) {
    symbols.push_back(
        {vocab_.byte_tokens[static_cast<uint8_t>(piece[i])], i - 1, i + 1 < n ? i + 1 : -1});
  }
  auto consider = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const int32_t left_id = symbols[left].id, right_id = symbols[right].id;
    if (left_id == kNoToken || right_id == kNoToken) return;
    const Merge* m = FindMerge(left_id, right_id);
    if (m == nullptr) return;
    heap.push_back({m->rank, left, right, left_id, right_id, m->result});
    std::push_heap(heap.begin(), heap.end(), CandidateAfter{});
  };
  for (int32_t i = 0; i + 1 < n; ++i) consider(i, i + 1);

  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), CandidateAfter{});
    const Candidate c = heap.back();
    heap.pop_back();
    Symbol& left = symbols[c.left];
    Symbol& right = symbols[c.right];
    // Stale when either side has merged since the candidate was queued.
    if (left.id != c.left_id || right.id != c.right_id || left.next != c.right) continue;
    left.id = c.result;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = c.left;
    right.id = kNoToken;
    right.next = right.prev = -1;
    consider(left.prev, c.left);
    consider(c.left, left.next);
  }
  for (int32_t i = 0; i >= 0; i = symbols[i].next) {
    if (symbols[i].id != kNoToken) out->push_back(symbols[i].id);
  }
  ReleaseLargeScratch(&symbols);
  ReleaseLargeScratch(&heap);
}

}  // namespace r1d::tokenizer
