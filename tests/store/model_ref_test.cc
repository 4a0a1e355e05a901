// References, tags, the catalog and SHA-256.
#include "store/model_ref.h"

#include <gtest/gtest.h>

#include <set>

#include "store/catalog.h"
#include "store/downloader.h"
#include "store/sha256.h"

namespace r1d::store {
namespace {

TEST(Sha256, KnownAnswers) {
  Sha256 h;
  EXPECT_EQ(h.HexDigest(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  h.Update("abc");
  EXPECT_EQ(h.HexDigest(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  h.Update("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq");
  EXPECT_EQ(h.HexDigest(), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const std::string million(1000000, 'a');
  h.Update(million);
  EXPECT_EQ(h.HexDigest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, StreamingInOddPiecesMatchesOneShot) {
  std::string data;
  for (int i = 0; i < 5000; ++i) data.push_back(static_cast<char>(i * 7 + 3));
  Sha256 one;
  one.Update(data);
  const std::string expected = one.HexDigest();
  for (size_t piece : {1u, 3u, 63u, 64u, 65u, 1000u}) {
    Sha256 h;
    for (size_t at = 0; at < data.size(); at += piece) h.Update(data.substr(at, piece));
    EXPECT_EQ(h.HexDigest(), expected) << "pieces of " << piece;
  }
}

TEST(Sha256, HexCheck) {
  EXPECT_TRUE(IsSha256Hex(std::string(64, 'a')));
  EXPECT_TRUE(IsSha256Hex(std::string(64, 'F')));
  EXPECT_FALSE(IsSha256Hex(std::string(63, 'a')));
  EXPECT_FALSE(IsSha256Hex(std::string(63, 'a') + "g"));
}

TEST(ModelRef, ParsesHubReferences) {
  auto ref = ParseModelRef("hf:acme/tiny-r1-GGUF/stories260K.gguf");
  ASSERT_TRUE(ref.ok()) << ref.status().message();
  EXPECT_EQ(ref->owner, "acme");
  EXPECT_EQ(ref->repo, "tiny-r1-GGUF");
  EXPECT_EQ(ref->file, "stories260K.gguf");
  EXPECT_EQ(ref->ToString(), "hf:acme/tiny-r1-GGUF/stories260K.gguf");
  EXPECT_EQ(ref->PartFiles(), std::vector<std::string>{"stories260K.gguf"});

  auto nested = ParseModelRef("hf:o/r/Q4_K_M/m+x_1.5-Q4_K_M.gguf");
  ASSERT_TRUE(nested.ok()) << nested.status().message();
  EXPECT_EQ(nested->file, "Q4_K_M/m+x_1.5-Q4_K_M.gguf");
}

TEST(ModelRef, MultiPartNamesMeanEveryPart) {
  auto ref = ParseModelRef("hf:o/r/big/M-Q8_0-00002-of-00003.gguf");
  ASSERT_TRUE(ref.ok()) << ref.status().message();
  EXPECT_EQ(ref->file, "big/M-Q8_0-00001-of-00003.gguf");  // normalised to part 1
  EXPECT_EQ(ref->PartFiles(), (std::vector<std::string>{"big/M-Q8_0-00001-of-00003.gguf",
                                                        "big/M-Q8_0-00002-of-00003.gguf",
                                                        "big/M-Q8_0-00003-of-00003.gguf"}));
  EXPECT_FALSE(ParseSplitName("M-00004-of-00003.gguf").has_value());
  EXPECT_FALSE(ParseSplitName("M-00000-of-00003.gguf").has_value());
  EXPECT_FALSE(ParseSplitName("M-0001-of-00003.gguf").has_value());
}

TEST(ModelRef, RefusesNamesThatCouldEscapeTheStore) {
  for (const char* bad : {
           "hf:../x/y.gguf",
           "hf:a/../y.gguf",
           "hf:a/b/../../etc/x.gguf",
           "hf:a/b/../x.gguf",
           "hf:a/b//x.gguf",
           "hf:a/b/x/",
           "hf:/abs/b/x.gguf",
           "hf:a/b//etc/x.gguf",
           "hf:a/b/.hidden.gguf",
           "hf:a/b/x.bin",
           "hf:a/b/x y.gguf",
           "hf:a/b/x\n.gguf",
           "hf:a/b/x%2f..%2fy.gguf",
           "hf:a/b/x\\..\\y.gguf",
           "hf:.a/b/x.gguf",
           "hf:-a/b/x.gguf",
           "hf:a/b",
           "hf:a",
           "hf:a/b/.gguf",
           "hf:a/b/c/d/e/f/x.gguf",
           "hf:a/b/~/x.gguf",
       }) {
    auto ref = ParseModelRef(bad);
    EXPECT_FALSE(ref.ok()) << "accepted " << bad;
    if (!ref.ok()) {
      EXPECT_NE(ref.status().message().find("invalid model reference"), std::string::npos)
          << ref.status().message();
      EXPECT_EQ(ref.status().message().find('\n'), std::string::npos);
    }
  }
}

TEST(ModelRef, NotAReferenceOrUnknownTag) {
  auto plain = ParseModelRef("model.gguf");
  ASSERT_FALSE(plain.ok());
  EXPECT_NE(plain.status().message().find("hf:<owner>/<repo>/<file>.gguf"), std::string::npos);
  auto unknown = ParseModelRef("deepseek-r1:3b");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("unknown tag 'deepseek-r1:3b'"), std::string::npos);
  EXPECT_NE(unknown.status().message().find(":1.5b"), std::string::npos);
  EXPECT_TRUE(LooksLikeModelRef("deepseek-r1:3b"));
  EXPECT_TRUE(LooksLikeModelRef("hf:x"));
  EXPECT_FALSE(LooksLikeModelRef("models/x.gguf"));
}

TEST(Catalog, EverySizeHasDefaultAndVariants) {
  for (const char* size : {"1.5b", "7b", "8b", "14b", "32b", "70b", "671b"}) {
    const std::string tag = std::string("deepseek-r1:") + size;
    for (const std::string& t : {tag, tag + "-q8_0", tag + "-q4_k_m"}) {
      auto ref = ParseModelRef(t);
      ASSERT_TRUE(ref.ok()) << t << ": " << ref.status().message();
      EXPECT_EQ(ref->tag, t);
      // The catalog's own names pass the same validation as user input.
      auto again = ParseModelRef(ref->ToString());
      ASSERT_TRUE(again.ok()) << ref->ToString() << ": " << again.status().message();
      EXPECT_EQ(*again, *ref);
    }
    EXPECT_EQ(*ParseModelRef(tag), *ParseModelRef(tag + "-q4_k_m")) << "default is Q4_K_M";
    EXPECT_NE(ParseModelRef(tag + "-q8_0")->file.find("Q8_0"), std::string::npos);
  }
  std::set<std::string> tags;
  for (const auto& entry : CatalogTags()) EXPECT_TRUE(tags.insert(entry.tag).second) << entry.tag;
  EXPECT_EQ(tags.size(), 21u);
}

TEST(Catalog, KnownRepositoriesAndMultiPart) {
  auto small = ParseModelRef("deepseek-r1:1.5b");
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(
      small->ToString(),
      "hf:unsloth/DeepSeek-R1-Distill-Qwen-1.5B-GGUF/DeepSeek-R1-Distill-Qwen-1.5B-Q4_K_M.gguf");
  auto full = ParseModelRef("deepseek-r1:671b");
  ASSERT_TRUE(full.ok());
  EXPECT_GT(full->PartFiles().size(), 1u);
  EXPECT_EQ(*ParseModelRef("DeepSeek-R1:7B"), *ParseModelRef("deepseek-r1:7b"));
  EXPECT_EQ(*ParseModelRef("deepseek-r1"), *ParseModelRef("deepseek-r1:7b"));
  EXPECT_EQ(TagsForRef(*small).front(), "deepseek-r1:1.5b");
  EXPECT_EQ(TagsForRef(*ParseModelRef("hf:a/b/c.gguf")).size(), 0u);
}

TEST(Downloader, RedactsCredentialsAndQueries) {
  EXPECT_EQ(RedactUrl("https://user:secret@hub.example/a/b?token=x"), "https://hub.example/a/b");
  EXPECT_EQ(RedactUrl("http://127.0.0.1:8/a/resolve/main/x.gguf"),
            "http://127.0.0.1:8/a/resolve/main/x.gguf");
  EXPECT_EQ(RedactUrl("http://h/a@b"), "http://h/a@b");  // '@' in the path is not userinfo
}

}  // namespace
}  // namespace r1d::store
