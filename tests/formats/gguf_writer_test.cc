#include "formats/gguf_writer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "formats/gguf_bytes.h"
#include "formats/gguf_reader.h"
#include "test_util.h"

namespace r1d::formats {
namespace {

using tensor::DType;
using testing::Bytes;
using testing::ParseString;

GgufValue Int(GgufType t, int64_t v) {
  GgufValue x;
  x.type = t;
  x.i = v;
  return x;
}
GgufValue Uint(GgufType t, uint64_t v) {
  GgufValue x;
  x.type = t;
  x.u = v;
  return x;
}
GgufValue Float(GgufType t, double v) {
  GgufValue x;
  x.type = t;
  x.f = v;
  return x;
}
GgufValue Array(GgufArray a) {
  GgufValue x;
  x.type = GgufType::kArray;
  x.array = std::move(a);
  return x;
}
GgufArray Ints(GgufType t, std::vector<int64_t> v) {
  GgufArray a;
  a.elem_type = t;
  a.ints = std::move(v);
  return a;
}

TEST(GgufWriter, ExactBytes) {
  GgufWriter w;
  w.SetUint32("a", 1);
  w.SetString("s", "xy");
  const std::string data("\x00\x00\x80\x3f\x00\x00\x00\x40", 8);  // 1.0f, 2.0f
  ASSERT_TRUE(w.AddTensor("t", DType::kF32, {2}, data).ok());
  Bytes want;
  want.Header(1, 2).KvU32("a", 1).KvStr("s", "xy").Info("t", {2}, 0, 0).Align(32);
  want.Raw(data).Align(32);
  EXPECT_EQ(w.Finish(), want.str());
}

TEST(GgufWriter, MetadataOnlyFileHasNoPadding) {
  GgufWriter w;
  w.SetBool("b", false);
  EXPECT_EQ(w.Finish(), Bytes().Header(0, 1).Str("b").Type(GgufType::kBool).U8(0).str());
}

TEST(GgufWriter, RoundTripsEveryType) {
  std::vector<std::pair<std::string, GgufValue>> want = {
      {"u8", Uint(GgufType::kUint8, 255)},
      {"i8", Int(GgufType::kInt8, -128)},
      {"u16", Uint(GgufType::kUint16, 65535)},
      {"i16", Int(GgufType::kInt16, -32768)},
      {"u32", Uint(GgufType::kUint32, 4294967295u)},
      {"i32", Int(GgufType::kInt32, std::numeric_limits<int32_t>::min())},
      {"u64", Uint(GgufType::kUint64, std::numeric_limits<uint64_t>::max())},
      {"i64", Int(GgufType::kInt64, std::numeric_limits<int64_t>::min())},
      {"f32", Float(GgufType::kFloat32, -0.125)},
      {"f64", Float(GgufType::kFloat64, 1e-300)},
      {"a.u8", Array(Ints(GgufType::kUint8, {0, 255}))},
      {"a.i8", Array(Ints(GgufType::kInt8, {-128, 127}))},
      {"a.u16", Array(Ints(GgufType::kUint16, {65535}))},
      {"a.i16", Array(Ints(GgufType::kInt16, {-32768}))},
      {"a.u32", Array(Ints(GgufType::kUint32, {4294967295}))},
      {"a.i32", Array(Ints(GgufType::kInt32, {-1, 1}))},
      {"a.u64", Array(Ints(GgufType::kUint64, {std::numeric_limits<int64_t>::max()}))},
      {"a.i64", Array(Ints(GgufType::kInt64, {std::numeric_limits<int64_t>::min()}))},
      {"a.bool", Array(Ints(GgufType::kBool, {1, 0, 1}))},
      {"a.empty", Array(Ints(GgufType::kInt32, {}))},
  };
  GgufValue b;
  b.type = GgufType::kBool;
  b.b = true;
  want.emplace_back("bool", b);
  GgufValue s;
  s.type = GgufType::kString;
  s.s = std::string("nul\0inside \xC4\xA0", 13);
  want.emplace_back("str", s);
  s.s.clear();
  want.emplace_back("str.empty", s);
  GgufArray floats;
  floats.elem_type = GgufType::kFloat32;
  floats.floats = {0.5, -0x1p100, std::numeric_limits<double>::infinity()};  // exact in f32
  want.emplace_back("a.f32", Array(floats));
  floats.elem_type = GgufType::kFloat64;
  floats.floats = {1e300};
  want.emplace_back("a.f64", Array(floats));
  GgufArray strings;
  strings.elem_type = GgufType::kString;
  strings.strings = {"", "one", std::string(1000, 'z')};
  want.emplace_back("a.str", Array(strings));
  GgufArray nested;
  nested.elem_type = GgufType::kArray;
  nested.arrays = {strings, Ints(GgufType::kUint8, {1}), GgufArray{}};
  nested.arrays[2].elem_type = GgufType::kArray;
  nested.arrays[2].arrays = {Ints(GgufType::kInt16, {-2})};
  want.emplace_back("a.nested", Array(nested));

  GgufWriter w;
  ASSERT_TRUE(w.SetAlignment(64).ok());
  want.insert(want.begin(),
              std::make_pair(std::string("general.alignment"), Uint(GgufType::kUint32, 64)));
  for (const auto& [key, value] : want) {
    if (key != "general.alignment") {
      ASSERT_TRUE(w.SetValue(key, value).ok()) << key;
    }
  }
  std::string f16(2 * 3 * 4 * 5 * 2, '\0');
  for (size_t k = 0; k < f16.size(); ++k) f16[k] = static_cast<char>(k);
  ASSERT_TRUE(w.AddTensor("f16", DType::kF16, {2, 3, 4, 5}, f16).ok());
  ASSERT_TRUE(w.AddTensor("q4k", DType::kQ4_K, {512, 2}, std::string(4 * 144, '\x11')).ok());
  ASSERT_TRUE(w.AddTensor("bf16", DType::kBF16, {1}, std::string(2, '\x22')).ok());

  const std::string bytes = w.Finish();
  auto r = ParseString(bytes);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const GgufFile& f = **r;
  EXPECT_EQ(f.alignment(), 64u);
  EXPECT_EQ(f.data_offset() % 64, 0u);
  ASSERT_EQ(f.metadata().size(), want.size());
  for (size_t k = 0; k < want.size(); ++k) {
    EXPECT_EQ(f.metadata()[k].first, want[k].first);
    EXPECT_TRUE(f.metadata()[k].second == want[k].second) << want[k].first;
  }
  ASSERT_EQ(f.tensors().size(), 3u);
  const GgufTensorInfo& t0 = f.tensors()[0];
  EXPECT_EQ(t0.name, "f16");
  EXPECT_EQ(t0.n_dims, 4u);
  EXPECT_EQ(t0.ne, (std::array<int64_t, 4>{2, 3, 4, 5}));
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(t0.data), t0.n_bytes), f16);
  const GgufTensorInfo& t1 = f.tensors()[1];
  EXPECT_EQ(t1.type, DType::kQ4_K);
  EXPECT_EQ(t1.offset, 256u);  // 240 bytes of f16, padded to 64
  EXPECT_EQ(t1.n_bytes, 4u * 144u);
  EXPECT_EQ(t1.data[0], 0x11);
  EXPECT_EQ(f.tensors()[2].type, DType::kBF16);
  EXPECT_EQ(f.tensors()[2].offset % 64, 0u);
  EXPECT_EQ(bytes.size() % 64, 0u);
}

