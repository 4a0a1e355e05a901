#include "runtime/session.h"

#include <algorithm>

namespace r1d::runtime {

Result<std::unique_ptr<Session>> Session::Create(models::Model& model, ThreadPool& pool,
                                                 int64_t n_ctx, int64_t prefill_chunk) {
  std::unique_ptr<Session> s(new Session(model, pool, std::max<int64_t>(1, prefill_chunk)));
  R1D_ASSIGN_OR_RETURN(s->state_, model.NewSequence(n_ctx));
  s->logits_.resize(static_cast<size_t>(model.info().n_vocab));
  return s;
}

Status Session::Evaluate(const int32_t* tokens, int64_t n, int64_t pos) {
  for (int64_t done = 0; done < n; done += chunk_) {
    const int64_t m = std::min(chunk_, n - done);
    R1D_RETURN_IF_ERROR(
        model_.Forward(pool_, *state_, tokens + done, m, pos + done, logits_.data()));
  }
  return Status::Ok();
}

Status Session::SetTokens(const std::vector<int32_t>& tokens) {
  if (tokens.empty()) return Status::Error("the prompt is empty");
  if (static_cast<int64_t>(tokens.size()) > state_->capacity()) {
    return Status::Error("the conversation has " + std::to_string(tokens.size()) +
                         " tokens, more than the context length " +
                         std::to_string(state_->capacity()) + " (raise --ctx)");
  }
  size_t keep = 0;
  while (keep < tokens_.size() && keep < tokens.size() && tokens_[keep] == tokens[keep]) ++keep;
  // The last token is always evaluated again: its logits are the ones wanted now.
  keep = std::min(keep, tokens.size() - 1);
  tokens_.resize(keep);
  last_evaluated_ = static_cast<int64_t>(tokens.size() - keep);
  Status st = Evaluate(tokens.data() + keep, last_evaluated_, static_cast<int64_t>(keep));
  if (!st.ok()) return st;
  tokens_ = tokens;
  return Status::Ok();
}

Status Session::Append(int32_t token) {
  if (static_cast<int64_t>(tokens_.size()) >= state_->capacity()) {
    return Status::Error("context is full (" + std::to_string(state_->capacity()) +
                         " tokens; raise --ctx)");
  }
  R1D_RETURN_IF_ERROR(Evaluate(&token, 1, static_cast<int64_t>(tokens_.size())));
  tokens_.push_back(token);
  return Status::Ok();
}

}  // namespace r1d::runtime
