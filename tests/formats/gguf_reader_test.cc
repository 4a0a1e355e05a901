// Reading the real GGUF files of the shared test data, and the typed accessors. Expected values
// come from `testdata/tools/mkgguf.py info FILE --tensors`.
#include "formats/gguf_reader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "formats/gguf_bytes.h"
#include "formats/gguf_writer.h"
#include "test_util.h"

namespace r1d::formats {
namespace {

using tensor::DType;

std::unique_ptr<GgufFile> OpenOrDie(const std::string& path) {
  auto r = GgufFile::Open(path);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? std::move(*r) : nullptr;
}

std::vector<std::string> GgufFilesIn(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".gguf") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(GgufReader, EveryTestDataFileParses) {
  R1D_REQUIRE_TESTDATA();
  const std::string root = r1d::testing::TestDataDir();
  std::vector<std::string> files = GgufFilesIn(root + "/models");
  const size_t n_models = files.size();
  for (const std::string& f : GgufFilesIn(root + "/vocab")) files.push_back(f);
  EXPECT_GE(n_models, 5u);
  EXPECT_GE(files.size() - n_models, 12u);
  for (const std::string& path : files) {
    SCOPED_TRACE(path);
    auto file = OpenOrDie(path);
    if (!file) continue;
    EXPECT_EQ(file->version(), 3u);
    EXPECT_EQ(file->alignment(), 32u);
    EXPECT_TRUE(file->Has("general.architecture"));
    const bool is_model = path.find("/models/") != std::string::npos;
    EXPECT_EQ(file->tensors().empty(), !is_model);
    for (const GgufTensorInfo& t : file->tensors()) {
      EXPECT_EQ(file->FindTensor(t.name), &t);
      EXPECT_EQ(t.data, file->tensors()[0].data - file->tensors()[0].offset + t.offset);
      EXPECT_LE(file->data_offset() + t.offset + t.n_bytes, file->file_size());
    }
  }
}

TEST(GgufReader, Qwen2TinyF16) {
  R1D_REQUIRE_TESTDATA();
  const std::string path = r1d::testing::TestDataDir() + "/models/qwen2-tiny-f16.gguf";
  auto f = OpenOrDie(path);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->name(), path);
  EXPECT_EQ(f->metadata().size(), 25u);
  EXPECT_EQ(f->tensors().size(), 51u);
  EXPECT_EQ(f->data_offset(), 1158976u);
  EXPECT_EQ(f->file_size(), 40497984u);
  EXPECT_EQ(f->metadata()[0].first, "general.alignment");
  EXPECT_EQ(f->GetString("general.architecture").value(), "qwen2");
  EXPECT_EQ(f->GetString("tokenizer.ggml.pre").value(), "deepseek-coder");
  EXPECT_EQ(f->GetUint("qwen2.embedding_length").value(), 256u);
  EXPECT_EQ(f->GetInt("qwen2.block_count").value(), 4);
  EXPECT_EQ(f->GetUint("tokenizer.ggml.bos_token_id").value(), 32013u);
  EXPECT_EQ(f->GetFloat("qwen2.rope.freq_base").value(), 10000.0);
  EXPECT_FLOAT_EQ(static_cast<float>(f->GetFloat("qwen2.attention.layer_norm_rms_epsilon").value()),
                  1e-6f);
  EXPECT_TRUE(f->GetBool("tokenizer.ggml.add_bos_token").value());
  EXPECT_FALSE(f->GetBool("tokenizer.ggml.add_eos_token").value());

  const GgufArray* tokens = f->GetArray("tokenizer.ggml.tokens").value();
  ASSERT_EQ(tokens->elem_type, GgufType::kString);
  ASSERT_EQ(tokens->size(), 32256u);
  EXPECT_EQ(tokens->strings[0], "!");
  EXPECT_EQ(tokens->strings[4], "%");
  const GgufArray* types = f->GetArray("tokenizer.ggml.token_type").value();
  EXPECT_EQ(types->elem_type, GgufType::kInt32);
  EXPECT_EQ(types->size(), 32256u);
  EXPECT_EQ(types->ints[0], 1);
  const GgufArray* merges = f->GetArray("tokenizer.ggml.merges").value();
  ASSERT_EQ(merges->size(), 31757u);
  EXPECT_EQ(merges->strings[0], "\xC4\xA0 \xC4\xA0");  // "Ġ Ġ"

