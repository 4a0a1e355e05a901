#pragma once
// JSON <-> Value. FromJson keeps object key order (use nlohmann::ordered_json to keep the order
// of the request; nlohmann::json has already sorted its keys). ToJson reproduces Python's
// json.dumps byte for byte, which is what Hugging Face's `tojson` filter calls.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "tokenizer/jinja/value.h"

namespace r1d::tokenizer::jinja {

// Throws JinjaError(kLimit) when nesting exceeds the interpreter's value depth.
Value FromJson(const nlohmann::ordered_json& j);
Value FromJson(const nlohmann::json& j);

struct JsonDumpOptions {
  std::optional<std::string> indent;  // set: pretty-print with this indent string per level
  std::string item_separator = ", ";  // Python's defaults: ", " / ": ", or "," with indent
  std::string key_separator = ": ";
  bool sort_keys = false;
  bool ensure_ascii = false;  // HF's tojson passes ensure_ascii=False
};

// Throws a TypeError JinjaError for values JSON cannot hold (Undefined, generators, ...).
std::string ToJson(const Value& v, const JsonDumpOptions& options);

}  // namespace r1d::tokenizer::jinja
