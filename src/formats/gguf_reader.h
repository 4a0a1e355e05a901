#pragma once
// GGUF (v2 and v3) reader. Never trusts the file: every count, length, dimension, offset and size
// is checked against the bytes that exist, with overflow-safe arithmetic. Errors name the file,
// the field and the byte offset.
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/mmap_file.h"
#include "core/status.h"
#include "tensor/dtype.h"

namespace r1d::formats {

// Limits the reader enforces (and the writer respects).
inline constexpr std::string_view kGgufAlignmentKey = "general.alignment";
inline constexpr uint64_t kGgufDefaultAlignment = 32;
inline constexpr uint64_t kGgufMaxAlignment = uint64_t{1} << 20;
inline constexpr uint64_t kGgufMaxNameLength = 64 * 1024;  // keys and tensor names, in bytes
inline constexpr int kGgufMaxArrayDepth = 8;               // an array value is depth 1
inline constexpr uint32_t kGgufMaxDims = 4;

enum class GgufType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};
const char* GgufTypeName(GgufType type);

// An array value. Elements are stored by kind: integers (and bools) widened to int64 in `ints`
// (uint64 values above INT64_MAX are refused by the reader), floats widened to double in
// `floats`, strings in `strings`, nested arrays in `arrays`. Exactly one is filled, matching
// elem_type.
struct GgufArray {
  GgufType elem_type = GgufType::kUint8;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::vector<std::string> strings;
  std::vector<GgufArray> arrays;
  uint64_t size() const;
  bool operator==(const GgufArray&) const = default;
};

struct GgufValue {
  GgufType type = GgufType::kUint8;
  uint64_t u = 0;   // unsigned integer types
  int64_t i = 0;    // signed integer types
  double f = 0;     // float types
  bool b = false;   // bool
  std::string s;    // string
  GgufArray array;  // array
  // Fields other than the one for `type` stay at their defaults, so this compares values.
  bool operator==(const GgufValue&) const = default;
};

struct GgufTensorInfo {
  std::string name;
  uint32_t n_dims = 0;
  std::array<int64_t, 4> ne = {1, 1, 1, 1};  // ne[0] is the innermost (contiguous) dimension
  tensor::DType type = tensor::DType::kF32;
  uint64_t offset = 0;            // relative to the start of the data section
  uint64_t n_bytes = 0;           // exact size of the data
  const uint8_t* data = nullptr;  // points into the mapping (or the caller's buffer)
  int64_t n_elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
};

class GgufFile {
 public:
  // Maps the file and parses it. The mapping lives as long as the GgufFile.
  static Result<std::unique_ptr<GgufFile>> Open(const std::string& path);
  // Parses a caller-owned buffer that must outlive the result (tests, fuzzing).
  static Result<std::unique_ptr<GgufFile>> Parse(const uint8_t* data, size_t size,
                                                 std::string display_name);

  const std::string& name() const { return name_; }  // path or display name, used in errors
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // file offset of the data section
  size_t file_size() const { return size_; }

  // Metadata, in file order.
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return metadata_; }
  const GgufValue* Find(std::string_view key) const;
  bool Has(std::string_view key) const { return Find(key) != nullptr; }

  // Typed accessors. Missing key or wrong type -> error naming file, key, expected and actual
  // type. Integer accessors accept any integer type whose value fits; GetFloat accepts f32/f64.
  Result<uint64_t> GetUint(std::string_view key) const;
  Result<int64_t> GetInt(std::string_view key) const;
  Result<double> GetFloat(std::string_view key) const;
  Result<bool> GetBool(std::string_view key) const;
  Result<std::string> GetString(std::string_view key) const;
  Result<const GgufArray*> GetArray(std::string_view key) const;
  // Same, but a missing key yields `fallback` (a present key of the wrong type is still an error).
  Result<uint64_t> GetUintOr(std::string_view key, uint64_t fallback) const;
  Result<double> GetFloatOr(std::string_view key, double fallback) const;
  Result<bool> GetBoolOr(std::string_view key, bool fallback) const;
  Result<std::string> GetStringOr(std::string_view key, std::string fallback) const;

  // Drops this process's pages of [p, p + bytes) (inside the data) from the mapping of an
  // opened file (the page cache keeps them; a later read maps them again); nothing for a
  // parsed buffer. For tensors that were copied elsewhere (packed weights).
  void ReleasePages(const void* p, size_t bytes) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* FindTensor(std::string_view name) const;

 private:
  GgufFile() = default;
  friend class GgufParser;

  std::unique_ptr<MappedFile> mapping_;
  std::string name_;
  const uint8_t* base_ = nullptr;
  size_t size_ = 0;
  uint32_t version_ = 0;
  uint64_t alignment_ = kGgufDefaultAlignment;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::unordered_map<std::string, size_t> metadata_index_;
  std::vector<GgufTensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
};

}  // namespace r1d::formats
