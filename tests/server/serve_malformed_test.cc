// Malformed and hostile requests get 4xx JSON errors in the OpenAI shape, and the server keeps
// serving: invalid JSON, wrong types, out-of-range numbers, missing and unknown fields,
// non-UTF-8, oversized bodies and headers, broken HTTP, random mutations.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "server_harness.h"

namespace r1d::testing {
namespace {

constexpr const char* kKey = "malformed-key";

class ServeMalformed : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (TestDataDir().empty()) return;
    server_ = new ServerProcess();
    if (!server_->Start({"-m", QwenTinyModel(), "--api-key", kKey, "--chat-template-file",
                         R1DistillTemplate(), "-t", "2", "--ctx", "256"})) {
      ADD_FAILURE() << "server did not start: " << server_->log();
    }
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { R1D_REQUIRE_TESTDATA(); }

  static int port() { return server_->port(); }

  // Checks an error response: the status, JSON of the OpenAI shape, no file path in the message.
  static void ExpectApiError(const HttpResult& r, int status, const std::string& what) {
    EXPECT_EQ(r.status, status) << what << "\n" << r.body;
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object() && j.contains("error")) << what << "\n" << r.body;
    const auto& e = j["error"];
    ASSERT_TRUE(e.contains("message") && e["message"].is_string()) << r.body;
    EXPECT_TRUE(e.contains("type") && e.contains("param") && e.contains("code")) << r.body;
    const std::string msg = e["message"];
    EXPECT_EQ(msg.find(".gguf"), std::string::npos) << msg;
    EXPECT_EQ(msg.find(TestDataDir()), std::string::npos) << msg;
    EXPECT_EQ(r.content_type, "application/json") << what;
  }

  static void ExpectStillServing() {
    EXPECT_EQ(Request(port(), "GET", "/health").status, 200);
    const HttpResult r = Request(port(), "POST", "/v1/completions",
                                 R"({"prompt":"hi","max_tokens":2,"temperature":0})", kKey);
    EXPECT_EQ(r.status, 200) << r.body;
  }

  static ServerProcess* server_;
};
ServerProcess* ServeMalformed::server_ = nullptr;

TEST_F(ServeMalformed, BadChatBodies) {
  const std::string m = R"("messages":[{"role":"user","content":"hi"}])";
  const std::vector<std::pair<std::string, std::string>> corpus = {
      {"", "empty body"},
      {"{", "truncated JSON"},
      {"[1,2]", "not an object"},
      {"null", "null"},
      {"{}", "missing messages"},
      {R"({"messages":"hi"})", "messages a string"},
      {R"({"messages":[]})", "messages empty"},
      {R"({"messages":[5]})", "message a number"},
      {R"({"messages":[{"content":"hi"}]})", "missing role"},
      {R"({"messages":[{"role":5,"content":"hi"}]})", "role a number"},
      {R"({"messages":[{"role":"wizard","content":"hi"}]})", "unknown role"},
      {R"({"messages":[{"role":"user","content":5}]})", "content a number"},
      {R"({"messages":[{"role":"user","content":[{"type":"image_url"}]}]})", "image part"},
      {R"({"messages":[{"role":"user","content":[{"type":7,"text":"x"}]}]})", "part type"},
      {"{" + m + R"(,"temperature":"hot"})", "temperature a string"},
      {"{" + m + R"(,"temperature":-1})", "temperature negative"},
      {"{" + m + R"(,"temperature":1e400})", "temperature overflow"},
      {"{" + m + R"(,"top_p":5})", "top_p too big"},
      {"{" + m + R"(,"max_tokens":-1})", "max_tokens negative"},
      {"{" + m + R"(,"max_tokens":0})", "max_tokens zero"},
      {"{" + m + R"(,"max_tokens":1e30})", "max_tokens huge"},
      {"{" + m + R"(,"max_tokens":99999999999999999999999})", "max_tokens bignum"},
      {"{" + m + R"(,"max_tokens":2.5})", "max_tokens fraction"},
      {"{" + m + R"(,"max_completion_tokens":"5"})", "max_completion_tokens string"},
      {"{" + m + R"(,"n":2})", "n = 2"},
      {"{" + m + R"(,"n":"1"})", "n a string"},
      {"{" + m + R"(,"stop":5})", "stop a number"},
      {"{" + m + R"(,"stop":[1]})", "stop list of numbers"},
      {"{" + m +
           R"(,"stop":["a","b","c","d","e","f","g","h","i","j","k","l","m","n","o","p","q"]})",
       "too many stops"},
      {"{" + m + R"(,"stream":"yes"})", "stream a string"},
      {"{" + m + R"(,"stream_options":5})", "stream_options a number"},
      {"{" + m + R"(,"logprobs":"yes"})", "logprobs a string"},
      {"{" + m + R"(,"logprobs":true,"top_logprobs":50})", "top_logprobs too big"},
      {"{" + m + R"(,"top_logprobs":3})", "top_logprobs without logprobs"},
      {"{" + m + R"(,"seed":"x"})", "seed a string"},
      {"{" + m + R"(,"seed":1.5})", "seed fraction"},
      {"{" + m + R"(,"frequency_penalty":3})", "frequency_penalty too big"},
      {"{" + m + R"(,"presence_penalty":-3})", "presence_penalty too small"},
      {"{" + m + R"(,"tools":"x"})", "tools a string"},
      {"{" + m + R"(,"model":5})", "model a number"},
      {"{\"messages\":[{\"role\":\"user\",\"content\":\"\xff\xfe\"}]}", "non-UTF-8 content"},
      {"{\"messages\":[{\"role\":\"user\",\"content\":\"\xc3\"}]}", "truncated UTF-8"},
      {std::string("{\"messages\":[{\"role\":\"user\",\"content\":\"a") + '\0' + "b\"}]}",
       "raw NUL"},
  };
  for (const auto& [body, what] : corpus) {
    ExpectApiError(Request(port(), "POST", "/v1/chat/completions", body, kKey), 400, what);
  }
  ExpectStillServing();
}

