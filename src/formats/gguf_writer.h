#pragma once
// Builds GGUF v3 files: metadata of every type (arrays, nested too) and tensors given as raw bytes.
// Everything it accepts produces a file GgufFile::Parse reads back, with one deliberate escape for
// tests: a `general.alignment` value that is not a valid uint32 power of two is written as given
// (the layout then uses the default alignment), so the reader's refusal can be tested.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/status.h"
#include "formats/gguf_reader.h"
#include "tensor/dtype.h"

namespace r1d::formats {

class GgufWriter {
 public:
  // Scalars and common arrays. Setting a key again replaces its value and keeps its position.
  // Keys must be non-empty and at most kGgufMaxNameLength bytes (CHECKed: programmer error).
  void SetUint8(std::string_view key, uint8_t v);
  void SetInt8(std::string_view key, int8_t v);
  void SetUint16(std::string_view key, uint16_t v);
  void SetInt16(std::string_view key, int16_t v);
  void SetUint32(std::string_view key, uint32_t v);
  void SetInt32(std::string_view key, int32_t v);
  void SetUint64(std::string_view key, uint64_t v);
  void SetInt64(std::string_view key, int64_t v);
  void SetFloat32(std::string_view key, float v);
  void SetFloat64(std::string_view key, double v);
  void SetBool(std::string_view key, bool v);
  void SetString(std::string_view key, std::string_view v);
  void SetStringArray(std::string_view key, const std::vector<std::string>& v);
  void SetFloat32Array(std::string_view key, const std::vector<float>& v);
  void SetInt32Array(std::string_view key, const std::vector<int32_t>& v);
  void SetUint32Array(std::string_view key, const std::vector<uint32_t>& v);

  // Any value, e.g. one taken from a GgufFile. Refused when a field does not fit its type (an
  // int8 array element of 300, a uint64 array element < 0, the wrong vector of a GgufArray
  // filled, nesting deeper than kGgufMaxArrayDepth) or the key is invalid.
  Status SetValue(std::string_view key, const GgufValue& value);
  Status SetArray(std::string_view key, const GgufArray& array);

  // Sets `general.alignment` (uint32). Must be a power of two <= kGgufMaxAlignment.
  Status SetAlignment(uint32_t alignment);
  // The alignment the layout uses: general.alignment when valid, else kGgufDefaultAlignment.
  uint64_t alignment() const;

  // `ne` has 1 to 4 dimensions, each >= 1, ne[0] a multiple of the type's block size, and `data`
  // exactly the size the type and shape need. Any known type may be written, supported or not.
  // Data is laid out in AddTensor order, each tensor aligned.
  Status AddTensor(std::string_view name, tensor::DType type, const std::vector<int64_t>& ne,
                   std::string_view data);

  // The whole file.
  std::string Finish() const;
  // Writes the file (header, then tensor data streamed, without building one big string).
  Status WriteFile(const std::string& path) const;

 private:
  struct Tensor {
    std::string name;
    tensor::DType type;
    std::vector<int64_t> ne;
    std::string data;
  };
  void Put(std::string_view key, GgufValue value);
  // Header, metadata, tensor infos and the padding up to the data section.
  std::string Header() const;

  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::unordered_map<std::string, size_t> metadata_index_;
  std::vector<Tensor> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
};

}  // namespace r1d::formats
