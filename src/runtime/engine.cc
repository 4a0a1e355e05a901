#include "runtime/engine.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "core/thread_pool.h"
#include "runtime/prefix_cache.h"

namespace r1d::runtime {

const char* FinishName(Finish f) {
  switch (f) {
    case Finish::kNone:
      return "none";
    case Finish::kLength:
      return "length";
    case Finish::kEndToken:
      return "stop";
    case Finish::kContextFull:
      return "length";
    case Finish::kCancelled:
      return "cancelled";
    case Finish::kError:
      return "error";
  }
  return "unknown";
}

namespace {

struct Sequence {
  uint64_t id = 0;
  EngineRequest request;
  TokenSink sink;
  std::unique_ptr<Sampler> sampler;
  std::unique_ptr<models::SequenceState> state;  // null while waiting
  std::vector<int32_t> tokens;  // prompt, then generated tokens (all of them end up in the KV)
  int64_t n_evaluated = 0;      // positions whose K/V are in the cache
  int64_t n_generated = 0;
  int64_t cached_prompt = 0;     // prompt positions adopted from the prefix cache
  std::vector<uint64_t> hashes;  // chained hashes of the first full blocks of `tokens`
  bool counted_prompt = false;
};

}  // namespace

class Engine::Impl {
 public:
  Impl(models::Model& model, const EngineOptions& options,
       std::unique_ptr<models::KvBlockPool> pool)
      : model_(model),
        options_(options),
        pool_(std::move(pool)),
        prefix_(*pool_),
        threads_(options.threads),
        logits_(static_cast<size_t>(options.parallel) * model.info().n_vocab) {
    thread_ = std::thread([this] { Loop(); });
  }

  ~Impl() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
    // Whatever is left is told it was cancelled.
    for (auto& s : running_) Finish(*s, Finish::kCancelled, "");
    for (auto& s : waiting_) Finish(*s, Finish::kCancelled, "");
  }

  Result<uint64_t> Submit(EngineRequest request, TokenSink sink) {
    const int64_t n_vocab = model_.info().n_vocab;
    if (request.prompt.empty()) return Status::Error("the prompt is empty");
    for (int32_t id : request.prompt) {
      if (id < 0 || id >= n_vocab) {
        return Status::Error("prompt token id " + std::to_string(id) +
                             " is outside the vocabulary");
      }
    }
    if (static_cast<int64_t>(request.prompt.size()) >= options_.n_ctx) {
      return Status::Error("the prompt has " + std::to_string(request.prompt.size()) +
                           " tokens; the context length is " + std::to_string(options_.n_ctx));
    }
    if (request.top_logprobs < 0 || request.top_logprobs > 20) {
      return Status::Error("top_logprobs must be between 0 and 20");
    }
    R1D_RETURN_IF_ERROR(ValidateSamplingParams(request.sampling));
    auto seq = std::make_unique<Sequence>();
    seq->sampler = std::make_unique<Sampler>(request.sampling);
    seq->tokens = request.prompt;
    seq->request = std::move(request);
    seq->sink = std::move(sink);
    std::lock_guard<std::mutex> lock(mutex_);
    if (!accepting_) return Status::Error(StatusCode::kUnavailable, "the server is shutting down");
    if (static_cast<int64_t>(incoming_.size() + waiting_count_) >= options_.max_queue) {
      return Status::Error(StatusCode::kResourceExhausted, "too many requests are waiting (" +
                                                               std::to_string(options_.max_queue) +
                                                               "); retry later");
    }
    seq->id = ++next_id_;
    const uint64_t id = seq->id;
    incoming_.push_back(std::move(seq));
    wake_.notify_all();
    return id;
  }

  void Cancel(uint64_t id) {
    std::lock_guard<std::mutex> lock(mutex_);
    cancelled_.insert(id);
    wake_.notify_all();
  }

  void StopAccepting() {
    std::lock_guard<std::mutex> lock(mutex_);
    accepting_ = false;
  }

