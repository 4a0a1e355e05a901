#pragma once
// Builds small llama/qwen2 GGUF files with random weights, so tests can make valid models and
// then break them one field at a time.
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "formats/gguf_writer.h"

namespace r1d::testing {

struct TinyModelSpec {
  std::string arch = "llama";
  int64_t n_vocab = 64, n_embd = 64, n_layer = 2, n_head = 4, n_head_kv = 2, n_ff = 96;
  int64_t n_ctx = 128;
  uint32_t seed = 7;
  enum class Output { kOwn, kTied, kCopyOfEmbedding } output = Output::kOwn;
  bool rope_freqs = false;  // a Llama 3 style rope_freqs.weight (factors 1..4)
};

inline std::string RandomF32(int64_t n, std::mt19937& rng, float scale) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = dist(rng);
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

// A writer holding a valid tiny model; callers may change keys or tensors before writing.
inline formats::GgufWriter TinyModelWriter(const TinyModelSpec& s) {
  formats::GgufWriter w;
  std::mt19937 rng(s.seed);
  const std::string a = s.arch + ".";
  w.SetString("general.architecture", s.arch);
  w.SetUint32(a + "context_length", static_cast<uint32_t>(s.n_ctx));
  w.SetUint32(a + "embedding_length", static_cast<uint32_t>(s.n_embd));
  w.SetUint32(a + "block_count", static_cast<uint32_t>(s.n_layer));
  w.SetUint32(a + "feed_forward_length", static_cast<uint32_t>(s.n_ff));
  w.SetUint32(a + "attention.head_count", static_cast<uint32_t>(s.n_head));
  w.SetUint32(a + "attention.head_count_kv", static_cast<uint32_t>(s.n_head_kv));
  w.SetFloat32(a + "attention.layer_norm_rms_epsilon", 1e-5f);
  w.SetUint32("tokenizer.ggml.bos_token_id", 1);
  w.SetUint32("tokenizer.ggml.eos_token_id", 2);
  const int64_t E = s.n_embd, hd = s.n_embd / s.n_head, kv = hd * s.n_head_kv;
  auto add = [&](const std::string& name, std::vector<int64_t> ne, float scale) {
    int64_t n = 1;
    for (int64_t d : ne) n *= d;
    (void)w.AddTensor(name, tensor::DType::kF32, ne, RandomF32(n, rng, scale));
  };
  auto ones = [&](const std::string& name, int64_t n) {
    std::vector<float> v(static_cast<size_t>(n), 1.0f);
    (void)w.AddTensor(name, tensor::DType::kF32, {n},
                      std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4));
  };
  const std::string embd = RandomF32(E * s.n_vocab, rng, 1.0f);
  (void)w.AddTensor("token_embd.weight", tensor::DType::kF32, {E, s.n_vocab}, embd);
  ones("output_norm.weight", E);
  if (s.output == TinyModelSpec::Output::kOwn) add("output.weight", {E, s.n_vocab}, 0.2f);
  if (s.output == TinyModelSpec::Output::kCopyOfEmbedding) {
    (void)w.AddTensor("output.weight", tensor::DType::kF32, {E, s.n_vocab}, embd);
  }
  if (s.rope_freqs) {
    std::vector<float> f(static_cast<size_t>(E / s.n_head / 2));
    for (size_t i = 0; i < f.size(); ++i) f[i] = 1.0f + 3.0f * static_cast<float>(i) / f.size();
    (void)w.AddTensor("rope_freqs.weight", tensor::DType::kF32, {static_cast<int64_t>(f.size())},
                      std::string(reinterpret_cast<const char*>(f.data()), f.size() * 4));
  }
  for (int64_t i = 0; i < s.n_layer; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    ones(b + "attn_norm.weight", E);
    add(b + "attn_q.weight", {E, E}, 0.1f);
    add(b + "attn_k.weight", {E, kv}, 0.1f);
    add(b + "attn_v.weight", {E, kv}, 0.1f);
    if (s.arch == "qwen2") {
      add(b + "attn_q.bias", {E}, 0.1f);
      add(b + "attn_k.bias", {kv}, 0.1f);
      add(b + "attn_v.bias", {kv}, 0.1f);
    }
    add(b + "attn_output.weight", {E, E}, 0.1f);
    ones(b + "ffn_norm.weight", E);
    add(b + "ffn_gate.weight", {E, s.n_ff}, 0.1f);
    add(b + "ffn_up.weight", {E, s.n_ff}, 0.1f);
    add(b + "ffn_down.weight", {s.n_ff, E}, 0.1f);
  }
  return w;
}

}  // namespace r1d::testing
