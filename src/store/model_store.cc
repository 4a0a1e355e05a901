#include "store/model_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "store/catalog.h"

namespace r1d::store {
namespace {

namespace fs = std::filesystem;

std::string Errno(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

// The components of `path` below `root` ("a/b/c" -> {"a", "b", "c"}); nullopt if `path` is
// not inside root.
std::optional<std::vector<std::string>> Below(const std::string& root, const std::string& path) {
  if (path.size() <= root.size() + 1 || path.compare(0, root.size(), root) != 0 ||
      path[root.size()] != '/') {
    return std::nullopt;
  }
  std::vector<std::string> parts;
  std::stringstream ss(path.substr(root.size() + 1));
  std::string part;
  while (std::getline(ss, part, '/')) {
    if (part.empty() || part == "." || part == "..") return std::nullopt;
    parts.push_back(part);
  }
  return parts;
}

Result<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Error(Errno("cannot read", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Removes now-empty directories from `path`'s parent up to (not including) `stop`.
void PruneEmptyDirs(const std::string& path, const std::string& stop) {
  fs::path dir = fs::path(path).parent_path();
  while (dir.string().size() > stop.size() && dir.string().rfind(stop, 0) == 0) {
    if (::rmdir(dir.c_str()) != 0) break;  // not empty (or gone): stop climbing
    dir = dir.parent_path();
  }
}

}  // namespace

uint64_t Manifest::TotalSize() const {
  uint64_t total = 0;
  for (const auto& f : files) total += f.size;
  return total;
}

std::string ManifestToJson(const Manifest& manifest) {
  nlohmann::json j;
  j["ref"] = manifest.ref;
  j["source"] = manifest.source;
  j["pulled_at"] = manifest.pulled_at;
  j["size"] = manifest.TotalSize();
  j["files"] = nlohmann::json::array();
  for (const auto& f : manifest.files) {
    j["files"].push_back({{"name", f.name},
                          {"size", f.size},
                          {"sha256", f.sha256},
                          {"hub_verified", f.hub_verified}});
  }
  return j.dump(2) + "\n";
}

Result<Manifest> ManifestFromJson(const std::string& text, const std::string& where) {
  try {
    const auto j = nlohmann::json::parse(text);
    Manifest m;
    m.ref = j.at("ref").get<std::string>();
    m.source = j.value("source", "");
    m.pulled_at = j.value("pulled_at", "");
    for (const auto& f : j.at("files")) {
      ManifestFile file;
      file.name = f.at("name").get<std::string>();
      file.size = f.at("size").get<uint64_t>();
      file.sha256 = f.value("sha256", "");
      file.hub_verified = f.value("hub_verified", false);
      m.files.push_back(std::move(file));
    }
    if (m.files.empty()) return Status::Error(where + ": manifest lists no files");
    return m;
  } catch (const nlohmann::json::exception& e) {
    return Status::Error(where + ": bad manifest: " + e.what());
  }
}

Result<std::string> DefaultStoreRoot() {
  std::string root;
  if (const char* home = std::getenv("R1D_HOME"); home != nullptr && home[0] != '\0') {
    root = home;
  } else if (const char* user_home = std::getenv("HOME"); user_home != nullptr && user_home[0]) {
    root = std::string(user_home) + "/.r1d";
  } else {
    return Status::Error("set R1D_HOME (or HOME) to choose where models are stored");
  }
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return root;
}

Result<ModelStore> ModelStore::OpenDefault() {
  R1D_ASSIGN_OR_RETURN(std::string root, DefaultStoreRoot());
  return ModelStore(std::move(root));
}

std::string ModelStore::ModelPath(const ModelRef& ref, const std::string& file) const {
  return root_ + "/models/" + ref.owner + "/" + ref.repo + "/" + file;
}

std::string ModelStore::ManifestPath(const ModelRef& ref) const {
  return root_ + "/manifests/" + ref.owner + "/" + ref.repo + "/" + ref.file + ".json";
}

std::string ModelStore::PartialPath(const ModelRef& ref, const std::string& file) const {
  return root_ + "/downloads/" + ref.owner + "/" + ref.repo + "/" + file + ".partial";
}

Status ModelStore::CheckNoSymlinks(const std::string& path) const {
  auto parts = Below(root_, path);
  if (!parts) return Status::Error("internal: " + path + " is outside the store " + root_);
  std::string cur = root_;
  for (size_t i = 0; i < parts->size(); ++i) {
    cur += "/" + (*parts)[i];
    struct stat st {};
    if (::lstat(cur.c_str(), &st) != 0) {
      if (errno == ENOENT) return Status::Ok();
      return Status::Error(Errno("cannot inspect", cur));
    }
    if (S_ISLNK(st.st_mode)) {
      return Status::Error(cur + " is a symbolic link; the model store does not follow links");
    }
    const bool last = i + 1 == parts->size();
    if (!last && !S_ISDIR(st.st_mode)) return Status::Error(cur + " is not a directory");
  }
  return Status::Ok();
}

Status ModelStore::PrepareParent(const std::string& path) const {
  std::error_code ec;
  fs::create_directories(root_, ec);
  if (ec) return Status::Error("cannot create the model store " + root_ + ": " + ec.message());
  auto parts = Below(root_, path);
  if (!parts) return Status::Error("internal: " + path + " is outside the store " + root_);
  std::string cur = root_;
  for (size_t i = 0; i + 1 < parts->size(); ++i) {
    cur += "/" + (*parts)[i];
    struct stat st {};
    if (::lstat(cur.c_str(), &st) != 0) {
      if (errno != ENOENT) return Status::Error(Errno("cannot inspect", cur));
      if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) {
        return Status::Error(Errno("cannot create", cur));
      }
      continue;
    }
    if (S_ISLNK(st.st_mode)) {
      return Status::Error(cur + " is a symbolic link; the model store does not follow links");
    }
    if (!S_ISDIR(st.st_mode)) return Status::Error(cur + " is not a directory");
  }
  return CheckNoSymlinks(path);
}

Result<std::optional<Manifest>> ModelStore::ReadManifest(const ModelRef& ref) const {
  const std::string path = ManifestPath(ref);
  R1D_RETURN_IF_ERROR(CheckNoSymlinks(path));
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::optional<Manifest>();
    return Status::Error(Errno("cannot inspect", path));
  }
  R1D_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path));
  R1D_ASSIGN_OR_RETURN(Manifest m, ManifestFromJson(text, path));
  return std::optional<Manifest>(std::move(m));
}

