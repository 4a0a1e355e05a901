#include "runtime/engine.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "runtime/generate.h"
#include "test_util.h"

namespace r1d::runtime {
namespace {

// Collects one request's events; Wait() blocks until its final event.
struct Collector {
  std::mutex mutex;
  std::condition_variable done_cv;
  std::vector<int32_t> tokens;
  TokenEvent last;
  bool done = false;
  TokenSink Sink() {
    return [this](const TokenEvent& ev) {
      std::lock_guard<std::mutex> lock(mutex);
      if (ev.token >= 0) tokens.push_back(ev.token);
      if (ev.finish != Finish::kNone) {
        last = ev;
        done = true;
        done_cv.notify_all();
      }
    };
  }
  bool Wait(int seconds = 60) {
    std::unique_lock<std::mutex> lock(mutex);
    return done_cv.wait_for(lock, std::chrono::seconds(seconds), [&] { return done; });
  }
};

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testing::TestDataDir().empty()) GTEST_SKIP() << "../shared/testdata not found";
    auto m = models::LoadModel(testing::FindTestModel("qwen2-tiny-q8_0.gguf"));
    ASSERT_TRUE(m.ok()) << m.status().message();
    model_ = std::move(m).value();
  }
  // Greedy tokens of one sequence alone, through the single-sequence path.
  std::vector<int32_t> Reference(const std::vector<int32_t>& prompt, int n) {
    ThreadPool pool(2);
    GenerateOptions o;
    o.prompt = prompt;
    o.n_predict = n;
    o.n_ctx = 256;
    o.sampling.temperature = 0;
    auto r = Generate(*model_, pool, o);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r->generated;
  }
  static EngineRequest Greedy(const std::vector<int32_t>& prompt, int n) {
    EngineRequest r;
    r.prompt = prompt;
    r.max_tokens = n;
    r.sampling.temperature = 0;
    return r;
  }
  static std::vector<int32_t> Prompt(int seed, int len) {
    std::vector<int32_t> p = {32013};
    for (int i = 1; i < len; ++i) p.push_back((seed * 7919 + i * 104729) % 32000);
    return p;
  }
  std::unique_ptr<models::Model> model_;
};

TEST_F(EngineTest, ConcurrentRequestsEachMatchTheirSoloRun) {
  EngineOptions o;
  o.n_ctx = 256;
  o.parallel = 8;
  o.threads = 2;
  o.prefill_chunk = 16;  // prompts take several steps, mixed with other sequences' decodes
  auto engine = Engine::Create(*model_, o);
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  const int kRequests = 12;
  // References first: a model runs one forward pass at a time, and the engine owns it meanwhile.
  std::vector<std::vector<int32_t>> want;
  for (int i = 0; i < kRequests; ++i) want.push_back(Reference(Prompt(i, 5 + 9 * i), 10));
  std::vector<Collector> got(kRequests);
  for (int i = 0; i < kRequests; ++i) {
    auto id = (*engine)->Submit(Greedy(Prompt(i, 5 + 9 * i), 10), got[i].Sink());
    ASSERT_TRUE(id.ok()) << id.status().message();
  }
  for (int i = 0; i < kRequests; ++i) {
    ASSERT_TRUE(got[i].Wait());
    EXPECT_EQ(got[i].last.finish, Finish::kLength);
    EXPECT_EQ(got[i].last.completion_tokens, 10);
    EXPECT_EQ(got[i].last.prompt_tokens, 5 + 9 * i);
    EXPECT_EQ(got[i].tokens, want[i]) << "request " << i;
  }
  for (int i = 0; i < 400 && !(*engine)->Idle(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  auto stats = (*engine)->Stats();
  EXPECT_EQ(stats.running, 0);
  EXPECT_EQ(stats.kv_blocks_used, 0);
  EXPECT_GT(stats.steps, 10u);
}

TEST_F(EngineTest, PreemptsWhenTheCacheIsFullAndStillGetsItRight) {
  EngineOptions o;
  o.n_ctx = 128;
  o.parallel = 4;
  o.threads = 2;
  o.kv_block_tokens = 16;
  o.kv_blocks = 6;  // 96 positions for 4 sequences that want ~60 each
  std::vector<std::vector<int32_t>> want;
  for (int i = 0; i < 4; ++i) want.push_back(Reference(Prompt(i, 30), 30));
  auto engine = Engine::Create(*model_, o);
  ASSERT_TRUE(engine.ok());
  std::vector<Collector> got(4);
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE((*engine)->Submit(Greedy(Prompt(i, 30), 30), got[i].Sink()).ok());
  }
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(got[i].Wait());
    EXPECT_EQ(got[i].last.finish, Finish::kLength) << got[i].last.error;
    EXPECT_EQ(got[i].tokens, want[i]) << "request " << i;
  }
  EXPECT_GT((*engine)->Stats().preemptions, 0u);
}

