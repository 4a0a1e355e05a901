// `r1d template`: renders a chat template with a conversation and prints the prompt text
// byte for byte (no newline added), for checking templates against a reference renderer.
#include <cstdio>
#include <ctime>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "cli/command.h"
#include "formats/gguf_reader.h"
#include "tokenizer/chat_template.h"

namespace r1d::cli {
namespace {

struct TemplateOptions {
  std::string template_path;
  std::string model_path;
  std::string messages_path;
  std::string tools_path;
  std::string context_path;
  bool add_generation_prompt = false;
  std::string bos_token;
  std::string eos_token;
  bool bos_given = false;
  bool eos_given = false;
  std::string date;
};

Result<std::string> ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Error("cannot open " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::Error("cannot read " + path);
  return ss.str();
}

Result<nlohmann::ordered_json> ReadJson(const std::string& path) {
  R1D_ASSIGN_OR_RETURN(std::string text, ReadText(path));
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(text, nullptr, false);
  if (j.is_discarded()) return Status::Error(path + ": not valid JSON");
  return j;
}

// "YYYY-MM-DD" -> the clock strftime_now() sees (midnight of that day).
Result<std::tm> ParseDate(const std::string& s) {
  std::tm tm{};
  int y = 0, m = 0, d = 0;
  char extra = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &extra) != 3 || m < 1 || m > 12 ||
      d < 1 || d > 31) {
    return Status::Error("--date wants YYYY-MM-DD, got '" + s + "'");
  }
  tm.tm_year = y - 1900;
  tm.tm_mon = m - 1;
  tm.tm_mday = d;
  tm.tm_isdst = -1;
  std::time_t t = timegm(&tm);  // normalizes and fills the weekday / day of year
  gmtime_r(&t, &tm);
  return tm;
}

Result<std::string> Render(const TemplateOptions& o) {
  if (o.template_path.empty() == o.model_path.empty()) {
    return Status::Error("give exactly one of --template FILE or -m MODEL");
  }
  tokenizer::ChatTemplateInputs in;
  std::string source, name;
  if (!o.model_path.empty()) {
    R1D_ASSIGN_OR_RETURN(auto gguf, formats::GgufFile::Open(o.model_path));
    R1D_ASSIGN_OR_RETURN(tokenizer::ModelChatInfo info, tokenizer::ReadModelChatInfo(*gguf));
    source = std::move(info.template_source);
    name = info.builtin ? "built-in DeepSeek-R1 chat template" : o.model_path + " chat template";
    in.bos_token = info.bos_token;
    in.eos_token = info.eos_token;
  } else {
    R1D_ASSIGN_OR_RETURN(source, ReadText(o.template_path));
    name = o.template_path;
  }
  if (o.bos_given) in.bos_token = o.bos_token;
  if (o.eos_given) in.eos_token = o.eos_token;

  R1D_ASSIGN_OR_RETURN(nlohmann::ordered_json messages, ReadJson(o.messages_path));
  // Accept a bare array or a request-like object {"messages": [...], "tools": [...]}.
  if (messages.is_object()) {
    if (messages.contains("tools") && o.tools_path.empty()) in.tools = messages["tools"];
    if (messages.contains("add_generation_prompt") &&
        messages["add_generation_prompt"].is_boolean()) {
      in.add_generation_prompt = messages["add_generation_prompt"].get<bool>();
    }
    messages = messages.contains("messages") ? messages["messages"] : nlohmann::ordered_json();
  }
  if (!messages.is_array()) {
    return Status::Error(o.messages_path + ": expected a JSON array of messages");
  }
  in.messages = std::move(messages);
  if (!o.tools_path.empty()) {
    R1D_ASSIGN_OR_RETURN(nlohmann::ordered_json tools, ReadJson(o.tools_path));
    if (tools.is_object() && tools.contains("tools")) tools = tools["tools"];
    in.tools = std::move(tools);
  }
  if (!o.context_path.empty()) {
    R1D_ASSIGN_OR_RETURN(in.extra_context, ReadJson(o.context_path));
    if (!in.extra_context.is_object()) {
      return Status::Error(o.context_path + ": expected a JSON object of template variables");
    }
  }
  if (o.add_generation_prompt) in.add_generation_prompt = true;

  tokenizer::jinja::RenderOptions render;
  if (!o.date.empty()) {
    R1D_ASSIGN_OR_RETURN(std::tm fixed, ParseDate(o.date));
    render.now = [fixed]() { return fixed; };
  }
  R1D_ASSIGN_OR_RETURN(tokenizer::ChatTemplate tmpl, tokenizer::ChatTemplate::Parse(source, name));
  return tmpl.Apply(in, render);
}

int Run(const TemplateOptions& o) {
  Result<std::string> text = Render(o);
  if (!text.ok()) return Fail(text.status().message());
  const std::string& s = *text;
  if (std::fwrite(s.data(), 1, s.size(), stdout) != s.size() || std::fflush(stdout) != 0) {
    return Fail("cannot write the rendered template to stdout");
  }
  return 0;
}

CommandRegistrar registrar(
    "template", "Render a chat template with a conversation and print the prompt text",
    [](CLI::App& sub) -> std::function<int()> {
      auto o = std::make_shared<TemplateOptions>();
      sub.add_option("--template", o->template_path, "Jinja chat template file")
          ->check(CLI::ExistingFile);
      sub.add_option("-m,--model", o->model_path,
                     "GGUF model: use its tokenizer.chat_template (or the built-in DeepSeek-R1 "
                     "template) and its BOS/EOS token texts")
          ->check(CLI::ExistingFile);
      sub.add_option("--messages", o->messages_path,
                     "JSON file: an array of messages, or {\"messages\": [...], \"tools\": [...]}")
          ->required()
          ->check(CLI::ExistingFile);
      sub.add_option("--tools", o->tools_path, "JSON file: an array of tool definitions")
          ->check(CLI::ExistingFile);
      sub.add_option("--context", o->context_path,
                     "JSON file: an object of extra template variables (e.g. enable_thinking)")
          ->check(CLI::ExistingFile);
      sub.add_flag("--add-generation-prompt", o->add_generation_prompt,
                   "end the prompt with the assistant turn header");
      sub.add_option("--bos-token", o->bos_token, "text of the BOS token (bos_token)")
          ->each([o](const std::string&) { o->bos_given = true; });
      sub.add_option("--eos-token", o->eos_token, "text of the EOS token (eos_token)")
          ->each([o](const std::string&) { o->eos_given = true; });
      sub.add_option("--date", o->date,
                     "YYYY-MM-DD: the date strftime_now() reports (default: today)");
      return [o]() { return Run(*o); };
    });

}  // namespace
}  // namespace r1d::cli
