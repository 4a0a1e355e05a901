#pragma once
// The tensor list of a synthetic model, shared by the per-architecture parts of `r1d synth`
// (synth.cc for qwen2/llama, synth_deepseek2.cc): each tensor's name, shape and how its random
// values are drawn (see synth.h for the distributions).
#include <cstdint>
#include <string>
#include <vector>

#include "tensor/dtype.h"

namespace r1d::models {

enum class SynthInit {
  kEmbed,      // N(0, 1)
  kLinear,     // N(0, 1 / sqrt(fan_in))
  kLinearOut,  // kLinear / sqrt(2 n_layer): projections back into the residual stream
  kOutput,     // lm head, N(0, 4 / sqrt(n_embd))
  kNorm,       // 1 + N(0, 0.05)
  kBias,       // N(0, 0.1)
  kRopeFreqs,  // Llama-3.1 rope scaling factors
};

struct SynthTensor {
  std::string name;
  std::vector<int64_t> ne;
  SynthInit init;
  int64_t fan_in = 1;
  tensor::DType type = tensor::DType::kF32;
};

}  // namespace r1d::models