Status ModelStore::WriteManifest(const ModelRef& ref, const Manifest& manifest) const {
  const std::string path = ManifestPath(ref);
  R1D_RETURN_IF_ERROR(PrepareParent(path));
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << ManifestToJson(manifest);
    out.flush();
    if (!out) {
      ::unlink(tmp.c_str());
      return Status::Error(Errno("cannot write", tmp));
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const Status st = Status::Error(Errno("cannot rename into", path));
    ::unlink(tmp.c_str());
    return st;
  }
  return Status::Ok();
}

std::vector<Manifest> ModelStore::List(std::vector<std::string>* problems) const {
  std::vector<Manifest> out;
  const std::string dir = root_ + "/manifests";
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  // The iterator does not follow directory symlinks by default; file symlinks are skipped below.
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    const std::string path = it->path().string();
    if (!it->is_regular_file() || it->is_symlink()) continue;
    if (path.size() < 5 || path.compare(path.size() - 5, 5, ".json") != 0) continue;
    auto text = ReadSmallFile(path);
    auto manifest = text.ok() ? ManifestFromJson(*text, path) : Result<Manifest>(text.status());
    if (!manifest.ok()) {
      if (problems != nullptr) problems->push_back(manifest.status().message());
      continue;
    }
    // A manifest edited by hand must still name a valid reference at its own location.
    auto ref = ParseModelRef(manifest->ref);
    if (!ref.ok() || ManifestPath(*ref) != path) {
      if (problems != nullptr) problems->push_back(path + ": manifest does not match its location");
      continue;
    }
    out.push_back(std::move(manifest).value());
  }
  std::sort(out.begin(), out.end(),
            [](const Manifest& a, const Manifest& b) { return a.ref < b.ref; });
  return out;
}

