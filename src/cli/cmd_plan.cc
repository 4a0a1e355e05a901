// r1d plan: how much memory a model needs for a context length and a number of parallel
// sequences (weights + KV cache), and whether that fits this machine's RAM.
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "core/checked_math.h"
#include "formats/gguf_reader.h"
#include "models/model.h"
#include "store/model_store.h"

namespace r1d::cli {
namespace {

struct PlanFlags {
  std::string model;
  int64_t ctx = 0;
  int64_t parallel = 1;
  bool json = false;
};

std::string Human(uint64_t bytes) {
  char buf[32];
  const double b = static_cast<double>(bytes);
  if (b >= 1024.0 * 1024 * 1024) {
    std::snprintf(buf, sizeof(buf), "%.2f GiB", b / (1024.0 * 1024 * 1024));
  } else if (b >= 1024.0 * 1024) {
    std::snprintf(buf, sizeof(buf), "%.2f MiB", b / (1024.0 * 1024));
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f KiB", b / 1024.0);
  }
  return buf;
}

int RunPlan(const PlanFlags& flags) {
  if (flags.ctx < 0) return Fail("--ctx must be positive");
  if (flags.parallel <= 0) return Fail("--parallel must be positive");
  auto path = store::ResolveModelPath(flags.model);
  if (!path.ok()) return Fail(path.status().message());
  auto file = formats::GgufFile::Open(*path);
  if (!file.ok()) return Fail(file.status().message());
  uint64_t weights = 0;
  for (const auto& t : (*file)->tensors()) weights += t.n_bytes;
  models::LoadOptions load;
  load.pack_weights = false;  // planning reads hyper-parameters only
  auto model = models::LoadModel(std::move(file).value(), load);
  if (!model.ok()) return Fail(model.status().message());
  const models::ModelInfo& info = (*model)->info();
  const int64_t ctx = flags.ctx > 0 ? flags.ctx : info.n_ctx_train;
  const uint64_t per_token = static_cast<uint64_t>((*model)->KvBytesPerToken());
  uint64_t kv = 0, total = 0;
  if (!CheckedMul(per_token, static_cast<uint64_t>(ctx), &kv) ||
      !CheckedMul(kv, static_cast<uint64_t>(flags.parallel), &kv) ||
      !CheckedAdd(kv, weights, &total)) {
    return Fail("--ctx x --parallel is too large");
  }
  const long pages = ::sysconf(_SC_PHYS_PAGES), page_size = ::sysconf(_SC_PAGE_SIZE);
  const uint64_t ram = pages > 0 && page_size > 0
                           ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page_size)
                           : 0;
  const bool fits = ram > 0 && total <= ram;
  if (flags.json) {
    nlohmann::json j = {{"architecture", info.architecture},
                        {"weights_bytes", weights},
                        {"kv_bytes_per_token", per_token},
                        {"ctx", ctx},
                        {"parallel", flags.parallel},
                        {"kv_bytes", kv},
                        {"total_bytes", total},
                        {"ram_bytes", ram},
                        {"fits", fits}};
    std::printf("%s\n", j.dump().c_str());
    return 0;
  }
  std::printf("architecture:       %s\n", info.architecture.c_str());
  std::printf("weights:            %llu bytes (%s)\n", static_cast<unsigned long long>(weights),
              Human(weights).c_str());
  std::printf("kv bytes per token: %llu\n", static_cast<unsigned long long>(per_token));
  std::printf("kv cache:           %llu bytes (%s) for %lld positions x %lld sequences\n",
              static_cast<unsigned long long>(kv), Human(kv).c_str(), static_cast<long long>(ctx),
              static_cast<long long>(flags.parallel));
  std::printf("total:              %llu bytes (%s)\n", static_cast<unsigned long long>(total),
              Human(total).c_str());
  std::printf("ram:                %llu bytes (%s)\n", static_cast<unsigned long long>(ram),
              Human(ram).c_str());
  std::printf("fits:               %s\n", fits ? "yes" : "no");
  return 0;
}

const CommandRegistrar kPlan(
    "plan", "Memory needed for a model, context length and parallel sequences", [](CLI::App& sub) {
      auto flags = std::make_shared<PlanFlags>();
      sub.add_option("-m,--model", flags->model, "Model file or name")->required();
      sub.add_option("-c,--ctx", flags->ctx, "Context length (default: the model's)");
      sub.add_option("--parallel", flags->parallel, "Sequences served at once (default 1)");
      sub.add_flag("--json", flags->json, "Print one JSON object");
      return [flags] { return RunPlan(*flags); };
    });

}  // namespace
}  // namespace r1d::cli
