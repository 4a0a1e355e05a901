#pragma once
// Built-in tags for the DeepSeek-R1 family, mapped to public GGUF repositories. A tag is a
// short name for an hf: reference; the store itself only knows hf: references.
#include <optional>
#include <string>
#include <vector>

#include "store/model_ref.h"

namespace r1d::store {

struct CatalogTag {
  std::string tag;  // e.g. "deepseek-r1:7b-q8_0"
  ModelRef ref;     // what it stands for (ref.tag == tag)
};

// Every tag, in a stable order: per size the default tag first, then the explicit variants.
const std::vector<CatalogTag>& CatalogTags();

// Looks a tag up (case-insensitive). "deepseek-r1" and "deepseek-r1:latest" mean the default
// size.
std::optional<ModelRef> LookupTag(const std::string& tag);

// Tags that stand for `ref`, shortest first ({} when none).
std::vector<std::string> TagsForRef(const ModelRef& ref);

// True for the model names the catalog knows ("deepseek-r1").
bool IsCatalogName(const std::string& name);

// "deepseek-r1:1.5b, :7b, ..." for error messages.
std::string KnownTagsSummary();

}  // namespace r1d::store
