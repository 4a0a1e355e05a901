// r1d synth: writes a random-weight model with the real shapes of a DeepSeek-R1 distill (or a
// tiny one), a synthetic tokenizer of the right size and the chosen quantization mixture.
#include <chrono>
#include <cstdio>
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
  bool quiet = false;
};

int RunSynth(const SynthFlags& f) {
  auto shape = models::FindSynthShape(f.shape, f.arch);
  if (!shape.ok()) return Fail(shape.status().message());
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
  std::fprintf(stderr, "wrote %s: %s %s %s, %.3f GiB in %.1f s\n", f.out.c_str(),
               shape->arch.c_str(), shape->name.c_str(), target->name,
               static_cast<double>(*size) / (1024.0 * 1024.0 * 1024.0), secs);
  return 0;
}

const CommandRegistrar kRegistrar(
    "synth", "Write a random-weight model with real shapes and a synthetic tokenizer",
    [](CLI::App& sub) {
      auto flags = std::make_shared<SynthFlags>();
      sub.add_option("--arch", flags->arch, "qwen2 or llama (default: the shape's own)");
      sub.add_option("--shape", flags->shape, models::SynthShapeNames())->required();
      sub.add_option("--type", flags->type, tensor::QuantTargetNames())->capture_default_str();
      sub.add_option("-o,--output", flags->out, "Output GGUF file")->required();
      sub.add_option("--seed", flags->seed, "Weight and vocabulary seed")->capture_default_str();
      sub.add_option("-t,--threads", flags->threads, "Threads (default: all cores)");
      sub.add_flag("-q,--quiet", flags->quiet, "No per-tensor progress lines");
      return [flags] { return RunSynth(*flags); };
    });

}  // namespace
}  // namespace r1d::cli
