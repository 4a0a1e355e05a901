#include "models/synth.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string_view>

#include "formats/gguf_stream_writer.h"
#include "kernels/ops.h"
#include "models/synth_deepseek2.h"
#include "models/synth_tensors.h"
#include "models/synth_vocab.h"

namespace r1d::models {
namespace {

// qwen2 / llama.
std::vector<SynthTensor> TensorList(const SynthShape& s) {
  using Init = SynthInit;
  const int64_t E = s.n_embd, hd = s.n_embd / s.n_head, q = s.n_head * hd, kv = s.n_head_kv * hd;
  std::vector<SynthTensor> t;
  t.push_back({"token_embd.weight", {E, s.n_vocab}, Init::kEmbed});
  if (s.llama3_rope) t.push_back({"rope_freqs.weight", {hd / 2}, Init::kRopeFreqs});
  for (int64_t i = 0; i < s.n_layer; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    t.push_back({p + "attn_norm.weight", {E}, Init::kNorm});
    t.push_back({p + "attn_q.weight", {E, q}, Init::kLinear, E});
    t.push_back({p + "attn_k.weight", {E, kv}, Init::kLinear, E});
    t.push_back({p + "attn_v.weight", {E, kv}, Init::kLinear, E});
    if (s.arch == "qwen2") {
      t.push_back({p + "attn_q.bias", {q}, Init::kBias});
      t.push_back({p + "attn_k.bias", {kv}, Init::kBias});
      t.push_back({p + "attn_v.bias", {kv}, Init::kBias});
    }
    t.push_back({p + "attn_output.weight", {q, E}, Init::kLinearOut, q});
    t.push_back({p + "ffn_norm.weight", {E}, Init::kNorm});
    t.push_back({p + "ffn_gate.weight", {E, s.n_ff}, Init::kLinear, E});
    t.push_back({p + "ffn_up.weight", {E, s.n_ff}, Init::kLinear, E});
    t.push_back({p + "ffn_down.weight", {s.n_ff, E}, Init::kLinearOut, s.n_ff});
  }
  t.push_back({"output_norm.weight", {E}, Init::kNorm});
  t.push_back({"output.weight", {E, s.n_vocab}, Init::kOutput, E});
  return t;
}

uint64_t Mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xFF51AFD7ED558CCDULL;
  x ^= x >> 33;
  x *= 0xC4CEB9FE1A85EC53ULL;
  return x ^ (x >> 33);
}

uint64_t HashName(std::string_view name) {
  uint64_t h = 0xCBF29CE484222325ULL;
  for (unsigned char c : name) h = (h ^ c) * 0x100000001B3ULL;
  return h;
}

// Llama-3.1 rope scaling factors (factor 8, low 1, high 4, original context 8192), as the
// converters store them in rope_freqs.weight: the divisor of each rotary frequency.
float Llama3RopeFactor(int64_t i, int64_t n_rot, float base) {
  constexpr double kFactor = 8, kLow = 1, kHigh = 4, kOrigCtx = 8192;
  const double freq = 1.0 / std::pow(static_cast<double>(base),
                                     2.0 * static_cast<double>(i) / static_cast<double>(n_rot));
  const double wavelen = 2 * M_PI / freq;
  if (wavelen < kOrigCtx / kHigh) return 1.0f;
  if (wavelen > kOrigCtx / kLow) return static_cast<float>(kFactor);
  const double smooth = (kOrigCtx / wavelen - kLow) / (kHigh - kLow);
  return static_cast<float>(1.0 / ((1 - smooth) / kFactor + smooth));
}

// One row of a tensor: approximately normal values (Irwin-Hall sum of four uniforms, exact mean
// and variance) from a counter-based generator keyed by (seed, name, row).
void FillRow(const SynthShape& s, const SynthTensor& t, uint64_t key, int64_t row, float* out) {
  using Init = SynthInit;
  const int64_t n = t.ne[0];
  if (t.init == Init::kRopeFreqs) {
    for (int64_t i = 0; i < n; ++i) out[i] = Llama3RopeFactor(i, 2 * n, s.rope_base);
    return;
  }
  double mean = 0, std = 1;
  switch (t.init) {
    case Init::kEmbed:
      break;
    case Init::kLinear:
      std = 1.0 / std::sqrt(static_cast<double>(t.fan_in));
      break;
    case Init::kLinearOut:
      std = 1.0 / std::sqrt(static_cast<double>(t.fan_in)) /
            std::sqrt(2.0 * static_cast<double>(s.n_layer));
      break;
    case Init::kOutput:
      std = 4.0 / std::sqrt(static_cast<double>(s.n_embd));
      break;
    case Init::kNorm:
      mean = 1, std = 0.05;
      break;
    case Init::kBias:
      std = 0.1;
      break;
    case Init::kRopeFreqs:
      break;
  }
  // Sum of four uniform 16-bit values: mean 4 * 32767.5, variance 4 * (65536^2 - 1) / 12.
  const double scale = std / std::sqrt(4.0 * (65536.0 * 65536.0 - 1.0) / 12.0);
  const float fscale = static_cast<float>(scale), fmean = static_cast<float>(mean);
  uint64_t ctr = Mix(key ^ Mix(static_cast<uint64_t>(row) + 0x9E3779B97F4A7C15ULL));
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t r = Mix(ctr + static_cast<uint64_t>(i));
    const int32_t sum = static_cast<int32_t>((r & 0xFFFF) + ((r >> 16) & 0xFFFF) +
                                             ((r >> 32) & 0xFFFF) + (r >> 48)) -
                        131070;
    out[i] = fmean + static_cast<float>(sum) * fscale;
  }
}

