// Server lifecycle: clients that disconnect have their requests cancelled and their KV blocks
// freed; SIGTERM drains (/ready 503, new work 503, running streams finish, exit 0), bounded by
// --drain-timeout; a full queue answers 429 with Retry-After.
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "server_harness.h"

namespace r1d::testing {
namespace {

constexpr const char* kKey = "lifecycle-key";

// ignore_eos: the tiny model samples at random and may end early; these tests need a stream
// that runs to max_tokens unless something stops it.
std::string StreamRequest(int max_tokens, const std::string& prompt = "Tell me a story") {
  nlohmann::json body = {{"model", "deepseek-reasoner"},
                         {"messages", {{{"role", "user"}, {"content", prompt}}}},
                         {"max_tokens", max_tokens},
                         {"ignore_eos", true},
                         {"stream", true}};
  return BuildRequest("POST", "/v1/chat/completions", body.dump(), kKey);
}

std::string Metrics(int port) { return Request(port, "GET", "/metrics", "", kKey).body; }

// Sequences running or waiting, and KV blocks held by sequences (the prefix cache's
// reclaimable blocks are reported apart and may stay).
struct Load {
  double running, waiting, kv_used;
  bool operator==(const Load&) const = default;
};
Load CurrentLoad(int port) {
  const std::string m = Metrics(port);
  return {MetricValue(m, "r1d_requests_running"), MetricValue(m, "r1d_requests_waiting"),
          MetricValue(m, "r1d_kv_cache_blocks_used")};
}

TEST(ServeLifecycle, DroppedStreamsAreCancelled) {
  R1D_REQUIRE_TESTDATA();
  ServerProcess server;
  ASSERT_TRUE(server.Start({"-m", QwenTinyModel(), "--api-key", kKey, "--chat-template-file",
                            R1DistillTemplate(), "-t", "2", "--parallel", "8", "--ctx", "2048"}))
      << server.log();
  const int port = server.port();
  const Load idle = CurrentLoad(port);
  ASSERT_EQ(idle.running, 0);
  ASSERT_EQ(idle.waiting, 0);

  // 20 streams (8 run, 12 wait); each is dropped after a few tokens, which lets a waiting one
  // start. The engine admits them in any order, so each is read on its own thread.
  std::vector<std::thread> clients;
  std::atomic<int> got_tokens{0};
  for (int i = 0; i < 20; ++i) {
    clients.emplace_back([&] {
      RawStream s(port, StreamRequest(1500));
      if (s.ok() && s.ReadUntil("reasoning_content", 3)) got_tokens.fetch_add(1);
      s.Close();
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(got_tokens.load(), 20);
  // Cancellation takes one engine step; give it a generous bound.
  EXPECT_TRUE(WaitFor([&] { return CurrentLoad(port) == idle; }, 10)) << Metrics(port);
  const std::string m = Metrics(port);
  EXPECT_NE(m.find("r1d_http_requests_total{route=\"/v1/chat/completions\",status=\"499\"} 20"),
            std::string::npos)
      << m;
  // Still serving.
  RawStream after(port, StreamRequest(4));
  EXPECT_TRUE(after.ReadUntil("data: [DONE]")) << after.received();
}

// A client that closes its side while its completion (not streamed: nothing is written until
// the end) is being generated has hung up: the generation is cancelled within a step and the
// request counted as 499, instead of running to max_tokens for nobody.
TEST(ServeLifecycle, ClientClosingWhileWaitingCancelsItsGeneration) {
  R1D_REQUIRE_TESTDATA();
  ServerProcess server;
  ASSERT_TRUE(server.Start({"-m", QwenTinyModel(), "--api-key", kKey, "--chat-template-file",
                            R1DistillTemplate(), "-t", "2", "--ctx", "4096"}))
      << server.log();
  const nlohmann::json body = {{"prompt", "Once upon a time"},
                               {"max_tokens", 4000},
                               {"temperature", 0},
                               {"ignore_eos", true}};
  {
    net::io_context ioc;
    auto s = Connect(ioc, server.port());
    ASSERT_TRUE(s.has_value());
    net::write(*s, net::buffer(BuildRequest("POST", "/v1/completions", body.dump(), kKey)));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // generation under way
    s->shutdown(tcp::socket::shutdown_send);
    s->close();
  }
  std::string m;
  EXPECT_TRUE(WaitFor(
      [&] {
        m = Metrics(server.port());
        return m.find("r1d_http_requests_total{route=\"/v1/completions\",status=\"499\"} 1") !=
               std::string::npos;
      },
      10))
      << m;
  // The engine drops the sequence at its next step.
  EXPECT_TRUE(WaitFor(
      [&] {
        m = Metrics(server.port());
        return m.find("r1d_requests_running 0") != std::string::npos;
      },
      5))
      << m;
}

TEST(ServeLifecycle, SigtermDrainsThenExitsZero) {
  R1D_REQUIRE_TESTDATA();
  ServerProcess server;
  ASSERT_TRUE(server.Start({"-m", QwenTinyModel(), "--api-key", kKey, "--chat-template-file",
                            R1DistillTemplate(), "-t", "2", "--drain-timeout", "120"}))
      << server.log();
  const int port = server.port();
  EXPECT_EQ(Request(port, "GET", "/ready").status, 200);
  RawStream stream(port, StreamRequest(300));
  ASSERT_TRUE(stream.ReadUntil("reasoning_content", 2)) << stream.received();
  server.Signal(SIGTERM);
  // Not ready, and new work is refused, while the running stream goes on.
  EXPECT_TRUE(WaitFor([&] { return Request(port, "GET", "/ready").status == 503; }, 10));
  const HttpResult refused =
      Request(port, "POST", "/v1/completions", R"({"prompt":"hi","max_tokens":2})", kKey);
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_TRUE(stream.ReadUntil("data: [DONE]")) << stream.received();
  EXPECT_NE(stream.received().find("\"finish_reason\":\"length\""), std::string::npos)
      << stream.received();
  EXPECT_EQ(server.Wait(60), 0) << server.log();
}

TEST(ServeLifecycle, DrainTimeoutBoundsTheWait) {
  R1D_REQUIRE_TESTDATA();
  ServerProcess server;
  ASSERT_TRUE(
      server.Start({"-m", QwenTinyModel(), "--api-key", kKey, "--chat-template-file",
                    R1DistillTemplate(), "-t", "2", "--ctx", "4096", "--drain-timeout", "1"}))
      << server.log();
  RawStream stream(server.port(), StreamRequest(4000));
  ASSERT_TRUE(stream.ReadUntil("reasoning_content", 2)) << stream.received();
  server.Signal(SIGTERM);
  // 4000 tokens would take far longer than the drain timeout; the server exits anyway.
  EXPECT_EQ(server.Wait(60), 0) << server.log();
  EXPECT_EQ(stream.Count("data: [DONE]"), 0);
}

TEST(ServeLifecycle, FullQueueAnswers429) {
  R1D_REQUIRE_TESTDATA();
  ServerProcess server;
  ASSERT_TRUE(server.Start({"-m", QwenTinyModel(), "--api-key", kKey, "--chat-template-file",
                            R1DistillTemplate(), "-t", "2", "--parallel", "1", "--max-queue", "1",
                            "--ctx", "2048"}))
      << server.log();
  // One runs, one waits; of the rest at least one finds the queue full.
  std::vector<std::unique_ptr<RawStream>> streams;
  int too_many = 0;
  for (int i = 0; i < 6; ++i) {
    streams.push_back(std::make_unique<RawStream>(server.port(), StreamRequest(1500)));
    ASSERT_TRUE(streams.back()->ReadUntil("\r\n\r\n"));
    const std::string& head = streams.back()->received();
    if (head.rfind("HTTP/1.1 429", 0) == 0) {
      ++too_many;
      EXPECT_NE(head.find("Retry-After: "), std::string::npos) << head;
      EXPECT_TRUE(streams.back()->ReadUntil("queue_full")) << head;
    } else {
      EXPECT_EQ(head.rfind("HTTP/1.1 200", 0), 0u) << head;
    }
  }
  EXPECT_GE(too_many, 1);
  EXPECT_LE(too_many, 5);
}

}  // namespace
}  // namespace r1d::testing
