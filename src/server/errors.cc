#include "server/errors.h"

#include <nlohmann/json.hpp>

namespace r1d::server {

std::string ApiError::ToJson() const {
  nlohmann::ordered_json e;
  e["message"] = message;
  e["type"] = type;
  e["param"] = param ? nlohmann::ordered_json(*param) : nlohmann::ordered_json(nullptr);
  e["code"] = code ? nlohmann::ordered_json(*code) : nlohmann::ordered_json(nullptr);
  nlohmann::ordered_json body;
  body["error"] = std::move(e);
  // Messages may quote client input that is not valid UTF-8; never throw while reporting.
  return body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

ApiError InvalidRequest(std::string message, std::optional<std::string> param) {
  ApiError e;
  e.status = 400;
  e.message = std::move(message);
  e.param = std::move(param);
  return e;
}

ApiError NotFound(std::string message, std::string code) {
  ApiError e;
  e.status = 404;
  e.message = std::move(message);
  e.code = std::move(code);
  return e;
}

ApiError ModelNotFound(const std::string& model) {
  ApiError e = NotFound("The model '" + model + "' does not exist", "model_not_found");
  e.param = "model";
  return e;
}

ApiError Unauthorized() {
  ApiError e;
  e.status = 401;
  e.message = "Incorrect or missing API key; send it as 'Authorization: Bearer KEY'";
  e.code = "invalid_api_key";
  return e;
}

ApiError Unavailable(std::string message) {
  ApiError e;
  e.status = 503;
  e.message = std::move(message);
  e.type = "server_error";
  e.code = "unavailable";
  e.retry_after_s = 1;
  return e;
}

ApiError QueueFull() {
  ApiError e;
  e.status = 429;
  e.message = "Too many requests are waiting; retry later";
  e.type = "rate_limit_error";
  e.code = "queue_full";
  e.retry_after_s = 1;
  return e;
}

ApiError PayloadTooLarge(std::string message) {
  ApiError e;
  e.status = 413;
  e.message = std::move(message);
  e.code = "request_too_large";
  return e;
}

ApiError InternalError(std::string message) {
  ApiError e;
  e.status = 500;
  e.message = ScrubPaths(message);
  e.type = "server_error";
  return e;
}

ApiError FromStatus(const Status& status) {
  const std::string message = ScrubPaths(status.message());
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
      return InvalidRequest(message);
    case StatusCode::kNotFound:
      return NotFound(message, "not_found");
    case StatusCode::kResourceExhausted: {
      ApiError e = QueueFull();
      e.message = message;
      return e;
    }
    case StatusCode::kUnavailable:
      return Unavailable(message);
    default:
      return InternalError(message);
  }
}

std::string ScrubPaths(const std::string& text) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == ' ' || text[i] == '\'' || text[i] == '"' || text[i] == ':') {
      out += text[i++];
      continue;
    }
    size_t end = i;
    while (end < text.size() && text[end] != ' ' && text[end] != '\'' && text[end] != '"') ++end;
    std::string word = text.substr(i, end - i);
    // A word that starts a path or contains a directory separator with a file-like tail.
    const bool path_like = word.size() > 1 && (word[0] == '/' || word.rfind("./", 0) == 0 ||
                                               word.rfind("../", 0) == 0 || word[0] == '~');
    out += path_like ? "<path>" : word;
    i = end;
  }
  return out;
}

}  // namespace r1d::server
