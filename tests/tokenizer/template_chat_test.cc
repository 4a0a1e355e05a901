// ChatTemplate glue: the variables transformers passes, GGUF metadata, the CLI's -m path.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <string>

#include "formats/gguf_reader.h"
#include "formats/gguf_writer.h"
#include "test_util.h"
#include "tokenizer/chat_template.h"

namespace r1d::tokenizer {
namespace {

using nlohmann::ordered_json;

std::string Apply(const std::string& source, const ChatTemplateInputs& in) {
  Result<ChatTemplate> t = ChatTemplate::Parse(source);
  if (!t.ok()) return "PARSE ERROR: " + t.status().message();
  Result<std::string> out = t->Apply(in);
  return out.ok() ? *out : "ERROR: " + out.status().message();
}

TEST(ChatTemplate, PassesTheVariablesTransformersPasses) {
  ChatTemplateInputs in;
  in.messages = ordered_json::parse(R"([{"role": "user", "content": "Hi"}])");
  in.bos_token = "<s>";
  in.eos_token = "</s>";
  in.add_generation_prompt = true;
  const std::string probe =
      "{{ bos_token }}|{{ eos_token }}|{{ add_generation_prompt }}|{{ tools is defined }}|"
      "{{ messages|length }}|{{ enable_thinking is defined }}";
  EXPECT_EQ(Apply(probe, in), "<s>|</s>|True|False|1|False");
  in.tools = ordered_json::array();
  in.extra_context = ordered_json::parse(R"({"enable_thinking": false, "bos_token": "ignored"})");
  EXPECT_EQ(Apply(probe, in), "<s>|</s>|True|True|1|True");
}

TEST(ChatTemplate, RejectsMalformedInputs) {
  ChatTemplateInputs in;
  in.messages = ordered_json::object();
  EXPECT_NE(Apply("x", in).find("messages must be a JSON array"), std::string::npos);
  in.messages = ordered_json::array();
  in.extra_context = 5;
  EXPECT_NE(Apply("x", in).find("must be a JSON object"), std::string::npos);
}

TEST(ChatTemplate, BuiltinDeepSeekR1Template) {
  // Like DeepSeek's template, only the text before </think> is dropped (the "\n\n" stays).
  ChatTemplateInputs in;
  in.messages = ordered_json::parse(R"([
    {"role": "system", "content": "S"},
    {"role": "user", "content": "Q1"},
    {"role": "assistant", "content": "<think>r</think>\n\nA1"},
    {"role": "user", "content": "Q2"}])");
  in.bos_token = "<BOS>";
  in.add_generation_prompt = true;
  Result<std::string> out = ChatTemplate::BuiltinDeepSeekR1().Apply(in);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(
      *out,
      "<BOS>S<｜User｜>Q1<｜Assistant｜>\n\nA1<｜end▁of▁sentence｜><｜User｜>Q2<｜Assistant｜><"
      "think>\n");
}

std::string WriteModel(const std::string& dir, bool with_template) {
  formats::GgufWriter w;
  w.SetString("general.architecture", "llama");
  w.SetStringArray("tokenizer.ggml.tokens", {"<unk>", "<BOS>", "<EOS>", "hi"});
  w.SetUint32("tokenizer.ggml.bos_token_id", 1);
  w.SetUint32("tokenizer.ggml.eos_token_id", 2);
  if (with_template) {
    w.SetString("tokenizer.chat_template",
                "{{ bos_token }}{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}"
                "{% if add_generation_prompt %}[assistant]{% endif %}{{ eos_token }}");
  }
  std::string path = dir + (with_template ? "/with.gguf" : "/without.gguf");
  Status s = w.WriteFile(path);
  EXPECT_TRUE(s.ok()) << s.message();
  return path;
}

TEST(ChatTemplate, ReadsTemplateAndSpecialTokensFromGguf) {
  std::string dir = r1d::testing::MakeTempDir();
  for (bool with_template : {true, false}) {
    auto gguf = formats::GgufFile::Open(WriteModel(dir, with_template));
    ASSERT_TRUE(gguf.ok()) << gguf.status().message();
    Result<ModelChatInfo> info = ReadModelChatInfo(**gguf);
    ASSERT_TRUE(info.ok()) << info.status().message();
    EXPECT_EQ(info->builtin, !with_template);
    EXPECT_EQ(info->bos_token, "<BOS>");
    EXPECT_EQ(info->eos_token, "<EOS>");
    if (!with_template) {
      EXPECT_EQ(info->template_source, ChatTemplate::BuiltinDeepSeekR1Source());
    }
  }
}

TEST(ChatTemplate, BadTokenIdIsAnError) {
  formats::GgufWriter w;
  w.SetStringArray("tokenizer.ggml.tokens", {"a"});
  w.SetUint32("tokenizer.ggml.bos_token_id", 7);
  std::string bytes = w.Finish();
  auto gguf = formats::GgufFile::Parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                                       "mem.gguf");
  ASSERT_TRUE(gguf.ok()) << gguf.status().message();
  Result<ModelChatInfo> info = ReadModelChatInfo(**gguf);
  ASSERT_FALSE(info.ok());
  EXPECT_NE(info.status().message().find("tokenizer.ggml.bos_token_id"), std::string::npos);
}

TEST(ChatTemplate, CliUsesTheModelTemplate) {
  struct stat st {};
  if (::stat(R1D_BINARY, &st) != 0) GTEST_SKIP() << "r1d binary not built";
  std::string dir = r1d::testing::MakeTempDir();
  std::string model = WriteModel(dir, true);
  r1d::testing::WriteFile(dir + "/m.json", R"([{"role": "user", "content": "Hello"}])");
  auto r = r1d::testing::RunR1d("template -m " + model + " --messages " + dir +
                                "/m.json --add-generation-prompt");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "<BOS>[user]Hello[assistant]<EOS>");
  // --bos-token / --eos-token override the model's.
  r = r1d::testing::RunR1d("template -m " + model + " --messages " + dir +
                           "/m.json --bos-token '' --eos-token '!'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "[user]Hello!");
  // A model without a template falls back to the built-in DeepSeek-R1 one.
  r = r1d::testing::RunR1d("template -m " + WriteModel(dir, false) + " --messages " + dir +
                           "/m.json --add-generation-prompt");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "<BOS><｜User｜>Hello<｜Assistant｜><think>\n");
}

TEST(ChatTemplate, CliRejectsBadArguments) {
  struct stat st {};
  if (::stat(R1D_BINARY, &st) != 0) GTEST_SKIP() << "r1d binary not built";
  std::string dir = r1d::testing::MakeTempDir();
  r1d::testing::WriteFile(dir + "/t.jinja", "{{ messages[0].content }}");
  r1d::testing::WriteFile(dir + "/bad.json", "[{");
  auto r = r1d::testing::RunR1d("template --template " + dir + "/t.jinja --messages " + dir +
                                "/bad.json");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("not valid JSON"), std::string::npos) << r.err;
  r1d::testing::WriteFile(dir + "/m.json", "[]");
  r = r1d::testing::RunR1d("template --messages " + dir + "/m.json");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("exactly one of --template"), std::string::npos) << r.err;
  r1d::testing::WriteFile(dir + "/broken.jinja", "ok\n{% for x in messages %}");
  r = r1d::testing::RunR1d("template --template " + dir + "/broken.jinja --messages " + dir +
                           "/m.json");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("line 2"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace r1d::tokenizer
