// r1d pull: download a model (hf: reference or catalog tag) into the local store.
#include <unistd.h>

#include <cstdlib>
#include <memory>

#include "cli/command.h"
#include "store/catalog.h"
#include "store/progress.h"
#include "store/pull.h"

namespace r1d::cli {
namespace {

struct PullFlags {
  std::string ref;
  int retries = 4;
  bool quiet = false;
};

std::string TokenFromEnv() {
  for (const char* name : {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"}) {
    if (const char* v = std::getenv(name); v != nullptr && v[0] != '\0') return v;
  }
  return "";
}

int RunPull(const PullFlags& flags) {
  auto ref = store::ParseModelRef(flags.ref);
  if (!ref.ok()) return Fail(ref.status().message());
  auto model_store = store::ModelStore::OpenDefault();
  if (!model_store.ok()) return Fail(model_store.status().message());
  store::PullOptions options;
  options.download.max_attempts = flags.retries + 1;
  options.download.token = TokenFromEnv();
  options.progress_out = flags.quiet ? nullptr : stderr;
  options.progress_tty = ::isatty(STDERR_FILENO) == 1;
  if (!ref->tag.empty() && !flags.quiet) {
    std::fprintf(stderr, "%s is %s\n", ref->tag.c_str(), ref->ToString().c_str());
  }
  auto pulled = store::Pull(*model_store, *ref, options);
  if (!pulled.ok()) return Fail(pulled.status().message());
  const auto& m = pulled->manifest;
  bool all_verified = true;
  for (const auto& f : m.files) all_verified = all_verified && f.hub_verified;
  std::printf("%s %s (%s, %s)\n%s\n", pulled->already_present ? "up to date:" : "pulled",
              m.ref.c_str(), store::FormatBytes(m.TotalSize()).c_str(),
              all_verified ? "sha256 verified against the hub"
                           : "no sha256 published by the hub; GGUF header checked",
              pulled->path.c_str());
  return 0;
}

const CommandRegistrar kRegistrar(
    "pull", "Download a model into the local store (R1D_HOME, default ~/.r1d)", [](CLI::App& sub) {
      auto flags = std::make_shared<PullFlags>();
      sub.add_option("ref", flags->ref,
                     "hf:<owner>/<repo>/<file>.gguf or a tag such as deepseek-r1:7b, "
                     "deepseek-r1:1.5b-q8_0")
          ->required();
      sub.add_option("--retries", flags->retries,
                     "Retries after a connection error, timeout or 5xx (with backoff)")
          ->check(CLI::Range(0, 100))
          ->capture_default_str();
      sub.add_flag("-q,--quiet", flags->quiet, "No progress output");
      sub.footer(
          "The hub is ${HF_ENDPOINT:-https://huggingface.co}; HF_TOKEN is sent as a bearer "
          "token when set.\nAn interrupted pull resumes where it stopped when run again.");
      return [flags] { return RunPull(*flags); };
    });

}  // namespace
}  // namespace r1d::cli
