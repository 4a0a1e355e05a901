#include "tokenizer/jinja/template.h"

#include <new>

#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/json.h"
#include "tokenizer/jinja/utf8.h"

namespace r1d::tokenizer::jinja {
namespace {

std::string OneLine(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

Status ToStatus(const JinjaError& e, const std::string& name) {
  std::string where = name + (e.line() > 0 ? " line " + std::to_string(e.line()) : "");
  switch (e.kind()) {
    case ErrorKind::kSyntax:
      return Status::Error("syntax error in " + where + ": " + OneLine(e.message()));
    case ErrorKind::kRaised:
      return Status::Error(OneLine(e.message()) + " (raised by " + where + ")");
    case ErrorKind::kLimit:
      return Status::Error("sandbox limit in " + where + ": " + OneLine(e.message()));
    case ErrorKind::kRuntime:
    default:
      return Status::Error("error in " + where + ": " + OneLine(e.message()));
  }
}

}  // namespace

Result<Template> Template::Parse(std::string_view source, std::string name,
                                 const ParseOptions& options) {
  size_t bad = 0;
  if (!IsValidUtf8(source, &bad)) {
    int line = 1;
    for (size_t i = 0; i < bad; ++i) line += source[i] == '\n' ? 1 : 0;
    return Status::Error("syntax error in " + name + " line " + std::to_string(line) +
                         ": the template is not valid UTF-8 (byte offset " + std::to_string(bad) +
                         ")");
  }
  try {
    auto body = std::make_shared<const Body>(ParseTemplate(source, options));
    return Template(std::move(body), std::move(name));
  } catch (const JinjaError& e) {
    return ToStatus(e, name);
  } catch (const std::bad_alloc&) {
    return Status::Error("out of memory while parsing " + name);
  } catch (const std::exception& e) {
    return Status::Error("internal error while parsing " + name + ": " + e.what());
  }
}

Result<std::string> Template::Render(const Dict& context, const RenderOptions& options) const {
  try {
    Evaluator ev(options);
    return ev.Render(*body_, context);
  } catch (const JinjaError& e) {
    return ToStatus(e, name_);
  } catch (const std::bad_alloc&) {
    return Status::Error("out of memory while rendering " + name_);
  } catch (const std::length_error&) {
    return Status::Error("out of memory while rendering " + name_);
  } catch (const std::exception& e) {
    return Status::Error("internal error while rendering " + name_ + ": " + e.what());
  }
}

Result<std::string> Template::Render(const nlohmann::ordered_json& context,
                                     const RenderOptions& options) const {
  if (!context.is_object()) return Status::Error("template context must be a JSON object");
  Dict vars;
  try {
    Value v = FromJson(context);
    vars = v.GetDict();
  } catch (const JinjaError& e) {
    return Status::Error("template context: " + e.message());
  } catch (const std::exception& e) {
    return Status::Error(std::string("template context: ") + e.what());
  }
  return Render(vars, options);
}

}  // namespace r1d::tokenizer::jinja
