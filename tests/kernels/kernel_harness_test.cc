// The kernel harness: every type on every instruction set this CPU has, compared with the scalar
// reference (dequantize exact, quantize byte-exact, vec_dot within summation-order tolerance),
// plus accuracy checks of the quantizers themselves.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/fp16.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/ops.h"
#include "tensor/dtype.h"
#include "tensor/quant_blocks.h"

namespace r1d::kernels {
namespace {

using tensor::DType;

const std::vector<DType> kWeightTypes = {DType::kF32,  DType::kF16,  DType::kBF16, DType::kQ4_0,
                                         DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ8_0,
                                         DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};
const std::vector<DType> kActivationOnlyTypes = {DType::kQ8_1, DType::kQ8_K};

std::vector<DType> AllTypes() {
  std::vector<DType> all = kWeightTypes;
  all.insert(all.end(), kActivationOnlyTypes.begin(), kActivationOnlyTypes.end());
  return all;
}

int64_t BlockElems(DType t) { return tensor::GetDTypeInfo(t).block_elems; }

std::vector<int64_t> Lengths(DType t) {
  const int64_t b = BlockElems(t);
  if (b == 1) return {1, 7, 16, 33, 64, 255, 1000, 4096 + 256 + 3};
  std::vector<int64_t> out = {b, 2 * b, 3 * b, 8 * b};
  if (b == 32) out.push_back(5 * b);
  out.push_back(4096 + 256);  // 17 super-blocks / 136 blocks
  return out;
}

std::vector<float> RandomFloats(int64_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> uni(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n));
  // Vary the scale per 32 elements and plant a few outliers, as real rows have.
  float scale = 1.0f;
  for (int64_t i = 0; i < n; ++i) {
    if (i % 32 == 0) scale = 0.01f + 2.0f * uni(gen);
    x[i] = normal(gen) * scale;
    if (uni(gen) < 0.01f) x[i] *= 8.0f;
  }
  return x;
}

// Inputs that hit rounding ties and tie-breaking rules: half-integers against a block maximum
// of exactly +-127 (Q8_0 / Q8_K scales of exactly 1), zero blocks, and equal magnitudes of
// opposite sign.
std::vector<float> TrickyFloats(int64_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> half_steps(-254, 254);
  std::vector<float> x(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) x[i] = 0.5f * static_cast<float>(half_steps(gen));
  for (int64_t b = 0; b + 32 <= n; b += 32) {
    switch ((b / 32) % 4) {
      case 0:
        x[b + 5] = 127.0f;
        break;
      case 1:
        x[b + 3] = -127.0f;
        x[b + 9] = 127.0f;
        break;
      case 2:
        for (int64_t j = 0; j < 32; ++j) x[b + j] = 0.0f;
        break;
      default:
        x[b] = -127.0f;
        break;
    }
  }
  return x;
}

std::vector<uint8_t> Quantize(const TypeKernels& k, const std::vector<float>& x) {
  std::vector<uint8_t> out(static_cast<size_t>(tensor::RowBytes(k.type, x.size())));
  k.quantize_row(x.data(), out.data(), static_cast<int64_t>(x.size()));
  return out;
}

std::vector<float> Dequantize(const TypeKernels& k, const std::vector<uint8_t>& q, int64_t n) {
  std::vector<float> out(static_cast<size_t>(n));
  k.dequantize_row(q.data(), out.data(), n);
  return out;
}

uint16_t RandomHalf(std::mt19937& gen, float lo, float hi, bool allow_negative) {
  std::uniform_real_distribution<float> uni(lo, hi);
  float v = uni(gen);
  if (allow_negative && (gen() & 1)) v = -v;
  return Fp32ToFp16(v);
}

void PutHalf(uint8_t* p, uint16_t h) { std::memcpy(p, &h, sizeof(h)); }

// Weights with every bit pattern: random bytes, then sane fp16 scales. Checks the SIMD
// unpacking on patterns a quantizer might never produce (all 6-bit scales, -128 in Q8_0 ...).
std::vector<uint8_t> RandomBlocks(DType t, int64_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  const tensor::DTypeInfo info = tensor::GetDTypeInfo(t);
  std::vector<uint8_t> bytes(static_cast<size_t>(tensor::RowBytes(t, n)));
  for (auto& b : bytes) b = static_cast<uint8_t>(gen());
  for (int64_t i = 0; i < n / info.block_elems; ++i) {
    uint8_t* blk = bytes.data() + i * info.block_bytes;
    switch (t) {
      case DType::kQ4_0:
      case DType::kQ5_0:
      case DType::kQ8_0:
        PutHalf(blk, RandomHalf(gen, 0.001f, 0.1f, true));
        break;
      case DType::kQ4_1:
      case DType::kQ5_1:
        PutHalf(blk, RandomHalf(gen, 0.001f, 0.1f, false));
        PutHalf(blk + 2, RandomHalf(gen, 0.0f, 1.0f, true));
        break;
      case DType::kQ4_K:
      case DType::kQ5_K:
        PutHalf(blk, RandomHalf(gen, 0.0001f, 0.01f, false));
        PutHalf(blk + 2, RandomHalf(gen, 0.0001f, 0.01f, false));
        break;
      case DType::kQ6_K:
        PutHalf(blk + offsetof(tensor::BlockQ6_K, d), RandomHalf(gen, 0.0001f, 0.01f, true));
        break;
      default:
        ADD_FAILURE() << "RandomBlocks: no layout for " << tensor::DTypeName(t);
    }
  }
  return bytes;
}

bool IsQuantizedWeight(DType t) {
  return BlockElems(t) > 1 && t != DType::kQ8_1 && t != DType::kQ8_K;
}

std::string Describe(DType t, Isa isa, int64_t n) {
  return std::string(tensor::DTypeName(t)) + " isa=" + IsaName(isa) + " n=" + std::to_string(n);
}

TEST(KernelTables, EveryTypeOnEveryIsa) {
  for (Isa isa : AvailableIsas()) {
    for (DType t : AllTypes()) {
      SCOPED_TRACE(Describe(t, isa, 0));
      const TypeKernels* k = GetKernels(t, isa);
      ASSERT_NE(k, nullptr);
      EXPECT_EQ(k->type, t);
      EXPECT_NE(k->dequantize_row, nullptr);
      EXPECT_NE(k->quantize_row, nullptr);
      EXPECT_NE(k->vec_dot, nullptr);
      EXPECT_EQ(k->vec_dot_type, GetKernels(t, Isa::kScalar)->vec_dot_type);
    }
  }
  EXPECT_EQ(GetKernels(DType::kQ2_K), nullptr);
  EXPECT_EQ(GetKernels(DType::kIQ4_XS), nullptr);
  EXPECT_NE(GetKernels(DType::kQ4_K), nullptr);
}

TEST(KernelTables, VecDotTypesFollowLlamaCpp) {
  const std::vector<std::pair<DType, DType>> expected = {
      {DType::kF32, DType::kF32},   {DType::kF16, DType::kF16},   {DType::kBF16, DType::kBF16},
      {DType::kQ4_0, DType::kQ8_0}, {DType::kQ4_1, DType::kQ8_1}, {DType::kQ5_0, DType::kQ8_0},
      {DType::kQ5_1, DType::kQ8_1}, {DType::kQ8_0, DType::kQ8_0}, {DType::kQ4_K, DType::kQ8_K},
      {DType::kQ5_K, DType::kQ8_K}, {DType::kQ6_K, DType::kQ8_K}};
  for (const auto& [w, a] : expected) EXPECT_EQ(GetKernels(w)->vec_dot_type, a);
}

// The SIMD versions are really installed (a dispatch slip would silently test the reference
// against itself).
TEST(KernelTables, SimdVersionsAreInstalled) {
  for (Isa isa : AvailableIsas()) {
    if (isa == Isa::kScalar) continue;
    SCOPED_TRACE(IsaName(isa));
    for (DType t : kWeightTypes) {
      EXPECT_NE(GetKernels(t, isa)->vec_dot, GetKernels(t, Isa::kScalar)->vec_dot)
          << tensor::DTypeName(t);
    }
    for (DType t : {DType::kF16, DType::kBF16, DType::kQ8_0, DType::kQ8_K}) {
      EXPECT_NE(GetKernels(t, isa)->quantize_row, GetKernels(t, Isa::kScalar)->quantize_row)
          << tensor::DTypeName(t);
    }
    for (DType t : {DType::kF16, DType::kBF16, DType::kQ8_0}) {
      EXPECT_NE(GetKernels(t, isa)->dequantize_row, GetKernels(t, Isa::kScalar)->dequantize_row)
          << tensor::DTypeName(t);
    }
    if (isa == Isa::kAvx512) {
      for (DType t : {DType::kQ4_K, DType::kQ6_K, DType::kQ8_K}) {
        EXPECT_NE(GetKernels(t, isa)->dequantize_row, GetKernels(t, Isa::kScalar)->dequantize_row)
            << tensor::DTypeName(t);
      }
      for (DType t : {DType::kF16, DType::kQ8_0, DType::kQ4_K, DType::kQ6_K}) {
        EXPECT_NE(GetKernels(t, isa)->vec_dot, GetKernels(t, Isa::kAvx2)->vec_dot)
            << tensor::DTypeName(t);
      }
    }
  }
}

TEST(KernelTables, IsasAreOrderedAndIncludeScalar) {
  std::vector<Isa> isas = AvailableIsas();
  ASSERT_FALSE(isas.empty());
  EXPECT_EQ(isas.front(), Isa::kScalar);
  for (size_t i = 1; i < isas.size(); ++i) EXPECT_LT(isas[i - 1], isas[i]);
  EXPECT_STREQ(IsaName(Isa::kAvx512), "avx512");
}

TEST(KernelTables, BlockStructsMatchDTypeTable) {
  EXPECT_EQ(sizeof(tensor::BlockQ4_0), tensor::GetDTypeInfo(DType::kQ4_0).block_bytes);
  EXPECT_EQ(sizeof(tensor::BlockQ4_1), tensor::GetDTypeInfo(DType::kQ4_1).block_bytes);
  EXPECT_EQ(sizeof(tensor::BlockQ5_0), tensor::GetDTypeInfo(DType::kQ5_0).block_bytes);
  EXPECT_EQ(sizeof(tensor::BlockQ5_1), tensor::GetDTypeInfo(DType::kQ5_1).block_bytes);
  EXPECT_EQ(sizeof(tensor::BlockQ8_0), tensor::GetDTypeInfo(DType::kQ8_0).block_bytes);
  EXPECT_EQ(sizeof(tensor::BlockQ8_1), tensor::GetDTypeInfo(DType::kQ8_1).block_bytes);
  EXPECT_EQ(sizeof(tensor::BlockQ4_K), tensor::GetDTypeInfo(DType::kQ4_K).block_bytes);
  EXPECT_EQ(sizeof(tensor::BlockQ5_K), tensor::GetDTypeInfo(DType::kQ5_K).block_bytes);
  EXPECT_EQ(sizeof(tensor::BlockQ6_K), tensor::GetDTypeInfo(DType::kQ6_K).block_bytes);
  EXPECT_EQ(sizeof(tensor::BlockQ8_K), tensor::GetDTypeInfo(DType::kQ8_K).block_bytes);
}

TEST(KernelHarness, DequantizeMatchesReferenceExactly) {
  for (Isa isa : AvailableIsas()) {
    for (DType t : AllTypes()) {
      const TypeKernels& ref = *GetKernels(t, Isa::kScalar);
      const TypeKernels& k = *GetKernels(t, isa);
      for (int64_t n : Lengths(t)) {
        SCOPED_TRACE(Describe(t, isa, n));
        std::vector<std::vector<uint8_t>> inputs = {Quantize(ref, RandomFloats(n, 1))};
        if (IsQuantizedWeight(t)) inputs.push_back(RandomBlocks(t, n, 2));
        for (const auto& q : inputs) {
          const std::vector<float> want = Dequantize(ref, q, n);
          const std::vector<float> got = Dequantize(k, q, n);
          ASSERT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * sizeof(float)));
        }
      }
    }
  }
}

