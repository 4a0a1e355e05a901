// The malformed-file corpus: every file here is built in code (no committed binaries), starts from
// a layout that parses, and breaks exactly one thing. Each must be refused with a message that
// starts with the file name and names the problem.
#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <random>
#include <string>

#include "formats/gguf_bytes.h"
#include "formats/gguf_reader.h"
#include "formats/gguf_writer.h"

namespace r1d::formats {
namespace {

using testing::Bytes;
using testing::ParseString;

constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();
constexpr uint64_t k2Pow63 = uint64_t{1} << 63;
constexpr uint32_t kF32 = 0;
constexpr uint32_t kQ8_0 = 8;

void ExpectRefused(const std::string& bytes, std::initializer_list<std::string_view> parts) {
  auto r = ParseString(bytes, "bad.gguf");
  ASSERT_FALSE(r.ok()) << "parsed, but should have been refused";
  const std::string& msg = r.status().message();
  EXPECT_EQ(msg.rfind("bad.gguf: ", 0), 0u) << msg;
  for (std::string_view part : parts) {
    EXPECT_NE(msg.find(part), std::string::npos) << "'" << part << "' not in: " << msg;
  }
}

void ExpectParses(const std::string& bytes) {
  auto r = ParseString(bytes, "good.gguf");
  ASSERT_TRUE(r.ok()) << r.status().message();
}

// One metadata entry and one tensor; the defaults parse.
struct Spec {
  uint64_t n_tensors = 1;
  std::string name = "w";
  std::vector<uint64_t> ne = {8, 2};
  int64_t n_dims = -1;  // -1: ne.size()
  uint32_t type = kF32;
  uint64_t offset = 0;
  size_t data_bytes = 64;
};

std::string OneTensor(const Spec& s) {
  Bytes b;
  b.Header(s.n_tensors, 1).KvStr("general.name", "tiny");
  b.Info(s.name, s.ne, s.type, s.offset, s.n_dims).Align(32).Zeros(s.data_bytes);
  return b.str();
}

// A metadata-only file with one entry whose value is `value` (type id then encoding).
std::string OneKv(std::string_view key, const Bytes& value) {
  return Bytes().Header(0, 1).Str(key).Raw(value.str()).str();
}

TEST(GgufMalformed, BaselinesParse) {
  ExpectParses(OneTensor(Spec{}));
  ExpectParses(OneKv("k", Bytes().Type(GgufType::kUint32).U32(7)));
  ExpectParses(Bytes().Header(0, 0).str());
  ExpectParses(Bytes().Header(0, 0, 2).str());  // v2 has the same layout
}

TEST(GgufMalformed, EmptyAndTinyFiles) {
  ExpectRefused("", {"not a GGUF file", "only 0 bytes"});
  ExpectRefused("GG", {"only 2 bytes"});
  ExpectRefused("GGUF", {"version at byte 4", "past end of file (size 4)"});
  ExpectRefused(Bytes().Raw("GGUF").U32(3).U64(0).str(), {"metadata count", "past end of file"});
}

TEST(GgufMalformed, WrongMagic) {
  std::string b = OneTensor(Spec{});
  b[3] = 'X';
  ExpectRefused(b, {"bad magic", "47 47 55 58"});
  ExpectRefused(std::string("\x7f"
                            "ELF\x02\x01\x01\x00",
                            8),
                {"bad magic", "7f 45 4c 46"});
}

TEST(GgufMalformed, Versions) {
  ExpectRefused(Bytes().Header(0, 0, 1).str(), {"version 1", "not supported"});
  ExpectRefused(Bytes().Header(0, 0, 4).str(), {"unsupported GGUF version 4"});
  ExpectRefused(Bytes().Header(0, 0, 0).str(), {"unsupported GGUF version 0"});
  ExpectRefused(Bytes().Header(0, 0, 0xFFFFFFFF).str(), {"unsupported GGUF version 4294967295"});
  ExpectRefused(Bytes().Header(0, 0, 0x03000000).str(), {"big-endian"});
}

TEST(GgufMalformed, HugeCounts) {
  for (uint64_t n : {k2Pow63, kU64Max, uint64_t{1} << 60, uint64_t{1000}}) {
    ExpectRefused(Bytes().Header(n, 0).str(), {"tensor count", "past end of file"});
    ExpectRefused(Bytes().Header(0, n).str(), {"metadata count", "past end of file"});
  }
  // Enough bytes for the count at the header, but the metadata used them up.
  Bytes b;
  b.Header(2, 1).KvStr("k", std::string(80, 'x'));
  ExpectRefused(b.str(), {"tensor count 2", "past end of file"});
}

TEST(GgufMalformed, HugeStringLengths) {
  for (uint64_t n : {k2Pow63, kU64Max, uint64_t{1} << 40, uint64_t{7}}) {
    // Key length (14 bytes left: as many as the smallest metadata entry needs).
    ExpectRefused(Bytes().Header(0, 1).U64(n).Raw("abcdef").str(),
                  {"key length " + std::to_string(n), "past end of file"});
    // String value length.
    ExpectRefused(OneKv("k", Bytes().Type(GgufType::kString).U64(n).Raw("abc")),
                  {"key 'k'", "string length " + std::to_string(n), "past end of file"});
    // Tensor name length.
    if (n > 1000) {
      ExpectRefused(Bytes().Header(1, 0).U64(n).Raw(std::string(40, 'x')).str(),
                    {"tensor name length", "past end of file"});
    }
    // A string element of an array.
    ExpectRefused(
        OneKv("k", Bytes().Type(GgufType::kArray).Type(GgufType::kString).U64(1).U64(n).Raw("x")),
        {"array string length", "past end of file"});
  }
}

TEST(GgufMalformed, HugeArrayCounts) {
  for (GgufType t : {GgufType::kUint8, GgufType::kUint32, GgufType::kFloat64, GgufType::kString,
                     GgufType::kArray, GgufType::kBool}) {
    for (uint64_t n : {k2Pow63, kU64Max, uint64_t{1} << 60, uint64_t{1} << 62, uint64_t{100}}) {
      ExpectRefused(OneKv("arr", Bytes().Type(GgufType::kArray).Type(t).U64(n).Zeros(16)),
                    {"key 'arr'", std::string("array of ") + GgufTypeName(t) + ": count",
                     "past end of file"});
    }
  }
}

TEST(GgufMalformed, Keys) {
  ExpectRefused(OneKv("", Bytes().Type(GgufType::kUint32).U32(1)), {"empty key"});
  std::string long_key(kGgufMaxNameLength + 1, 'k');
  ExpectRefused(OneKv(long_key, Bytes().Type(GgufType::kUint8).U8(1)),
                {"key length 65537", "exceeds the limit"});
  ExpectParses(OneKv(std::string(kGgufMaxNameLength, 'k'), Bytes().Type(GgufType::kUint8).U8(1)));
  Bytes dup;
  dup.Header(0, 3).KvU32("a", 1).KvU32("b", 2).KvStr("a", "again");
  ExpectRefused(dup.str(), {"key 'a'", "duplicate key (first at byte 24)"});
}

TEST(GgufMalformed, BadValueTypes) {
  for (uint32_t id : {13u, 100u, 0xFFFFFFFFu}) {
    ExpectRefused(OneKv("k", Bytes().U32(id).U64(0)),
                  {"key 'k'", "unknown value type id " + std::to_string(id)});
    ExpectRefused(OneKv("k", Bytes().Type(GgufType::kArray).U32(id).U64(0)),
                  {"unknown array element type id " + std::to_string(id)});
  }
  ExpectRefused(OneKv("k", Bytes().Type(GgufType::kBool).U8(2)), {"bool value 2", "neither"});
  ExpectRefused(
      OneKv("k", Bytes().Type(GgufType::kArray).Type(GgufType::kUint64).U64(1).U64(k2Pow63)),
      {"uint64 array element 9223372036854775808", "INT64_MAX"});
  // Scalars cut short.
  ExpectRefused(OneKv("k", Bytes().Type(GgufType::kUint64).U32(1)),
                {"uint64 value at byte", "past end of file"});
}

// An array value nested `depth` levels deep (depth 1 = a plain array of uint8).
Bytes Nested(int depth) {
  Bytes b;
  b.Type(GgufType::kArray);
  for (int d = 1; d < depth; ++d) b.Type(GgufType::kArray).U64(1);
  b.Type(GgufType::kUint8).U64(1).U8(7);
  return b;
}

TEST(GgufMalformed, DeepNesting) {
  auto ok = ParseString(OneKv("deep", Nested(kGgufMaxArrayDepth)));
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  const GgufArray* a = &(*ok)->Find("deep")->array;
  for (int d = 1; d < kGgufMaxArrayDepth; ++d) {
    ASSERT_EQ(a->elem_type, GgufType::kArray);
    ASSERT_EQ(a->arrays.size(), 1u);
    a = &a->arrays[0];
  }
  EXPECT_EQ(a->ints, std::vector<int64_t>{7});
  ExpectRefused(OneKv("deep", Nested(kGgufMaxArrayDepth + 1)), {"nested deeper than 8"});
  ExpectRefused(OneKv("deep", Nested(10000)), {"nested deeper than 8"});
}

TEST(GgufMalformed, Alignment) {
  auto with = [](const Bytes& value) {
    Bytes b;
    b.Header(1, 1).Str(kGgufAlignmentKey).Raw(value.str());
    b.Info("w", {16}, kF32, 0).Align(64).Zeros(64);
    return b.str();
  };
  ExpectParses(with(Bytes().Type(GgufType::kUint32).U32(64)));
  for (uint32_t a : {0u, 3u, 48u, 1u << 21, 0x80000000u}) {
    ExpectRefused(
        with(Bytes().Type(GgufType::kUint32).U32(a)),
        {"key 'general.alignment'", "alignment " + std::to_string(a), "must be a power of two"});
  }
  ExpectRefused(with(Bytes().Type(GgufType::kInt32).I32(32)),
                {"alignment must be of type uint32, found int32"});
  ExpectRefused(with(Bytes().Type(GgufType::kUint64).U64(32)), {"found uint64"});
  ExpectRefused(with(Bytes().Type(GgufType::kString).Str("32")), {"found string"});
}

TEST(GgufMalformed, Dimensions) {
  for (int64_t n : {0, 5, 1000}) {
    Spec s;
    s.n_dims = n;
    ExpectRefused(OneTensor(s), {"tensor 'w' (info at byte", "n_dims " + std::to_string(n),
                                 "must be between 1 and 4"});
  }
  Spec five;
  five.ne = {8, 1, 1, 1, 1};
  ExpectRefused(OneTensor(five), {"n_dims 5"});
  for (uint64_t bad : {uint64_t{0}, kU64Max, k2Pow63}) {
    Spec s;
    s.ne = {8, bad};
    ExpectRefused(OneTensor(s),
                  {"ne[1] = " + std::to_string(static_cast<int64_t>(bad)), "must be at least 1"});
  }
  Spec overflow;
  overflow.ne = {uint64_t{1} << 32, uint64_t{1} << 31};
  ExpectRefused(OneTensor(overflow), {"element count overflows int64", "ne[1]"});
  Spec many;
  many.ne = {1024, 1024, 1024, uint64_t{1} << 34};
  ExpectRefused(OneTensor(many), {"element count overflows int64", "ne[3]"});
  // Element count fits int64, byte count does not.
  Spec bytes;
  bytes.ne = {uint64_t{1} << 62};
  ExpectRefused(OneTensor(bytes), {"data size overflows"});
  Spec block;
  block.type = kQ8_0;
  block.ne = {33, 1};
  ExpectRefused(OneTensor(block), {"ne[0] = 33", "not a multiple of the q8_0 block size 32"});
}

TEST(GgufMalformed, TensorTypes) {
  for (uint32_t id : {4u, 5u, 31u, 99u, 0xFFFFFFFFu}) {
    Spec s;
    s.type = id;
    ExpectRefused(OneTensor(s), {"tensor 'w'", "unknown tensor type id " + std::to_string(id)});
  }
  Spec iq;
  iq.type = 16;
  iq.ne = {256, 1};
  ExpectRefused(OneTensor(iq), {"type iq2_xxs (16)", "is not supported"});
  Spec q2k;
  q2k.type = 10;
  q2k.ne = {256, 1};
  ExpectRefused(OneTensor(q2k), {"type q2_K (10)", "is not supported"});
}

TEST(GgufMalformed, TensorNames) {
  Spec empty;
  empty.name = "";
  ExpectRefused(OneTensor(empty), {"tensor 0 (info at byte", "empty tensor name"});
  Bytes dup;
  dup.Header(2, 0).Info("w", {8}, kF32, 0).Info("w", {8}, kF32, 32).Align(32).Zeros(64);
  ExpectRefused(dup.str(), {"tensor 'w'", "duplicate tensor name (first at byte 24)"});
}

TEST(GgufMalformed, Offsets) {
  // The default Spec file: tensor info at byte 60, data section at 128, 64 bytes of data.
  Spec past;
  past.offset = 1024;
  ExpectRefused(OneTensor(past), {"tensor 'w' (info at byte 60)", "data [1152, 1216)",
                                  "extends past end of file (size 192)"});
  Spec short_data;
  short_data.data_bytes = 63;
  ExpectRefused(OneTensor(short_data), {"data [128, 192) extends past end of file (size 191)"});
  Spec unaligned;
  unaligned.offset = 4;
  ExpectRefused(OneTensor(unaligned),
                {"data offset 4 at byte", "not a multiple of the alignment 32"});
  for (uint64_t off : {kU64Max - 31, kU64Max - 63, k2Pow63}) {
    Spec wrap;
    wrap.offset = off;
    ExpectRefused(OneTensor(wrap), {"tensor 'w'", "past end of file"});
  }
  Spec wrap;
  wrap.offset = kU64Max - 31;
  ExpectRefused(OneTensor(wrap), {"wraps around"});
}

TEST(GgufMalformed, OverlappingTensors) {
  auto two = [](uint64_t off_a, uint64_t off_b) {
    Bytes b;
    b.Header(2, 0).Info("a", {16}, kF32, off_a).Info("b", {16}, kF32, off_b).Align(32).Zeros(256);
    return b.str();
  };
  ExpectParses(two(0, 64));
  ExpectParses(two(64, 0));
  ExpectRefused(two(0, 0), {"overlaps tensor"});
  ExpectRefused(two(0, 32), {"tensor 'b'", "overlaps tensor 'a'"});
  ExpectRefused(two(32, 0), {"tensor 'a'", "overlaps tensor 'b'"});
}

TEST(GgufMalformed, NamesFromTheFileAreEscapedInMessages) {
  Spec s;
  s.name = std::string("evil\n\x1b[31m", 10);
  s.type = 99;
  auto r = ParseString(OneTensor(s), "bad.gguf");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().find('\n'), std::string::npos);
  EXPECT_NE(r.status().message().find("evil\\x0a\\x1b[31m"), std::string::npos)
      << r.status().message();
}

// A small file using every metadata type, nested arrays and three tensors.
std::string RichFile() {
  GgufWriter w;
  w.SetUint8("u8", 200);
  w.SetInt8("i8", -100);
  w.SetUint16("u16", 60000);
  w.SetInt16("i16", -30000);
  w.SetUint32("u32", 4000000000u);
  w.SetInt32("i32", -2000000000);
  w.SetUint64("u64", kU64Max);
  w.SetInt64("i64", std::numeric_limits<int64_t>::min());
  w.SetFloat32("f32", 1.5f);
  w.SetFloat64("f64", -2.25);
  w.SetBool("bool", true);
  w.SetString("str", "hello");
  w.SetStringArray("strs", {"a", "", "ccc"});
  w.SetInt32Array("ints", {1, -2, 3});
  w.SetFloat32Array("floats", {0.5f, 1.0f});
  GgufArray nested;
  nested.elem_type = GgufType::kArray;
  nested.arrays.resize(2);
  nested.arrays[0].elem_type = GgufType::kUint16;
  nested.arrays[0].ints = {1, 2};
  nested.arrays[1].elem_type = GgufType::kString;
  nested.arrays[1].strings = {"x"};
  EXPECT_TRUE(w.SetArray("nested", nested).ok());
  EXPECT_TRUE(w.AddTensor("t.f32", tensor::DType::kF32, {4, 2}, std::string(32, '\1')).ok());
  EXPECT_TRUE(w.AddTensor("t.q8", tensor::DType::kQ8_0, {32}, std::string(34, '\2')).ok());
  EXPECT_TRUE(w.AddTensor("t.f16", tensor::DType::kF16, {3}, std::string(6, '\3')).ok());
  return w.Finish();
}

// Reads everything a consumer would, so that sanitizers see every pointer the reader handed out.
void Exercise(const GgufFile& f) {
  for (const auto& [key, value] : f.metadata()) {
    (void)f.GetUint(key);
    (void)f.GetInt(key);
    (void)f.GetFloat(key);
    (void)f.GetBool(key);
    (void)f.GetString(key);
    (void)f.GetArray(key);
    (void)value.array.size();
  }
  volatile uint8_t sink = 0;
  for (const GgufTensorInfo& t : f.tensors()) {
    ASSERT_EQ(f.FindTensor(t.name), &t);
    sink = sink + t.data[0] + t.data[t.n_bytes - 1];
  }
}

TEST(GgufMalformed, EveryTruncationIsRefused) {
  const std::string full = RichFile();
  auto parsed = ParseString(full);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  uint64_t needed = (*parsed)->data_offset();
  for (const GgufTensorInfo& t : (*parsed)->tensors()) {
    needed = std::max(needed, (*parsed)->data_offset() + t.offset + t.n_bytes);
  }
  ASSERT_LT(needed, full.size() + 1);
  for (size_t n = 0; n < full.size(); ++n) {
    // Copy, so AddressSanitizer catches any read past the prefix.
    std::string prefix = full.substr(0, n);
    auto r = ParseString(prefix, "cut.gguf");
    if (n >= needed) {
      ASSERT_TRUE(r.ok()) << "prefix " << n << ": " << r.status().message();
      continue;
    }
    ASSERT_FALSE(r.ok()) << "prefix of " << n << " bytes parsed";
    const std::string& msg = r.status().message();
    ASSERT_EQ(msg.rfind("cut.gguf: ", 0), 0u) << msg;
    ASSERT_NE(msg.find("past end of file (size " + std::to_string(n) + ")"), std::string::npos)
        << "prefix " << n << ": " << msg;
  }
}

TEST(GgufMalformed, RandomMutationsNeverCrash) {
  const std::string base = RichFile();
  std::mt19937_64 rng(12345);  // fixed seed: the same mutants every run
  int refused = 0;
  constexpr int kRounds = 4000;
  for (int round = 0; round < kRounds; ++round) {
    std::string m = base;
    const int flips = 1 + static_cast<int>(rng() % 8);
    for (int k = 0; k < flips; ++k) {
      size_t at = rng() % m.size();
      switch (rng() % 4) {
        case 0:
          m[at] = static_cast<char>(m[at] ^ (1 << (rng() % 8)));
          break;
        case 1:
          m[at] = static_cast<char>(rng());
          break;
        case 2:
          m[at] = '\xff';
          break;
        default:
          m[at] = '\0';
          break;
      }
    }
    if (rng() % 8 == 0) m.resize(rng() % m.size());
    auto r = ParseString(m, "mutant.gguf");
    if (r.ok()) {
      Exercise(**r);
    } else {
      ++refused;
      ASSERT_EQ(r.status().message().rfind("mutant.gguf: ", 0), 0u) << r.status().message();
    }
  }
  // Most mutants hit a count, length, type or offset; if none were refused, the loop is not
  // testing the checks at all.
  EXPECT_GT(refused, kRounds / 4);
}

}  // namespace
}  // namespace r1d::formats