  const GgufTensorInfo* q = f->FindTensor("blk.0.attn_q.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->n_dims, 2u);
  EXPECT_EQ(q->ne, (std::array<int64_t, 4>{256, 256, 1, 1}));
  EXPECT_EQ(q->type, DType::kF16);
  EXPECT_EQ(q->offset, 16516096u);
  EXPECT_EQ(q->n_bytes, 256u * 256u * 2u);
  EXPECT_EQ(q->n_elements(), 65536);
  const GgufTensorInfo* emb = f->FindTensor("token_embd.weight");
  ASSERT_NE(emb, nullptr);
  EXPECT_EQ(emb->ne, (std::array<int64_t, 4>{256, 32256, 1, 1}));
  EXPECT_EQ(emb->offset, 0u);
  const GgufTensorInfo* norm = f->FindTensor("blk.0.attn_norm.weight");
  ASSERT_NE(norm, nullptr);
  EXPECT_EQ(norm->n_dims, 1u);
  EXPECT_EQ(norm->type, DType::kF32);
  EXPECT_EQ(norm->offset, 16515072u);
  // Norm weights are 1 + N(0, 0.05): every value near 1 shows the pointer is right.
  for (int k = 0; k < 256; ++k) {
    float v = 0;
    std::memcpy(&v, norm->data + 4 * k, 4);
    EXPECT_NEAR(v, 1.0f, 0.5f) << k;
  }
  EXPECT_EQ(f->FindTensor("no.such.tensor"), nullptr);
}

TEST(GgufReader, QuantizedModels) {
  R1D_REQUIRE_TESTDATA();
  const std::string dir = r1d::testing::TestDataDir() + "/models/";
  auto q4 = OpenOrDie(dir + "qwen2-tiny-q4_k_m.gguf");
  ASSERT_NE(q4, nullptr);
  const GgufTensorInfo* q = q4->FindTensor("blk.0.attn_q.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->type, DType::kQ4_K);
  EXPECT_EQ(q->n_bytes, 256u / 256u * 144u * 256u);
  const GgufTensorInfo* out = q4->FindTensor("output.weight");
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(out->type, DType::kQ6_K);
  EXPECT_EQ(q4->FindTensor("blk.2.ffn_down.weight")->type, DType::kQ6_K);

  auto ds = OpenOrDie(dir + "deepseek2-tiny-q8_0.gguf");
  ASSERT_NE(ds, nullptr);
  EXPECT_EQ(ds->GetString("general.architecture").value(), "deepseek2");
  EXPECT_EQ(ds->metadata().size(), 40u);
  EXPECT_EQ(ds->tensors().size(), 49u);
  EXPECT_EQ(ds->data_offset(), 1159872u);
  EXPECT_EQ(ds->FindTensor("token_embd.weight")->type, DType::kQ8_0);

  auto stories = OpenOrDie(dir + "stories260K.gguf");
  ASSERT_NE(stories, nullptr);
  EXPECT_EQ(stories->tensors().size(), 48u);
  EXPECT_EQ(stories->data_offset(), 14176u);
}

TEST(GgufReader, VocabOnlyFileEndsBeforeTheDataSection) {
  R1D_REQUIRE_TESTDATA();
  auto f = OpenOrDie(r1d::testing::TestDataDir() + "/vocab/ggml-vocab-deepseek-coder.gguf");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->metadata().size(), 25u);
  EXPECT_TRUE(f->tensors().empty());
  EXPECT_EQ(f->file_size(), 1156067u);
  EXPECT_EQ(f->data_offset(), 1156096u);  // past the end: no tensors, nothing to read there
  EXPECT_EQ(f->GetString("general.architecture").value(), "llama");
  EXPECT_EQ(f->GetFloat("llama.rope.scaling.factor").value(), 4.0);
  EXPECT_EQ(f->GetString("llama.rope.scaling.type").value(), "linear");
  const GgufArray* tokens = f->GetArray("tokenizer.ggml.tokens").value();
  EXPECT_EQ(tokens->elem_type, GgufType::kString);
  EXPECT_EQ(tokens->size(), 32256u);
}

TEST(GgufReader, OpenErrorsNameThePath) {
  auto missing = GgufFile::Open("/nonexistent/dir/model.gguf");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message().rfind("/nonexistent/dir/model.gguf: ", 0), 0u);
  auto dir = GgufFile::Open("/tmp");
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().message().rfind("/tmp: ", 0), 0u);

  const std::string tmp = r1d::testing::MakeTempDir();
  r1d::testing::WriteFile(tmp + "/empty.gguf", "");
  auto empty = GgufFile::Open(tmp + "/empty.gguf");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().message().rfind(tmp + "/empty.gguf: not a GGUF file", 0), 0u)
      << empty.status().message();
  std::filesystem::remove_all(tmp);
}

