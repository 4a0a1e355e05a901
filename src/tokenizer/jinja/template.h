#pragma once
// Public API of the sandboxed Jinja interpreter: parse once, render many times (Render is
// const and thread-safe). Semantics follow Jinja2 as Hugging Face transformers configures it
// for chat templates: ImmutableSandboxedEnvironment, trim_blocks + lstrip_blocks, loop
// controls, `tojson` = json.dumps(ensure_ascii=False), raise_exception(), strftime_now().
//
// Errors never escape as exceptions or crashes: a template that does not parse, raises, or
// exceeds a sandbox limit yields a Status whose message names the template line.
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/status.h"
#include "tokenizer/jinja/evaluator.h"
#include "tokenizer/jinja/parser.h"
#include "tokenizer/jinja/value.h"

namespace r1d::tokenizer::jinja {

class Template {
 public:
  // `name` is used in error messages ("chat template", a file name, ...).
  static Result<Template> Parse(std::string_view source, std::string name = "template",
                                const ParseOptions& options = {});

  // Renders with `context` (a JSON object) as the template variables. Keys keep their order,
  // which `tojson` and `items` expose: prefer ordered_json.
  Result<std::string> Render(const nlohmann::ordered_json& context,
                             const RenderOptions& options = {}) const;
  // Same, with prepared values (string keys).
  Result<std::string> Render(const Dict& context, const RenderOptions& options = {}) const;

  const std::string& name() const { return name_; }

 private:
  Template(std::shared_ptr<const Body> body, std::string name)
      : body_(std::move(body)), name_(std::move(name)) {}
  std::shared_ptr<const Body> body_;
  std::string name_;
};

}  // namespace r1d::tokenizer::jinja
