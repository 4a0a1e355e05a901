#include "kernels/matmul.h"

#include <algorithm>

#include "core/status.h"
#include "kernels/float_gemm.h"
#include "kernels/ops.h"
#include "kernels/parity/cpu_reference_order.h"
#include "kernels/parity/quant_gemm.h"
#include "kernels/strip/packed_gemm.h"
#include "kernels/strip/strip_gemm.h"

namespace r1d::kernels {
namespace {

// Rows handed to a thread at a time: big enough to amortize scheduling, small enough that the
// weight rows stay in cache while every token of the batch uses them.
// A multiple of the 16-row strips of packed weights, so every tile starts at a strip.
constexpr int64_t kRowTile = 16;

using tensor::DType;

// The dot product of one weight row with one converted activation row, in the order
// llama.cpp's CPU backend uses for this weight type and batch size (see
// kernels/parity/cpu_reference_order.h): bit-identical results keep the activation quantization
// of the next product identical too.
using RowDot = float (*)(int64_t n, const void* w, const void* a);

float F16Vec(int64_t n, const void* w, const void* a) {
  return parity::VecDotF16(static_cast<const uint16_t*>(w), static_cast<const uint16_t*>(a), n);
}
float F16Tiny(int64_t n, const void* w, const void* a) {
  return parity::TinyBlasDotF16(static_cast<const uint16_t*>(w), static_cast<const uint16_t*>(a),
                                n);
}
float F32Vec(int64_t n, const void* w, const void* a) {
  return parity::VecDotF32(static_cast<const float*>(w), static_cast<const float*>(a), n);
}
float F32Tiny(int64_t n, const void* w, const void* a) {
  return parity::TinyBlasDotF32(static_cast<const float*>(w), static_cast<const float*>(a), n);
}

// llama.cpp hands batches of 2+ tokens of F32/F16 (and, built for AVX512_BF16, BF16) weights
// to tinyBLAS when its tiling applies (k a multiple of its step, rows a multiple of 4);
// otherwise, and for single tokens, it uses the per-row vec_dot kernels. The quantized types
// handled here have the same order on both paths.
bool TakesTinyBlas(const WeightView& w, int64_t n_tokens) {
  return n_tokens >= 2 && w.n_in % TinyBlasStep(w.type) == 0 && w.n_out % 4 == 0;
}

RowDot ChooseRowDot(const WeightView& w, int64_t n_tokens) {
  const bool tiny = TakesTinyBlas(w, n_tokens);
  switch (w.type) {
    case DType::kF32:
      return tiny ? F32Tiny : F32Vec;
    case DType::kF16:
      return tiny ? F16Tiny : F16Vec;
    default:
      return parity::GetVecDot(static_cast<int>(w.type));
  }
}

}  // namespace

namespace {

// The blocked product for this weight and batch: the product on its packed copy where it has
// one; else the strip products from strip::MinStripTokens(type) tokens up, the bit-identical
// parity products below that (and where no strip product exists), nullptr where neither exists.
// Preparing and running must agree, so both ask here with the same token count.
const parity::QuantGemm* ChooseGemm(const WeightView& w, int64_t n_tokens) {
  const DType type = w.type;
  if (w.packed != nullptr) return strip::GetPackedGemm(static_cast<int>(type), w.row_order);
  if (n_tokens >= strip::MinStripTokens(static_cast<int>(type))) {
    if (const parity::QuantGemm* gemm = strip::GetStripGemm(static_cast<int>(type))) return gemm;
  }
  return parity::GetQuantGemm(static_cast<int>(type));
}

// The blocked product of a dense layer (MatMul, MatMulShared): ChooseGemm's, or for float
// weights the float product in the order llama.cpp's dense product takes for this batch. (The
// experts' products keep ChooseGemm: llama.cpp's expert product never takes tinyBLAS.)
const parity::QuantGemm* ChooseDenseGemm(const WeightView& w, int64_t n_tokens) {
  if (w.type == DType::kF16 || w.type == DType::kF32 || w.type == DType::kBF16) {
    return GetFloatGemm(w.type, TakesTinyBlas(w, n_tokens));  // nullptr: the per-row dots
  }
  return ChooseGemm(w, n_tokens);
}

// The conversion of activations to a vec-dot type: llama.cpp's x86 Q8_0 quantizer rounds
// differently from the reference one, so Q8_0 takes that one.
using Quantizer = void (*)(const float*, void*, int64_t);
Quantizer ActivationQuantizer(DType act_type) {
  return act_type == DType::kQ8_0 ? parity::QuantizeRowQ8_0 : GetKernels(act_type)->quantize_row;
}

// The prepared-activation buffer for n_tokens rows, 64-byte aligned.
uint8_t* PreparedBuffer(MatMulScratch& scratch, int64_t prepared_row, int64_t n_tokens) {
  scratch.prepared.resize(static_cast<size_t>(prepared_row * n_tokens + 64));
  const uintptr_t base = reinterpret_cast<uintptr_t>(scratch.prepared.data());
  return scratch.prepared.data() + ((64 - base % 64) % 64);
}

}  // namespace

void MatMul(ThreadPool& pool, const WeightView& w, const float* x, int64_t n_tokens, float* y,
            MatMulScratch& scratch) {
  const TypeKernels* wk = GetKernels(w.type);
  R1D_CHECK_MSG(wk != nullptr, "MatMul on an unsupported weight type");
  R1D_CHECK(GetKernels(wk->vec_dot_type) != nullptr);
  const int64_t act_row_bytes = tensor::RowBytes(wk->vec_dot_type, w.n_in);
  const Quantizer quantize = ActivationQuantizer(wk->vec_dot_type);
  if (ChooseDenseGemm(w, n_tokens) != nullptr) {  // the blocked product (the row dots' bits)
    const WeightView* ws[] = {&w};
    MatMulShared(pool, ws, &y, 1, x, n_tokens, scratch);
    return;
  }

  scratch.act.resize(static_cast<size_t>(act_row_bytes * n_tokens));
  uint8_t* act = scratch.act.data();
  pool.ParallelFor(n_tokens, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      quantize(x + t * w.n_in, act + t * act_row_bytes, w.n_in);
    }
  });

  const int64_t w_row_bytes = w.row_bytes();
  const auto* wdata = static_cast<const uint8_t*>(w.data);
  const int64_t n_tiles = (w.n_out + kRowTile - 1) / kRowTile;
  RowDot dot = ChooseRowDot(w, n_tokens);
  if (dot == nullptr) dot = wk->vec_dot;
  pool.ParallelFor(n_tiles, [&](int64_t tile_begin, int64_t tile_end) {
    for (int64_t tile = tile_begin; tile < tile_end; ++tile) {
      const int64_t r0 = tile * kRowTile;
      const int64_t r1 = std::min(w.n_out, r0 + kRowTile);
      for (int64_t t = 0; t < n_tokens; ++t) {
        const uint8_t* a = act + t * act_row_bytes;
        float* yt = y + t * w.n_out;
        for (int64_t r = r0; r < r1; ++r) {
          yt[r] = dot(w.n_in, wdata + r * w_row_bytes, a);
        }
      }
    }
  });
}

