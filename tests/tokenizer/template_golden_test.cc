// Golden test: every template x conversation in ../shared/testdata/templates renders byte for
// byte like the reference (Jinja2 as transformers configures it), or fails when it raised.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <ctime>
#include <nlohmann/json.hpp>
#include <string>

#include "test_util.h"
#include "tokenizer/chat_template.h"

namespace r1d::tokenizer {
namespace {

using nlohmann::ordered_json;

const char* kBosEosRule =
    "deepseek* -> <\xEF\xBD\x9C"
    "begin\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>/<\xEF\xBD\x9C"
    "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>; *llama-3* -> <|begin_of_text|>/</s>; "
    "else <s>/</s>";

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The rule of cases.json, as the reference applied it (the name contains the key).
std::pair<std::string, std::string> BosEos(const std::string& template_name) {
  std::string n = Lower(template_name);
  if (n.find("deepseek") != std::string::npos) {
    return {
        "<\xEF\xBD\x9C"
        "begin\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",
        "<\xEF\xBD\x9C"
        "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>"};
  }
  if (n.find("llama-3") != std::string::npos) return {"<|begin_of_text|>", "</s>"};
  return {"<s>", "</s>"};
}

std::tm DateOf(const std::string& ymd) {
  std::tm tm{};
  int y = 0, m = 0, d = 0;
  EXPECT_EQ(std::sscanf(ymd.c_str(), "%d-%d-%d", &y, &m, &d), 3);
  tm.tm_year = y - 1900;
  tm.tm_mon = m - 1;
  tm.tm_mday = d;
  std::time_t t = timegm(&tm);
  gmtime_r(&t, &tm);
  return tm;
}

ChatTemplateInputs InputsFor(const ordered_json& c, const std::string& template_name) {
  ChatTemplateInputs in;
  in.messages = c.at("messages");
  if (c.contains("tools")) in.tools = c.at("tools");
  in.add_generation_prompt = c.at("add_generation_prompt").get<bool>();
  auto [bos, eos] = BosEos(template_name);
  in.bos_token = bos;
  in.eos_token = eos;
  return in;
}

class TemplateGolden : public ::testing::Test {
 protected:
  void SetUp() override {
    if (r1d::testing::TestDataDir().empty()) GTEST_SKIP() << "../shared/testdata not found";
    dir_ = r1d::testing::TestDataDir() + "/templates";
    cases_ = ordered_json::parse(r1d::testing::ReadFile(dir_ + "/expected/cases.json"));
    ASSERT_EQ(cases_.at("bos_eos_rule").get<std::string>(), kBosEosRule)
        << "cases.json changed its BOS/EOS rule; update BosEos()";
    std::tm date = DateOf(cases_.at("strftime_now_date").get<std::string>());
    options_.now = [date]() { return date; };
  }

