#pragma once
// Chat templates: renders a conversation (OpenAI-style messages + tools) into the prompt text
// with the model's Jinja template, exactly as Hugging Face transformers' apply_chat_template
// does (same variables, same Jinja semantics). A built-in DeepSeek-R1 template serves models
// whose GGUF carries none.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "tokenizer/jinja/template.h"

namespace r1d::formats {
class GgufFile;
}

namespace r1d::tokenizer {

struct ChatTemplateInputs {
  // Parse requests with nlohmann::ordered_json: key order reaches the prompt through `tojson`
  // (tool schemas in particular). A nlohmann::json converts implicitly, with its keys sorted.
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  // Absent: `tools` is undefined in the template (as transformers passes no tools).
  std::optional<nlohmann::ordered_json> tools;
  bool add_generation_prompt = false;
  std::string bos_token;
  std::string eos_token;
  // More template variables (documents, enable_thinking, ...); must be an object or null.
  nlohmann::ordered_json extra_context;
};

class ChatTemplate {
 public:
  static Result<ChatTemplate> Parse(std::string_view source, std::string name = "chat template",
                                    const jinja::ParseOptions& options = {});
  // The built-in DeepSeek-R1 template (parses by construction).
  static ChatTemplate BuiltinDeepSeekR1();
  static std::string_view BuiltinDeepSeekR1Source();

  Result<std::string> Apply(const ChatTemplateInputs& inputs,
                            const jinja::RenderOptions& options = {}) const;

  const jinja::Template& tmpl() const { return tmpl_; }

 private:
  explicit ChatTemplate(jinja::Template t) : tmpl_(std::move(t)) {}
  jinja::Template tmpl_;
};

// What a GGUF file says about chat formatting.
struct ModelChatInfo {
  std::string template_source;  // tokenizer.chat_template, or the built-in R1 template
  bool builtin = false;         // true when the file had no template
  std::string bos_token;        // tokenizer.ggml.tokens[bos_token_id], "" when absent
  std::string eos_token;        // tokenizer.ggml.tokens[eos_token_id], "" when absent
};
Result<ModelChatInfo> ReadModelChatInfo(const formats::GgufFile& gguf);

}  // namespace r1d::tokenizer
