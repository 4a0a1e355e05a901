// Proves the block layouts on real files: llama.cpp quantized qwen2-tiny's F16 weights to Q8_0
// and Q4_K_M (q4_K + q6_K); dequantizing each quantized tensor must approximate the F16 one.
// The kernels library does not depend on formats/, so a minimal GGUF tensor-table parser lives
// here (it trusts the file: these are fixed, known-good test files).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "kernels/ops.h"
#include "tensor/dtype.h"
#include "test_util.h"

namespace r1d::kernels {
namespace {

using tensor::DType;

struct TensorRef {
  DType type;
  int64_t n_elements = 1;
  int64_t row = 1;  // ne[0]
  const uint8_t* data = nullptr;
};

class MiniGguf {
 public:
  explicit MiniGguf(const std::string& path) : bytes_(testing::ReadFile(path)) { Parse(); }
  const std::map<std::string, TensorRef>& tensors() const { return tensors_; }

 private:
  template <class T>
  T Read() {
    T v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string ReadString() {
    const uint64_t len = Read<uint64_t>();
    std::string s = bytes_.substr(pos_, len);
    pos_ += len;
    return s;
  }
  // Skips one metadata value of GGUF type `type`; returns it when it is an integer.
  uint64_t SkipValue(uint32_t type) {
    static const int kSizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    if (type == 8) {
      ReadString();
      return 0;
    }
    if (type == 9) {
      const uint32_t elem = Read<uint32_t>();
      const uint64_t count = Read<uint64_t>();
      for (uint64_t i = 0; i < count; ++i) SkipValue(elem);
      return 0;
    }
    uint64_t v = 0;
    std::memcpy(&v, bytes_.data() + pos_, static_cast<size_t>(kSizes[type]));
    pos_ += static_cast<size_t>(kSizes[type]);
    return v;
  }
  void Parse() {
    ASSERT_GE(bytes_.size(), 24u);
    ASSERT_EQ(bytes_.substr(0, 4), "GGUF");
    pos_ = 4;
    ASSERT_EQ(Read<uint32_t>(), 3u);
    const uint64_t n_tensors = Read<uint64_t>();
    const uint64_t n_kv = Read<uint64_t>();
    uint64_t alignment = 32;
    for (uint64_t i = 0; i < n_kv; ++i) {
      const std::string key = ReadString();
      const uint64_t v = SkipValue(Read<uint32_t>());
      if (key == "general.alignment") alignment = v;
    }
    std::vector<std::pair<std::string, uint64_t>> offsets;
    for (uint64_t i = 0; i < n_tensors; ++i) {
      const std::string name = ReadString();
      const uint32_t n_dims = Read<uint32_t>();
      TensorRef t;
      for (uint32_t d = 0; d < n_dims; ++d) {
        const int64_t ne = static_cast<int64_t>(Read<uint64_t>());
        if (d == 0) t.row = ne;
        t.n_elements *= ne;
      }
      t.type = static_cast<DType>(Read<uint32_t>());
      offsets.emplace_back(name, Read<uint64_t>());
      tensors_[name] = t;
    }
    const size_t data_start = (pos_ + alignment - 1) / alignment * alignment;
    for (const auto& [name, offset] : offsets) {
      TensorRef& t = tensors_[name];
      t.data = reinterpret_cast<const uint8_t*>(bytes_.data()) + data_start + offset;
      ASSERT_LE(data_start + offset + static_cast<uint64_t>(tensor::RowBytes(t.type, t.n_elements)),
                bytes_.size())
          << name;
    }
  }

  std::string bytes_;
  size_t pos_ = 0;
  std::map<std::string, TensorRef> tensors_;
};

std::vector<float> DequantizeTensor(const TensorRef& t, Isa isa) {
  const TypeKernels* k = GetKernels(t.type, isa);
  EXPECT_NE(k, nullptr);
  std::vector<float> out(static_cast<size_t>(t.n_elements));
  if (k == nullptr) return out;
  // Row by row, as the engine does; checks that rows are independent runs of blocks.
  const int64_t row_bytes = tensor::RowBytes(t.type, t.row);
  for (int64_t r = 0; r < t.n_elements / t.row; ++r) {
    k->dequantize_row(t.data + r * row_bytes, out.data() + r * t.row, t.row);
  }
  return out;
}

double RelativeRms(const std::vector<float>& want, const std::vector<float>& got) {
  double err = 0, norm = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    err += (static_cast<double>(got[i]) - want[i]) * (static_cast<double>(got[i]) - want[i]);
    norm += static_cast<double>(want[i]) * want[i];
  }
  return std::sqrt(err / norm);
}

// Compares every tensor of `quant_file` whose type is in `bounds` with the F16 file.
void CompareWithF16(const std::string& quant_file, const std::map<DType, double>& bounds) {
  const std::string dir = testing::TestDataDir() + "/models/";
  MiniGguf f16(dir + "qwen2-tiny-f16.gguf");
  MiniGguf quant(dir + quant_file);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  std::map<DType, int> checked;
  std::map<DType, double> worst;
  for (const auto& [name, qt] : quant.tensors()) {
    const auto bound = bounds.find(qt.type);
    if (bound == bounds.end()) continue;
    const auto ft = f16.tensors().find(name);
    ASSERT_NE(ft, f16.tensors().end()) << name;
    ASSERT_EQ(ft->second.type, DType::kF16) << name;
    ASSERT_EQ(ft->second.n_elements, qt.n_elements) << name;
    const std::vector<float> want = DequantizeTensor(ft->second, Isa::kScalar);
    for (Isa isa : AvailableIsas()) {
      const double err = RelativeRms(want, DequantizeTensor(qt, isa));
      worst[qt.type] = std::max(worst[qt.type], err);
      EXPECT_LT(err, bound->second)
          << name << " (" << tensor::DTypeName(qt.type) << ", " << IsaName(isa) << ")";
    }
    ++checked[qt.type];
  }
  for (const auto& [type, err] : worst) {
    std::printf("  %s: worst relative RMS error vs F16 %.5f\n", tensor::DTypeName(type), err);
  }
  for (const auto& [type, bound] : bounds) {
    EXPECT_GT(checked[type], 0) << "no " << tensor::DTypeName(type) << " tensor in " << quant_file;
  }
}

TEST(GgufGroundTruth, Q8_0MatchesF16Weights) {
  R1D_REQUIRE_TESTDATA();
  CompareWithF16("qwen2-tiny-q8_0.gguf", {{DType::kQ8_0, 0.01}});
}

TEST(GgufGroundTruth, Q4_KAndQ6_KMatchF16Weights) {
  R1D_REQUIRE_TESTDATA();
  CompareWithF16("qwen2-tiny-q4_k_m.gguf", {{DType::kQ4_K, 0.12}, {DType::kQ6_K, 0.03}});
}

// A wrong element order inside a block would still give small per-element errors only if the
// weights were smooth; these are random, so also check the error is far below what a permuted
// layout gives (the tensors' own RMS): a sanity bound on the test itself.
TEST(GgufGroundTruth, PermutedLayoutWouldFail) {
  R1D_REQUIRE_TESTDATA();
  const std::string dir = testing::TestDataDir() + "/models/";
  MiniGguf f16(dir + "qwen2-tiny-f16.gguf");
  const TensorRef& t = f16.tensors().at("blk.0.ffn_up.weight");
  std::vector<float> want = DequantizeTensor(t, Isa::kScalar);
  std::vector<float> shifted(want.size());
  for (size_t i = 0; i < want.size(); ++i) shifted[i] = want[i ^ 16];  // swap half-blocks
  EXPECT_GT(RelativeRms(want, shifted), 0.5);
}

}  // namespace
}  // namespace r1d::kernels
