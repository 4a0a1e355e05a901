// Reading the tokenizer.ggml.* keys of a GGUF into a VocabSpec.
#include <limits>

#include "formats/gguf_reader.h"
#include "tokenizer/tokenizer.h"

namespace r1d::tokenizer {
namespace {

using formats::GgufArray;
using formats::GgufFile;
using formats::GgufType;

bool IsIntegerType(GgufType t) {
  switch (t) {
    case GgufType::kUint8:
    case GgufType::kInt8:
    case GgufType::kUint16:
    case GgufType::kInt16:
    case GgufType::kUint32:
    case GgufType::kInt32:
    case GgufType::kUint64:
    case GgufType::kInt64:
    case GgufType::kBool:
      return true;
    default:
      return false;
  }
}

Status ArrayTypeError(const GgufFile& gguf, std::string_view key, const char* expected,
                      const GgufArray& array) {
  return Status::Error(gguf.name() + ": key '" + std::string(key) + "' must be an array of " +
                       expected + ", not of " + formats::GgufTypeName(array.elem_type));
}

// A missing optional array gives nullptr.
Result<const GgufArray*> OptionalArray(const GgufFile& gguf, std::string_view key) {
  if (!gguf.Has(key)) return static_cast<const GgufArray*>(nullptr);
  return gguf.GetArray(key);
}

// A special-token id key. 0xFFFFFFFF and -1 are the converters' way to say "none".
Status ReadId(const GgufFile& gguf, std::string_view key, bool must_fit,
              std::optional<int32_t>* out) {
  if (!gguf.Has(key)) return Status::Ok();
  R1D_ASSIGN_OR_RETURN(int64_t value, gguf.GetInt(key));
  if (value == -1 || value == 0xFFFFFFFF) {
    *out = kNoToken;
  } else if (value >= 0 && value <= std::numeric_limits<int32_t>::max()) {
    *out = static_cast<int32_t>(value);  // the vocabulary size is checked when building
  } else if (must_fit) {
    return Status::Error(gguf.name() + ": key '" + std::string(key) +
                         "' = " + std::to_string(value) + " is not a valid token id");
  }
  return Status::Ok();
}

}  // namespace

Result<VocabSpec> ReadVocabSpec(const GgufFile& gguf) {
  VocabSpec spec;
  R1D_ASSIGN_OR_RETURN(spec.model, gguf.GetString("tokenizer.ggml.model"));
  R1D_ASSIGN_OR_RETURN(spec.pre, gguf.GetStringOr("tokenizer.ggml.pre", ""));
  // general.name only selects per-model quirks: a mistyped one is ignored.
  if (auto name = gguf.GetStringOr("general.name", ""); name.ok()) spec.model_name = *name;

  constexpr std::string_view kTokens = "tokenizer.ggml.tokens";
  R1D_ASSIGN_OR_RETURN(const GgufArray* tokens, gguf.GetArray(kTokens));
  if (tokens->elem_type != GgufType::kString) {
    return ArrayTypeError(gguf, kTokens, "strings", *tokens);
  }
  spec.tokens = tokens->strings;
  const size_t n = spec.tokens.size();
  auto check_length = [&](std::string_view key, const GgufArray& array) -> Status {
    if (array.size() == n) return Status::Ok();
    return Status::Error(gguf.name() + ": key '" + std::string(key) + "' has " +
                         std::to_string(array.size()) + " entries but " + std::string(kTokens) +
                         " has " + std::to_string(n));
  };

  constexpr std::string_view kScores = "tokenizer.ggml.scores";
  R1D_ASSIGN_OR_RETURN(const GgufArray* scores, OptionalArray(gguf, kScores));
  if (scores != nullptr) {
    if (scores->elem_type != GgufType::kFloat32 && scores->elem_type != GgufType::kFloat64) {
      return ArrayTypeError(gguf, kScores, "floats", *scores);
    }
    R1D_RETURN_IF_ERROR(check_length(kScores, *scores));
    spec.scores.assign(scores->floats.begin(), scores->floats.end());
  }

  constexpr std::string_view kTypes = "tokenizer.ggml.token_type";
  R1D_ASSIGN_OR_RETURN(const GgufArray* types, OptionalArray(gguf, kTypes));
  if (types != nullptr) {
    if (!IsIntegerType(types->elem_type)) return ArrayTypeError(gguf, kTypes, "integers", *types);
    R1D_RETURN_IF_ERROR(check_length(kTypes, *types));
    spec.token_types.reserve(n);
    for (int64_t t : types->ints) {
      // Out-of-range values become "undefined" (0) when building, like unknown small ones.
      spec.token_types.push_back(t >= 0 && t <= 6 ? static_cast<int32_t>(t) : 0);
    }
  }

  constexpr std::string_view kMerges = "tokenizer.ggml.merges";
  R1D_ASSIGN_OR_RETURN(const GgufArray* merges, OptionalArray(gguf, kMerges));
  if (merges != nullptr) {
    if (merges->elem_type != GgufType::kString) {
      return ArrayTypeError(gguf, kMerges, "strings", *merges);
    }
    spec.merges = merges->strings;
  } else if (spec.model == "gpt2") {
    return Status::Error(gguf.name() + ": BPE vocabulary without key '" + std::string(kMerges) +
                         "'");
  }

  R1D_RETURN_IF_ERROR(ReadId(gguf, "tokenizer.ggml.bos_token_id", true, &spec.bos_id));
  if (!spec.bos_id.has_value()) {  // BERT files name their [CLS] token instead
    R1D_RETURN_IF_ERROR(ReadId(gguf, "tokenizer.ggml.cls_token_id", true, &spec.bos_id));
  }
  R1D_RETURN_IF_ERROR(ReadId(gguf, "tokenizer.ggml.eos_token_id", true, &spec.eos_id));
  R1D_RETURN_IF_ERROR(ReadId(gguf, "tokenizer.ggml.eot_token_id", true, &spec.eot_id));
  R1D_RETURN_IF_ERROR(ReadId(gguf, "tokenizer.ggml.eom_token_id", true, &spec.eom_id));
  R1D_RETURN_IF_ERROR(ReadId(gguf, "tokenizer.ggml.unknown_token_id", true, &spec.unk_id));
  // "seperator" is the spelling llama.cpp writes; accept the correct one too.
  R1D_RETURN_IF_ERROR(ReadId(gguf, "tokenizer.ggml.seperator_token_id", false, &spec.sep_id));
  if (!spec.sep_id.has_value()) {
    R1D_RETURN_IF_ERROR(ReadId(gguf, "tokenizer.ggml.separator_token_id", false, &spec.sep_id));
  }
  R1D_RETURN_IF_ERROR(ReadId(gguf, "tokenizer.ggml.padding_token_id", false, &spec.pad_id));
  R1D_RETURN_IF_ERROR(ReadId(gguf, "tokenizer.ggml.mask_token_id", false, &spec.mask_id));

  for (auto [key, target] :
       {std::pair{"tokenizer.ggml.add_bos_token", &spec.add_bos},
        std::pair{"tokenizer.ggml.add_eos_token", &spec.add_eos},
        std::pair{"tokenizer.ggml.add_space_prefix", &spec.add_space_prefix}}) {
    if (!gguf.Has(key)) continue;
    R1D_ASSIGN_OR_RETURN(bool value, gguf.GetBool(key));
    *target = value;
  }
  return spec;
}

Result<std::unique_ptr<Tokenizer>> LoadTokenizer(const GgufFile& gguf) {
  R1D_ASSIGN_OR_RETURN(VocabSpec spec, ReadVocabSpec(gguf));
  auto tokenizer = Tokenizer::Create(std::move(spec));
  if (!tokenizer.ok()) return tokenizer.status().WithContext(gguf.name());
  return tokenizer;
}

}  // namespace r1d::tokenizer
