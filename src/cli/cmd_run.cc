// r1d run: interactive chat in the terminal with the model's chat template, streaming, reasoning
// shown dimmed and apart from the answer. `/bye` (or end of input) quits; Ctrl-C stops an answer.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "cli/command.h"
#include "cli/sampling_flags.h"
#include "formats/gguf_reader.h"
#include "models/model.h"
#include "runtime/sampler.h"
#include "runtime/session.h"
#include "store/model_store.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/reasoning_splitter.h"
#include "tokenizer/tokenizer.h"

namespace r1d::cli {
namespace {

struct RunFlags {
  std::string model;
  std::string template_file;
  std::string system;
  int64_t ctx = 4096;
  int64_t n_predict = -1;
  int threads = 0;
  bool no_think_split = false;
  runtime::SamplingParams sampling;
};

std::atomic<bool> g_interrupted{false};
void OnInterrupt(int) { g_interrupted.store(true); }

// Ctrl-C stops the answer being generated (and only that); at the prompt it quits as usual.
class InterruptScope {
 public:
  InterruptScope() {
    g_interrupted.store(false);
    struct sigaction sa {};
    sa.sa_handler = OnInterrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_);
  }
  ~InterruptScope() { sigaction(SIGINT, &old_, nullptr); }

 private:
  struct sigaction old_ {};
};

class Printer {
 public:
  explicit Printer(bool tty) : tty_(tty) {}
  void Reasoning(const std::string& s) {
    if (s.empty()) return;
    if (tty_ && !dim_) std::fputs("\033[2m", stdout);
    dim_ = true;
    Write(s);
  }
  void Content(const std::string& s) {
    if (s.empty()) return;
    if (dim_) {
      if (tty_) std::fputs("\033[0m", stdout);
      std::fputs("\n", stdout);
      dim_ = false;
    }
    Write(s);
  }
  void End() {
    if (dim_ && tty_) std::fputs("\033[0m", stdout);
    dim_ = false;
    std::fputs("\n", stdout);
    std::fflush(stdout);
  }

