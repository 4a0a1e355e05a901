#pragma once
// `r1d pull`: fetches every file of a model into the store's downloads/ folder, verifies each
// (hub SHA-256 when published, always a GGUF header check), then renames them into models/ and
// writes the manifest last. A failed pull leaves at most resumable .partial files, never a
// model that `list` shows.
#include <cstdio>
#include <string>

#include "core/status.h"
#include "store/downloader.h"
#include "store/model_ref.h"
#include "store/model_store.h"

namespace r1d::store {

// ${HF_ENDPOINT:-https://huggingface.co}, without a trailing slash.
std::string HubEndpoint();
// <endpoint>/<owner>/<repo>/resolve/main/<file>
std::string HubFileUrl(const std::string& endpoint, const ModelRef& ref, const std::string& file);

struct PullOptions {
  std::string endpoint;  // "" -> HubEndpoint()
  DownloadOptions download;
  std::FILE* progress_out = stderr;  // nullptr: no progress output
  bool progress_tty = false;         // draw a bar instead of plain lines
};

struct PullResult {
  Manifest manifest;
  std::string path;              // the file to load (part 1)
  bool already_present = false;  // nothing was downloaded
};

Result<PullResult> Pull(const ModelStore& store, const ModelRef& ref, const PullOptions& options);

}  // namespace r1d::store