TEST_F(EngineTest, ReusesACachedPromptPrefix) {
  EngineOptions o;
  o.n_ctx = 256;
  o.threads = 2;
  o.kv_block_tokens = 16;
  auto engine = Engine::Create(*model_, o);
  ASSERT_TRUE(engine.ok());
  const std::vector<int32_t> first = Prompt(3, 70);
  Collector a;
  ASSERT_TRUE((*engine)->Submit(Greedy(first, 4), a.Sink()).ok());
  ASSERT_TRUE(a.Wait());
  EXPECT_EQ(a.last.cached_prompt_tokens, 0);
  // The next turn resends the history plus more.
  std::vector<int32_t> second = first;
  second.insert(second.end(), a.tokens.begin(), a.tokens.end());
  for (int32_t t : {11, 12, 13}) second.push_back(t);
  Collector b;
  ASSERT_TRUE((*engine)->Submit(Greedy(second, 6), b.Sink()).ok());
  ASSERT_TRUE(b.Wait());
  EXPECT_EQ(b.last.cached_prompt_tokens, 64);  // four full blocks of the first prompt
  engine->reset();                             // the model is free again
  EXPECT_EQ(b.tokens, Reference(second, 6));
}

// Requests that share a prompt prefix with a running one adopt its blocks as soon as they are
// computed, not only after it finished: a burst with a common system prompt prefills it once.
// Followers admitted in the same step as the first wait one step for its blocks; later ones
// adopt them on admission. Either way each reuses the three shared blocks and its tokens are
// those of its run alone.
TEST_F(EngineTest, ConcurrentPromptsShareTheirCommonPrefix) {
  EngineOptions o;
  o.n_ctx = 256;
  o.threads = 2;
  o.kv_block_tokens = 16;
  const std::vector<int32_t> system = Prompt(5, 48);
  auto with_tail = [&](int seed) {
    std::vector<int32_t> p = system;
    for (int i = 0; i < 7; ++i) p.push_back(100 + seed * 31 + i);
    return p;
  };
  const int kFollowers = 3;
  std::vector<std::vector<int32_t>> want;
  for (int i = 0; i <= kFollowers; ++i) want.push_back(Reference(with_tail(i), i == 0 ? 150 : 8));
  auto engine = Engine::Create(*model_, o);
  ASSERT_TRUE(engine.ok());
  std::vector<Collector> got(kFollowers + 1);
  // The first generates long enough to be running while the others arrive.
  ASSERT_TRUE((*engine)->Submit(Greedy(with_tail(0), 150), got[0].Sink()).ok());
  for (int i = 1; i <= kFollowers; ++i) {
    ASSERT_TRUE((*engine)->Submit(Greedy(with_tail(i), 8), got[i].Sink()).ok());
  }
  for (int i = 0; i <= kFollowers; ++i) {
    ASSERT_TRUE(got[i].Wait());
    EXPECT_EQ(got[i].last.finish, Finish::kLength) << got[i].last.error;
    EXPECT_EQ(got[i].tokens, want[i]) << "request " << i;
  }
  EXPECT_EQ(got[0].last.cached_prompt_tokens, 0);
  for (int i = 1; i <= kFollowers; ++i) {
    EXPECT_EQ(got[i].last.cached_prompt_tokens, 48) << "request " << i;
  }
}

TEST_F(EngineTest, CancelFreesTheSequenceWithinAStep) {
  EngineOptions o;
  o.n_ctx = 256;
  o.threads = 2;
  auto engine = Engine::Create(*model_, o);
  ASSERT_TRUE(engine.ok());
  Collector c;
  auto id = (*engine)->Submit(Greedy(Prompt(1, 8), -1), c.Sink());
  ASSERT_TRUE(id.ok());
  for (int i = 0; i < 1000 && (*engine)->Stats().generated_tokens < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  (*engine)->Cancel(*id);
  ASSERT_TRUE(c.Wait());
  EXPECT_EQ(c.last.finish, Finish::kCancelled);
  for (int i = 0; i < 200 && !(*engine)->Idle(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE((*engine)->Idle());
  EXPECT_EQ((*engine)->Stats().kv_blocks_used, 0);
}

TEST_F(EngineTest, RefusesBadRequestsFullQueuesAndDraining) {
  EngineOptions o;
  o.n_ctx = 64;
  o.parallel = 1;
  o.max_queue = 1;
  o.threads = 1;
  auto engine = Engine::Create(*model_, o);
  ASSERT_TRUE(engine.ok());
  Collector sink;
  EXPECT_EQ((*engine)->Submit(Greedy({}, 1), sink.Sink()).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ((*engine)->Submit(Greedy({1, 99999999}, 1), sink.Sink()).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ((*engine)->Submit(Greedy(Prompt(0, 64), 1), sink.Sink()).status().code(),
            StatusCode::kInvalidArgument);
  // One long request occupies the only slot; the queue holds one more; the third is refused.
  Collector a, b, c;
  ASSERT_TRUE((*engine)->Submit(Greedy(Prompt(1, 4), 40), a.Sink()).ok());
  bool refused = false;
  for (int i = 0; i < 4 && !refused; ++i) {
    auto r = (*engine)->Submit(Greedy(Prompt(2, 4), 40), i == 0 ? b.Sink() : c.Sink());
    refused = !r.ok() && r.status().code() == StatusCode::kResourceExhausted;
  }
  EXPECT_TRUE(refused);
  (*engine)->StopAccepting();
  EXPECT_EQ((*engine)->Submit(Greedy(Prompt(3, 4), 1), c.Sink()).status().code(),
            StatusCode::kUnavailable);
  EXPECT_TRUE(a.Wait());
  // b may still be queued or running: the engine must go (cancelling it through b's sink)
  // before the collectors do, or its loop writes into a destroyed collector.
  engine->reset();
}

}  // namespace
}  // namespace r1d::runtime