// F16 rounding at the edges: overflow to infinity, subnormal halves, signed zeros; a NaN stays
// a NaN (its payload bits may differ).
TEST(KernelHarness, F16QuantizeMatchesReferenceOnSpecialValues) {
  std::vector<float> x = {0.0f,    -0.0f, 65504.0f, -65504.0f, 65519.0f, 65520.0f, 1e6f,
                          -1e6f,   1e-8f, 3e-8f,    5.96e-8f,  6.0e-5f,  -6.1e-5f, 1e-40f,
                          -1e-40f, 0.1f,  -2.5e-6f, 4.0e-7f,   1.5f,     -3.3e-5f};
  x.push_back(std::numeric_limits<float>::infinity());
  x.push_back(-std::numeric_limits<float>::infinity());
  x.push_back(std::numeric_limits<float>::quiet_NaN());
  x.push_back(-std::numeric_limits<float>::quiet_NaN());
  std::mt19937 gen(7);
  std::uniform_real_distribution<float> tiny(-7e-5f, 7e-5f);
  while (x.size() < 77) x.push_back(tiny(gen));  // many subnormal halves, a SIMD tail
  const int64_t n = static_cast<int64_t>(x.size());
  const TypeKernels& ref = *GetKernels(DType::kF16, Isa::kScalar);
  for (Isa isa : AvailableIsas()) {
    SCOPED_TRACE(IsaName(isa));
    const std::vector<uint8_t> want = Quantize(ref, x);
    const std::vector<uint8_t> got = Quantize(*GetKernels(DType::kF16, isa), x);
    for (int64_t i = 0; i < n; ++i) {
      uint16_t w, g;
      std::memcpy(&w, want.data() + 2 * i, 2);
      std::memcpy(&g, got.data() + 2 * i, 2);
      if (std::isnan(x[i])) {
        EXPECT_TRUE((g & 0x7C00) == 0x7C00 && (g & 0x03FF) != 0) << "NaN became " << g;
      } else {
        EXPECT_EQ(w, g) << "value " << x[i];
      }
    }
  }
}

