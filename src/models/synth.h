#pragma once
// Synthetic models with the real shapes of the DeepSeek-R1 distills (or a tiny one for tests):
// a synthetic tokenizer of the right size and random weights, initialised so that activations
// stay in a healthy range (linear N(0, 1/sqrt(fan_in)), output-side projections further scaled
// by 1/sqrt(2 n_layer), embeddings N(0, 1), lm head N(0, 4/sqrt(n_embd)), norms 1 + N(0, 0.05),
// biases N(0, 0.1)). Each row of each tensor depends only on (seed, tensor name, row), so files
// are reproducible whatever the thread count.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/thread_pool.h"
#include "tensor/quant_mix.h"

namespace r1d::models {

struct SynthShape {
  std::string name;  // "r1-distill-qwen-1.5b"
  std::string arch;  // "qwen2" or "llama"
  int64_t n_layer, n_embd, n_ff, n_head, n_head_kv, n_vocab, n_regular, n_ctx;
  float rope_base, rms_eps;
  bool llama3_rope;  // llama: rope_freqs.weight with Llama-3.1 scaling (factor 8, ctx 8192)
};

// Shapes by name: r1-distill-qwen-1.5b, r1-distill-qwen-7b, r1-distill-llama-8b, tiny. `arch`
// ("" = the shape's own) must match the real shapes; tiny takes either qwen2 or llama.
Result<SynthShape> FindSynthShape(const std::string& name, const std::string& arch);
const char* SynthShapeNames();

struct SynthOptions {
  SynthShape shape;
  tensor::QuantTarget target;
  uint64_t seed = 1;
  std::string out_path;
};

// Called with one line per tensor written (index, percent of data done, name, type, size).
using SynthProgress = std::function<void(const std::string& line)>;

// Writes the model. Returns the file size in bytes.
Result<uint64_t> WriteSynthModel(const SynthOptions& options, ThreadPool& pool,
                                 const SynthProgress& progress);

}  // namespace r1d::models
