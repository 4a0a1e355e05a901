#pragma once
// A loaded model: hyper-parameters, weights used in place from the GGUF mapping, and a forward
// pass over a batch of tokens of one sequence.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/anon_buffer.h"
#include "core/status.h"
#include "core/thread_pool.h"
#include "formats/gguf_reader.h"
#include "kernels/weight_packing.h"
#include "models/kv_pool.h"

namespace r1d::models {

struct ModelInfo {
  std::string architecture;  // GGUF general.architecture
  int64_t n_vocab = 0;
  int64_t n_ctx_train = 0;  // context length the file declares
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;
};

// One sequence's share of a forward pass: n consecutive tokens at positions pos0...
struct BatchEntry {
  SequenceState* state = nullptr;
  const int32_t* tokens = nullptr;
  int64_t n = 0;
  int64_t pos0 = 0;
  float* logits = nullptr;  // n_vocab floats for the entry's last token; null: not needed
};

// Not thread-safe: one forward pass at a time (the serving engine owns the model while it runs).
class Model {
 public:
  virtual ~Model() = default;
  virtual const ModelInfo& info() const = 0;

  // Bytes of KV cache one position takes, all layers together.
  virtual int64_t KvBytesPerToken() const = 0;

  // A shared paged KV cache of n_blocks blocks of block_tokens positions (the serving engine).
  Result<std::unique_ptr<KvBlockPool>> NewKvPool(int64_t n_blocks, int64_t block_tokens) const;
  // A standalone sequence with its own cache for n_ctx positions (memory is only backed as it
  // is used); an error when the address space for it cannot be had.
  Result<std::unique_ptr<SequenceState>> NewSequence(int64_t n_ctx) const;

  // Runs tokens[0..n) at positions pos0.. (the state holds positions [0, pos0)).
  // Writes the logits of the last token (n_vocab floats) to logits_last.
  // Errors: tokens out of range, positions beyond the state's capacity.
  Status Forward(ThreadPool& pool, SequenceState& state, const int32_t* tokens, int64_t n,
                 int64_t pos0, float* logits_last) {
    BatchEntry e{&state, tokens, n, pos0, logits_last};
    return ForwardBatch(pool, &e, 1);
  }

  // One pass over several sequences at once (continuous batching): every weight matrix is read
  // once for all their tokens. Each entry behaves exactly as its own Forward would; all entries
  // are validated before anything runs, so an error leaves every state untouched.
  virtual Status ForwardBatch(ThreadPool& pool, const BatchEntry* entries, int64_t n_entries) = 0;

  // Packs the weight matrices once into the layout of kernels/weight_packing.h (LoadModel does
  // this unless told not to): every product then runs on the packed copy, with the same
  // results. The file pages of packed matrices are handed back to the page cache, so memory
  // use stays about the file's size. With row_order the packed products run in row order
  // (kernels/strip/packed_row_order.h): faster prefill and batched decode, not the same bits.
  // Matrices left unpacked (no packed product on this CPU, or over the memory budget) keep
  // llama.cpp's order either way; pack_stats() says how many were packed.
  Status PackWeights(ThreadPool& pool, bool row_order = false);
  const kernels::PackStats& pack_stats() const { return pack_stats_; }

 protected:
  // The file the weights are mapped from, and the matrices the products read.
  virtual const formats::GgufFile& file() const = 0;
  virtual std::vector<kernels::PackRequest> MatricesToPack() = 0;

 private:
  std::unique_ptr<AnonBuffer> packed_;
  kernels::PackStats pack_stats_;
};

// "197 matrices packed (953.9 MiB)", plus how many stayed in the file layout for lack of
// memory, for load messages.
std::string DescribePacking(const kernels::PackStats& stats);

struct LoadOptions {
  // Pack the weight matrices at load (Model::PackWeights), using every core for it.
  bool pack_weights = true;
  // Run the packed products in row order (`--fast-dots`; Model::PackWeights).
  bool row_order = false;
};

// Opens the GGUF, reads the architecture and builds the model. The GgufFile stays alive inside
// the model (weights point into its mapping).
Result<std::unique_ptr<Model>> LoadModel(const std::string& path, const LoadOptions& options = {});
Result<std::unique_ptr<Model>> LoadModel(std::unique_ptr<formats::GgufFile> file,
                                         const LoadOptions& options = {});

}  // namespace r1d::models
