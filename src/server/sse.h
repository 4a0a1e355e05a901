#pragma once
// Server-sent events as OpenAI streams them: one `data: <json>` event per chunk, then
// `data: [DONE]`.
#include <string>
#include <string_view>

namespace r1d::server {

inline std::string SseEvent(std::string_view json) {
  std::string out = "data: ";
  out += json;
  out += "\n\n";
  return out;
}

inline constexpr std::string_view kSseDone = "data: [DONE]\n\n";
inline constexpr const char* kSseContentType = "text/event-stream";

}  // namespace r1d::server
