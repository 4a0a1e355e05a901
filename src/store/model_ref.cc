#include "store/model_ref.h"

#include <cstdio>

#include "store/catalog.h"

namespace r1d::store {
namespace {

constexpr size_t kMaxNameLength = 96;
constexpr size_t kMaxComponentLength = 200;
constexpr size_t kMaxPathComponents = 4;
constexpr int kMaxParts = 999;

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

// Owner and repository names: what the hub allows, minus anything a file system treats
// specially (a leading dot or dash, "..").
Status CheckName(const std::string& what, const std::string& name) {
  if (name.empty()) return Status::Error(what + " is empty");
  if (name.size() > kMaxNameLength) return Status::Error(what + " is longer than 96 characters");
  for (char c : name) {
    if (!IsNameChar(c)) return Status::Error(what + " may only use letters, digits, '-', '_', '.'");
  }
  if (name[0] == '.' || name[0] == '-') {
    return Status::Error(what + " must start with a letter or digit");
  }
  if (name.find("..") != std::string::npos) return Status::Error(what + " must not contain '..'");
  return Status::Ok();
}

Status CheckFilePath(const std::string& path) {
  if (path.empty()) return Status::Error("the file name is missing");
  if (path.front() == '/') return Status::Error("the file name must not be an absolute path");
  size_t start = 0;
  size_t components = 0;
  while (true) {
    const size_t slash = path.find('/', start);
    const std::string part = path.substr(start, slash == std::string::npos ? slash : slash - start);
    if (++components > kMaxPathComponents) {
      return Status::Error("the file path has more than 4 components");
    }
    if (part.empty()) return Status::Error("the file path has an empty component");
    if (part.size() > kMaxComponentLength) {
      return Status::Error("a file path component is longer than 200 characters");
    }
    for (char c : part) {
      if (!IsNameChar(c) && c != '+') {
        return Status::Error("the file path may only use letters, digits, '-', '_', '.', '+', '/'");
      }
    }
    if (part[0] == '.' || part[0] == '-') {
      return Status::Error("file path components must start with a letter or digit");
    }
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (path.size() < 6 || path.compare(path.size() - 5, 5, ".gguf") != 0) {
    return Status::Error("the file must be a .gguf file");
  }
  return Status::Ok();
}

bool AllDigits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::string PartName(const SplitName& split, int index) {
  char suffix[32];
  std::snprintf(suffix, sizeof(suffix), "-%05d-of-%05d.gguf", index, split.count);
  return split.prefix + suffix;
}

}  // namespace

std::string Printable(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (out.size() >= 200) {
      out += "...";
      break;
    }
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u >= 0x7f ? '?' : c);
  }
  return out;
}

std::string ModelRef::ToString() const { return "hf:" + owner + "/" + repo + "/" + file; }

std::vector<std::string> ModelRef::PartFiles() const {
  auto split = ParseSplitName(file);
  if (!split) return {file};
  std::vector<std::string> parts;
  for (int i = 1; i <= split->count; ++i) parts.push_back(PartName(*split, i));
  return parts;
}

std::optional<SplitName> ParseSplitName(const std::string& file) {
  // <prefix>-NNNNN-of-MMMMM.gguf: 20 characters after the prefix.
  constexpr size_t kSuffix = 20;
  if (file.size() <= kSuffix) return std::nullopt;
  const std::string tail = file.substr(file.size() - kSuffix);
  if (tail[0] != '-' || tail.compare(6, 4, "-of-") != 0 || tail.compare(15, 5, ".gguf") != 0) {
    return std::nullopt;
  }
  const std::string index = tail.substr(1, 5), count = tail.substr(10, 5);
  if (!AllDigits(index) || !AllDigits(count)) return std::nullopt;
  SplitName split;
  split.prefix = file.substr(0, file.size() - kSuffix);
  split.index = std::stoi(index);
  split.count = std::stoi(count);
  if (split.index < 1 || split.count < 1 || split.index > split.count || split.count > kMaxParts) {
    return std::nullopt;
  }
  return split;
}

Result<ModelRef> ParseModelRef(const std::string& text) {
  const std::string shown = "invalid model reference '" + Printable(text) + "'";
  if (text.rfind("hf:", 0) != 0) {
    auto ref = LookupTag(text);
    if (ref.has_value()) return *ref;
    if (LooksLikeModelRef(text)) {
      return Status::Error("unknown tag '" + Printable(text) + "' (known: " + KnownTagsSummary() +
                           ")");
    }
    return Status::Error(shown + ": expected hf:<owner>/<repo>/<file>.gguf or a tag such as " +
                         "deepseek-r1:7b");
  }
  const std::string rest = text.substr(3);
  const size_t first = rest.find('/');
  const size_t second = first == std::string::npos ? first : rest.find('/', first + 1);
  if (second == std::string::npos) {
    return Status::Error(shown + ": expected hf:<owner>/<repo>/<file>.gguf");
  }
  ModelRef ref;
  ref.owner = rest.substr(0, first);
  ref.repo = rest.substr(first + 1, second - first - 1);
  ref.file = rest.substr(second + 1);
  if (Status st = CheckName("the owner", ref.owner); !st.ok()) return st.WithContext(shown);
  if (Status st = CheckName("the repository", ref.repo); !st.ok()) return st.WithContext(shown);
  if (Status st = CheckFilePath(ref.file); !st.ok()) return st.WithContext(shown);
  if (auto split = ParseSplitName(ref.file); split && split->index != 1) {
    ref.file = PartName(*split, 1);
  }
  return ref;
}

bool LooksLikeModelRef(const std::string& text) {
  if (text.rfind("hf:", 0) == 0) return true;
  const size_t colon = text.find(':');
  const std::string name = text.substr(0, colon);
  return IsCatalogName(name);
}

}  // namespace r1d::store
