#include "tensor/quant_mix.h"

#include <cctype>
#include <string>

namespace r1d::tensor {
namespace {

constexpr QuantTarget kTargets[] = {
    {FileType::kAllF32, "f32", DType::kF32},     {FileType::kF16, "f16", DType::kF16},
    {FileType::kBF16, "bf16", DType::kBF16},     {FileType::kQ8_0, "q8_0", DType::kQ8_0},
    {FileType::kQ4_0, "q4_0", DType::kQ4_0},     {FileType::kQ4_K_M, "q4_k_m", DType::kQ4_K},
    {FileType::kQ5_K_M, "q5_k_m", DType::kQ5_K}, {FileType::kQ6_K, "q6_k", DType::kQ6_K},
};

bool IsFloat(DType t) { return t == DType::kF32 || t == DType::kF16 || t == DType::kBF16; }

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool Fits(DType t, int64_t ne0) { return ne0 % GetDTypeInfo(t).block_elems == 0; }

bool Contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

// llama.cpp's categories that get more bits in q4_k_m / q5_k_m: attn_v and its MLA counterpart
// attn_kv_b (one per layer, so its running count is the layer), and everything named ffn_down*
// (for MoE models llama.cpp takes the layer from the name, so the experts and the shared expert
// follow their block).
bool MoreBitsCategory(std::string_view name) {
  return EndsWith(name, "attn_v.weight") || EndsWith(name, "attn_kv_b.weight") ||
         Contains(name, ".ffn_down");
}

}  // namespace

std::optional<QuantTarget> ParseQuantTarget(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const QuantTarget& t : kTargets)
    if (lower == t.name) return t;
  return std::nullopt;
}

const char* QuantTargetNames() { return "f32, f16, bf16, q8_0, q4_0, q4_k_m, q5_k_m, q6_k"; }

bool UseMoreBits(int layer, int n_layers) {
  return layer < n_layers / 8 || layer >= 7 * n_layers / 8 || (layer - n_layers / 8) % 3 == 2;
}

int LayerOf(std::string_view name) {
  if (name.substr(0, 4) != "blk.") return -1;
  int layer = 0;
  size_t i = 4;
  if (i >= name.size() || !std::isdigit(static_cast<unsigned char>(name[i]))) return -1;
  for (; i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])); ++i) {
    layer = layer * 10 + (name[i] - '0');
    if (layer > 1000000) return -1;
  }
  return i < name.size() && name[i] == '.' ? layer : -1;
}

std::optional<DType> ChooseTensorType(const QuantTarget& target, std::string_view name,
                                      const std::vector<int64_t>& ne, int n_layers,
                                      bool has_output) {
  int n_dims = static_cast<int>(ne.size());
  while (n_dims > 1 && ne[static_cast<size_t>(n_dims) - 1] == 1) --n_dims;
  if (n_dims < 2 || ne.empty()) return std::nullopt;
  // The MoE router stays as converted (f32): llama.cpp never quantizes it.
  if (EndsWith(name, "ffn_gate_inp.weight")) return std::nullopt;
  DType type = target.base;
  if (!IsFloat(target.base)) {
    const bool is_output = name == "output.weight" || (!has_output && name == "token_embd.weight");
    const bool mixed =
        target.file_type == FileType::kQ4_K_M || target.file_type == FileType::kQ5_K_M;
    if (is_output) {
      if (!Fits(DType::kQ6_K, ne[0])) {
        type = DType::kQ8_0;
      } else if (target.base != DType::kQ8_0) {
        type = DType::kQ6_K;
      }
    } else if (mixed && MoreBitsCategory(name)) {
      const int layer = LayerOf(name);
      if (layer >= 0 && UseMoreBits(layer, n_layers)) type = DType::kQ6_K;
    }
    if (!Fits(type, ne[0])) {
      switch (type) {
        case DType::kQ4_K:
          type = DType::kQ5_0;
          break;
        case DType::kQ5_K:
          type = DType::kQ5_1;
          break;
        case DType::kQ6_K:
          type = DType::kQ8_0;
          break;
        default:
          break;
      }
    }
  }
  if (!Fits(type, ne[0])) type = DType::kF16;
  return type;
}

}  // namespace r1d::tensor