TEST_F(ServeMalformed, BadCompletionTokenizeDetokenizeBodies) {
  const std::vector<std::tuple<std::string, std::string, std::string>> corpus = {
      {"/v1/completions", "{}", "missing prompt"},
      {"/v1/completions", R"({"prompt":5})", "prompt a number"},
      {"/v1/completions", R"({"prompt":[]})", "prompt empty"},
      {"/v1/completions", R"({"prompt":[-1]})", "negative id"},
      {"/v1/completions", R"({"prompt":[99999999]})", "id out of vocab"},
      {"/v1/completions", R"({"prompt":[1.5]})", "fractional id"},
      {"/v1/completions", R"({"prompt":["a","b"]})", "two prompts"},
      {"/v1/completions", R"({"prompt":"hi","echo":true})", "echo"},
      {"/v1/completions", R"({"prompt":"hi","logprobs":true})", "legacy logprobs a bool"},
      {"/v1/completions", R"({"prompt":"hi","logprobs":99})", "legacy logprobs too big"},
      {"/tokenize", "{}", "missing content"},
      {"/tokenize", R"({"content":5})", "content a number"},
      {"/tokenize", R"({"content":"x","add_special":"yes"})", "add_special a string"},
      {"/detokenize", "{}", "missing tokens"},
      {"/detokenize", R"({"tokens":[-1]})", "negative token"},
      {"/detokenize", R"({"tokens":[1e10]})", "huge token"},
      {"/detokenize", R"({"tokens":["a"]})", "string token"},
  };
  for (const auto& [path, body, what] : corpus) {
    ExpectApiError(Request(port(), "POST", path, body, kKey), 400, path + ": " + what);
  }
  // A prompt longer than the context (256 here).
  std::string ids = "[";
  for (int i = 0; i < 300; ++i) ids += (i ? ",1" : "1");
  ids += "]";
  const HttpResult r =
      Request(port(), "POST", "/v1/completions", R"({"prompt":)" + ids + "}", kKey);
  ExpectApiError(r, 400, "prompt longer than the context");
  EXPECT_NE(r.body.find("context_length_exceeded"), std::string::npos) << r.body;
  ExpectStillServing();
}