TEST(GgufWriter, SettingAKeyAgainReplacesItInPlace) {
  GgufWriter w;
  w.SetUint32("a", 1);
  w.SetUint32("b", 2);
  w.SetString("a", "now a string");
  auto r = ParseString(w.Finish());
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ((*r)->metadata().size(), 2u);
  EXPECT_EQ((*r)->metadata()[0].first, "a");
  EXPECT_EQ((*r)->GetString("a").value(), "now a string");
}

TEST(GgufWriter, WriteFileMatchesFinish) {
  GgufWriter w;
  w.SetStringArray("tokens", {"a", "b"});
  w.SetFloat32Array("scores", {0.f, -1.f});
  w.SetUint32Array("ids", {1, 2});
  ASSERT_TRUE(w.AddTensor("x", DType::kQ8_0, {64}, std::string(68, '\7')).ok());
  ASSERT_TRUE(w.AddTensor("y", DType::kF32, {3}, std::string(12, '\1')).ok());
  const std::string dir = r1d::testing::MakeTempDir();
  ASSERT_TRUE(w.WriteFile(dir + "/out.gguf").ok());
  EXPECT_EQ(r1d::testing::ReadFile(dir + "/out.gguf"), w.Finish());
  auto f = GgufFile::Open(dir + "/out.gguf");
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ((*f)->FindTensor("y")->data[11], 1);
  Status bad = w.WriteFile(dir + "/no/such/dir/out.gguf");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.message().rfind(dir + "/no/such/dir/out.gguf: ", 0), 0u);
  std::filesystem::remove_all(dir);
}