class GgufAccessors : public ::testing::Test {
 protected:
  void SetUp() override {
    GgufWriter w;
    w.SetUint8("u8", 7);
    w.SetInt32("neg", -5);
    w.SetInt32("pos", 9);
    w.SetUint64("big", ~uint64_t{0});
    w.SetFloat32("f32", 0.25f);
    w.SetFloat64("f64", 1e300);
    w.SetBool("yes", true);
    w.SetString("s", "text");
    w.SetInt32Array("arr", {1, 2});
    bytes_ = w.Finish();
    auto r = testing::ParseString(bytes_, "acc.gguf");
    ASSERT_TRUE(r.ok()) << r.status().message();
    f_ = std::move(*r);
  }
  static void ExpectError(const Status& s, const std::string& text) {
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.message(), text);
  }
  std::string bytes_;
  std::unique_ptr<GgufFile> f_;
};

TEST_F(GgufAccessors, Integers) {
  EXPECT_EQ(f_->GetUint("u8").value(), 7u);
  EXPECT_EQ(f_->GetInt("u8").value(), 7);
  EXPECT_EQ(f_->GetUint("pos").value(), 9u);
  EXPECT_EQ(f_->GetInt("neg").value(), -5);
  EXPECT_EQ(f_->GetUint("big").value(), ~uint64_t{0});
  ExpectError(f_->GetUint("neg").status(),
              "acc.gguf: key 'neg' is -5, expected a non-negative integer");
  ExpectError(f_->GetInt("big").status(),
              "acc.gguf: key 'big' is 18446744073709551615, which does not fit int64");
  ExpectError(f_->GetUint("s").status(),
              "acc.gguf: key 's' has type string, expected an unsigned integer");
  ExpectError(f_->GetInt("yes").status(), "acc.gguf: key 'yes' has type bool, expected an integer");
  ExpectError(f_->GetUint("f32").status(),
              "acc.gguf: key 'f32' has type float32, expected an unsigned integer");
  ExpectError(f_->GetUint("nope").status(), "acc.gguf: key 'nope' not found");
}

TEST_F(GgufAccessors, OtherTypes) {
  EXPECT_EQ(f_->GetFloat("f32").value(), 0.25);
  EXPECT_EQ(f_->GetFloat("f64").value(), 1e300);
  EXPECT_TRUE(f_->GetBool("yes").value());
  EXPECT_EQ(f_->GetString("s").value(), "text");
  EXPECT_EQ(f_->GetArray("arr").value()->ints, (std::vector<int64_t>{1, 2}));
  ExpectError(f_->GetFloat("u8").status(),
              "acc.gguf: key 'u8' has type uint8, expected float32 or float64");
  ExpectError(f_->GetBool("u8").status(), "acc.gguf: key 'u8' has type uint8, expected bool");
  ExpectError(f_->GetString("arr").status(), "acc.gguf: key 'arr' has type array, expected string");
  ExpectError(f_->GetArray("s").status(), "acc.gguf: key 's' has type string, expected array");
  ExpectError(f_->GetString("nope").status(), "acc.gguf: key 'nope' not found");
  ExpectError(f_->GetArray("nope").status(), "acc.gguf: key 'nope' not found");
}

TEST_F(GgufAccessors, Fallbacks) {
  EXPECT_EQ(f_->GetUintOr("nope", 3).value(), 3u);
  EXPECT_EQ(f_->GetUintOr("u8", 3).value(), 7u);
  EXPECT_EQ(f_->GetFloatOr("nope", 0.5).value(), 0.5);
  EXPECT_FALSE(f_->GetBoolOr("nope", false).value());
  EXPECT_EQ(f_->GetStringOr("nope", "dflt").value(), "dflt");
  EXPECT_EQ(f_->GetStringOr("s", "dflt").value(), "text");
  // A present key of the wrong type is an error, not the fallback.
  ExpectError(f_->GetUintOr("s", 3).status(),
              "acc.gguf: key 's' has type string, expected an unsigned integer");
  ExpectError(f_->GetStringOr("u8", "x").status(),
              "acc.gguf: key 'u8' has type uint8, expected string");
  ExpectError(f_->GetBoolOr("s", true).status(),
              "acc.gguf: key 's' has type string, expected bool");
  ExpectError(f_->GetFloatOr("s", 1).status(),
              "acc.gguf: key 's' has type string, expected float32 or float64");
}

TEST(GgufTypeNames, All) {
  EXPECT_STREQ(GgufTypeName(GgufType::kUint8), "uint8");
  EXPECT_STREQ(GgufTypeName(GgufType::kFloat64), "float64");
  EXPECT_STREQ(GgufTypeName(GgufType::kArray), "array");
  EXPECT_STREQ(GgufTypeName(static_cast<GgufType>(77)), "unknown");
}

}  // namespace
}  // namespace r1d::formats