TEST(KernelHarness, QuantizeMatchesReferenceBytes) {
  for (Isa isa : AvailableIsas()) {
    for (DType t : AllTypes()) {
      const TypeKernels& ref = *GetKernels(t, Isa::kScalar);
      const TypeKernels& k = *GetKernels(t, isa);
      for (int64_t n : Lengths(t)) {
        SCOPED_TRACE(Describe(t, isa, n));
        for (const auto& x : {RandomFloats(n, 3), TrickyFloats(n, 4)}) {
          const std::vector<uint8_t> want = Quantize(ref, x);
          const std::vector<uint8_t> got = Quantize(k, x);
          ASSERT_EQ(want, got);
        }
      }
    }
  }
}

// |w . a| summed element by element: the scale of the rounding error of any summation order.
double AbsDot(const std::vector<float>& w, const std::vector<float>& a) {
  double s = 0;
  for (size_t i = 0; i < w.size(); ++i) s += std::fabs(static_cast<double>(w[i]) * a[i]);
  return s;
}

TEST(KernelHarness, VecDotMatchesReference) {
  for (Isa isa : AvailableIsas()) {
    for (DType t : AllTypes()) {
      const TypeKernels& ref = *GetKernels(t, Isa::kScalar);
      const TypeKernels& k = *GetKernels(t, isa);
      const TypeKernels& act = *GetKernels(ref.vec_dot_type, Isa::kScalar);
      for (int64_t n : Lengths(t)) {
        SCOPED_TRACE(Describe(t, isa, n));
        std::vector<std::vector<uint8_t>> weights = {Quantize(ref, RandomFloats(n, 5))};
        if (IsQuantizedWeight(t)) weights.push_back(RandomBlocks(t, n, 6));
        const std::vector<uint8_t> a = Quantize(act, RandomFloats(n, 7));
        const std::vector<float> af = Dequantize(act, a, n);
        for (const auto& w : weights) {
          const float want = ref.vec_dot(n, w.data(), a.data());
          const float got = k.vec_dot(n, w.data(), a.data());
          const double tol = 1e-5 * AbsDot(Dequantize(ref, w, n), af) + 1e-30;
          ASSERT_NEAR(want, got, tol);
        }
      }
    }
  }
}

