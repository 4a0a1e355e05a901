#include "runtime/generate.h"

#include <algorithm>

namespace r1d::runtime {

Result<GenerateResult> Generate(models::Model& model, ThreadPool& pool,
                                const GenerateOptions& options,
                                const std::function<bool(int32_t)>& on_token) {
  R1D_RETURN_IF_ERROR(ValidateSamplingParams(options.sampling));
  const auto& info = model.info();
  if (options.prompt.empty()) return Status::Error("the prompt is empty");
  for (int32_t id : options.prompt) {
    if (id < 0 || id >= info.n_vocab) {
      return Status::Error("prompt token id " + std::to_string(id) +
                           " is outside the vocabulary [0, " + std::to_string(info.n_vocab) + ")");
    }
  }
  const int64_t n_prompt = static_cast<int64_t>(options.prompt.size());
  if (n_prompt > options.n_ctx) {
    return Status::Error("the prompt has " + std::to_string(n_prompt) +
                         " tokens, more than the context length " + std::to_string(options.n_ctx) +
                         " (raise --ctx)");
  }
  R1D_ASSIGN_OR_RETURN(auto state, model.NewSequence(options.n_ctx));

  std::vector<float> logits(static_cast<size_t>(info.n_vocab));
  const int64_t chunk = std::max<int64_t>(1, options.prefill_chunk);
  for (int64_t pos = 0; pos < n_prompt; pos += chunk) {
    const int64_t n = std::min(chunk, n_prompt - pos);
    R1D_RETURN_IF_ERROR(
        model.Forward(pool, *state, options.prompt.data() + pos, n, pos, logits.data()));
  }

  GenerateResult result;
  std::vector<int32_t> history = options.prompt;
  Sampler sampler(options.sampling);
  int64_t pos = n_prompt;
  for (;;) {
    if (options.n_predict >= 0 &&
        static_cast<int64_t>(result.generated.size()) >= options.n_predict) {
      result.finish = FinishReason::kLength;
      break;
    }
    if (options.n_probs > 0) {
      result.top_probs.push_back(TopProbabilities(logits.data(), info.n_vocab, options.n_probs));
    }
    const int32_t token = sampler.Sample(logits.data(), info.n_vocab, history);
    result.generated.push_back(token);
    history.push_back(token);
    if (on_token && !on_token(token)) {
      result.finish = FinishReason::kStopped;
      break;
    }
    if (options.end_tokens.count(token) != 0) {
      result.finish = FinishReason::kEndToken;
      break;
    }
    if (options.n_predict >= 0 &&
        static_cast<int64_t>(result.generated.size()) >= options.n_predict) {
      result.finish = FinishReason::kLength;
      break;
    }
    if (pos >= options.n_ctx) {
      result.finish = FinishReason::kContextFull;
      break;
    }
    R1D_RETURN_IF_ERROR(model.Forward(pool, *state, &token, 1, pos, logits.data()));
    ++pos;
  }
  return result;
}

}  // namespace r1d::runtime
