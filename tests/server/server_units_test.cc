// Unit tests of the server's pieces that need no running server: stop strings, the API key
// check, error bodies, request field parsing and the metrics text.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "server/auth.h"
#include "server/errors.h"
#include "server/metrics.h"
#include "server/request_params.h"
#include "server/stop_matcher.h"

namespace r1d::server {
namespace {

// Feeds the pieces one by one; returns the joined output and whether a stop string ended it.
std::pair<std::string, bool> RunStops(std::vector<std::string> stops,
                                      const std::vector<std::string>& pieces) {
  StopMatcher m(std::move(stops));
  std::string out;
  for (const auto& p : pieces) out += m.Feed(p);
  if (!m.stopped()) out += m.Flush();
  return {out, m.stopped()};
}

TEST(StopMatcher, NoStopsPassesEverythingThrough) {
  StopMatcher m({});
  EXPECT_EQ(m.Feed("abc"), "abc");
  EXPECT_EQ(m.Feed(""), "");
  EXPECT_EQ(m.Flush(), "");
  EXPECT_FALSE(m.stopped());
}

TEST(StopMatcher, StopInsideOnePiece) {
  auto [out, stopped] = RunStops({"END"}, {"hello END world"});
  EXPECT_EQ(out, "hello ");
  EXPECT_TRUE(stopped);
}

TEST(StopMatcher, StopSplitAcrossPiecesIsNeverLeaked) {
  StopMatcher m({"</answer>"});
  EXPECT_EQ(m.Feed("text </"), "text ");  // "</" could start the stop string: held back
  EXPECT_EQ(m.Feed("ans"), "");
  EXPECT_EQ(m.Feed("wer> tail"), "");
  EXPECT_TRUE(m.stopped());
  EXPECT_EQ(m.Feed("more"), "");
  EXPECT_EQ(m.Flush(), "");
}

TEST(StopMatcher, HeldTextIsReleasedWhenItStopsMatching) {
  StopMatcher m({"STOP"});
  EXPECT_EQ(m.Feed("ab ST"), "ab ");
  EXPECT_EQ(m.Feed("AY"), "STAY");
  EXPECT_FALSE(m.stopped());
  EXPECT_EQ(m.Feed("xS"), "x");
  EXPECT_EQ(m.Flush(), "S");
}

TEST(StopMatcher, EarliestOfSeveralStopsWins) {
  auto [out, stopped] = RunStops({"zz", "b", ""}, {"aaab", "zz"});
  EXPECT_EQ(out, "aaa");
  EXPECT_TRUE(stopped);
}

TEST(StopMatcher, ByteByByteEqualsWhole) {
  const std::string text = "one two three four ünïcödé three fo";
  for (const std::string stop : {"four", "thr", "ö", "nothing", "fo"}) {
    std::vector<std::string> bytes;
    for (char c : text) bytes.emplace_back(1, c);
    EXPECT_EQ(RunStops({stop}, bytes), RunStops({stop}, {text})) << stop;
  }
}

TEST(Auth, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("secret", "secret"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secreT"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secret2"));
  EXPECT_FALSE(ConstantTimeEquals("", "x"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

TEST(Auth, BearerHeader) {
  EXPECT_TRUE(Authorized("Bearer k1", "k1"));
  EXPECT_TRUE(Authorized("bearer   k1 ", "k1"));
  EXPECT_FALSE(Authorized("Bearer k2", "k1"));
  EXPECT_FALSE(Authorized("k1", "k1"));
  EXPECT_FALSE(Authorized("Basic k1", "k1"));
  EXPECT_FALSE(Authorized("", "k1"));
  EXPECT_TRUE(Authorized("", ""));  // no key configured
  EXPECT_TRUE(IsPublicPath("/health"));
  EXPECT_TRUE(IsPublicPath("/ready"));
  EXPECT_FALSE(IsPublicPath("/metrics"));
}

TEST(Errors, OpenAiShape) {
  const auto j = nlohmann::json::parse(ModelNotFound("gpt-9").ToJson());
  EXPECT_EQ(j["error"]["code"], "model_not_found");
  EXPECT_EQ(j["error"]["type"], "invalid_request_error");
  EXPECT_EQ(j["error"]["param"], "model");
  EXPECT_TRUE(j["error"]["message"].get<std::string>().find("gpt-9") != std::string::npos);
  const auto k = nlohmann::json::parse(InvalidRequest("bad").ToJson());
  EXPECT_TRUE(k["error"]["param"].is_null());
  EXPECT_TRUE(k["error"]["code"].is_null());
}

TEST(Errors, StatusCodesMapToHttp) {
  EXPECT_EQ(FromStatus(Status::Error("x")).status, 400);
  EXPECT_EQ(FromStatus(Status::Error(StatusCode::kResourceExhausted, "x")).status, 429);
  EXPECT_EQ(FromStatus(Status::Error(StatusCode::kResourceExhausted, "x")).retry_after_s, 1);
  EXPECT_EQ(FromStatus(Status::Error(StatusCode::kUnavailable, "x")).status, 503);
  EXPECT_EQ(FromStatus(Status::Error(StatusCode::kInternal, "x")).status, 500);
}

TEST(Errors, PathsAreScrubbed) {
  const ApiError e = FromStatus(Status::Error("/work/models/secret.gguf: bad tensor"));
  EXPECT_EQ(e.message.find("/work"), std::string::npos) << e.message;
  EXPECT_EQ(ScrubPaths("cannot open '../shared/x.gguf' now"), "cannot open '<path>' now");
  EXPECT_EQ(ScrubPaths("plain words stay"), "plain words stay");
}

TEST(RequestParams, JsonBodies) {
  Json j;
  EXPECT_FALSE(ParseJsonObject(R"({"a":1})", j).has_value());
  for (const std::string bad :
       {"", "{", "[1]", "42", "\"s\"", "{\"a\":\xff}", "{\"a\":\"\xc3\"}"}) {
    auto e = ParseJsonObject(bad, j);
    ASSERT_TRUE(e.has_value()) << bad;
    EXPECT_EQ(e->status, 400);
  }
}

TEST(RequestParams, TypedFields) {
  const Json body = Json::parse(
      R"({"i": 5, "f": 5.0, "h": 5.5, "neg": -1, "big": 1e300, "s": "5", "b": true, "n": null,
          "u": 18446744073709551615})");
  std::optional<int64_t> i;
  EXPECT_FALSE(GetInt(body, "i", 1, 10, i).has_value());
  EXPECT_EQ(i, 5);
  EXPECT_FALSE(GetInt(body, "f", 1, 10, i).has_value());
  EXPECT_EQ(i, 5);
  EXPECT_FALSE(GetInt(body, "n", 1, 10, i).has_value());
  EXPECT_FALSE(i.has_value());
  EXPECT_FALSE(GetInt(body, "missing", 1, 10, i).has_value());
  for (const char* bad : {"h", "neg", "big", "s", "b", "u"}) {
    auto e = GetInt(body, bad, 1, 10, i);
    ASSERT_TRUE(e.has_value()) << bad;
    EXPECT_EQ(e->param, bad);
  }
  std::optional<double> d;
  EXPECT_FALSE(GetNumber(body, "h", 0, 10, d).has_value());
  EXPECT_DOUBLE_EQ(*d, 5.5);
  EXPECT_TRUE(GetNumber(body, "big", 0, 10, d).has_value());
  EXPECT_TRUE(GetNumber(body, "b", 0, 10, d).has_value());
  std::optional<bool> b;
  EXPECT_FALSE(GetBool(body, "b", b).has_value());
  EXPECT_EQ(b, true);
  EXPECT_TRUE(GetBool(body, "i", b).has_value());
}

TEST(Metrics, PrometheusText) {
  Metrics m;
  m.CountRequest("/v1/models", 200);
  m.CountRequest("/v1/models", 200);
  m.CountRequest("/v1/chat/completions", 400);
  m.ObserveTimeToFirstToken(0.03);
  m.ObserveInterTokenLatency(0.002);
  m.AddTokens(10, 5);
  runtime::EngineStats s;
  s.running = 3;
  s.waiting = 2;
  s.kv_blocks_used = 7;
  s.kv_blocks_total = 64;
  const std::string text = m.Render(s, true);
  EXPECT_NE(text.find("r1d_http_requests_total{route=\"/v1/models\",status=\"200\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("r1d_http_requests_total{route=\"/v1/chat/completions\",status=\"400\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("r1d_time_to_first_token_seconds_bucket{le=\"0.025\"} 0\n"),
            std::string::npos);
  EXPECT_NE(text.find("r1d_time_to_first_token_seconds_bucket{le=\"0.05\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("r1d_time_to_first_token_seconds_count 1\n"), std::string::npos);
  EXPECT_NE(text.find("r1d_inter_token_latency_seconds_bucket{le=\"+Inf\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("r1d_requests_running 3\n"), std::string::npos);
  EXPECT_NE(text.find("r1d_requests_waiting 2\n"), std::string::npos);
  EXPECT_NE(text.find("r1d_kv_cache_blocks_used 7\n"), std::string::npos);
  EXPECT_NE(text.find("r1d_kv_cache_blocks_total 64\n"), std::string::npos);
  EXPECT_NE(text.find("r1d_prompt_tokens_total 10\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE r1d_time_to_first_token_seconds histogram\n"), std::string::npos);
}

}  // namespace
}  // namespace r1d::server
