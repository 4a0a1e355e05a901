#include "server/request_params.h"

#include <cmath>
#include <random>

namespace r1d::server {

std::optional<ApiError> ParseJsonObject(const std::string& body, Json& out) {
  if (body.empty()) return InvalidRequest("The request body is empty; expected a JSON object");
  // No exceptions: a malformed body is an ordinary client error.
  out = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (out.is_discarded()) {
    return InvalidRequest(
        "The request body is not valid JSON (or not UTF-8); expected a JSON object");
  }
  if (!out.is_object()) return InvalidRequest("The request body must be a JSON object");
  return std::nullopt;
}

std::optional<ApiError> GetBool(const Json& body, const char* name, std::optional<bool>& out) {
  out.reset();
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean())
    return InvalidRequest(std::string("'") + name + "' must be a boolean", name);
  out = it->get<bool>();
  return std::nullopt;
}

std::optional<ApiError> GetInt(const Json& body, const char* name, int64_t lo, int64_t hi,
                               std::optional<int64_t>& out) {
  out.reset();
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::nullopt;
  const std::string range = "[" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  ApiError bad = InvalidRequest(std::string("'") + name + "' must be an integer in " + range, name);
  if (it->is_number_unsigned()) {
    const uint64_t v = it->get<uint64_t>();
    if (v > static_cast<uint64_t>(hi)) return bad;
    out = static_cast<int64_t>(v);
  } else if (it->is_number_integer()) {
    out = it->get<int64_t>();
  } else if (it->is_number_float()) {
    // 5.0 is accepted as 5; 5.5, NaN and 1e300 are not.
    const double d = it->get<double>();
    if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) >= 4.6e18 ||
        d < static_cast<double>(lo) || d > static_cast<double>(hi)) {
      return bad;
    }
    out = static_cast<int64_t>(d);
  } else {
    return bad;
  }
  if (*out < lo || *out > hi) {
    out.reset();
    return bad;
  }
  return std::nullopt;
}

std::optional<ApiError> GetNumber(const Json& body, const char* name, double lo, double hi,
                                  std::optional<double>& out) {
  out.reset();
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::nullopt;
  const double v = it->is_number() ? it->get<double>() : NAN;
  if (!std::isfinite(v) || v < lo || v > hi) {
    char range[96];
    std::snprintf(range, sizeof(range), "[%g, %g]", lo, hi);
    return InvalidRequest(std::string("'") + name + "' must be a number in " + range, name);
  }
  out = v;
  return std::nullopt;
}

namespace {

std::optional<ApiError> ParseStop(const Json& body, std::vector<std::string>& stop) {
  auto it = body.find("stop");
  if (it == body.end() || it->is_null()) return std::nullopt;
  constexpr size_t kMaxStops = 16;
  constexpr size_t kMaxStopBytes = 256;
  ApiError bad = InvalidRequest(
      "'stop' must be a string or a list of at most 16 strings of at most 256 bytes", "stop");
  if (it->is_string()) {
    stop.push_back(it->get<std::string>());
  } else if (it->is_array()) {
    if (it->size() > kMaxStops) return bad;
    for (const auto& s : *it) {
      if (!s.is_string()) return bad;
      stop.push_back(s.get<std::string>());
    }
  } else {
    return bad;
  }
  for (const auto& s : stop) {
    if (s.size() > kMaxStopBytes) return bad;
  }
  return std::nullopt;
}

}  // namespace

std::optional<ApiError> ParseCommonFields(const Json& body, const ServerContext& ctx,
                                          GenerationSpec& spec) {
  spec.model = ctx.model_ids.empty() ? "" : ctx.model_ids.front();
  if (auto it = body.find("model"); it != body.end() && !it->is_null()) {
    if (!it->is_string()) return InvalidRequest("'model' must be a string", "model");
    const std::string name = it->get<std::string>();
    if (!ctx.KnownModel(name)) return ModelNotFound(name);
    spec.model = name;
  }

  std::optional<int64_t> n;
  if (auto e = GetInt(body, "n", 1, 128, n)) return e;
  if (n && *n != 1) return InvalidRequest("Only n = 1 is supported", "n");

  // max_completion_tokens is the newer name; either sets the limit.
  std::optional<int64_t> max_tokens, max_completion_tokens;
  if (auto e = GetInt(body, "max_tokens", 1, INT32_MAX, max_tokens)) return e;
  if (auto e = GetInt(body, "max_completion_tokens", 1, INT32_MAX, max_completion_tokens)) return e;
  if (max_completion_tokens) max_tokens = max_completion_tokens;
  spec.engine.max_tokens = max_tokens ? *max_tokens : -1;

  // OpenAI semantics: no top-k or min-p unless asked for (they are extensions here).
  runtime::SamplingParams& s = spec.engine.sampling;
  s.temperature = 1.0f;
  s.top_p = 1.0f;
  s.top_k = 0;
  s.min_p = 0.0f;
  std::optional<double> d;
  std::optional<int64_t> i;
  if (auto e = GetNumber(body, "temperature", 0, 2, d)) return e;
  if (d) s.temperature = static_cast<float>(*d);
  if (auto e = GetNumber(body, "top_p", 0, 1, d)) return e;
  if (d) s.top_p = *d <= 0 ? 1e-6f : static_cast<float>(*d);
  if (auto e = GetInt(body, "top_k", 0, 1 << 20, i)) return e;
  if (i) s.top_k = static_cast<int32_t>(*i);
  if (auto e = GetNumber(body, "min_p", 0, 1, d)) return e;
  if (d) s.min_p = static_cast<float>(*d);
  if (auto e = GetNumber(body, "frequency_penalty", -2, 2, d)) return e;
  if (d) s.frequency_penalty = static_cast<float>(*d);
  if (auto e = GetNumber(body, "presence_penalty", -2, 2, d)) return e;
  if (d) s.presence_penalty = static_cast<float>(*d);
  if (auto e = GetNumber(body, "repetition_penalty", 0.01, 10, d)) return e;
  if (d) s.repeat_penalty = static_cast<float>(*d);
  if (auto e = GetInt(body, "seed", INT64_MIN, INT64_MAX, i)) return e;
  if (i) {
    s.seed = static_cast<uint64_t>(*i);
  } else {
    // Unseeded requests differ from each other, as with OpenAI.
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    s.seed = rng();
  }
  if (Status st = runtime::ValidateSamplingParams(s); !st.ok()) return FromStatus(st);

  if (auto e = ParseStop(body, spec.stop)) return e;

  std::optional<bool> b;
  if (auto e = GetBool(body, "stream", b)) return e;
  spec.stream = b.value_or(false);
  if (auto it = body.find("stream_options"); it != body.end() && !it->is_null()) {
    if (!it->is_object())
      return InvalidRequest("'stream_options' must be an object", "stream_options");
    if (auto e = GetBool(*it, "include_usage", b)) return e;
    spec.include_usage = b.value_or(false);
  }
  spec.engine.end_tokens.clear();
  for (int32_t id : ctx.tokenizer->end_of_generation()) spec.engine.end_tokens.insert(id);
  if (auto e = GetBool(body, "ignore_eos", b)) return e;
  if (b.value_or(false)) spec.engine.end_tokens.clear();
  return std::nullopt;
}

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

std::string NewId(const char* prefix) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char kHex[] = "0123456789abcdef";
  std::string id = prefix;
  for (int k = 0; k < 24; ++k) id += kHex[rng() & 15];
  return id;
}

}  // namespace r1d::server
