#pragma once
// Model references: `hf:<owner>/<repo>/<path/in/repo.gguf>` or a catalog tag such as
// `deepseek-r1:7b`. Every name is validated here, before it touches the file system or a URL,
// so nothing derived from a reference can leave the store directory.
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace r1d::store {

struct ModelRef {
  std::string owner;  // hub user or organisation
  std::string repo;   // repository name
  std::string file;   // path inside the repository, '/'-separated, ends in .gguf
  std::string tag;    // the catalog tag it was written as, "" for hf: references

  // "hf:owner/repo/file".
  std::string ToString() const;
  // The file names to fetch: every part of a multi-part model, else just `file`.
  std::vector<std::string> PartFiles() const;
  bool operator==(const ModelRef& o) const {
    return owner == o.owner && repo == o.repo && file == o.file;
  }
};

// Parses an hf: reference or a catalog tag. A multi-part reference naming any part is
// normalised to part 1, which is the file a loader opens.
Result<ModelRef> ParseModelRef(const std::string& text);

// True when `text` is written like a reference or tag (hf: prefix, or name:tag with a catalog
// name); used to tell "missing file" from "bad reference" in messages.
bool LooksLikeModelRef(const std::string& text);

// `<prefix>-00001-of-00009.gguf` names. index and count are 1-based.
struct SplitName {
  std::string prefix;
  int index = 0;
  int count = 0;
};
std::optional<SplitName> ParseSplitName(const std::string& file);

// Copies `text` for an error message with control and non-ASCII bytes replaced by '?', cut to
// 200 characters, so a hostile argument cannot garble the terminal.
std::string Printable(const std::string& text);

}  // namespace r1d::store