  bool Idle() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return incoming_.empty() && stats_.running == 0 && stats_.waiting == 0;
  }

  EngineStats Stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

 private:
  void Loop() {
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] {
          return stop_ || !incoming_.empty() || !cancelled_.empty() || !running_.empty() ||
                 !waiting_.empty();
        });
        if (stop_) return;
        while (!incoming_.empty()) {
          waiting_.push_back(std::move(incoming_.front()));
          incoming_.pop_front();
        }
      }
      ApplyCancellations();
      Admit();
      Step();
      PublishStats();
    }
  }

  void ApplyCancellations() {
    std::unordered_set<uint64_t> ids;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ids.swap(cancelled_);
    }
    if (ids.empty()) return;
    auto drop = [&](std::deque<std::unique_ptr<Sequence>>& list) {
      for (auto it = list.begin(); it != list.end();) {
        if (ids.count((*it)->id) != 0) {
          Finish(**it, Finish::kCancelled, "");
          it = list.erase(it);
        } else {
          ++it;
        }
      }
    };
    drop(running_);
    drop(waiting_);
  }

  // Moves waiting sequences into the batch while there is a slot and KV room for the prompt.
  void Admit() {
    // After a sequence in the batch ran out of KV room, new work waits until one finishes;
    // admitting more would only be preempted again (a livelock).
    if (kv_pressure_ && !running_.empty()) return;
    kv_pressure_ = false;
    while (!waiting_.empty() && static_cast<int>(running_.size()) < options_.parallel) {
      Sequence& s = *waiting_.front();
      auto state = std::make_unique<models::SequenceState>(*pool_);
      state->set_limit(options_.n_ctx);
      // Adopt cached full blocks of the prompt, always leaving the last token to evaluate (its
      // logits start the generation).
      const int64_t B = pool_->block_tokens();
      const int64_t reusable = (static_cast<int64_t>(s.tokens.size()) - 1) / B;
      std::vector<int32_t> blocks = prefix_.Match(prefix_.BlockHashes(s.tokens, reusable));
      state->AppendShared(blocks);
      const int64_t adopted = static_cast<int64_t>(blocks.size()) * B;
      const int64_t first_chunk = std::min<int64_t>(static_cast<int64_t>(s.tokens.size()) - adopted,
                                                    options_.prefill_chunk);
      if (!Reserve(*state, adopted + first_chunk)) {
        if (running_.empty()) {
          Finish(s, Finish::kError, "the prompt does not fit in the KV cache");
          waiting_.pop_front();
          continue;
        }
        break;  // wait until running sequences free blocks
      }
      s.state = std::move(state);
      s.n_evaluated = adopted;
      if (!s.counted_prompt) s.cached_prompt = adopted;
      running_.push_back(std::move(waiting_.front()));
      waiting_.pop_front();
    }
  }

  // Grows a state to n positions, evicting cached prefix blocks if that makes room.
  bool Reserve(models::SequenceState& state, int64_t n) {
    const int64_t B = pool_->block_tokens();
    const int64_t need = (n + B - 1) / B - static_cast<int64_t>(state.blocks().size());
    if (need > pool_->n_free()) prefix_.Evict(need - pool_->n_free());
    return state.Reserve(n).ok();
  }

  // Frees the youngest running sequence's blocks and puts it back at the head of the queue; it
  // is recomputed (from the prefix cache where possible) when there is room again.
  bool PreemptYoungest(const Sequence* keep) {
    for (auto it = running_.rbegin(); it != running_.rend(); ++it) {
      if (it->get() == keep) continue;
      Sequence& s = **it;
      CacheBlocks(s);
      s.state.reset();
      s.n_evaluated = 0;
      waiting_.push_front(std::move(*it));
      running_.erase(std::next(it).base());
      ++preemptions_;
      return true;
    }
    return false;
  }

  // Puts the sequence's full blocks (those whose positions are all evaluated) in the prefix
  // cache: at once, so that other sequences with the same prefix can adopt them while this
  // one still runs.
  void CacheBlocks(Sequence& s) {
    if (s.state == nullptr) return;
    const int64_t full = s.n_evaluated / pool_->block_tokens();
    prefix_.ExtendHashes(s.tokens, full, s.hashes);
    prefix_.Insert({s.hashes.begin(), s.hashes.begin() + std::min<int64_t>(full, s.hashes.size())},
                   s.state->blocks());
  }

  // A prompt that has reached a block boundary adopts the cached blocks that follow (another
  // sequence with the same prefix computed them since this one was admitted), always leaving
  // the last prompt token to evaluate.
  void AdoptCachedBlocks(Sequence& s) {
    const int64_t B = pool_->block_tokens();
    if (s.n_evaluated % B != 0) return;
    const int64_t have = s.n_evaluated / B;
    const int64_t reusable = (static_cast<int64_t>(s.tokens.size()) - 1) / B;
    if (reusable <= have) return;
    prefix_.ExtendHashes(s.tokens, reusable, s.hashes);
    const std::vector<int32_t> blocks =
        prefix_.Match({s.hashes.begin(), s.hashes.begin() + reusable});
    if (static_cast<int64_t>(blocks.size()) <= have) return;
    s.state->Truncate(s.n_evaluated);  // blocks reserved for positions not yet computed
    s.state->AppendShared({blocks.begin() + have, blocks.end()});
    const int64_t adopted = (static_cast<int64_t>(blocks.size()) - have) * B;
    s.n_evaluated += adopted;
    if (!s.counted_prompt) s.cached_prompt += adopted;
  }

  // Whether the next block of a prompt at a block boundary is being computed in this step by
  // an entry already in the batch (`in_flight`: the hashes of the blocks that entries
  // complete). Such a prompt waits a step and adopts the block, instead of computing the same
  // K/V again: a burst of requests with a shared system prompt prefills it once.
  bool NextBlockInFlight(Sequence& s, const std::unordered_set<uint64_t>& in_flight) {
    const int64_t B = pool_->block_tokens();
    if (in_flight.empty() || s.n_evaluated % B != 0) return false;
    const int64_t next = s.n_evaluated / B;
    if ((next + 1) * B > static_cast<int64_t>(s.tokens.size()) - 1) return false;
    prefix_.ExtendHashes(s.tokens, next + 1, s.hashes);
    return in_flight.count(s.hashes[next]) != 0;
  }

  void Step() {
    if (running_.empty()) return;
    // Decodes first (keep streams flowing), then prompt chunks within the token budget.
    std::vector<Sequence*> order;
    for (auto& s : running_) {
      if (s->n_evaluated + 1 == static_cast<int64_t>(s->tokens.size())) order.push_back(s.get());
    }
    for (auto& s : running_) {
      if (s->n_evaluated + 1 < static_cast<int64_t>(s->tokens.size())) order.push_back(s.get());
    }
    std::vector<models::BatchEntry> entries;
    std::vector<Sequence*> owners;
    int64_t budget = options_.step_tokens;
    std::unordered_set<uint64_t> in_flight;
    const int64_t B = pool_->block_tokens();
    for (Sequence* s : order) {
      if (budget <= 0) break;
      if (s->n_evaluated + 1 < static_cast<int64_t>(s->tokens.size())) {
        AdoptCachedBlocks(*s);
        if (NextBlockInFlight(*s, in_flight)) continue;
      }
      const int64_t remaining = static_cast<int64_t>(s->tokens.size()) - s->n_evaluated;
      const int64_t chunk = std::min({remaining, options_.prefill_chunk, budget});
      if (!Reserve(*s->state, s->n_evaluated + chunk)) {
        kv_pressure_ = true;
        // No room. If others are in this batch, run it: they finish or grow and the next step
        // decides again. If nothing could run, preempt the youngest other sequence.
        if (entries.empty() && !PreemptYoungest(s)) {
          Finish(*s, Finish::kError, "the KV cache is too small for this sequence");
        }
        break;
      }
      budget -= chunk;
      // The blocks this entry completes (all of its tokens are known: prompt or sampled).
      const int64_t done = (s->n_evaluated + chunk) / B;
      prefix_.ExtendHashes(s->tokens, done, s->hashes);
      for (int64_t j = s->n_evaluated / B; j < done; ++j) in_flight.insert(s->hashes[j]);
      const bool last = s->n_evaluated + chunk == static_cast<int64_t>(s->tokens.size());
      entries.push_back({s->state.get(), s->tokens.data() + s->n_evaluated, chunk, s->n_evaluated,
                         last ? logits_.data() + owners.size() * model_.info().n_vocab : nullptr});
      owners.push_back(s);
    }
    RemoveFinished();
    if (entries.empty()) return;
    Status st = model_.ForwardBatch(threads_, entries.data(), static_cast<int64_t>(entries.size()));
    ++steps_;
    if (!st.ok()) {
      for (Sequence* s : owners) Finish(*s, Finish::kError, st.message());
      RemoveFinished();
      return;
    }
    // Sampling is per sequence (each has its own sampler and random state), so the sequences
    // are sampled in parallel. Serially, the other threads idled through 16 passes over the
    // vocabulary (the bench's plain greedy pick alone was ~5% of a 16-sequence step).
    // Reporting stays serial, in batch order.
    sampled_.resize(owners.size());
    threads_.ParallelFor(static_cast<int64_t>(owners.size()), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        if (entries[i].logits == nullptr) continue;
        const Sequence& s = *owners[i];
        sampled_[i] = s.sampler->Sample(entries[i].logits, model_.info().n_vocab, s.tokens);
      }
    });
    for (size_t i = 0; i < owners.size(); ++i) {
      Sequence& s = *owners[i];
      const int64_t blocks_before = s.n_evaluated / B;
      s.n_evaluated += entries[i].n;
      if (s.n_evaluated / B > blocks_before) CacheBlocks(s);
      if (entries[i].logits == nullptr) continue;
      if (!s.counted_prompt) {
        s.counted_prompt = true;
        prompt_tokens_ += s.request.prompt.size();
      }
      Emit(s, entries[i].logits, sampled_[i]);
    }
    RemoveFinished();
  }

  // Reports the token sampled from a sequence's logits.
  void Emit(Sequence& s, const float* logits, int32_t token) {
    const int64_t V = model_.info().n_vocab;
    TokenEvent ev;
    ev.request_id = s.id;
    ev.token = token;
    if (s.request.logprobs || s.request.top_logprobs > 0) {
      float max = -INFINITY;
      for (int64_t v = 0; v < V; ++v) max = std::max(max, logits[v]);
      double sum = 0;
      for (int64_t v = 0; v < V; ++v) sum += std::exp(static_cast<double>(logits[v] - max));
      const double log_z = static_cast<double>(max) + std::log(sum);
      ev.logprob = static_cast<float>(logits[token] - log_z);
      if (s.request.top_logprobs > 0) {
        for (const auto& [id, p] : TopProbabilities(logits, V, s.request.top_logprobs)) {
          ev.top_logprobs.emplace_back(id, static_cast<float>(logits[id] - log_z));
          (void)p;
        }
      }
    }
    s.tokens.push_back(token);
    ++s.n_generated;
    ++generated_tokens_;
    if (s.request.end_tokens.count(token) != 0) {
      ev.finish = Finish::kEndToken;
    } else if (s.request.max_tokens >= 0 && s.n_generated >= s.request.max_tokens) {
      ev.finish = Finish::kLength;
    } else if (static_cast<int64_t>(s.tokens.size()) >= options_.n_ctx) {
      ev.finish = Finish::kContextFull;
    }
    if (ev.finish != Finish::kNone) {
      FillTotals(s, ev);
      s.sink(ev);
      Release(s);
      s.sink = nullptr;  // marks the sequence finished
    } else {
      s.sink(ev);
    }
  }

  void FillTotals(const Sequence& s, TokenEvent& ev) const {
    ev.prompt_tokens = static_cast<int64_t>(s.request.prompt.size());
    ev.cached_prompt_tokens = s.cached_prompt;
    ev.completion_tokens = s.n_generated;
  }

  void Finish(Sequence& s, Finish why, const std::string& error) {
    if (!s.sink) return;
    TokenEvent ev;
    ev.request_id = s.id;
    ev.finish = why;
    ev.error = error;
    FillTotals(s, ev);
    s.sink(ev);
    Release(s);
    s.sink = nullptr;
  }

  // Returns a finished sequence's blocks; its full blocks stay in the prefix cache.
  void Release(Sequence& s) {
    CacheBlocks(s);
    if (s.state != nullptr) kv_pressure_ = false;  // blocks came back
    s.state.reset();
  }

  void RemoveFinished() {
    for (auto it = running_.begin(); it != running_.end();) {
      it = (*it)->sink ? std::next(it) : running_.erase(it);
    }
    for (auto it = waiting_.begin(); it != waiting_.end();) {
      it = (*it)->sink ? std::next(it) : waiting_.erase(it);
    }
  }

  void PublishStats() {
    std::lock_guard<std::mutex> lock(mutex_);
    waiting_count_ = static_cast<int64_t>(waiting_.size());
    stats_.running = static_cast<int64_t>(running_.size());
    stats_.waiting = static_cast<int64_t>(waiting_.size() + incoming_.size());
    stats_.kv_blocks_total = pool_->n_blocks();
    stats_.kv_blocks_cached = prefix_.reclaimable();
    stats_.kv_blocks_used = pool_->n_blocks() - pool_->n_free() - stats_.kv_blocks_cached;
    stats_.steps = steps_;
    stats_.prompt_tokens = prompt_tokens_;
    stats_.generated_tokens = generated_tokens_;
    stats_.preemptions = preemptions_;
  }

  models::Model& model_;
  EngineOptions options_;
  std::unique_ptr<models::KvBlockPool> pool_;
  PrefixCache prefix_;
  ThreadPool threads_;
  std::vector<float> logits_;
  std::vector<int32_t> sampled_;  // per batch entry: the token sampled in this step
  std::thread thread_;

  // Engine-thread state.
  std::deque<std::unique_ptr<Sequence>> running_, waiting_;
  uint64_t steps_ = 0, prompt_tokens_ = 0, generated_tokens_ = 0, preemptions_ = 0;
  bool kv_pressure_ = false;

  // Shared with callers, under mutex_.
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::unique_ptr<Sequence>> incoming_;
  std::unordered_set<uint64_t> cancelled_;
  int64_t waiting_count_ = 0;
  bool accepting_ = true;
  bool stop_ = false;
  uint64_t next_id_ = 0;
  EngineStats stats_;
};

