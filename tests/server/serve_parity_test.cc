// Greedy output through the server equals `r1d generate` for the same token-id prompt, alone
// and while 15 other (sampled) requests run in the same batches.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "server_harness.h"

namespace r1d::testing {
namespace {

constexpr const char* kKey = "parity-key";
constexpr int kTokens = 32;

struct Completion {
  std::vector<int32_t> tokens;
  std::string text;
  std::string finish;
};

Completion Complete(int port, const std::vector<int32_t>& prompt) {
  nlohmann::json body = {
      {"prompt", prompt}, {"max_tokens", kTokens}, {"temperature", 0}, {"return_tokens", true}};
  const HttpResult r = Request(port, "POST", "/v1/completions", body.dump(), kKey);
  Completion c;
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (r.status != 200 || !j.is_object()) {
    ADD_FAILURE() << r.status << " " << r.body;
    return c;
  }
  c.tokens = j["choices"][0]["tokens"].get<std::vector<int32_t>>();
  c.text = j["choices"][0]["text"];
  c.finish = j["choices"][0]["finish_reason"];
  return c;
}

class ServeParity : public ::testing::Test {
 protected:
  void SetUp() override {
    R1D_REQUIRE_TESTDATA();
    ASSERT_TRUE(server_.Start(
        {"-m", QwenTinyModel(), "--api-key", kKey, "-t", "2", "--parallel", "16", "--ctx", "512"}))
        << server_.log();
    // The prompt as token ids, from the server's tokenizer.
    const HttpResult t =
        Request(server_.port(), "POST", "/tokenize",
                R"({"content":"The quick brown fox jumps over","add_special":true})", kKey);
    ASSERT_EQ(t.status, 200) << t.body;
    prompt_ = nlohmann::json::parse(t.body)["tokens"].get<std::vector<int32_t>>();
    ASSERT_FALSE(prompt_.empty());
    std::string ids;
    for (int32_t id : prompt_) ids += (ids.empty() ? "" : ",") + std::to_string(id);
    const CommandResult gen =
        RunR1d("generate -m " + QwenTinyModel() + " --prompt-ids " + ids + " -n " +
               std::to_string(kTokens) + " --temp 0 --ctx 512 -t 2 --json");
    ASSERT_EQ(gen.exit_code, 0) << gen.err;
    expected_ = nlohmann::json::parse(gen.out)["generated_tokens"].get<std::vector<int32_t>>();
    const CommandResult text =
        RunR1d("generate -m " + QwenTinyModel() + " --prompt-ids " + ids + " -n " +
               std::to_string(kTokens) + " --temp 0 --ctx 512 -t 2");
    ASSERT_EQ(text.exit_code, 0) << text.err;
    expected_text_ = text.out.substr(0, text.out.size() - 1);  // generate ends with a newline
  }

  void ExpectSameAsGenerate(const Completion& c) {
    // The server reports text tokens; generate also lists the end token that stopped it.
    std::vector<int32_t> expected = expected_;
    if (c.finish == "stop" && !expected.empty()) expected.pop_back();
    EXPECT_EQ(c.tokens, expected);
    EXPECT_EQ(c.text, expected_text_);
  }

  ServerProcess server_;
  std::vector<int32_t> prompt_;
  std::vector<int32_t> expected_;
  std::string expected_text_;
};

TEST_F(ServeParity, GreedyEqualsGenerateAlone) {
  ExpectSameAsGenerate(Complete(server_.port(), prompt_));
}

TEST_F(ServeParity, GreedyEqualsGenerateAmongFifteenOthers) {
  const int port = server_.port();
  std::vector<std::unique_ptr<RawStream>> others;
  for (int i = 0; i < 15; ++i) {
    nlohmann::json body = {{"prompt", "Story number " + std::to_string(i) + ":"},
                           {"max_tokens", 200},
                           {"temperature", 0.9},
                           {"seed", i},
                           {"ignore_eos", true},
                           {"stream", true}};
    others.push_back(std::make_unique<RawStream>(
        port, BuildRequest("POST", "/v1/completions", body.dump(), kKey)));
    ASSERT_TRUE(others.back()->ok());
  }
  // All fifteen are generating before the greedy request joins the batch.
  for (auto& s : others) ASSERT_TRUE(s->ReadUntil("data: ", 2)) << s->received();
  const Completion c = Complete(port, prompt_);
  ExpectSameAsGenerate(c);
  // The others, 200 tokens each, were mid-generation around it; they finish normally.
  for (auto& s : others) {
    EXPECT_TRUE(s->ReadUntil("data: [DONE]")) << s->received();
    EXPECT_NE(s->received().find("\"finish_reason\":\"length\""), std::string::npos)
        << s->received();
  }
}

}  // namespace
}  // namespace r1d::testing