TEST(GgufWriter, RefusesValuesThatDoNotFitTheirType) {
  GgufWriter w;
  auto refused = [&](const GgufValue& v, const std::string& part) {
    Status s = w.SetValue("k", v);
    ASSERT_FALSE(s.ok()) << part;
    EXPECT_NE(s.message().find(part), std::string::npos) << s.message();
  };
  refused(Uint(GgufType::kUint8, 256), "256 does not fit uint8");
  refused(Uint(GgufType::kUint32, uint64_t{1} << 32), "does not fit uint32");
  refused(Int(GgufType::kInt8, -129), "-129 does not fit int8");
  refused(Int(GgufType::kInt16, 40000), "does not fit int16");
  refused(Float(GgufType::kFloat32, 1e300), "does not fit float32");
  refused(Uint(static_cast<GgufType>(13), 0), "unknown value type");
  refused(Array(Ints(GgufType::kUint8, {256})), "256 does not fit an array of uint8");
  refused(Array(Ints(GgufType::kUint64, {-1})), "-1 does not fit an array of uint64");
  refused(Array(Ints(GgufType::kBool, {2})), "2 does not fit an array of bool");
  GgufArray mixed = Ints(GgufType::kString, {1});
  refused(Array(mixed), "array of string has elements of another kind");
  GgufArray deep = Ints(GgufType::kUint8, {1});
  for (int d = 1; d <= kGgufMaxArrayDepth; ++d) {
    GgufArray outer;
    outer.elem_type = GgufType::kArray;
    outer.arrays = {deep};
    deep = outer;
  }
  refused(Array(deep), "nested deeper than 8");
  Status empty_key = w.SetValue("", Uint(GgufType::kUint8, 1));
  EXPECT_FALSE(empty_key.ok());
  EXPECT_FALSE(w.SetAlignment(0).ok());
  EXPECT_FALSE(w.SetAlignment(3).ok());
  EXPECT_FALSE(w.SetAlignment(1u << 21).ok());
  // Nothing refused was stored.
  EXPECT_EQ(w.Finish(), Bytes().Header(0, 0).str());
}

TEST(GgufWriter, RefusesBadTensors) {
  GgufWriter w;
  ASSERT_TRUE(w.AddTensor("ok", DType::kF32, {1}, std::string(4, '\0')).ok());
  auto refused = [&](std::string_view name, DType t, std::vector<int64_t> ne, size_t bytes,
                     const std::string& part) {
    Status s = w.AddTensor(name, t, ne, std::string(bytes, '\0'));
    ASSERT_FALSE(s.ok()) << part;
    EXPECT_NE(s.message().find(part), std::string::npos) << s.message();
  };
  refused("", DType::kF32, {1}, 4, "name must have");
  refused("ok", DType::kF32, {1}, 4, "duplicate tensor name");
  refused("t", DType::kF32, {}, 4, "needs 1 to 4 dimensions, got 0");
  refused("t", DType::kF32, {1, 1, 1, 1, 1}, 4, "got 5");
  refused("t", DType::kF32, {4, 0}, 0, "dimension 0 is below 1");
  refused("t", DType::kF32, {int64_t{1} << 40, int64_t{1} << 40}, 0, "overflows int64");
  refused("t", DType::kF32, {int64_t{1} << 62}, 0, "data size overflows");
  refused("t", DType::kQ8_0, {16}, 17, "not a multiple of the q8_0 block size 32");
  refused("t", DType::kF32, {3}, 11, "has 11 bytes of data, f32 with this shape needs 12");
}

TEST(GgufWriter, BadAlignmentValueIsWrittenForTests) {
  GgufWriter w;
  w.SetUint32(kGgufAlignmentKey, 3);
  EXPECT_EQ(w.alignment(), kGgufDefaultAlignment);
  ASSERT_TRUE(w.AddTensor("t", DType::kF32, {1}, std::string(4, '\0')).ok());
  auto r = ParseString(w.Finish(), "w.gguf");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("alignment 3 must be a power of two"), std::string::npos);
}

TEST(GgufWriter, UnsupportedTypesCanBeWrittenAndAreRefusedOnRead) {
  GgufWriter w;
  ASSERT_TRUE(w.AddTensor("t", DType::kIQ2_XXS, {256}, std::string(66, '\0')).ok());
  auto r = ParseString(w.Finish(), "w.gguf");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("type iq2_xxs (16) at byte"), std::string::npos)
      << r.status().message();
}

// Copies a real file through reader and writer. llama.cpp lays files out the way the writer does
// (metadata in order, each tensor padded to the alignment), so the bytes must come back unchanged.
std::string Rewrite(const GgufFile& f) {
  GgufWriter w;
  for (const auto& [key, value] : f.metadata()) EXPECT_TRUE(w.SetValue(key, value).ok()) << key;
  for (const GgufTensorInfo& t : f.tensors()) {
    std::vector<int64_t> ne(t.ne.begin(), t.ne.begin() + t.n_dims);
    Status s = w.AddTensor(t.name, t.type, ne,
                           std::string_view(reinterpret_cast<const char*>(t.data), t.n_bytes));
    EXPECT_TRUE(s.ok()) << s.message();
  }
  return w.Finish();
}

TEST(GgufWriter, RewritingRealFilesReproducesTheirBytes) {
  R1D_REQUIRE_TESTDATA();
  const std::string root = r1d::testing::TestDataDir();
  for (const std::string rel :
       {"/models/stories260K.gguf", "/models/qwen2-tiny-q4_k_m.gguf",
        "/vocab/ggml-vocab-deepseek-coder.gguf", "/vocab/ggml-vocab-bert-bge.gguf"}) {
    SCOPED_TRACE(rel);
    auto f = GgufFile::Open(root + rel);
    ASSERT_TRUE(f.ok()) << f.status().message();
    const std::string original = r1d::testing::ReadFile(root + rel);
    const std::string copy = Rewrite(**f);
    EXPECT_EQ(copy.size(), original.size());
    EXPECT_TRUE(copy == original);
  }
}

}  // namespace
}  // namespace r1d::formats
