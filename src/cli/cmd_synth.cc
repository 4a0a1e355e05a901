// r1d synth: writes a random-weight model with the real shapes of a DeepSeek-R1 distill or of
// DeepSeek-V2-Lite (or a small V3-architecture model, or a tiny one), a synthetic tokenizer of
// the right size and the chosen quantization mixture.
#include <chrono>
#include <cstdio>
#include <optional>
#include <thread>

#include "cli/command.h"
#include "models/synth.h"

namespace r1d::cli {
namespace {

struct SynthFlags {
  std::string arch;
  std::string shape;
  std::string type = "f16";
  std::string out;
  uint64_t seed = 1;
  int threads = 0;
  std::optional<int64_t> layers;  // unset: the shape's own block count
  bool quiet = false;
};

// Shown after the options: what the shapes are, so --help says what a file will hold.
constexpr const char* kShapesHelp = R"(Shapes:
  r1-distill-qwen-1.5b, r1-distill-qwen-7b   qwen2, the DeepSeek-R1 Qwen distills
  r1-distill-llama-8b                        llama, the DeepSeek-R1 Llama distill
  tiny                                       qwen2 or llama (--arch), 4 blocks of 256, for tests
  deepseek-v2-lite                           deepseek2, DeepSeek-V2-Lite as published: 27 blocks
                                             (1 dense), hidden 2048, 16 heads, MLA (kv_lora 512,
                                             no q_lora), 64 experts of 1408 (6 used, softmax) + 2
                                             shared, vocabulary 102400, YaRN x40; 15.7B params
  deepseek-v3-mini                           deepseek2, every DeepSeek-V3/R1 feature, scaled down
                                             to 1.75B params: 8 blocks (3 dense), hidden 2048, 16
                                             heads, q_lora 768, kv_lora 512, 64 experts of 512
                                             (8 used from 4 of 8 groups, sigmoid + exp_probs_b,
                                             normalised, x2.5) + 1 shared, vocabulary 129280
Tensors get llama.cpp's types for --type (q4_k_m: q6_k output and, on some blocks, attn_v /
attn_kv_b / ffn_down*; rows that do not fit a k-quant fall back to q5_0 / q5_1 / q8_0; norms,
biases and the MoE router stay f32).)";

int RunSynth(const SynthFlags& f) {
  auto shape = models::FindSynthShape(f.shape, f.arch);
  if (!shape.ok()) return Fail(shape.status().message());
  if (f.layers) {
    Status st = models::SetSynthLayers(*shape, *f.layers);
    if (!st.ok()) return Fail(st.message());
  }
  auto target = tensor::ParseQuantTarget(f.type);
  if (!target)
    return Fail("unknown --type '" + f.type + "' (expected one of " + tensor::QuantTargetNames() +
                ")");
  models::SynthOptions o{*shape, *target, f.seed, f.out};
  const int threads = ThreadPool::ResolveCount(f.threads);
  ThreadPool pool(threads);
  const auto t0 = std::chrono::steady_clock::now();
  auto size = models::WriteSynthModel(o, pool, [&](const std::string& line) {
    if (!f.quiet) std::fprintf(stderr, "%s\n", line.c_str());
  });
  if (!size.ok()) return Fail(size.status().message());
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::string layers =
      f.layers ? " (" + std::to_string(shape->n_layer) + " blocks)" : std::string();
  std::fprintf(stderr, "wrote %s: %s %s%s %s, %.3f GiB in %.1f s\n", f.out.c_str(),
               shape->arch.c_str(), shape->name.c_str(), layers.c_str(), target->name,
               static_cast<double>(*size) / (1024.0 * 1024.0 * 1024.0), secs);
  return 0;
}

const CommandRegistrar kRegistrar(
    "synth",
    "Write a random-weight model with real shapes (R1 distills, DeepSeek-V2-Lite, a small V3) and "
    "a synthetic tokenizer",
    [](CLI::App& sub) {
      auto flags = std::make_shared<SynthFlags>();
      sub.add_option(
          "--arch", flags->arch,
          "qwen2, llama or deepseek2 (default: the shape's own; only tiny has a choice)");
      sub.add_option("--shape", flags->shape, models::SynthShapeNames())->required();
      sub.add_option("--type", flags->type, tensor::QuantTargetNames())->capture_default_str();
      sub.add_option("-o,--output", flags->out, "Output GGUF file")->required();
      sub.add_option("--seed", flags->seed, "Weight and vocabulary seed")->capture_default_str();
      sub.add_option("-t,--threads", flags->threads, "Threads (default: all cores)");
      sub.add_flag("-q,--quiet", flags->quiet, "No per-tensor progress lines");
      // For fast tests: the file keeps the shape's sizes but not its depth. llama.cpp tells
      // V2-Lite (no q_lora) by its 27 blocks, so a cut-down deepseek-v2-lite loads in r1d only.
      sub.add_option("--layers", flags->layers,
                     "Testing: write only N blocks (deepseek2 keeps at least one MoE block; "
                     "llama.cpp needs 27 for deepseek-v2-lite)");
      sub.footer(kShapesHelp);
      return [flags] { return RunSynth(*flags); };
    });

}  // namespace
}  // namespace r1d::cli