Result<bool> ModelStore::IsComplete(const ModelRef& ref) const {
  R1D_ASSIGN_OR_RETURN(std::optional<Manifest> manifest, ReadManifest(ref));
  if (!manifest) return false;
  for (const auto& f : manifest->files) {
    const std::string path = ModelPath(ref, f.name);
    R1D_RETURN_IF_ERROR(CheckNoSymlinks(path));
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
        static_cast<uint64_t>(st.st_size) != f.size) {
      return false;
    }
  }
  return true;
}

Status ModelStore::Remove(const ModelRef& ref) const {
  auto manifest = ReadManifest(ref);
  std::vector<std::string> files = ref.PartFiles();
  if (manifest.ok() && manifest->has_value()) {
    for (const auto& f : (*manifest)->files) {
      // Names come from the manifest: only act on those a reference could have produced.
      if (std::find(files.begin(), files.end(), f.name) == files.end()) {
        return Status::Error(ManifestPath(ref) + ": lists an unexpected file " + Printable(f.name));
      }
    }
  }
  bool removed = false;
  auto remove_one = [&](const std::string& path, const std::string& stop) -> Status {
    R1D_RETURN_IF_ERROR(CheckNoSymlinks(path));
    if (::unlink(path.c_str()) == 0) {
      removed = true;
      PruneEmptyDirs(path, stop);
    } else if (errno != ENOENT) {
      return Status::Error(Errno("cannot remove", path));
    }
    return Status::Ok();
  };
  // The manifest goes first: from then on the model is no longer listed, even if a file
  // removal below fails.
  R1D_RETURN_IF_ERROR(remove_one(ManifestPath(ref), root_ + "/manifests"));
  for (const auto& f : files) {
    R1D_RETURN_IF_ERROR(remove_one(ModelPath(ref, f), root_ + "/models"));
    R1D_RETURN_IF_ERROR(remove_one(PartialPath(ref, f), root_ + "/downloads"));
  }
  if (!removed) {
    return Status::Error("model '" + ref.ToString() + "' is not in the store " + root_);
  }
  return Status::Ok();
}

Result<std::string> ResolveModelPath(const std::string& arg) {
  struct stat st {};
  if (::stat(arg.c_str(), &st) == 0 && S_ISREG(st.st_mode)) return arg;
  R1D_ASSIGN_OR_RETURN(ModelStore store, ModelStore::OpenDefault());
  return ResolveModelPath(arg, store);
}

Result<std::string> ResolveModelPath(const std::string& arg, const ModelStore& store) {
  struct stat st {};
  if (::stat(arg.c_str(), &st) == 0) {
    if (S_ISREG(st.st_mode)) return arg;
    return Status::Error(Printable(arg) + " is not a regular file");
  }
  if (!LooksLikeModelRef(arg)) {
    return Status::Error(Printable(arg) +
                         ": no such file (a model is a path, hf:<owner>/<repo>/<file>.gguf, or a "
                         "tag such as deepseek-r1:7b)");
  }
  R1D_ASSIGN_OR_RETURN(ModelRef ref, ParseModelRef(arg));
  R1D_ASSIGN_OR_RETURN(bool complete, store.IsComplete(ref));
  if (!complete) {
    return Status::Error("model '" + Printable(arg) + "' is not in the store " + store.root() +
                         "; run: r1d pull " + Printable(arg));
  }
  return store.ModelPath(ref, ref.file);
}

}  // namespace r1d::store
