#include "store/catalog.h"

#include <algorithm>

namespace r1d::store {
namespace {

constexpr const char* kName = "deepseek-r1";
constexpr const char* kDefaultSize = "7b";

// One row per size. File names follow the repositories' published layout; files above the
// hub's 50 GB limit are split ("-00001-of-0000N") and live in a folder named after the quant.
// The parts count is part of the name, so the catalog is enough to fetch every part.
struct SizeRow {
  const char* size;
  const char* owner;
  const char* repo;
  const char* stem;         // file name stem, before "-<QUANT>"
  const char* q4_k_m_file;  // nullptr: <stem>-Q4_K_M.gguf
  const char* q8_0_file;    // nullptr: <stem>-Q8_0.gguf
};

constexpr SizeRow kSizes[] = {
    {"1.5b", "unsloth", "DeepSeek-R1-Distill-Qwen-1.5B-GGUF", "DeepSeek-R1-Distill-Qwen-1.5B",
     nullptr, nullptr},
    {"7b", "unsloth", "DeepSeek-R1-Distill-Qwen-7B-GGUF", "DeepSeek-R1-Distill-Qwen-7B", nullptr,
     nullptr},
    {"8b", "unsloth", "DeepSeek-R1-Distill-Llama-8B-GGUF", "DeepSeek-R1-Distill-Llama-8B", nullptr,
     nullptr},
    {"14b", "unsloth", "DeepSeek-R1-Distill-Qwen-14B-GGUF", "DeepSeek-R1-Distill-Qwen-14B", nullptr,
     nullptr},
    {"32b", "unsloth", "DeepSeek-R1-Distill-Qwen-32B-GGUF", "DeepSeek-R1-Distill-Qwen-32B", nullptr,
     nullptr},
    {"70b", "unsloth", "DeepSeek-R1-Distill-Llama-70B-GGUF", "DeepSeek-R1-Distill-Llama-70B",
     nullptr,
     "DeepSeek-R1-Distill-Llama-70B-Q8_0/DeepSeek-R1-Distill-Llama-70B-Q8_0-00001-of-00002.gguf"},
    {"671b", "unsloth", "DeepSeek-R1-GGUF", "DeepSeek-R1",
     "DeepSeek-R1-Q4_K_M/DeepSeek-R1-Q4_K_M-00001-of-00009.gguf",
     "DeepSeek-R1-Q8_0/DeepSeek-R1.Q8_0-00001-of-00015.gguf"},
};

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

ModelRef MakeRef(const SizeRow& row, const char* file, const char* quant, std::string tag) {
  ModelRef ref;
  ref.owner = row.owner;
  ref.repo = row.repo;
  ref.file = file != nullptr ? std::string(file) : std::string(row.stem) + "-" + quant + ".gguf";
  ref.tag = std::move(tag);
  return ref;
}

std::vector<CatalogTag> BuildCatalog() {
  std::vector<CatalogTag> tags;
  const std::string base = std::string(kName) + ":";
  for (const SizeRow& row : kSizes) {
    // Q4_K_M is the default: the usual quality/size balance for local use.
    const std::string size_tag = base + row.size;
    tags.push_back({size_tag, MakeRef(row, row.q4_k_m_file, "Q4_K_M", size_tag)});
    tags.push_back(
        {size_tag + "-q4_k_m", MakeRef(row, row.q4_k_m_file, "Q4_K_M", size_tag + "-q4_k_m")});
    tags.push_back({size_tag + "-q8_0", MakeRef(row, row.q8_0_file, "Q8_0", size_tag + "-q8_0")});
  }
  return tags;
}

}  // namespace

const std::vector<CatalogTag>& CatalogTags() {
  static const std::vector<CatalogTag> tags = BuildCatalog();
  return tags;
}

std::optional<ModelRef> LookupTag(const std::string& tag) {
  std::string key = Lower(tag);
  if (key == kName || key == std::string(kName) + ":latest") {
    key = std::string(kName) + ":" + kDefaultSize;
  }
  for (const CatalogTag& entry : CatalogTags()) {
    if (entry.tag == key) {
      ModelRef ref = entry.ref;
      ref.tag = tag;
      return ref;
    }
  }
  return std::nullopt;
}

std::vector<std::string> TagsForRef(const ModelRef& ref) {
  std::vector<std::string> out;
  for (const CatalogTag& entry : CatalogTags()) {
    if (entry.ref == ref) out.push_back(entry.tag);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const std::string& a, const std::string& b) { return a.size() < b.size(); });
  return out;
}

bool IsCatalogName(const std::string& name) { return Lower(name) == kName; }

std::string KnownTagsSummary() {
  std::string out = kName;
  for (const SizeRow& row : kSizes) out += std::string(out == kName ? ":" : ", :") + row.size;
  return out + ", each also as -q4_k_m or -q8_0";
}

}  // namespace r1d::store