// The dispatcher installs one of several AVX-512 variants depending on VNNI / BF16; test the
// ones this CPU can run, installed or not.
TEST(KernelHarness, EveryAvx512VariantMatchesReference) {
  if (AvailableIsas().back() != Isa::kAvx512) GTEST_SKIP() << "no AVX-512 on this CPU";
  struct Variant {
    DType type;
    float (*vec_dot)(int64_t, const void*, const void*);
    bool runnable;
    const char* name;
  };
  const Variant variants[] = {
      {DType::kQ8_0, avx512::VecDotQ8_0, true, "Q8_0"},
      {DType::kQ8_0, avx512::VecDotQ8_0Vnni, CpuHasAvx512Vnni(), "Q8_0Vnni"},
      {DType::kQ4_0, avx512::VecDotQ4_0, true, "Q4_0"},
      {DType::kQ4_0, avx512::VecDotQ4_0Vnni, CpuHasAvx512Vnni(), "Q4_0Vnni"},
      {DType::kBF16, avx512::VecDotBF16, true, "BF16"},
      {DType::kBF16, avx512::VecDotBF16Bf16, CpuHasAvx512Bf16(), "BF16Bf16"},
  };
  for (const Variant& v : variants) {
    if (!v.runnable) continue;
    const TypeKernels& ref = *GetKernels(v.type, Isa::kScalar);
    const TypeKernels& act = *GetKernels(ref.vec_dot_type, Isa::kScalar);
    for (int64_t n : Lengths(v.type)) {
      SCOPED_TRACE(std::string(v.name) + " n=" + std::to_string(n));
      std::vector<std::vector<uint8_t>> weights = {Quantize(ref, RandomFloats(n, 11))};
      if (IsQuantizedWeight(v.type)) weights.push_back(RandomBlocks(v.type, n, 12));
      const std::vector<uint8_t> a = Quantize(act, RandomFloats(n, 13));
      const std::vector<float> af = Dequantize(act, a, n);
      for (const auto& w : weights) {
        const double tol = 1e-5 * AbsDot(Dequantize(ref, w, n), af) + 1e-30;
        ASSERT_NEAR(ref.vec_dot(n, w.data(), a.data()), v.vec_dot(n, w.data(), a.data()), tol);
      }
    }
  }
}