void MatMulShared(ThreadPool& pool, const WeightView* const* w, float* const* y, int count,
                  const float* x, int64_t n_tokens, MatMulScratch& scratch) {
  bool blocked = true;
  for (int i = 0; i < count; ++i) blocked = blocked && ChooseDenseGemm(*w[i], n_tokens) != nullptr;
  if (!blocked) {
    for (int i = 0; i < count; ++i) MatMul(pool, *w[i], x, n_tokens, y[i], scratch);
    return;
  }
  if (static_cast<int>(scratch.parts.size()) < count) scratch.parts.resize(count);
  std::vector<PreparedProduct>& products = scratch.products;
  std::vector<const void*>& kinds = scratch.kinds;
  products.resize(count);
  kinds.resize(count);
  for (int i = 0; i < count; ++i) {
    const parity::QuantGemm* gemm = ChooseDenseGemm(*w[i], n_tokens);
    const DType act_type = GetKernels(w[i]->type)->vec_dot_type;
    products[i] = {*w[i], nullptr, n_tokens, y[i], gemm};
    kinds[i] = gemm;
    // An earlier product of the same kind (which fixes the activation type) and length has the
    // prepared rows.
    for (int j = 0; j < i && products[i].prepared == nullptr; ++j) {
      if (kinds[j] == gemm && w[j]->n_in == w[i]->n_in) products[i].prepared = products[j].prepared;
    }
    if (products[i].prepared != nullptr) continue;
    MatMulScratch& part = scratch.parts[i];
    const int64_t act_row_bytes = tensor::RowBytes(act_type, w[i]->n_in);
    const int64_t prepared_row = gemm->prepared_row_bytes(w[i]->n_in);
    part.act.resize(static_cast<size_t>(act_row_bytes * pool.size()));
    uint8_t* prepared = PreparedBuffer(part, prepared_row, n_tokens);
    const Quantizer quantize = ActivationQuantizer(act_type);
    auto convert = [&](int ith, int nth) {
      uint8_t* act = part.act.data() + ith * act_row_bytes;
      for (int64_t t = ith; t < n_tokens; t += nth) {
        quantize(x + t * w[i]->n_in, act, w[i]->n_in);
        gemm->prepare_row(w[i]->n_in, act, prepared + t * prepared_row);
      }
    };
    if (n_tokens == 1) {
      convert(0, 1);  // not worth waking the other threads
    } else {
      pool.Run(convert);
    }
    products[i].prepared = prepared;
  }
  RunPreparedProducts(pool, products.data(), count);
}

