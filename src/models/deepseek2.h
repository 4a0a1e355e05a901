#pragma once
// DeepSeek-V2 / V2-Lite / V3 / R1 (GGUF architecture "deepseek2"): multi-head latent attention
// with a latent-only KV cache (models/deepseek2_attention.h) and a mixture-of-experts feed
// forward after the leading dense blocks (models/deepseek2_moe.h).
#include <memory>

#include "models/deepseek2_attention.h"
#include "models/model.h"

namespace r1d::models {

struct Deepseek2Options {
  // Decode decompresses the latent cache (llama.cpp's exact rounding) while that costs at most
  // this many multiply-adds per layer, else it uses the absorbed form (0: always absorbed).
  int64_t decompress_budget = MlaAttention::kDefaultDecompressBudget;
};

Result<std::unique_ptr<Model>> LoadDeepseek2(std::unique_ptr<formats::GgufFile> file,
                                             const Deepseek2Options& options = {});

}  // namespace r1d::models
