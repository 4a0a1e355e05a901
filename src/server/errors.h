#pragma once
// API errors in the OpenAI shape: {"error":{"message","type","param","code"}} with the HTTP
// status that goes with them. Messages are written for the client: they name the field and the
// reason, never a file path or other server internals.
#include <optional>
#include <string>

#include "core/status.h"

namespace r1d::server {

struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::optional<std::string> param;  // the request field at fault, when there is one
  std::optional<std::string> code;   // machine-readable reason ("model_not_found", ...)
  int retry_after_s = 0;             // > 0: sent as Retry-After (429, 503)

  std::string ToJson() const;
};

ApiError InvalidRequest(std::string message, std::optional<std::string> param = std::nullopt);
ApiError NotFound(std::string message, std::string code);
ApiError ModelNotFound(const std::string& model);
ApiError Unauthorized();
ApiError Unavailable(std::string message);
ApiError QueueFull();
ApiError PayloadTooLarge(std::string message);
ApiError InternalError(std::string message);

// Maps a Status from the engine or the tokenizer to the status a client should see:
// kInvalidArgument -> 400, kNotFound -> 404, kResourceExhausted -> 429, kUnavailable -> 503,
// anything else -> 500. The message is scrubbed of path-like words.
ApiError FromStatus(const Status& status);

// Replaces every word that looks like a file path ("/work/x.gguf", "../a/b") by "<path>", so an
// error text from a lower layer can be shown to a client.
std::string ScrubPaths(const std::string& text);

}  // namespace r1d::server
