#pragma once
// Which type each tensor of a model gets for a target "file type" (q4_k_m, q8_0, ...), following
// llama.cpp's llama_tensor_get_type so the files match what users download:
// - tensors with one dimension (norms, biases, rope_freqs) and the MoE router ffn_gate_inp are
//   not quantized;
// - the output head (token_embd when there is no output.weight) gets q6_K for every quantized
//   target except q8_0 (which keeps q8_0);
// - for q4_k_m / q5_k_m, the attn_v-like tensors (attn_v, and MLA's attn_kv_b) and every
//   ffn_down (dense, ffn_down_exps, ffn_down_shexp) of the layers UseMoreBits() picks get q6_K;
// - a row length that is not a multiple of the chosen type's block size falls back as llama.cpp
//   does (q4_K -> q5_0, q5_K -> q5_1, q6_K -> q8_0), then to f16 when even that does not fit.
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "tensor/dtype.h"

namespace r1d::tensor {

// llama_ftype values written to general.file_type.
enum class FileType : uint32_t {
  kAllF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ8_0 = 7,
  kQ4_K_M = 15,
  kQ5_K_M = 17,
  kQ6_K = 18,
  kBF16 = 32,
};

struct QuantTarget {
  FileType file_type;
  const char* name;  // "q4_k_m"
  DType base;        // the type most matrices get
};

// Parses f32, f16, bf16, q8_0, q4_0, q4_k_m, q5_k_m, q6_k (case-insensitive).
std::optional<QuantTarget> ParseQuantTarget(std::string_view name);
// The accepted names, comma-separated, for messages.
const char* QuantTargetNames();

// llama.cpp's use_more_bits: the first and last eighth of the layers and every third in between.
bool UseMoreBits(int layer, int n_layers);

// The layer index of a "blk.N.*" name, or -1.
int LayerOf(std::string_view name);

// The type for tensor `name` of shape `ne` under `target`; nullopt when it is not quantized
// (one dimension, or the MoE router), i.e. it stays as it is (synthetic models store those as
// f32, as the converters do). `n_layers`: the
// model's block count; `has_output`: whether the model has a separate output.weight.
std::optional<DType> ChooseTensorType(const QuantTarget& target, std::string_view name,
                                      const std::vector<int64_t>& ne, int n_layers,
                                      bool has_output);

}  // namespace r1d::tensor