bool MatMulConverted(ThreadPool& pool, const WeightView& w, const uint8_t* act,
                     int64_t act_row_bytes, const int32_t* rows, int64_t n_tokens, float* y,
                     MatMulScratch& scratch) {
  const uint8_t* prepared = PrepareActivations(w, act, act_row_bytes, rows, n_tokens, scratch);
  if (prepared == nullptr) return false;
  const PreparedProduct product{w, prepared, n_tokens, y};
  RunPreparedProducts(pool, &product, 1);
  return true;
}

bool HasBlockedProduct(tensor::DType type) {
  return parity::GetQuantGemm(static_cast<int>(type)) != nullptr;
}

const uint8_t* PrepareActivations(const WeightView& w, const uint8_t* act, int64_t act_row_bytes,
                                  const int32_t* rows, int64_t n_tokens, MatMulScratch& scratch) {
  const parity::QuantGemm* gemm = ChooseGemm(w, n_tokens);
  if (gemm == nullptr) return nullptr;
  const int64_t prepared_row = gemm->prepared_row_bytes(w.n_in);
  uint8_t* prepared = PreparedBuffer(scratch, prepared_row, n_tokens);
  for (int64_t t = 0; t < n_tokens; ++t) {
    const int64_t src = rows != nullptr ? rows[t] : t;
    gemm->prepare_row(w.n_in, act + src * act_row_bytes, prepared + t * prepared_row);
  }
  return prepared;
}

void RunPreparedProducts(ThreadPool& pool, const PreparedProduct* products, int64_t count) {
  // Row tiles of all products numbered one after another, handed out dynamically. Products are
  // few (one for a plain MatMul, a handful of experts), so a grab finds its product by walking.
  auto tiles = [](const PreparedProduct& p) { return (p.w.n_out + kRowTile - 1) / kRowTile; };
  int64_t n_tiles = 0;
  for (int64_t i = 0; i < count; ++i) n_tiles += tiles(products[i]);
  // Each thread takes its share 1/32 at a time, so threads finish within ~3% of a share of
  // each other (ParallelForDynamic steals); a claim costs one uncontended compare-and-swap.
  const int64_t grain = std::max<int64_t>(1, n_tiles / (32 * pool.size()));
  pool.ParallelForDynamic(n_tiles, grain, [&](int64_t begin, int64_t end) {
    int64_t i = 0, first = 0;  // product i owns tiles [first, first + tiles(products[i]))
    for (int64_t tile = begin; tile < end;) {
      while (tile >= first + tiles(products[i])) first += tiles(products[i++]);
      const PreparedProduct& p = products[i];
      const parity::QuantGemm* gemm = p.gemm != nullptr ? p.gemm : ChooseGemm(p.w, p.n_tokens);
      const int64_t last = std::min(end, first + tiles(p));
      const int64_t r0 = (tile - first) * kRowTile;
      const int64_t r1 = std::min(p.w.n_out, (last - first) * kRowTile);
      const bool packed = p.w.packed != nullptr;
      const int64_t w_row_bytes = packed ? p.w.packed_row_bytes : p.w.row_bytes();
      const auto* base = static_cast<const uint8_t*>(packed ? p.w.packed : p.w.data);
      gemm->run(p.w.n_in, base + r0 * w_row_bytes, w_row_bytes, r1 - r0, p.prepared, p.n_tokens,
                p.y + r0, p.w.n_out);
      tile = last;
    }
  });
}

}  // namespace r1d::kernels
