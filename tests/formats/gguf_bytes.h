#pragma once
// Hand-assembled GGUF bytes for tests: every field written explicitly, nothing validated, so
// tests can build exactly the malformed file they mean (and check the writer's layout against
// an independent encoding).
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "formats/gguf_reader.h"

namespace r1d::formats::testing {

class Bytes {
 public:
  Bytes& Raw(std::string_view s) {
    str_.append(s);
    return *this;
  }
  template <class T>
  Bytes& Pod(T v) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    str_.append(b, sizeof(T));
    return *this;
  }
  Bytes& U8(uint8_t v) { return Pod(v); }
  Bytes& U32(uint32_t v) { return Pod(v); }
  Bytes& U64(uint64_t v) { return Pod(v); }
  Bytes& I32(int32_t v) { return Pod(v); }
  Bytes& F32(float v) { return Pod(v); }
  Bytes& Str(std::string_view s) { return U64(s.size()).Raw(s); }
  Bytes& Type(GgufType t) { return U32(static_cast<uint32_t>(t)); }
  // Zero bytes up to the next multiple of `a`.
  Bytes& Align(size_t a) {
    str_.resize((str_.size() + a - 1) / a * a, '\0');
    return *this;
  }
  Bytes& Zeros(size_t n) {
    str_.append(n, '\0');
    return *this;
  }

  // Header with magic and version 3 unless told otherwise.
  Bytes& Header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    return Raw("GGUF").U32(version).U64(n_tensors).U64(n_kv);
  }
  Bytes& KvU32(std::string_view key, uint32_t v) { return Str(key).Type(GgufType::kUint32).U32(v); }
  Bytes& KvStr(std::string_view key, std::string_view v) {
    return Str(key).Type(GgufType::kString).Str(v);
  }
  // Tensor info with n_dims = ne.size() unless n_dims is given.
  Bytes& Info(std::string_view name, const std::vector<uint64_t>& ne, uint32_t type,
              uint64_t offset, int64_t n_dims = -1) {
    Str(name).U32(n_dims < 0 ? static_cast<uint32_t>(ne.size()) : static_cast<uint32_t>(n_dims));
    for (uint64_t d : ne) U64(d);
    return U32(type).U64(offset);
  }

  size_t size() const { return str_.size(); }
  const std::string& str() const { return str_; }

 private:
  std::string str_;
};

inline Result<std::unique_ptr<GgufFile>> ParseString(const std::string& bytes,
                                                     const std::string& name = "test.gguf") {
  return GgufFile::Parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), name);
}

}  // namespace r1d::formats::testing
