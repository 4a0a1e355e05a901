// r1d list / show / rm: the local model store.
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "formats/gguf_reader.h"
#include "store/catalog.h"
#include "store/model_info.h"
#include "store/model_store.h"
#include "store/progress.h"

namespace r1d::cli {
namespace {

// The name list shows: the shortest catalog tag for the model, else its hf: reference.
std::string DisplayName(const store::ModelRef& ref) {
  auto tags = store::TagsForRef(ref);
  return tags.empty() ? ref.ToString() : tags.front();
}

std::string FormatParams(uint64_t n) {
  char buf[32];
  if (n >= 1000000000) {
    std::snprintf(buf, sizeof(buf), "%.2f B", static_cast<double>(n) / 1e9);
  } else if (n >= 1000000) {
    std::snprintf(buf, sizeof(buf), "%.2f M", static_cast<double>(n) / 1e6);
  } else {
    std::snprintf(buf, sizeof(buf), "%llu", static_cast<unsigned long long>(n));
  }
  return buf;
}

int RunList(bool json, bool available) {
  if (available) {
    for (const auto& entry : store::CatalogTags()) {
      std::printf("%-26s %s\n", entry.tag.c_str(), entry.ref.ToString().c_str());
    }
    return 0;
  }
  auto model_store = store::ModelStore::OpenDefault();
  if (!model_store.ok()) return Fail(model_store.status().message());
  std::vector<std::string> problems;
  const auto manifests = model_store->List(&problems);
  for (const auto& p : problems) std::fprintf(stderr, "r1d: warning: %s\n", p.c_str());
  nlohmann::json out = nlohmann::json::array();
  if (!json) {
    std::printf("%-40s %10s %-8s %-10s %s\n", "NAME", "SIZE", "QUANT", "ARCH", "PATH");
  }
  for (const auto& m : manifests) {
    auto ref = store::ParseModelRef(m.ref);
    if (!ref.ok()) continue;  // List() only returns manifests with valid refs
    const std::string path = model_store->ModelPath(*ref, ref->file);
    store::ModelSummary summary;
    summary.architecture = summary.quantization = "?";
    if (auto file = formats::GgufFile::Open(path); file.ok()) {
      summary = store::Summarize(**file);
    } else {
      std::fprintf(stderr, "r1d: warning: %s\n", file.status().message().c_str());
    }
    if (json) {
      out.push_back({{"name", DisplayName(*ref)},
                     {"ref", m.ref},
                     {"tags", store::TagsForRef(*ref)},
                     {"size", m.TotalSize()},
                     {"quantization", summary.quantization},
                     {"architecture", summary.architecture},
                     {"path", path},
                     {"pulled_at", m.pulled_at}});
    } else {
      std::printf("%-40s %10s %-8s %-10s %s\n", DisplayName(*ref).c_str(),
                  store::FormatBytes(m.TotalSize()).c_str(), summary.quantization.c_str(),
                  summary.architecture.c_str(), path.c_str());
    }
  }
  if (json) std::printf("%s\n", out.dump(2).c_str());
  return 0;
}

int RunShow(const std::string& arg) {
  auto model_store = store::ModelStore::OpenDefault();
  if (!model_store.ok()) return Fail(model_store.status().message());
  auto path = store::ResolveModelPath(arg, *model_store);
  if (!path.ok()) return Fail(path.status().message());
  auto file = formats::GgufFile::Open(*path);
  if (!file.ok()) return Fail(file.status().message());
  const formats::GgufFile& gguf = **file;
  const store::ModelSummary summary = store::Summarize(gguf);

  auto line = [](const char* key, const std::string& value) {
    std::printf("%-16s %s\n", key, value.c_str());
  };
  // Store facts first when the argument named a stored model.
  if (auto ref = store::ParseModelRef(arg); ref.ok() && store::LooksLikeModelRef(arg)) {
    line("model", ref->ToString());
    std::string tags;
    for (const auto& t : store::TagsForRef(*ref)) tags += (tags.empty() ? "" : ", ") + t;
    if (!tags.empty()) line("tags", tags);
    if (auto m = model_store->ReadManifest(*ref); m.ok() && m->has_value()) {
      const store::Manifest& manifest = **m;
      line("size", store::FormatBytes(manifest.TotalSize()));
      line("pulled", manifest.pulled_at);
      line("source", manifest.source);
      for (const auto& f : manifest.files) {
        line("sha256",
             f.sha256 + (f.hub_verified ? " (verified against the hub)" : " (computed locally)") +
                 (manifest.files.size() > 1 ? "  " + f.name : ""));
      }
    }
  }
  line("path", *path);
  line("architecture", summary.architecture);
  if (!summary.name.empty()) line("name", summary.name);
  line("quantization", summary.quantization);
  line("parameters", FormatParams(summary.n_params) + " (this file)");
  line("tensors", std::to_string(gguf.tensors().size()));
  line("gguf version", std::to_string(gguf.version()));

  const std::string arch_prefix = summary.architecture + ".";
  std::printf("\nhyper-parameters:\n");
  for (const auto& [key, value] : gguf.metadata()) {
    if (key.rfind(arch_prefix, 0) == 0) {
      std::printf("  %-44s %s\n", key.c_str(), store::FormatGgufValue(value).c_str());
    }
  }
  std::printf("\nmetadata:\n");
  for (const auto& [key, value] : gguf.metadata()) {
    if (key.rfind(arch_prefix, 0) == 0 || key == "tokenizer.chat_template") continue;
    std::printf("  %-44s %s\n", key.c_str(), store::FormatGgufValue(value).c_str());
  }
  auto tmpl = gguf.GetStringOr("tokenizer.chat_template", "");
  std::printf("\nchat template:\n%s\n",
              tmpl.ok() && !tmpl->empty() ? tmpl->c_str() : "(none in this file)");
  return 0;
}

int RunRm(const std::string& arg) {
  auto ref = store::ParseModelRef(arg);
  if (!ref.ok()) return Fail(ref.status().message());
  auto model_store = store::ModelStore::OpenDefault();
  if (!model_store.ok()) return Fail(model_store.status().message());
  if (Status st = model_store->Remove(*ref); !st.ok()) return Fail(st.message());
  std::printf("removed %s\n", ref->ToString().c_str());
  return 0;
}

const CommandRegistrar kList("list", "List the models in the local store", [](CLI::App& sub) {
  auto json = std::make_shared<bool>(false);
  auto available = std::make_shared<bool>(false);
  sub.add_flag("--json", *json, "Print JSON");
  sub.add_flag("--available", *available, "List the built-in tags instead (deepseek-r1:...)");
  return [json, available] { return RunList(*json, *available); };
});

const CommandRegistrar kShow(
    "show", "Show a model's metadata, hyper-parameters and chat template", [](CLI::App& sub) {
      auto ref = std::make_shared<std::string>();
      sub.add_option("model", *ref, "A path, hf:<owner>/<repo>/<file>.gguf, or a tag")->required();
      return [ref] { return RunShow(*ref); };
    });

const CommandRegistrar kRm("rm", "Remove a model from the local store", [](CLI::App& sub) {
  auto ref = std::make_shared<std::string>();
  sub.add_option("ref", *ref, "hf:<owner>/<repo>/<file>.gguf or a tag")->required();
  return [ref] { return RunRm(*ref); };
});

}  // namespace
}  // namespace r1d::cli
