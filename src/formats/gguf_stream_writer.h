#pragma once
// Writes GGUF v3 files whose tensor data is too large to hold in memory: metadata and tensor
// descriptions are declared first, then Begin() writes the header and each tensor's bytes are
// streamed in declaration order. The file is written to "<path>.partial" and renamed into place
// by Finish(), so an interrupted run never leaves a truncated file under the final name.
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/status.h"
#include "formats/gguf_reader.h"
#include "tensor/dtype.h"

namespace r1d::formats {

class GgufStreamWriter {
 public:
  GgufStreamWriter() = default;
  ~GgufStreamWriter();
  GgufStreamWriter(const GgufStreamWriter&) = delete;
  GgufStreamWriter& operator=(const GgufStreamWriter&) = delete;

  // Metadata. Setting a key again replaces its value in place. Values must be self-consistent
  // (an array's filled vector matches its elem_type); SetValue refuses the ones that are not.
  Status SetValue(std::string_view key, const GgufValue& value);
  void SetUint32(std::string_view key, uint32_t v);
  void SetInt32(std::string_view key, int32_t v);
  void SetFloat32(std::string_view key, float v);
  void SetBool(std::string_view key, bool v);
  void SetString(std::string_view key, std::string_view v);
  void SetStringArray(std::string_view key, std::vector<std::string> v);
  void SetInt32Array(std::string_view key, const std::vector<int32_t>& v);
  void SetFloat32Array(std::string_view key, const std::vector<float>& v);
  // Sets general.alignment (a power of two, at most kGgufMaxAlignment).
  Status SetAlignment(uint32_t alignment);

  // Declares a tensor (1 to 4 dims, ne[0] a multiple of the type's block size). Returns its
  // data size in bytes.
  Result<uint64_t> AddTensor(std::string_view name, tensor::DType type,
                             const std::vector<int64_t>& ne);
  uint64_t DataBytes() const { return data_size_; }  // the whole data section

  // Opens "<path>.partial" and writes header, metadata and tensor infos.
  Status Begin(const std::string& path);
  // Appends tensor data in declaration order; a tensor may come in several parts, and padding
  // between tensors is inserted automatically. More bytes than declared is an error.
  Status WriteTensor(std::string_view data);
  // After every tensor was written: flushes, closes and renames to `path`.
  Status Finish();

 private:
  struct TensorDecl {
    std::string name;
    tensor::DType type;
    std::vector<int64_t> ne;
    uint64_t offset;
    uint64_t bytes;
  };
  uint64_t Alignment() const;
  Status Put(const void* data, size_t n);

  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::unordered_map<std::string, size_t> metadata_index_;
  std::vector<TensorDecl> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
  uint64_t data_size_ = 0;
  bool layout_fixed_ = false;

  std::string path_;
  std::FILE* file_ = nullptr;
  size_t next_tensor_ = 0;
  uint64_t written_ = 0;  // bytes of the data section written so far
};

}  // namespace r1d::formats