  std::string dir_;
  ordered_json cases_;
  jinja::RenderOptions options_;
};

TEST_F(TemplateGolden, AllTemplatesAllCases) {
  int checked = 0, rendered = 0, raised = 0;
  for (auto t = cases_["results"].begin(); t != cases_["results"].end(); ++t) {
    const std::string name = t.key();
    std::string source = r1d::testing::ReadFile(dir_ + "/" + name + ".jinja");
    ASSERT_FALSE(source.empty()) << name;
    Result<ChatTemplate> tmpl = ChatTemplate::Parse(source, name);
    ASSERT_TRUE(tmpl.ok()) << tmpl.status().message();
    for (auto r = t.value().begin(); r != t.value().end(); ++r) {
      SCOPED_TRACE(name + " / " + r.key());
      const std::string expected = r.value().get<std::string>();
      Result<std::string> out = tmpl->Apply(InputsFor(cases_["cases"][r.key()], name), options_);
      ++checked;
      if (expected == "ok") {
        ASSERT_TRUE(out.ok()) << out.status().message();
        std::string want =
            r1d::testing::ReadFile(dir_ + "/expected/" + name + "." + r.key() + ".txt");
        EXPECT_EQ(*out, want);
        ++rendered;
      } else {
        ASSERT_EQ(expected.rfind("error: ", 0), 0u) << expected;
        ASSERT_FALSE(out.ok()) << "rendered but the reference raised: " << expected;
        EXPECT_NE(out.status().message().find(expected.substr(7)), std::string::npos)
            << out.status().message();
        ++raised;
      }
    }
  }
  EXPECT_GE(checked, 80);
  EXPECT_GT(rendered, 0);
  EXPECT_GT(raised, 0);
}

// The built-in template must render exactly like DeepSeek's own (the distill templates ship the
// same format).
TEST_F(TemplateGolden, BuiltinDeepSeekR1MatchesOfficialTemplate) {
  ChatTemplate builtin = ChatTemplate::BuiltinDeepSeekR1();
  const std::string name = "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B";
  for (auto r = cases_["results"][name].begin(); r != cases_["results"][name].end(); ++r) {
    SCOPED_TRACE(r.key());
    Result<std::string> out = builtin.Apply(InputsFor(cases_["cases"][r.key()], name), options_);
    ASSERT_TRUE(out.ok()) << out.status().message();
    EXPECT_EQ(*out, r1d::testing::ReadFile(dir_ + "/expected/" + name + "." + r.key() + ".txt"));
  }
}

bool BinaryBuilt() {
  struct stat st {};
  return ::stat(R1D_BINARY, &st) == 0;
}

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  return out + "'";
}

TEST_F(TemplateGolden, CliRendersByteForByte) {
  if (!BinaryBuilt()) GTEST_SKIP() << "r1d binary not built";
  std::string tmp = r1d::testing::MakeTempDir();
  struct Check {
    std::string tmpl, kase;
  };
  for (const Check& c : {Check{"Qwen-Qwen2.5-7B-Instruct", "tool_call"},
                         Check{"meta-llama-Llama-3.2-3B-Instruct", "system"},
                         Check{"deepseek-ai-DeepSeek-R1-Distill-Llama-8B", "multiturn_think"}}) {
    SCOPED_TRACE(c.tmpl + " / " + c.kase);
    const ordered_json& kase = cases_["cases"][c.kase];
    std::string msgs = tmp + "/messages.json", tools = tmp + "/tools.json";
    r1d::testing::WriteFile(msgs, kase["messages"].dump());
    auto [bos, eos] = BosEos(c.tmpl);
    std::string args = "template --template " + Quote(dir_ + "/" + c.tmpl + ".jinja") +
                       " --messages " + Quote(msgs) + " --bos-token " + Quote(bos) +
                       " --eos-token " + Quote(eos) + " --date " +
                       cases_["strftime_now_date"].get<std::string>();
    if (kase.contains("tools")) {
      r1d::testing::WriteFile(tools, kase["tools"].dump());
      args += " --tools " + Quote(tools);
    }
    if (kase["add_generation_prompt"].get<bool>()) args += " --add-generation-prompt";
    r1d::testing::CommandResult r = r1d::testing::RunR1d(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, r1d::testing::ReadFile(dir_ + "/expected/" + c.tmpl + "." + c.kase + ".txt"));
  }
}

TEST_F(TemplateGolden, CliReportsTemplateErrorsOnOneLine) {
  if (!BinaryBuilt()) GTEST_SKIP() << "r1d binary not built";
  std::string tmp = r1d::testing::MakeTempDir();
  std::string msgs = tmp + "/messages.json";
  r1d::testing::WriteFile(msgs, cases_["cases"]["system"]["messages"].dump());
  r1d::testing::CommandResult r =
      r1d::testing::RunR1d("template --template " + Quote(dir_ + "/google-gemma-2-2b-it.jinja") +
                           " --messages " + Quote(msgs) + " --add-generation-prompt");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.signal, 0);
  EXPECT_TRUE(r.out.empty());
  EXPECT_NE(r.err.find("System role not supported"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
}

}  // namespace
}  // namespace r1d::tokenizer
