// r1d generate: run one prompt through a model and print the continuation.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "cli/command.h"
#include "cli/sampling_flags.h"
#include "core/thread_pool.h"
#include "formats/gguf_reader.h"
#include "models/model.h"
#include "runtime/generate.h"
#include "store/model_store.h"
#include "tokenizer/tokenizer.h"

namespace r1d::cli {
namespace {

struct GenerateFlags {
  std::string model;
  std::string prompt_ids;
  std::string prompt;
  int64_t n_predict = 16;
  int64_t ctx = 0;
  int threads = 0;
  int n_probs = 0;
  bool json = false;
  bool ignore_eos = false;
  bool fast_dots = false;
  runtime::SamplingParams sampling;
};

Result<std::vector<int32_t>> ParseIds(const std::string& text) {
  std::vector<int32_t> ids;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    while (used < item.size() && item[used] == ' ') ++used;
    if (used == 0 || used != item.size() || v < 0 || v > INT32_MAX) {
      return Status::Error("--prompt-ids: '" + item + "' is not a token id");
    }
    ids.push_back(static_cast<int32_t>(v));
  }
  if (ids.empty()) return Status::Error("--prompt-ids: no token ids given");
  return ids;
}

int RunGenerate(const GenerateFlags& flags) {
  if (!flags.prompt.empty() && !flags.prompt_ids.empty()) {
    return Fail("give either --prompt or --prompt-ids, not both");
  }
  if (Status st = runtime::ValidateSamplingParams(flags.sampling); !st.ok()) {
    return Fail(st.message());
  }
  std::vector<int32_t> prompt_ids;
  if (!flags.prompt_ids.empty()) {
    auto ids = ParseIds(flags.prompt_ids);
    if (!ids.ok()) return Fail(ids.status().message());
    prompt_ids = std::move(ids).value();
  }
  auto model_path = store::ResolveModelPath(flags.model);
  if (!model_path.ok()) return Fail(model_path.status().message());
  auto file = formats::GgufFile::Open(*model_path);
  if (!file.ok()) return Fail(file.status().message());
  // The tokenizer is needed for text in or out; a token-id run with --json works without one.
  auto tok = tokenizer::LoadTokenizer(**file);
  const bool need_tokenizer = !flags.prompt.empty() || !flags.json;
  if (!tok.ok() && need_tokenizer) return Fail(tok.status().message());
  auto bos_key = (*file)->GetUintOr("tokenizer.ggml.bos_token_id", UINT64_MAX);
  auto eos_key = (*file)->GetUintOr("tokenizer.ggml.eos_token_id", UINT64_MAX);
  if (!bos_key.ok()) return Fail(bos_key.status().message());
  if (!eos_key.ok()) return Fail(eos_key.status().message());
  models::LoadOptions load;
  load.row_order = flags.fast_dots;
  auto model = models::LoadModel(std::move(file).value(), load);
  if (!model.ok()) return Fail(model.status().message());
  const models::ModelInfo& info = (*model)->info();
  const tokenizer::Tokenizer* vocab = tok.ok() ? tok->get() : nullptr;
  if (vocab != nullptr && vocab->n_vocab() > info.n_vocab) {
    return Fail("the tokenizer has " + std::to_string(vocab->n_vocab()) +
                " tokens but the model's embedding only " + std::to_string(info.n_vocab));
  }

  runtime::GenerateOptions options;
  if (!prompt_ids.empty()) {
    options.prompt = prompt_ids;
  } else if (!flags.prompt.empty()) {
    options.prompt = vocab->Encode(flags.prompt, /*add_special=*/true, /*parse_special=*/true);
    if (options.prompt.empty()) return Fail("the prompt tokenizes to nothing");
  } else {
    const int64_t bos = vocab != nullptr ? vocab->bos() : static_cast<int64_t>(*bos_key);
    if (bos < 0 || bos >= info.n_vocab) {
      return Fail("the model declares no valid BOS token; give --prompt or --prompt-ids");
    }
    options.prompt = {static_cast<int32_t>(bos)};
  }
  options.n_ctx = flags.ctx > 0 ? flags.ctx : info.n_ctx_train;
  if (flags.ctx > info.n_ctx_train) {
    std::fprintf(stderr,
                 "r1d: warning: --ctx %lld is larger than the %lld positions the model declares\n",
                 static_cast<long long>(flags.ctx), static_cast<long long>(info.n_ctx_train));
  }
  options.n_predict = flags.n_predict;
  options.sampling = flags.sampling;
  options.n_probs = flags.n_probs;
  if (!flags.ignore_eos) {
    if (vocab != nullptr) {
      for (int32_t id : vocab->end_of_generation()) options.end_tokens.insert(id);
    } else if (*eos_key < static_cast<uint64_t>(info.n_vocab)) {
      options.end_tokens.insert(static_cast<int32_t>(*eos_key));
    }
  }

  // Text output streams as tokens arrive; a prompt of BOS alone starts a fresh text, so the
  // SentencePiece space prefix of the first word is dropped (as llama2.c prints it).
  tokenizer::DecodeOptions decode;
  decode.strip_leading_space = flags.prompt.empty() && flags.prompt_ids.empty();
  std::unique_ptr<tokenizer::StreamDetokenizer> detok;
  if (!flags.json) detok = std::make_unique<tokenizer::StreamDetokenizer>(*vocab, decode);
  ThreadPool pool(flags.threads);
  auto on_token = [&](int32_t id) {
    if (detok != nullptr && !vocab->IsEndOfGeneration(id)) {
      const std::string text = detok->Feed(id);
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fflush(stdout);
    }
    return true;
  };
  auto result = runtime::Generate(**model, pool, options, on_token);
  if (!result.ok()) return Fail(result.status().message());
  if (flags.json) {
    nlohmann::json out;
    out["prompt_tokens"] = options.prompt;
    out["generated_tokens"] = result->generated;
    nlohmann::json probs = nlohmann::json::array();
    for (const auto& step : result->top_probs) {
      nlohmann::json s = nlohmann::json::array();
      for (const auto& [id, p] : step) s.push_back({id, p});
      probs.push_back(std::move(s));
    }
    out["top_probs"] = std::move(probs);
    std::printf("%s\n", out.dump().c_str());
  } else {
    const std::string rest = detok->Flush();
    std::printf("%s\n", rest.c_str());
  }
  return 0;
}

const CommandRegistrar kRegistrar(
    "generate", "Generate a continuation of a prompt", [](CLI::App& sub) {
      auto flags = std::make_shared<GenerateFlags>();
      sub.add_option(
             "-m,--model", flags->model,
             "Model: a GGUF path, hf:<owner>/<repo>/<file.gguf> or a tag such as deepseek-r1:7b")
          ->required();
      sub.add_option("-p,--prompt", flags->prompt,
                     "Prompt text (special tokens such as <｜User｜> are recognized)");
      sub.add_option("--prompt-ids", flags->prompt_ids,
                     "Prompt as comma-separated token ids (default: just BOS)");
      sub.add_option("-n,--n-predict", flags->n_predict,
                     "Tokens to generate (-1: until end of text or context)")
          ->capture_default_str();
      sub.add_option("--ctx", flags->ctx, "Context length (default: the model's own)");
      sub.add_option("-t,--threads", flags->threads, "Threads (default: all cores)");
      sub.add_option("--n-probs", flags->n_probs,
                     "Record the N most probable tokens of each step (with --json)")
          ->check(CLI::Range(0, 100));
      sub.add_flag("--json", flags->json, "Print one JSON object with tokens and probabilities");
      sub.add_flag("--ignore-eos", flags->ignore_eos, "Keep generating after the end token");
      AddFastDotsFlag(sub, flags->fast_dots);
      auto& s = flags->sampling;
      AddSamplingFlags(sub, s);
      return [flags] { return RunGenerate(*flags); };
    });

}  // namespace
}  // namespace r1d::cli
