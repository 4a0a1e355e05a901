#include "store/pull.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "formats/gguf_reader.h"

namespace r1d::store {
namespace {

std::string NowUtc() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Removes now-empty folders left under downloads/ by a finished pull.
void PruneDownloads(const ModelStore& store, const std::string& partial) {
  const std::string stop = store.root() + "/downloads";
  std::filesystem::path dir = std::filesystem::path(partial).parent_path();
  while (dir.string().size() > stop.size() && dir.string().rfind(stop, 0) == 0) {
    if (::rmdir(dir.c_str()) != 0) break;
    dir = dir.parent_path();
  }
}

}  // namespace

std::string HubEndpoint() {
  std::string endpoint = "https://huggingface.co";
  if (const char* env = std::getenv("HF_ENDPOINT"); env != nullptr && env[0] != '\0') {
    endpoint = env;
  }
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  return endpoint;
}

std::string HubFileUrl(const std::string& endpoint, const ModelRef& ref, const std::string& file) {
  // Names are validated to URL-safe characters except '+', which a path must escape.
  std::string escaped;
  for (char c : file) escaped += c == '+' ? std::string("%2B") : std::string(1, c);
  return endpoint + "/" + ref.owner + "/" + ref.repo + "/resolve/main/" + escaped;
}

Result<PullResult> Pull(const ModelStore& store, const ModelRef& ref, const PullOptions& options) {
  PullResult result;
  result.path = store.ModelPath(ref, ref.file);
  R1D_ASSIGN_OR_RETURN(bool complete, store.IsComplete(ref));
  if (complete) {
    R1D_ASSIGN_OR_RETURN(std::optional<Manifest> manifest, store.ReadManifest(ref));
    result.manifest = std::move(*manifest);
    result.already_present = true;
    return result;
  }
  const std::string endpoint = options.endpoint.empty() ? HubEndpoint() : options.endpoint;
  if (endpoint.rfind("http://", 0) != 0 && endpoint.rfind("https://", 0) != 0) {
    return Status::Error("HF_ENDPOINT must start with http:// or https://");
  }
  const std::vector<std::string> parts = ref.PartFiles();
  result.manifest.ref = ref.ToString();
  result.manifest.source = RedactUrl(HubFileUrl(endpoint, ref, ref.file));

  // 1. Every part, complete and verified against the hub digest, in downloads/.
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string url = HubFileUrl(endpoint, ref, parts[i]);
    const std::string partial = store.PartialPath(ref, parts[i]);
    R1D_RETURN_IF_ERROR(store.PrepareParent(partial));
    std::string label = ref.owner + "/" + ref.repo + "/" + parts[i];
    if (parts.size() > 1) {
      label += " [" + std::to_string(i + 1) + "/" + std::to_string(parts.size()) + "]";
    }
    Progress progress(options.progress_out, options.progress_tty, label);
    auto downloaded = DownloadFile(url, partial, options.download, &progress);
    if (!downloaded.ok()) {
      PruneDownloads(store, partial);  // only removes folders the failure left empty
      return downloaded.status();
    }
    const DownloadResult& file = *downloaded;
    // 2. The GGUF header must parse; a file that does not (an HTML error page served with 200,
    // a truncated upload) is discarded rather than resumed.
    auto gguf = formats::GgufFile::Open(partial);
    if (!gguf.ok()) {
      ::unlink(partial.c_str());
      PruneDownloads(store, partial);
      return Status::Error(RedactUrl(url) + " is not a usable GGUF file (" +
                           gguf.status().message() + "); the download was discarded");
    }
    result.manifest.files.push_back({parts[i], file.size, file.sha256, !file.hub_sha256.empty()});
  }
  // 3. Into place, then the manifest: only now does the model exist for list/resolve.
  for (const std::string& part : parts) {
    const std::string partial = store.PartialPath(ref, part);
    const std::string final_path = store.ModelPath(ref, part);
    R1D_RETURN_IF_ERROR(store.PrepareParent(final_path));
    if (::rename(partial.c_str(), final_path.c_str()) != 0) {
      return Status::Error("cannot move " + partial + " to " + final_path + ": " +
                           std::strerror(errno));
    }
    PruneDownloads(store, partial);
  }
  result.manifest.pulled_at = NowUtc();
  R1D_RETURN_IF_ERROR(store.WriteManifest(ref, result.manifest));
  return result;
}

}  // namespace r1d::store
