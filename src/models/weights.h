#pragma once
// Looks up tensors by name and checks them against the shapes the architecture expects, so a
// file with a wrong or missing tensor is refused at load time with a message naming it.
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "core/status.h"
#include "formats/gguf_reader.h"
#include "kernels/matmul.h"

namespace r1d::models {

class WeightLoader {
 public:
  explicit WeightLoader(const formats::GgufFile& file) : file_(file) {}

  bool Has(const std::string& name) const { return file_.FindTensor(name) != nullptr; }
  // A matrix with ne = {n_in, n_out} in any supported type, used in place.
  Result<kernels::WeightView> Matrix(const std::string& name, int64_t n_in, int64_t n_out);
  // A vector of n floats (F32 used in place; F16/BF16 converted into storage owned here).
  Result<const float*> Vector(const std::string& name, int64_t n);

 private:
  Result<const formats::GgufTensorInfo*> Find(const std::string& name) const;
  const formats::GgufFile& file_;
  std::deque<std::vector<float>> converted_;  // small vectors that were not F32 in the file
};

// Reads `<arch>.<suffix>` as a positive integer no larger than `max`.
Result<int64_t> ReadPositiveKey(const formats::GgufFile& file, const std::string& key, int64_t max);

}  // namespace r1d::models
