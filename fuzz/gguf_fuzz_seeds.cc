// Writes a few small valid GGUF files into a directory, as the seed corpus of gguf_fuzz.
#include <cstdio>
#include <string>
#include <vector>

#include "formats/gguf_writer.h"

namespace {

using r1d::Status;
using r1d::formats::GgufArray;
using r1d::formats::GgufType;
using r1d::formats::GgufWriter;
using r1d::tensor::DType;

bool Check(const Status& s) {
  if (!s.ok()) std::fprintf(stderr, "gguf_fuzz_seeds: %s\n", s.message().c_str());
  return s.ok();
}

// Every metadata type, a nested array and tensors of several types.
bool Rich(const std::string& dir) {
  GgufWriter w;
  w.SetString("general.architecture", "llama");
  w.SetUint8("u8", 1);
  w.SetInt8("i8", -1);
  w.SetUint16("u16", 2);
  w.SetInt16("i16", -2);
  w.SetUint32("u32", 3);
  w.SetInt32("i32", -3);
  w.SetUint64("u64", 4);
  w.SetInt64("i64", -4);
  w.SetFloat32("f32", 0.5f);
  w.SetFloat64("f64", 0.25);
  w.SetBool("bool", true);
  // The key an older harness assumed no file has (CI of stop 13): kept so the corpus replays it.
  w.SetUint32("fuzz.missing.key", 5);
  w.SetStringArray("tokenizer.ggml.tokens", {"a", "b", "<s>"});
  w.SetFloat32Array("tokenizer.ggml.scores", {0.f, -1.f, -2.f});
  w.SetInt32Array("tokenizer.ggml.token_type", {1, 1, 3});
  GgufArray nested;
  nested.elem_type = GgufType::kArray;
  nested.arrays.resize(2);
  nested.arrays[0].elem_type = GgufType::kUint8;
  nested.arrays[0].ints = {1, 2, 3};
  nested.arrays[1].elem_type = GgufType::kString;
  nested.arrays[1].strings = {"x"};
  return Check(w.SetArray("nested", nested)) &&
         Check(w.AddTensor("a", DType::kF32, {4, 2}, std::string(32, '\1'))) &&
         Check(w.AddTensor("b", DType::kQ8_0, {32, 1, 1, 2}, std::string(68, '\2'))) &&
         Check(w.AddTensor("c", DType::kF16, {3}, std::string(6, '\3'))) &&
         Check(w.WriteFile(dir + "/rich.gguf"));
}

// Metadata only, like a vocabulary file.
bool Vocab(const std::string& dir) {
  GgufWriter w;
  w.SetString("tokenizer.ggml.model", "gpt2");
  w.SetStringArray("tokenizer.ggml.tokens", {"h", "e", "l", "o", "he", "ll"});
  w.SetStringArray("tokenizer.ggml.merges", {"h e", "l l"});
  w.SetUint32("tokenizer.ggml.bos_token_id", 0);
  return Check(w.WriteFile(dir + "/vocab.gguf"));
}

// A non-default alignment and k-quant blocks.
bool Aligned(const std::string& dir) {
  GgufWriter w;
  return Check(w.SetAlignment(64)) &&
         Check(w.AddTensor("q4k", DType::kQ4_K, {256}, std::string(144, '\4'))) &&
         Check(w.AddTensor("q6k", DType::kQ6_K, {256}, std::string(210, '\5'))) &&
         Check(w.WriteFile(dir + "/aligned.gguf"));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  return Rich(dir) && Vocab(dir) && Aligned(dir) ? 0 : 1;
}
