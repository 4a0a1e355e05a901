// libFuzzer entry for the Jinja interpreter: the input is a template; it is parsed and rendered
// with a fixed chat-like context under small sandbox limits. Any crash, sanitizer report, hang
// or leak is a bug: every input must end in output or a Status.
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string_view>

#include "tokenizer/jinja/template.h"

namespace {

const nlohmann::ordered_json& Context() {
  static const nlohmann::ordered_json ctx = nlohmann::ordered_json::parse(R"({
    "messages": [
      {"role": "system", "content": "You are helpful."},
      {"role": "user", "content": "Hi <b>&</b> 'q' \"dq\" \\ é 😀"},
      {"role": "assistant", "content": "<think>\nhm\n</think>\n\nHello!",
       "reasoning_content": "hm"},
      {"role": "assistant", "content": null, "tool_calls": [{"id": "call_123456", "type": "function",
        "function": {"name": "get_weather", "arguments": {"city": "Paris", "days": [1, 2.5]}}}]},
      {"role": "tool", "tool_call_id": "call_123456", "content": "{\"temp\": 18}"},
      {"role": "user", "content": [{"type": "text", "text": "part"}, {"type": "image"}]}
    ],
    "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather",
      "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
      "required": ["city"]}}}],
    "add_generation_prompt": true,
    "bos_token": "<s>",
    "eos_token": "</s>",
    "n": null, "i": 7, "f": 2.5, "t": true, "l": [3, 1, 2], "d": {"b": 1, "a": [1, {"x": "y"}]}
  })");
  return ctx;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  std::string_view source(reinterpret_cast<const char*>(data), size);
  r1d::tokenizer::jinja::ParseOptions parse;
  auto tmpl = r1d::tokenizer::jinja::Template::Parse(source, "fuzz", parse);
  if (!tmpl.ok()) return 0;
  r1d::tokenizer::jinja::RenderOptions render;
  render.limits.max_steps = 200000;
  render.limits.max_loop_iterations = 50000;
  render.limits.max_call_depth = 50;
  render.limits.max_string_bytes = 1 << 20;
  render.limits.max_list_items = 100000;
  render.limits.max_total_bytes = 64u << 20;
  render.now = [] {
    std::tm tm{};
    tm.tm_year = 2026 - 1900;
    tm.tm_mon = 10;
    tm.tm_mday = 22;
    return tm;
  };
  auto out = tmpl->Render(Context(), render);
  (void)out;
  return 0;
}