TEST_F(ServeMalformed, UnknownFieldsAreIgnored) {
  const HttpResult r = Request(
      port(), "POST", "/v1/chat/completions",
      R"({"messages":[{"role":"user","content":"hi","extra":1}],"max_tokens":2,"temperature":0,
          "whatever":{"a":[1,2]},"user":"u1","metadata":null})",
      kKey);
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(ServeMalformed, AuthRoutesAndModels) {
  ExpectApiError(Request(port(), "GET", "/v1/models"), 401, "no key");
  ExpectApiError(Request(port(), "GET", "/v1/models", "", "wrong"), 401, "wrong key");
  ExpectApiError(Request(port(), "GET", "/metrics"), 401, "metrics need the key");
  ExpectApiError(Request(port(), "POST", "/v1/nothing", "{}", kKey), 404, "unknown route");
  ExpectApiError(Request(port(), "GET", "/v1/chat/completions", "", kKey), 405, "wrong method");
  ExpectApiError(Request(port(), "POST", "/v1/chat/completions",
                         R"({"model":"gpt-9","messages":[{"role":"user","content":"hi"}]})", kKey),
                 404, "unknown model");
  EXPECT_EQ(Request(port(), "GET", "/health").status, 200);
  EXPECT_EQ(Request(port(), "GET", "/ready").status, 200);
  ExpectStillServing();
}

TEST_F(ServeMalformed, OversizedAndBrokenHttp) {
  // A 10 MB body: refused with 413 (the server reads and drops what the client still sends).
  const std::string big(10 * 1024 * 1024, 'x');
  ExpectApiError(RawRequest(port(), BuildRequest("POST", "/v1/chat/completions", big, kKey)), 413,
                 "10 MB body");
  // Headers over the limit.
  std::string req =
      "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(64 * 1024, 'a') + "\r\n\r\n";
  const HttpResult headers = RawRequest(port(), req);
  EXPECT_GE(headers.status, 400);
  EXPECT_LT(headers.status, 500);
  // Not HTTP at all, a bad version, a bad chunked body.
  for (const std::string& bad :
       {std::string("GARBAGE\r\n\r\n"), std::string("GET / HTTP/9.9\r\n\r\n"),
        std::string("GET /health HTTP/1.1\r\nContent-Length: -1\r\n\r\n"),
        std::string("POST /tokenize HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "zz\r\nabc\r\n0\r\n\r\n")}) {
    const HttpResult r = RawRequest(port(), bad);
    EXPECT_GE(r.status, 400) << bad;
    EXPECT_LT(r.status, 500) << bad;
  }
  // A request cut off in the middle, then the connection closed.
  {
    net::io_context ioc;
    auto s = Connect(ioc, port());
    ASSERT_TRUE(s.has_value());
    net::write(*s, net::buffer(std::string("POST /v1/chat/completions HTTP/1.1\r\nContent-Le")));
  }
  ExpectStillServing();
}

TEST_F(ServeMalformed, KeepAliveAfterAnError) {
  net::io_context ioc;
  auto s = Connect(ioc, port());
  ASSERT_TRUE(s.has_value());
  beast::flat_buffer buffer;
  net::write(*s, net::buffer(BuildRequest("POST", "/tokenize", "{bad", kKey, true)));
  EXPECT_EQ(ReadResponse(*s, buffer).status, 400);
  net::write(*s, net::buffer(BuildRequest("POST", "/tokenize", R"({"content":"hi"})", kKey, true)));
  const HttpResult ok = ReadResponse(*s, buffer);
  EXPECT_EQ(ok.status, 200) << ok.body;
}

TEST_F(ServeMalformed, RandomMutationsNeverBreakTheServer) {
  const std::string valid =
      R"({"model":"deepseek-reasoner","messages":[{"role":"user","content":"hello"}],)"
      R"("max_tokens":3,"temperature":0.5,"seed":7,"stop":["x"],"stream":false})";
  std::mt19937 rng(1234);
  for (int i = 0; i < 150; ++i) {
    std::string body = valid;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % body.size();
      switch (rng() % 3) {
        case 0:
          body[at] = static_cast<char>(rng() % 256);
          break;
        case 1:
          body.erase(at, 1 + rng() % 8);
          break;
        default:
          body.insert(at, 1, "{}[]\",:0-e9\\\xff"[rng() % 13]);
      }
      if (body.empty()) body = "{";
    }
    const HttpResult r = Request(port(), "POST", "/v1/chat/completions", body, kKey);
    ASSERT_TRUE(r.status == 200 || (r.status >= 400 && r.status < 500))
        << "status " << r.status << " for body: " << body << "\n"
        << r.body;
    if (r.status != 200) {
      auto j = nlohmann::json::parse(r.body, nullptr, false);
      EXPECT_TRUE(j.is_object() && j.contains("error")) << r.body;
    }
  }
  ExpectStillServing();
}

}  // namespace
}  // namespace r1d::testing
