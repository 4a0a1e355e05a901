// r1d quantize: converts a GGUF model to another type mixture (q8_0, q4_0, q4_k_m, q5_k_m, q6_k,
// or f16/bf16/f32), with llama.cpp's per-tensor rules (tensor/quant_mix.h). Every metadata key
// is copied; general.file_type and general.quantization_version are updated. Tensors that are
// already quantized are only requantized (from their dequantized values) with
// --allow-requantize, as llama.cpp does, since that compounds the rounding error.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "cli/command.h"
#include "core/thread_pool.h"
#include "formats/gguf_reader.h"
#include "formats/gguf_stream_writer.h"
#include "kernels/ops.h"
#include "tensor/quant_mix.h"

namespace r1d::cli {
namespace {

struct QuantizeFlags {
  std::string in, out, type;
  int threads = 0;
  bool allow_requantize = false;
};

bool IsFloatType(tensor::DType t) {
  return t == tensor::DType::kF32 || t == tensor::DType::kF16 || t == tensor::DType::kBF16;
}

std::string Mib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return buf;
}

bool SamePath(const std::string& a, const std::string& b) {
  std::error_code ec;
  if (std::filesystem::equivalent(a, b, ec)) return true;
  const auto ca = std::filesystem::weakly_canonical(a, ec);
  if (ec) return a == b;
  const auto cb = std::filesystem::weakly_canonical(b, ec);
  if (ec) return a == b;
  return ca == cb;
}

int RunQuantize(const QuantizeFlags& f) {
  auto target = tensor::ParseQuantTarget(f.type);
  if (!target)
    return Fail("unknown --type '" + f.type + "' (expected one of " + tensor::QuantTargetNames() +
                ")");
  if (SamePath(f.in, f.out))
    return Fail("output path " + f.out + " is the input file; choose another output path");
  auto in = formats::GgufFile::Open(f.in);
  if (!in.ok()) return Fail(in.status().message());
  const formats::GgufFile& g = **in;

  int n_layers = 0;
  for (const auto& t : g.tensors()) n_layers = std::max(n_layers, tensor::LayerOf(t.name) + 1);
  if (auto arch = g.GetString("general.architecture"); arch.ok()) {
    if (auto n = g.GetUint(*arch + ".block_count"); n.ok() && *n < (1u << 20))
      n_layers = static_cast<int>(*n);
  }
  const bool has_output = g.FindTensor("output.weight") != nullptr;

  formats::GgufStreamWriter w;
  for (const auto& [key, value] : g.metadata()) {
    Status st = w.SetValue(key, value);
    if (!st.ok()) return Fail(f.in + ": cannot copy metadata: " + st.message());
  }
  w.SetUint32("general.file_type", static_cast<uint32_t>(target->file_type));
  w.SetUint32("general.quantization_version", 2);

  struct Plan {
    const formats::GgufTensorInfo* src;
    tensor::DType type;
    std::vector<int64_t> ne;
  };
  std::vector<Plan> plans;
  for (const auto& t : g.tensors()) {
    std::vector<int64_t> ne(t.ne.begin(), t.ne.begin() + t.n_dims);
    tensor::DType type =
        tensor::ChooseTensorType(*target, t.name, ne, n_layers, has_output).value_or(t.type);
    if (type != t.type) {
      if (!IsFloatType(t.type) && !f.allow_requantize)
        return Fail(f.in + ": tensor " + t.name + " is already " + tensor::DTypeName(t.type) +
                    "; requantizing it to " + tensor::DTypeName(type) +
                    " compounds the rounding error. Pass --allow-requantize to requantize from "
                    "its dequantized values, or start from an f16/bf16/f32 model");
      const kernels::TypeKernels* src = kernels::GetKernels(t.type);
      if (src == nullptr || src->dequantize_row == nullptr)
        return Fail(f.in + ": tensor " + t.name + " has type " + tensor::DTypeName(t.type) +
                    ", which r1d cannot read");
    }
    auto bytes = w.AddTensor(t.name, type, ne);
    if (!bytes.ok()) return Fail(bytes.status().message());
    plans.push_back({&t, type, std::move(ne)});
  }
  const std::string out_path = f.out;
  Status st = w.Begin(out_path);
  if (!st.ok()) return Fail(st.message());

  const int threads = ThreadPool::ResolveCount(f.threads);
  ThreadPool pool(threads);
  std::vector<std::vector<float>> scratch(static_cast<size_t>(threads));
  std::string chunk;
  uint64_t in_total = 0, out_total = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < plans.size(); ++i) {
    const Plan& p = plans[i];
    const formats::GgufTensorInfo& t = *p.src;
    const int64_t n0 = p.ne[0];
    const int64_t rows = t.n_elements() / n0;
    const int64_t out_row = tensor::RowBytes(p.type, n0);
    if (p.type == t.type) {
      st = w.WriteTensor(std::string_view(reinterpret_cast<const char*>(t.data), t.n_bytes));
      if (!st.ok()) return Fail(st.message());
    } else {
      const kernels::TypeKernels* src = kernels::GetKernels(t.type);
      const kernels::TypeKernels* dst = kernels::GetKernels(p.type);
      if (dst == nullptr || dst->quantize_row == nullptr)
        return Fail(std::string("no quantizer for type ") + tensor::DTypeName(p.type));
      const int64_t in_row = tensor::RowBytes(t.type, n0);
      const int64_t rows_per_chunk = std::max<int64_t>(1, (int64_t{32} << 20) / out_row);
      for (int64_t r0 = 0; r0 < rows; r0 += rows_per_chunk) {
        const int64_t nr = std::min(rows_per_chunk, rows - r0);
        chunk.resize(static_cast<size_t>(nr * out_row));
        pool.Run([&](int ith, int nth) {
          std::vector<float>& buf = scratch[static_cast<size_t>(ith)];
          buf.resize(static_cast<size_t>(n0));
          for (int64_t r = ith; r < nr; r += nth) {
            src->dequantize_row(t.data + (r0 + r) * in_row, buf.data(), n0);
            dst->quantize_row(buf.data(), chunk.data() + r * out_row, n0);
          }
        });
        st = w.WriteTensor(chunk);
        if (!st.ok()) return Fail(st.message());
      }
    }
    const uint64_t out_bytes = static_cast<uint64_t>(rows * out_row);
    in_total += t.n_bytes;
    out_total += out_bytes;
    std::string shape;
    for (size_t d = 0; d < p.ne.size(); ++d) shape += (d ? ", " : "") + std::to_string(p.ne[d]);
    std::fprintf(stderr, "[%zu/%zu] %-32s %5s -> %-5s [%s]  %s -> %s\n", i + 1, plans.size(),
                 t.name.c_str(), tensor::DTypeName(t.type), tensor::DTypeName(p.type),
                 shape.c_str(), Mib(t.n_bytes).c_str(), Mib(out_bytes).c_str());
  }
  st = w.Finish();
  if (!st.ok()) return Fail(st.message());
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fprintf(stderr, "wrote %s (%s): tensors %s -> %s in %.1f s\n", out_path.c_str(),
               target->name, Mib(in_total).c_str(), Mib(out_total).c_str(), secs);
  return 0;
}

const CommandRegistrar kRegistrar(
    "quantize", "Convert a GGUF model to another quantization mixture", [](CLI::App& sub) {
      auto flags = std::make_shared<QuantizeFlags>();
      sub.add_option("input", flags->in, "Input GGUF file")->required();
      sub.add_option("output", flags->out, "Output GGUF file")->required();
      sub.add_option("--type", flags->type, tensor::QuantTargetNames())->required();
      sub.add_option("-t,--threads", flags->threads, "Threads (default: all cores)");
      sub.add_flag("--allow-requantize", flags->allow_requantize,
                   "Requantize tensors that are already quantized (from dequantized values)");
      return [flags] { return RunQuantize(*flags); };
    });

}  // namespace
}  // namespace r1d::cli