Engine::Engine(const EngineOptions& options) : options_(options) {}
Engine::~Engine() = default;

Result<std::unique_ptr<Engine>> Engine::Create(models::Model& model, const EngineOptions& options) {
  EngineOptions o = options;
  if (o.n_ctx <= 1 || o.parallel <= 0 || o.max_queue < 0 || o.prefill_chunk <= 0 ||
      o.step_tokens <= 0 || o.kv_block_tokens <= 0) {
    return Status::Error("invalid engine options");
  }
  o.step_tokens = std::max<int64_t>(o.step_tokens, o.parallel);
  const int64_t blocks_per_seq = (o.n_ctx + o.kv_block_tokens - 1) / o.kv_block_tokens;
  if (o.kv_blocks <= 0) o.kv_blocks = blocks_per_seq * o.parallel;
  R1D_ASSIGN_OR_RETURN(auto pool, model.NewKvPool(o.kv_blocks, o.kv_block_tokens));
  std::unique_ptr<Engine> engine(new Engine(o));
  engine->impl_ = std::make_unique<Impl>(model, o, std::move(pool));
  return engine;
}

Result<uint64_t> Engine::Submit(EngineRequest request, TokenSink sink) {
  return impl_->Submit(std::move(request), std::move(sink));
}
void Engine::Cancel(uint64_t request_id) { impl_->Cancel(request_id); }
void Engine::StopAccepting() { impl_->StopAccepting(); }
bool Engine::Idle() const { return impl_->Idle(); }
EngineStats Engine::Stats() const { return impl_->Stats(); }

}  // namespace r1d::runtime