std::string Shape(const std::vector<int64_t>& ne) {
  std::string s = "[";
  for (size_t i = 0; i < ne.size(); ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
  return s + "]";
}

std::string Mib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return buf;
}

}  // namespace

const char* SynthShapeNames() {
  return "r1-distill-qwen-1.5b, r1-distill-qwen-7b, r1-distill-llama-8b, tiny, deepseek-v2-lite, "
         "deepseek-v3-mini";
}

Result<SynthShape> FindSynthShape(const std::string& name, const std::string& arch) {
  if (std::optional<SynthShape> ds = FindDeepseek2SynthShape(name)) {
    if (!arch.empty() && arch != ds->arch)
      return Status::Error("--shape " + name + " is a deepseek2 model, not --arch " + arch);
    return *ds;
  }
  SynthShape s;
  if (name == "r1-distill-qwen-1.5b") {
    s = {name, "qwen2", 28, 1536, 8960, 12, 2, 151936, 151643, 131072, 10000.0f, 1e-6f, false};
  } else if (name == "r1-distill-qwen-7b") {
    s = {name, "qwen2", 28, 3584, 18944, 28, 4, 152064, 151643, 131072, 10000.0f, 1e-6f, false};
  } else if (name == "r1-distill-llama-8b") {
    s = {name, "llama", 32, 4096, 14336, 32, 8, 128256, 128000, 131072, 500000.0f, 1e-5f, true};
  } else if (name == "tiny") {
    // Small enough for tests; n_ff is a multiple of 32 but not of 256, so k-quant mixtures
    // exercise the fallback types on ffn_down.
    if (!arch.empty() && arch != "llama" && arch != "qwen2")
      return Status::Error("--shape tiny is qwen2 or llama, not --arch " + arch +
                           (arch == "deepseek2" ? std::string(" (deepseek2 shapes: ") +
                                                      Deepseek2SynthShapeNames() + ")"
                                                : std::string()));
    const bool llama = arch == "llama";
    s = {name,
         llama ? "llama" : "qwen2",
         4,
         256,
         320,
         4,
         2,
         1024,
         1008,
         4096,
         llama ? 500000.0f : 10000.0f,
         llama ? 1e-5f : 1e-6f,
         llama};
  } else {
    return Status::Error("unknown --shape '" + name + "' (expected one of " + SynthShapeNames() +
                         ")");
  }
  s.vocab = s.arch == "llama" ? SynthVocabLayout::kLlama : SynthVocabLayout::kQwen;
  if (!arch.empty() && arch != s.arch)
    return Status::Error("--shape " + name + " is a " + s.arch + " model, not --arch " + arch);
  return s;
}

Status SetSynthLayers(SynthShape& s, int64_t n_layer) {
  if (n_layer < 1 || n_layer > 4096)
    return Status::Error("--layers " + std::to_string(n_layer) + " is out of range [1, 4096]");
  s.n_layer = n_layer;
  // Keep at least one MoE block, so a cut-down deepseek2 model still routes experts.
  if (s.deepseek2) s.deepseek2->n_dense_lead = std::min(s.deepseek2->n_dense_lead, n_layer - 1);
  return Status::Ok();
}

