#pragma once
// The llama family: Llama (1/2/3, with Llama 3 RoPE frequency factors, tied or untied output)
// and Qwen2 (Q/K/V biases, NEOX-style RoPE). Every DeepSeek-R1 distill is one of these.
#include <memory>

#include "models/model.h"

namespace r1d::models {

Result<std::unique_ptr<Model>> LoadLlamaFamily(std::unique_ptr<formats::GgufFile> file);

}  // namespace r1d::models
