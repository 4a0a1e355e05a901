#pragma once
// Reading OpenAI request bodies: JSON parsing and the fields chat and text completions share
// (model, sampling, limits, stop strings, streaming). Wrong types and out-of-range values are
// 400 errors that name the field; unknown fields are ignored, as OpenAI does.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "runtime/engine.h"
#include "server/context.h"
#include "server/errors.h"

namespace r1d::server {

using Json = nlohmann::ordered_json;

// Everything a generation needs besides the prompt.
struct GenerationSpec {
  runtime::EngineRequest engine;  // prompt filled in by the route
  std::string model;              // echoed in responses
  std::vector<std::string> stop;
  bool stream = false;
  bool include_usage = false;
  bool logprobs = false;  // report the chosen token's logprob (and top_logprobs alternatives)
  bool split_reasoning = false;
  bool start_in_reasoning = false;
};

// Parses a JSON object body (ordered, so message keys keep their order for the template).
std::optional<ApiError> ParseJsonObject(const std::string& body, Json& out);

// The fields both completion routes share; the route handles prompt/messages and logprobs.
std::optional<ApiError> ParseCommonFields(const Json& body, const ServerContext& ctx,
                                          GenerationSpec& spec);

// Typed accessors: nullopt when the field is absent or null; an error when it has the wrong type
// or is out of [lo, hi].
std::optional<ApiError> GetBool(const Json& body, const char* name, std::optional<bool>& out);
std::optional<ApiError> GetInt(const Json& body, const char* name, int64_t lo, int64_t hi,
                               std::optional<int64_t>& out);
std::optional<ApiError> GetNumber(const Json& body, const char* name, double lo, double hi,
                                  std::optional<double>& out);

// Serializes a response; never throws (invalid UTF-8 becomes U+FFFD).
std::string Dump(const Json& j);

// "chatcmpl-<24 hex>" style ids.
std::string NewId(const char* prefix);

}  // namespace r1d::server
