// The store layout, manifests, ResolveModelPath, rm, and refusal of symlinks.
#include "store/model_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "test_util.h"

namespace r1d::store {
namespace {

namespace fs = std::filesystem;
using ::r1d::testing::MakeTempDir;
using ::r1d::testing::WriteFile;

// Puts a fake pulled model into `store` (content need not be GGUF for these tests).
void AddModel(const ModelStore& store, const ModelRef& ref, const std::string& content) {
  Manifest m;
  m.ref = ref.ToString();
  m.pulled_at = "2025-01-01T00:00:00Z";
  for (const auto& f : ref.PartFiles()) {
    const std::string path = store.ModelPath(ref, f);
    ASSERT_TRUE(store.PrepareParent(path).ok());
    WriteFile(path, content);
    m.files.push_back({f, content.size(), std::string(64, 'a'), false});
  }
  ASSERT_TRUE(store.WriteManifest(ref, m).ok());
}

TEST(ModelStore, ManifestRoundTrip) {
  Manifest m;
  m.ref = "hf:a/b/c.gguf";
  m.source = "http://h/a/b/resolve/main/c.gguf";
  m.pulled_at = "2025-01-01T00:00:00Z";
  m.files.push_back({"c.gguf", 42, std::string(64, 'b'), true});
  auto back = ManifestFromJson(ManifestToJson(m), "x");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->ref, m.ref);
  EXPECT_EQ(back->TotalSize(), 42u);
  EXPECT_TRUE(back->files[0].hub_verified);
  EXPECT_FALSE(ManifestFromJson("{", "x").ok());
  EXPECT_FALSE(ManifestFromJson(R"({"ref":"hf:a/b/c.gguf","files":[]})", "x").ok());
}

TEST(ModelStore, ResolvesPathsRefsAndTags) {
  const std::string root = MakeTempDir();
  ModelStore store(root);
  const std::string plain = root + "/plain.gguf";
  WriteFile(plain, "x");
  EXPECT_EQ(*ResolveModelPath(plain, store), plain);

  auto missing = ResolveModelPath("hf:acme/tiny-GGUF/m.gguf", store);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("run: r1d pull hf:acme/tiny-GGUF/m.gguf"),
            std::string::npos)
      << missing.status().message();
  auto tag = ResolveModelPath("deepseek-r1:1.5b", store);
  ASSERT_FALSE(tag.ok());
  EXPECT_NE(tag.status().message().find("run: r1d pull deepseek-r1:1.5b"), std::string::npos);
  auto neither = ResolveModelPath(root + "/nope.gguf", store);
  ASSERT_FALSE(neither.ok());
  EXPECT_NE(neither.status().message().find("no such file"), std::string::npos);

  const ModelRef ref = *ParseModelRef("hf:acme/tiny-GGUF/m.gguf");
  AddModel(store, ref, "model");
  auto found = ResolveModelPath("hf:acme/tiny-GGUF/m.gguf", store);
  ASSERT_TRUE(found.ok()) << found.status().message();
  EXPECT_EQ(*found, root + "/models/acme/tiny-GGUF/m.gguf");

  const ModelRef tagged = *ParseModelRef("deepseek-r1:1.5b-q4_k_m");
  AddModel(store, tagged, "model");
  auto by_tag = ResolveModelPath("deepseek-r1:1.5b", store);
  ASSERT_TRUE(by_tag.ok()) << by_tag.status().message();
  EXPECT_EQ(*by_tag, store.ModelPath(tagged, tagged.file));

  // A model file that lost bytes is not "pulled".
  WriteFile(*found, "mod");
  EXPECT_FALSE(ResolveModelPath("hf:acme/tiny-GGUF/m.gguf", store).ok());
}

TEST(ModelStore, ListAndRemove) {
  const std::string root = MakeTempDir();
  ModelStore store(root);
  const ModelRef one = *ParseModelRef("hf:acme/one-GGUF/one.gguf");
  const ModelRef split = *ParseModelRef("hf:acme/big-GGUF/q/big-00001-of-00002.gguf");
  AddModel(store, one, "1");
  AddModel(store, split, "22");
  // A manifest copied to the wrong place is ignored, not trusted.
  fs::create_directories(root + "/manifests/evil/x");
  WriteFile(root + "/manifests/evil/x/y.gguf.json",
            R"({"ref":"hf:acme/one-GGUF/one.gguf","files":[{"name":"one.gguf","size":1}]})");
  std::vector<std::string> problems;
  auto list = store.List(&problems);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].ref, split.ToString());
  EXPECT_EQ(list[0].TotalSize(), 4u);
  EXPECT_EQ(list[1].ref, one.ToString());
  EXPECT_EQ(problems.size(), 1u);

  ASSERT_TRUE(store.Remove(split).ok());
  EXPECT_FALSE(fs::exists(store.ModelPath(split, "q/big-00002-of-00002.gguf")));
  EXPECT_FALSE(fs::exists(root + "/models/acme/big-GGUF"));  // empty folders pruned
  EXPECT_TRUE(fs::exists(store.ModelPath(one, one.file)));
  EXPECT_EQ(store.List(nullptr).size(), 1u);
  auto again = store.Remove(split);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.message().find("not in the store"), std::string::npos);
}

TEST(ModelStore, RefusesSymlinksInsideTheStore) {
  const std::string root = MakeTempDir();
  const std::string outside = MakeTempDir();
  ModelStore store(root);
  fs::create_directories(root + "/models");
  fs::create_directory_symlink(outside, root + "/models/acme");
  const ModelRef ref = *ParseModelRef("hf:acme/r/m.gguf");
  Status st = store.PrepareParent(store.ModelPath(ref, ref.file));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("symbolic link"), std::string::npos) << st.message();
  EXPECT_TRUE(fs::is_empty(outside));

  // A manifest pointing at a symlinked model file does not resolve.
  fs::remove(root + "/models/acme");
  AddModel(store, ref, "m");
  const std::string model = store.ModelPath(ref, ref.file);
  WriteFile(outside + "/target", "m");
  fs::remove(model);
  fs::create_symlink(outside + "/target", model);
  EXPECT_FALSE(ResolveModelPath("hf:acme/r/m.gguf", store).ok());
  // rm refuses to act through links too, and leaves the target alone.
  EXPECT_FALSE(store.Remove(ref).ok());
  EXPECT_TRUE(fs::exists(outside + "/target"));
}

}  // namespace
}  // namespace r1d::store