Result<uint64_t> WriteSynthModel(const SynthOptions& o, ThreadPool& pool,
                                 const SynthProgress& progress) {
  const SynthShape& s = o.shape;
  const std::string& a = s.arch;
  formats::GgufStreamWriter w;
  w.SetString("general.architecture", a);
  w.SetString("general.type", "model");
  w.SetString("general.name", "synthetic " + s.name + " (random weights)");
  w.SetUint32("general.file_type", static_cast<uint32_t>(o.target.file_type));
  w.SetUint32("general.quantization_version", 2);
  R1D_RETURN_IF_ERROR(w.SetAlignment(32));
  w.SetUint32(a + ".context_length", static_cast<uint32_t>(s.n_ctx));
  w.SetUint32(a + ".embedding_length", static_cast<uint32_t>(s.n_embd));
  w.SetUint32(a + ".block_count", static_cast<uint32_t>(s.n_layer));
  w.SetUint32(a + ".feed_forward_length", static_cast<uint32_t>(s.n_ff));
  w.SetUint32(a + ".attention.head_count", static_cast<uint32_t>(s.n_head));
  w.SetUint32(a + ".attention.head_count_kv", static_cast<uint32_t>(s.n_head_kv));
  w.SetFloat32(a + ".rope.freq_base", s.rope_base);
  // MLA rotates only a part of each key; the others rotate whole heads.
  const int64_t n_rot = s.deepseek2 ? s.deepseek2->rope : s.n_embd / s.n_head;
  w.SetUint32(a + ".rope.dimension_count", static_cast<uint32_t>(n_rot));
  w.SetFloat32(a + ".attention.layer_norm_rms_epsilon", s.rms_eps);
  w.SetUint32(a + ".vocab_size", static_cast<uint32_t>(s.n_vocab));
  if (s.deepseek2) SetDeepseek2SynthKeys(s, w);

  R1D_ASSIGN_OR_RETURN(SynthVocab vocab, MakeSynthVocab(s.vocab, s.n_regular, s.n_vocab, o.seed));
  w.SetString("tokenizer.ggml.model", "gpt2");
  w.SetString("tokenizer.ggml.pre", vocab.pre);
  w.SetStringArray("tokenizer.ggml.tokens", std::move(vocab.tokens));
  w.SetInt32Array("tokenizer.ggml.token_type", vocab.token_types);
  w.SetStringArray("tokenizer.ggml.merges", std::move(vocab.merges));
  w.SetUint32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(vocab.bos_id));
  w.SetUint32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(vocab.eos_id));
  w.SetUint32("tokenizer.ggml.padding_token_id", static_cast<uint32_t>(vocab.pad_id));
  w.SetBool("tokenizer.ggml.add_bos_token", true);
  w.SetBool("tokenizer.ggml.add_eos_token", false);

  std::vector<SynthTensor> tensors = s.deepseek2 ? Deepseek2SynthTensors(s) : TensorList(s);
  for (SynthTensor& t : tensors) {
    t.type = tensor::ChooseTensorType(o.target, t.name, t.ne, static_cast<int>(s.n_layer), true)
                 .value_or(tensor::DType::kF32);
    R1D_RETURN_IF_ERROR(w.AddTensor(t.name, t.type, t.ne).status());
  }
  R1D_RETURN_IF_ERROR(w.Begin(o.out_path));

  const int n_threads = pool.size();
  std::vector<std::vector<float>> scratch(static_cast<size_t>(n_threads));
  std::string chunk;
  uint64_t done = 0;
  const uint64_t total = w.DataBytes();
  for (size_t ti = 0; ti < tensors.size(); ++ti) {
    const SynthTensor& t = tensors[ti];
    const kernels::TypeKernels* k = kernels::GetKernels(t.type);
    if (k == nullptr || k->quantize_row == nullptr)
      return Status::Error(std::string("no quantizer for type ") + tensor::DTypeName(t.type));
    const int64_t n0 = t.ne[0];
    int64_t rows = 1;
    for (size_t d = 1; d < t.ne.size(); ++d) rows *= t.ne[d];
    const int64_t row_bytes = tensor::RowBytes(t.type, n0);
    const uint64_t key = Mix(o.seed ^ HashName(t.name));
    const int64_t rows_per_chunk = std::max<int64_t>(1, (int64_t{32} << 20) / row_bytes);
    for (int64_t r0 = 0; r0 < rows; r0 += rows_per_chunk) {
      const int64_t nr = std::min(rows_per_chunk, rows - r0);
      chunk.resize(static_cast<size_t>(nr * row_bytes));
      pool.Run([&](int ith, int nth) {
        std::vector<float>& buf = scratch[static_cast<size_t>(ith)];
        buf.resize(static_cast<size_t>(n0));
        for (int64_t r = ith; r < nr; r += nth) {
          FillRow(s, t, key, r0 + r, buf.data());
          k->quantize_row(buf.data(), chunk.data() + r * row_bytes, n0);
        }
      });
      R1D_RETURN_IF_ERROR(w.WriteTensor(chunk));
    }
    done += static_cast<uint64_t>(rows * row_bytes);
    if (progress) {
      char pct[16];
      std::snprintf(pct, sizeof pct, "%5.1f%%",
                    100.0 * static_cast<double>(done) / static_cast<double>(total));
      progress("[" + std::to_string(ti + 1) + "/" + std::to_string(tensors.size()) + "] " + pct +
               "  " + t.name + "  " + tensor::DTypeName(t.type) + "  " + Shape(t.ne) + "  " +
               Mib(static_cast<uint64_t>(rows * row_bytes)));
    }
  }
  R1D_RETURN_IF_ERROR(w.Finish());
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(o.out_path, ec);
  if (ec) return Status::Error(o.out_path + ": " + ec.message());
  return static_cast<uint64_t>(size);
}

}  // namespace r1d::models
