#include "tokenizer/chat_template.h"

#include "formats/gguf_reader.h"

namespace r1d::tokenizer {
namespace {

// The prompt format of the DeepSeek-R1 release, written for r1d. The last system message leads
// the prompt right after BOS; assistant turns keep only the text after their reasoning
// (`</think>`); tool calls and tool outputs use DeepSeek's special tokens; the generation
// prompt opens a <think> block so the model starts by reasoning. Its output matches the
// official template byte for byte, quirks included (only the first tool-call turn of a
// conversation gets the calls-begin header), because that is the text the models were
// trained and evaluated on.
constexpr std::string_view kDeepSeekR1Template = R"JINJA(
{%- set state = namespace(system='', calls_started=false, in_outputs=false, outputs_started=false) -%}
{%- for m in messages -%}
  {%- if m['role'] == 'system' -%}
    {%- set state.system = m['content'] -%}
  {%- endif -%}
{%- endfor -%}
{{- bos_token -}}
{{- state.system -}}
{%- for m in messages -%}
  {%- if m['role'] == 'user' -%}
    {%- set state.in_outputs = false -%}
    {{- '<｜User｜>' + m['content'] -}}
  {%- elif m['role'] == 'assistant' and m['content'] is none -%}
    {%- set state.in_outputs = false -%}
    {%- for call in m['tool_calls'] -%}
      {%- set call_text = '<｜tool▁call▁begin｜>' + call['type'] + '<｜tool▁sep｜>'
          + call['function']['name'] + '\n```json\n' + call['function']['arguments']
          + '\n```<｜tool▁call▁end｜>' -%}
      {%- if state.calls_started -%}
        {{- '\n' + call_text + '<｜tool▁calls▁end｜><｜end▁of▁sentence｜>' -}}
      {%- else -%}
        {{- '<｜Assistant｜><｜tool▁calls▁begin｜>' + call_text -}}
        {%- set state.calls_started = true -%}
      {%- endif -%}
    {%- endfor -%}
  {%- elif m['role'] == 'assistant' -%}
    {%- if state.in_outputs -%}
      {{- '<｜tool▁outputs▁end｜>' + m['content'] + '<｜end▁of▁sentence｜>' -}}
      {%- set state.in_outputs = false -%}
    {%- else -%}
      {%- set answer = m['content'] -%}
      {%- if '</think>' in answer -%}
        {%- set answer = answer.split('</think>')[-1] -%}
      {%- endif -%}
      {{- '<｜Assistant｜>' + answer + '<｜end▁of▁sentence｜>' -}}
    {%- endif -%}
  {%- elif m['role'] == 'tool' -%}
    {%- set state.in_outputs = true -%}
    {%- if state.outputs_started -%}
      {{- '\n<｜tool▁output▁begin｜>' + m['content'] + '<｜tool▁output▁end｜>' -}}
    {%- else -%}
      {{- '<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>' + m['content'] + '<｜tool▁output▁end｜>' -}}
      {%- set state.outputs_started = true -%}
    {%- endif -%}
  {%- endif -%}
{%- endfor -%}
{%- if state.in_outputs -%}
  {{- '<｜tool▁outputs▁end｜>' -}}
{%- endif -%}
{%- if add_generation_prompt and not state.in_outputs -%}
  {{- '<｜Assistant｜><think>\n' -}}
{%- endif -%}
)JINJA";

Result<std::string> TokenText(const formats::GgufFile& gguf, const formats::GgufArray* tokens,
                              std::string_view id_key) {
  if (!gguf.Has(id_key)) return std::string();
  R1D_ASSIGN_OR_RETURN(uint64_t id, gguf.GetUint(id_key));
  if (tokens == nullptr || id >= tokens->strings.size()) {
    return Status::Error(gguf.name() + ": " + std::string(id_key) + " = " + std::to_string(id) +
                         " is not a token id of tokenizer.ggml.tokens");
  }
  return tokens->strings[id];
}

}  // namespace

Result<ChatTemplate> ChatTemplate::Parse(std::string_view source, std::string name,
                                         const jinja::ParseOptions& options) {
  R1D_ASSIGN_OR_RETURN(jinja::Template t, jinja::Template::Parse(source, std::move(name), options));
  return ChatTemplate(std::move(t));
}

std::string_view ChatTemplate::BuiltinDeepSeekR1Source() {
  // The raw string starts with a newline for readability; Jinja's `{%-` strips it anyway.
  return kDeepSeekR1Template;
}

ChatTemplate ChatTemplate::BuiltinDeepSeekR1() {
  Result<ChatTemplate> t = Parse(kDeepSeekR1Template, "built-in DeepSeek-R1 chat template");
  R1D_CHECK_MSG(t.ok(), "the built-in DeepSeek-R1 template must parse");
  return std::move(t).value();
}

Result<std::string> ChatTemplate::Apply(const ChatTemplateInputs& inputs,
                                        const jinja::RenderOptions& options) const {
  if (!inputs.messages.is_array()) return Status::Error("chat messages must be a JSON array");
  if (!inputs.extra_context.is_null() && !inputs.extra_context.is_object()) {
    return Status::Error("extra chat template variables must be a JSON object");
  }
  // The same variables transformers passes: extra ones first so the standard ones win.
  nlohmann::ordered_json context = nlohmann::ordered_json::object();
  if (inputs.extra_context.is_object()) {
    for (auto it = inputs.extra_context.begin(); it != inputs.extra_context.end(); ++it) {
      context[it.key()] = it.value();
    }
  }
  context["messages"] = inputs.messages;
  if (inputs.tools.has_value()) context["tools"] = *inputs.tools;
  context["add_generation_prompt"] = inputs.add_generation_prompt;
  context["bos_token"] = inputs.bos_token;
  context["eos_token"] = inputs.eos_token;
  return tmpl_.Render(context, options);
}

Result<ModelChatInfo> ReadModelChatInfo(const formats::GgufFile& gguf) {
  ModelChatInfo info;
  if (gguf.Has("tokenizer.chat_template")) {
    R1D_ASSIGN_OR_RETURN(info.template_source, gguf.GetString("tokenizer.chat_template"));
  } else {
    info.template_source = std::string(ChatTemplate::BuiltinDeepSeekR1Source());
    info.builtin = true;
  }
  const formats::GgufArray* tokens = nullptr;
  if (gguf.Has("tokenizer.ggml.tokens")) {
    R1D_ASSIGN_OR_RETURN(tokens, gguf.GetArray("tokenizer.ggml.tokens"));
    if (tokens->elem_type != formats::GgufType::kString) {
      return Status::Error(gguf.name() + ": tokenizer.ggml.tokens is not an array of strings");
    }
  }
  R1D_ASSIGN_OR_RETURN(info.bos_token, TokenText(gguf, tokens, "tokenizer.ggml.bos_token_id"));
  R1D_ASSIGN_OR_RETURN(info.eos_token, TokenText(gguf, tokens, "tokenizer.ggml.eos_token_id"));
  return info;
}

}  // namespace r1d::tokenizer
