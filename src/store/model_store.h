#pragma once
// The local model store under ${R1D_HOME:-~/.r1d}:
//   models/<owner>/<repo>/<file>            the GGUF files (all parts of a multi-part model)
//   manifests/<owner>/<repo>/<file>.json    one per model: ref, files with size and sha256, date
//   downloads/<owner>/<repo>/<file>.partial in-progress downloads (resumable)
// A model is "in the store" once its manifest exists; pull writes the manifest last, so a failed
// pull never shows up in `list`. Paths are built only from validated references, and every
// directory below the root is checked to be a real directory (not a symlink).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/model_ref.h"

namespace r1d::store {

struct ManifestFile {
  std::string name;           // path inside the repository
  uint64_t size = 0;          // bytes
  std::string sha256;         // computed while downloading
  bool hub_verified = false;  // the hub published this digest and it matched
};

struct Manifest {
  std::string ref;        // "hf:owner/repo/file"
  std::string source;     // URL it came from (credentials removed)
  std::string pulled_at;  // UTC, ISO 8601
  std::vector<ManifestFile> files;
  uint64_t TotalSize() const;
};

std::string ManifestToJson(const Manifest& manifest);
Result<Manifest> ManifestFromJson(const std::string& text, const std::string& where);

// ${R1D_HOME}, else $HOME/.r1d.
Result<std::string> DefaultStoreRoot();

class ModelStore {
 public:
  explicit ModelStore(std::string root) : root_(std::move(root)) {}
  // The store at DefaultStoreRoot().
  static Result<ModelStore> OpenDefault();

  const std::string& root() const { return root_; }
  std::string ModelPath(const ModelRef& ref, const std::string& file) const;
  std::string ManifestPath(const ModelRef& ref) const;
  std::string PartialPath(const ModelRef& ref, const std::string& file) const;

  // Creates the parent directories of a path built by the functions above, refusing symlinks.
  Status PrepareParent(const std::string& path) const;
  // Errors if any directory between the root and `path` is a symlink or not a directory.
  Status CheckNoSymlinks(const std::string& path) const;

  // The manifest of `ref`, nullopt when it was never pulled.
  Result<std::optional<Manifest>> ReadManifest(const ModelRef& ref) const;
  // Written to a temporary file and renamed, so readers never see half a manifest.
  Status WriteManifest(const ModelRef& ref, const Manifest& manifest) const;
  // Every manifest in the store, sorted by ref. Unreadable manifests are reported in
  // `problems` and skipped.
  std::vector<Manifest> List(std::vector<std::string>* problems) const;
  // Deletes the model files, the manifest and any partial downloads; errors when the model is
  // neither pulled nor partly downloaded.
  Status Remove(const ModelRef& ref) const;
  // True when the manifest exists and every file it lists is present with its recorded size.
  Result<bool> IsComplete(const ModelRef& ref) const;

 private:
  std::string root_;
};

// `-m` for every command: an existing file -> itself; a reference or tag -> the stored file (part
// 1 of a multi-part model) when pulled, else an error that says `run: r1d pull <ref>`.
Result<std::string> ResolveModelPath(const std::string& arg);
// Same, against a given store.
Result<std::string> ResolveModelPath(const std::string& arg, const ModelStore& store);

}  // namespace r1d::store