 private:
  void Write(const std::string& s) {
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fflush(stdout);
  }
  bool tty_;
  bool dim_ = false;
};

int RunChat(const RunFlags& flags) {
  if (Status st = runtime::ValidateSamplingParams(flags.sampling); !st.ok())
    return Fail(st.message());
  auto model_path = store::ResolveModelPath(flags.model);
  if (!model_path.ok()) return Fail(model_path.status().message());
  auto file = formats::GgufFile::Open(*model_path);
  if (!file.ok()) return Fail(file.status().message());
  auto tok = tokenizer::LoadTokenizer(**file);
  if (!tok.ok()) return Fail(tok.status().message());
  auto chat_info = tokenizer::ReadModelChatInfo(**file);
  if (!chat_info.ok()) return Fail(chat_info.status().message());
  std::string source = chat_info->template_source;
  if (!flags.template_file.empty()) {
    std::ifstream in(flags.template_file, std::ios::binary);
    if (!in) return Fail(flags.template_file + ": cannot read the chat template");
    std::stringstream ss;
    ss << in.rdbuf();
    source = ss.str();
  }
  auto tmpl = tokenizer::ChatTemplate::Parse(source);
  if (!tmpl.ok()) return Fail(tmpl.status().message());
  auto model = models::LoadModel(std::move(file).value());
  if (!model.ok()) return Fail(model.status().message());
  const tokenizer::Tokenizer& vocab = **tok;

  ThreadPool pool(flags.threads);
  auto session = runtime::Session::Create(**model, pool, flags.ctx);
  if (!session.ok()) return Fail(session.status().message());
  runtime::Sampler sampler(flags.sampling);
  const bool tty = ::isatty(STDOUT_FILENO) != 0;
  const bool interactive = ::isatty(STDIN_FILENO) != 0;

  tokenizer::ChatTemplateInputs inputs;
  inputs.add_generation_prompt = true;
  inputs.bos_token = chat_info->bos_token;
  inputs.eos_token = chat_info->eos_token;
  if (!flags.system.empty()) {
    inputs.messages.push_back({{"role", "system"}, {"content", flags.system}});
  }
  if (interactive) {
    std::fprintf(stderr, "r1d: chatting with %s (%s). /bye quits, Ctrl-C stops an answer.\n",
                 flags.model.c_str(), (*model)->info().architecture.c_str());
  }
  std::string line;
  for (;;) {
    if (interactive) {
      std::fputs(">>> ", stdout);
      std::fflush(stdout);
    }
    if (!std::getline(std::cin, line)) break;
    if (line == "/bye") break;
    if (line.empty()) continue;
    inputs.messages.push_back({{"role", "user"}, {"content", line}});
    auto prompt = tmpl->Apply(inputs);
    if (!prompt.ok()) {
      std::fprintf(stderr, "r1d: error: %s\n", prompt.status().message().c_str());
      inputs.messages.erase(inputs.messages.end() - 1);
      continue;
    }
    const std::vector<int32_t> ids =
        vocab.Encode(*prompt, /*add_special=*/false, /*parse_special=*/true);
    InterruptScope interrupt_scope;
    if (Status st = (*session)->SetTokens(ids); !st.ok()) {
      std::fprintf(stderr, "r1d: error: %s\n", st.message().c_str());
      inputs.messages.erase(inputs.messages.end() - 1);
      continue;
    }
    tokenizer::ReasoningSplitterOptions split;
    split.enabled = !flags.no_think_split;
    split.start_in_reasoning = tokenizer::PromptOpensThinking(*prompt);
    tokenizer::ReasoningSplitter splitter(split);
    tokenizer::StreamDetokenizer detok(vocab);
    Printer printer(tty);
    std::string answer;
    auto emit = [&](const tokenizer::ReasoningDelta& d) {
      printer.Reasoning(d.reasoning);
      printer.Content(d.content);
      answer += d.content;
    };
    for (int64_t n = 0; flags.n_predict < 0 || n < flags.n_predict; ++n) {
      if (g_interrupted.load()) break;
      const int32_t id =
          sampler.Sample((*session)->logits(), (*model)->info().n_vocab, (*session)->tokens());
      if (vocab.IsEndOfGeneration(id)) break;
      emit(splitter.Feed(detok.Feed(id)));
      if (Status st = (*session)->Append(id); !st.ok()) {
        std::fprintf(stderr, "\nr1d: %s\n", st.message().c_str());
        break;
      }
    }
    emit(splitter.Feed(detok.Flush()));
    emit(splitter.Finish());
    printer.End();
    inputs.messages.push_back({{"role", "assistant"}, {"content", answer}});
  }
  return 0;
}

const CommandRegistrar kRegistrar("run", "Chat with a model in the terminal", [](CLI::App& sub) {
  auto flags = std::make_shared<RunFlags>();
  sub.add_option(
         "-m,--model", flags->model,
         "Model: a GGUF path, hf:<owner>/<repo>/<file.gguf> or a tag such as deepseek-r1:7b")
      ->required();
  sub.add_option("--chat-template-file", flags->template_file,
                 "Jinja chat template (default: the model's own, else DeepSeek-R1's)");
  sub.add_option("--system", flags->system, "System message");
  sub.add_option("--ctx", flags->ctx, "Context length")->capture_default_str();
  sub.add_option("-n,--n-predict", flags->n_predict, "Most tokens per answer (-1: no limit)")
      ->capture_default_str();
  sub.add_option("-t,--threads", flags->threads, "Threads (default: all cores)");
  sub.add_flag("--no-think-split", flags->no_think_split,
               "Print <think> blocks as plain text instead of dimmed reasoning");
  auto& s = flags->sampling;
  s.temperature = 0.6f;  // DeepSeek's recommendation for R1
  s.top_p = 0.95f;
  AddSamplingFlags(sub, s);
  return [flags] { return RunChat(*flags); };
});

}  // namespace
}  // namespace r1d::cli
