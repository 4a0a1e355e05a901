#pragma once
// Synthetic byte-level BPE vocabularies in the layout of the DeepSeek-R1 distilled models and of
// DeepSeek-V2/V3: the 256 byte tokens (GPT-2 byte-to-unicode order; ids 0..255, or 3..258 after
// V3's three leading specials), then merged tokens, each the concatenation of two earlier tokens
// with a merge rule of the same rank (so any BPE tokenizer can use it), then the special tokens
// at the ids the real models use, then unused fillers up to exactly n_vocab. Deterministic for a
// given seed.
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace r1d::models {

enum class SynthVocabLayout {
  kQwen,         // specials start at the end of the regular tokens: eos, User, Assistant, bos, EOT,
                 // <think>, </think> (151643.. for the real Qwen distills)
  kLlama,        // Llama-3 layout: bos at the first special id, eos next, User/Assistant/<think>/
                 // </think> at +11..+14 (128000.. for the real Llama distill)
  kDeepseekLlm,  // DeepSeek-V2 ("deepseek-llm" pre-tokenizer): bos, eos at the first special id
                 // (100000, 100001 for the real V2 / V2-Lite), [PAD] fillers after
  kDeepseekV3,   // DeepSeek-V3/R1 ("deepseek-v3"): bos 0, eos 1, pad 2 before the byte tokens;
                 // from the first special id (128000) placeholders, then <think> </think> at
                 // +798, +799, fim, User +803, Assistant +804, EOT, tool-call tokens (+815 in all)
};

struct SynthVocab {
  std::string pre;  // tokenizer.ggml.pre
  std::vector<std::string> tokens;
  std::vector<int32_t> token_types;  // 1 normal, 3 control, 4 user defined, 5 unused
  std::vector<std::string> merges;
  int32_t bos_id = 0, eos_id = 0, pad_id = 0;
};

// n_regular: the first special id after the byte + merged tokens (for kDeepseekV3 that count
// includes the three leading specials), at least 512; n_vocab: the total, at least n_regular + 16
// (n_regular + 815 for kDeepseekV3; refused otherwise).
Result<SynthVocab> MakeSynthVocab(SynthVocabLayout layout, int64_t n_regular, int64_t n_vocab,
                                  uint64_t seed);

}  // namespace r1d::models