double RelativeRms(const std::vector<float>& want, const std::vector<float>& got) {
  double err = 0, norm = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    err += (static_cast<double>(got[i]) - want[i]) * (static_cast<double>(got[i]) - want[i]);
    norm += static_cast<double>(want[i]) * want[i];
  }
  return std::sqrt(err / norm);
}

// Relative RMS error bounds of quantize -> dequantize on Gaussian-like rows.
double RoundTripBound(DType t) {
  switch (t) {
    case DType::kF32:
      return 0;
    case DType::kF16:
      return 3e-4;
    case DType::kBF16:
      return 2e-3;
    case DType::kQ8_0:
    case DType::kQ8_1:
      return 0.01;
    case DType::kQ8_K:  // one scale per 256 elements of varying magnitude
      return 0.025;
    case DType::kQ6_K:
      return 0.032;
    case DType::kQ5_1:
    case DType::kQ5_K:
      return 0.06;
    case DType::kQ5_0:
      return 0.085;
    case DType::kQ4_1:
    case DType::kQ4_K:
      return 0.12;
    default:  // Q4_0: ggml's simple symmetric quantizer maps the block maximum to -8
      return 0.16;
  }
}

TEST(KernelAccuracy, RoundTripIsClose) {
  for (Isa isa : AvailableIsas()) {
    for (DType t : AllTypes()) {
      const TypeKernels& k = *GetKernels(t, isa);
      const int64_t n = 4096 + 256;
      SCOPED_TRACE(Describe(t, isa, n));
      const std::vector<float> x = RandomFloats(n, 8);
      const double err = RelativeRms(x, Dequantize(k, Quantize(k, x), n));
      EXPECT_LE(err, RoundTripBound(t));
      if (isa == Isa::kScalar) {
        std::printf("  round trip %-5s relative RMS error %.5f\n", tensor::DTypeName(t), err);
      }
    }
  }
}

TEST(KernelAccuracy, VecDotApproximatesFloatDot) {
  for (Isa isa : AvailableIsas()) {
    for (DType t : AllTypes()) {
      const TypeKernels& k = *GetKernels(t, isa);
      const TypeKernels& act = *GetKernels(k.vec_dot_type, isa);
      const int64_t n = 4096 + 256;
      SCOPED_TRACE(Describe(t, isa, n));
      const std::vector<uint8_t> w = Quantize(k, RandomFloats(n, 9));
      const std::vector<float> wf = Dequantize(k, w, n);
      const std::vector<float> x = RandomFloats(n, 10);
      double exact = 0;
      for (int64_t i = 0; i < n; ++i) exact += static_cast<double>(wf[i]) * x[i];
      const float got = k.vec_dot(n, w.data(), Quantize(act, x).data());
      // The only error left is the activations' rounding to the vec-dot type.
      const double bound =
          3 * RoundTripBound(k.vec_dot_type) * AbsDot(wf, x) / std::sqrt(n) + 1e-6 * AbsDot(wf, x);
      EXPECT_NEAR(got, exact, bound);
    }
  }
}

}  // namespace
}  // namespace r1d::kernels
