// `r1d pull / list / show / rm` end to end, against servers this test starts: the hub
// stand-in (tests/store/hub_server.py) and python's plain `http.server`.
#include <gtest/gtest.h>

#include <filesystem>

#include "store/test_hub.h"
#include "test_util.h"

namespace r1d::testing {
namespace {

namespace fs = std::filesystem;

const char* kRef = "hf:acme/tiny-r1-GGUF/stories260K.gguf";

class PullCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    R1D_REQUIRE_TESTDATA();
    model_ = TestDataDir() + "/models/stories260K.gguf";
    model_bytes_ = ReadFile(model_);
    ASSERT_FALSE(model_bytes_.empty());
    hub_ = MakeTempDir();
    // The store lives one level down so the test can see that nothing lands beside it.
    sandbox_ = MakeTempDir();
    home_ = sandbox_ + "/r1d-home";
    log_ = hub_ + "/requests.log";  // outside any <owner>/<repo>, so never served
  }
  // Hub layout for hub_server.py: <owner>/<repo>/<file>.
  void Publish(const std::string& repo_path, const std::string& source) {
    fs::create_directories(fs::path(hub_ + "/" + repo_path).parent_path());
    fs::copy_file(source, hub_ + "/" + repo_path, fs::copy_options::overwrite_existing);
  }
  CommandResult R1d(const TestServer& server, const std::string& args) {
    return RunR1dWith("HF_ENDPOINT=" + server.endpoint() + " R1D_HOME=" + home_ + " timeout 300",
                      args);
  }
  std::string Stored(const std::string& repo_path) { return home_ + "/models/" + repo_path; }
  // Files under models/ (the store proper), recursively.
  int ModelFiles() {
    if (!fs::exists(home_ + "/models")) return 0;
    int n = 0;
    for (const auto& e : fs::recursive_directory_iterator(home_ + "/models")) {
      n += e.is_regular_file() ? 1 : 0;
    }
    return n;
  }
  void ExpectListEmpty(const TestServer& server) {
    auto list = R1d(server, "list");
    EXPECT_EQ(list.exit_code, 0) << list.err;
    EXPECT_EQ(list.out.find("hf:"), std::string::npos) << list.out;
    EXPECT_EQ(CountOf(list.out, "\n"), 1) << list.out;  // the header only
    EXPECT_EQ(ModelFiles(), 0);
  }

  std::string model_, model_bytes_, hub_, sandbox_, home_, log_;
};

TEST_F(PullCliTest, PullListShowGenerateRemove) {
  Publish("acme/tiny-r1-GGUF/stories260K.gguf", model_);
  TestServer server(TestServer::HubArgs(hub_, log_, {"--etag", "sha256"}));
  ASSERT_GT(server.port(), 0) << server.server_stderr();

  auto pull = R1d(server, std::string("pull ") + kRef);
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  EXPECT_NE(pull.out.find("sha256 verified against the hub"), std::string::npos) << pull.out;
  EXPECT_NE(pull.err.find("pulling acme/tiny-r1-GGUF/stories260K.gguf"), std::string::npos);
  const std::string stored = Stored("acme/tiny-r1-GGUF/stories260K.gguf");
  EXPECT_EQ(ReadFile(stored), model_bytes_);
  EXPECT_FALSE(fs::exists(home_ + "/downloads/acme"));  // no partial left behind

  auto list = R1d(server, "list");
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find(kRef), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("llama"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find(stored), std::string::npos) << list.out;

  auto show = R1d(server, std::string("show ") + kRef);
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("architecture     llama"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("llama.block_count"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("chat template:"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("(verified against the hub)"), std::string::npos) << show.out;

  // A second pull downloads nothing.
  auto again = R1d(server, std::string("pull ") + kRef);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("up to date"), std::string::npos);
  EXPECT_EQ(CountOf(ReadFile(log_), "GET "), 1);

  // The stored file runs and gives the same text as the original.
  auto gen = R1d(server, std::string("generate -m ") + kRef + " -n 8 --temp 0");
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  auto gen_orig = RunR1d("generate -m " + model_ + " -n 8 --temp 0");
  EXPECT_EQ(gen.out, gen_orig.out);
  EXPECT_FALSE(gen.out.empty());

  auto rm = R1d(server, std::string("rm ") + kRef);
  ASSERT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_FALSE(fs::exists(stored));
  ExpectListEmpty(server);
  auto show_gone = R1d(server, std::string("show ") + kRef);
  EXPECT_EQ(show_gone.exit_code, 1);
  EXPECT_NE(show_gone.err.find(std::string("run: r1d pull ") + kRef), std::string::npos)
      << show_gone.err;
}

// What the checkers do: a plain static server (no Range, no digest).
TEST_F(PullCliTest, PlainStaticServer) {
  fs::create_directories(hub_ + "/acme/tiny-r1-GGUF/resolve/main");
  fs::create_symlink(model_, hub_ + "/acme/tiny-r1-GGUF/resolve/main/stories260K.gguf");
  TestServer server(TestServer::StaticArgs(hub_));
  ASSERT_GT(server.port(), 0) << server.server_stderr();

  auto pull = R1d(server, std::string("pull ") + kRef);
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  EXPECT_NE(pull.out.find("no sha256 published"), std::string::npos) << pull.out;
  EXPECT_EQ(ReadFile(Stored("acme/tiny-r1-GGUF/stories260K.gguf")), model_bytes_);
  auto list = R1d(server, "list");
  EXPECT_NE(list.out.find(kRef), std::string::npos) << list.out;

  auto missing = R1d(server, "pull hf:acme/tiny-r1-GGUF/missing.gguf");
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("not found (HTTP 404): " + server.endpoint() +
                             "/acme/tiny-r1-GGUF/resolve/main/missing.gguf"),
            std::string::npos)
      << missing.err;
  EXPECT_EQ(CountOf(missing.err, "\n"), 1) << missing.err;
  list = R1d(server, "list");
  EXPECT_EQ(list.out.find("missing"), std::string::npos) << list.out;
  EXPECT_EQ(CountOf(list.out, "\n"), 2) << list.out;  // header + the one pulled model
}

TEST_F(PullCliTest, MissingFileLeavesNothing) {
  TestServer server(TestServer::HubArgs(hub_, log_, {}));
  ASSERT_GT(server.port(), 0) << server.server_stderr();
  auto pull = R1d(server, "pull hf:acme/tiny-r1-GGUF/missing.gguf");
  EXPECT_EQ(pull.exit_code, 1);
  EXPECT_NE(pull.err.find("r1d: error: not found (HTTP 404)"), std::string::npos) << pull.err;
  ExpectListEmpty(server);
  EXPECT_FALSE(fs::exists(home_ + "/downloads/acme"));
}

TEST_F(PullCliTest, CutConnectionThenResume) {
  Publish("acme/tiny-r1-GGUF/stories260K.gguf", model_);
  const size_t cut = model_bytes_.size() / 2;
  TestServer server(
      TestServer::HubArgs(hub_, log_, {"--etag", "sha256", "--cut-after", std::to_string(cut)}));
  ASSERT_GT(server.port(), 0) << server.server_stderr();

  auto first = R1d(server, std::string("pull --retries 0 ") + kRef);
  EXPECT_EQ(first.exit_code, 1);
  EXPECT_NE(first.err.find("pull again to resume"), std::string::npos) << first.err;
  ExpectListEmpty(server);
  const std::string partial = home_ + "/downloads/acme/tiny-r1-GGUF/stories260K.gguf.partial";
  EXPECT_EQ(fs::file_size(partial), cut);

  auto second = R1d(server, std::string("pull ") + kRef);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.err.find("resuming at"), std::string::npos) << second.err;
  EXPECT_NE(ReadFile(log_).find("range=bytes=" + std::to_string(cut) + "-"), std::string::npos);
  EXPECT_EQ(ReadFile(Stored("acme/tiny-r1-GGUF/stories260K.gguf")), model_bytes_);
  EXPECT_FALSE(fs::exists(partial));
}

TEST_F(PullCliTest, CutConnectionIsRetriedWithinOnePull) {
  Publish("acme/tiny-r1-GGUF/stories260K.gguf", model_);
  TestServer server(TestServer::HubArgs(hub_, log_, {"--etag", "sha256", "--cut-after", "4096"}));
  ASSERT_GT(server.port(), 0) << server.server_stderr();
  auto pull = R1d(server, std::string("pull ") + kRef);
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  EXPECT_NE(pull.err.find("retrying in"), std::string::npos) << pull.err;
  EXPECT_EQ(ReadFile(Stored("acme/tiny-r1-GGUF/stories260K.gguf")), model_bytes_);
}

TEST_F(PullCliTest, WrongChecksumIsRefused) {
  Publish("acme/tiny-r1-GGUF/stories260K.gguf", model_);
  TestServer server(TestServer::HubArgs(hub_, log_, {"--etag", "wrong"}));
  ASSERT_GT(server.port(), 0) << server.server_stderr();
  auto pull = R1d(server, std::string("pull ") + kRef);
  EXPECT_EQ(pull.exit_code, 1);
  EXPECT_NE(pull.err.find("checksum mismatch"), std::string::npos) << pull.err;
  ExpectListEmpty(server);
  EXPECT_FALSE(fs::exists(home_ + "/downloads/acme"));
}

TEST_F(PullCliTest, NotAGgufFileIsRefused) {
  const std::string page = sandbox_ + "/page.html";
  WriteFile(page, "<html>Sign in to continue</html>");
  Publish("acme/tiny-r1-GGUF/stories260K.gguf", page);
  TestServer server(TestServer::HubArgs(hub_, log_, {}));
  ASSERT_GT(server.port(), 0) << server.server_stderr();
  auto pull = R1d(server, std::string("pull ") + kRef);
  EXPECT_EQ(pull.exit_code, 1);
  EXPECT_NE(pull.err.find("is not a usable GGUF file"), std::string::npos) << pull.err;
  ExpectListEmpty(server);
}

TEST_F(PullCliTest, PathTraversalIsRefusedBeforeAnyRequest) {
  TestServer server(TestServer::HubArgs(hub_, log_, {}));
  ASSERT_GT(server.port(), 0) << server.server_stderr();
  for (const char* ref :
       {"hf:acme/../../../tmp/x.gguf", "hf:acme/tiny-r1-GGUF/../../../../etc/passwd.gguf",
        "hf:acme/tiny-r1-GGUF//etc/x.gguf", "hf:../tiny-r1-GGUF/x.gguf",
        "hf:acme/tiny-r1-GGUF/.x.gguf", "hf:acme/tiny-r1-GGUF/sub/../x.gguf"}) {
    auto pull = R1d(server, std::string("pull '") + ref + "'");
    EXPECT_EQ(pull.exit_code, 1) << ref;
    EXPECT_NE(pull.err.find("invalid model reference"), std::string::npos) << pull.err;
    auto rm = R1d(server, std::string("rm '") + ref + "'");
    EXPECT_EQ(rm.exit_code, 1) << ref;
  }
  EXPECT_EQ(ReadFile(log_), "");  // no request was made
  EXPECT_FALSE(fs::exists(home_));
  EXPECT_TRUE(fs::is_empty(sandbox_));
}

TEST_F(PullCliTest, MultiPartModelsArriveTogether) {
  Publish("acme/split-GGUF/q/tiny-00001-of-00002.gguf", model_);
  Publish("acme/split-GGUF/q/tiny-00002-of-00002.gguf", model_);
  TestServer server(TestServer::HubArgs(hub_, log_, {"--redirect", "--etag", "linked"}));
  ASSERT_GT(server.port(), 0) << server.server_stderr();
  // Naming any part pulls all of them; the model is part 1.
  auto pull = R1d(server, "pull hf:acme/split-GGUF/q/tiny-00002-of-00002.gguf");
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  EXPECT_NE(pull.out.find("hf:acme/split-GGUF/q/tiny-00001-of-00002.gguf"), std::string::npos);
  EXPECT_NE(pull.out.find("sha256 verified against the hub"), std::string::npos) << pull.out;
  EXPECT_EQ(ReadFile(Stored("acme/split-GGUF/q/tiny-00001-of-00002.gguf")), model_bytes_);
  EXPECT_EQ(ReadFile(Stored("acme/split-GGUF/q/tiny-00002-of-00002.gguf")), model_bytes_);
  auto list = R1d(server, "list");
  EXPECT_EQ(CountOf(list.out, "hf:acme/split-GGUF"), 1) << list.out;
  auto rm = R1d(server, "rm hf:acme/split-GGUF/q/tiny-00001-of-00002.gguf");
  ASSERT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_EQ(ModelFiles(), 0);
}

TEST_F(PullCliTest, CatalogTagsAreListed) {
  TestServer server(TestServer::HubArgs(hub_, log_, {}));
  ASSERT_GT(server.port(), 0);
  auto list = R1d(server, "list --available");
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("deepseek-r1:671b-q8_0"), std::string::npos) << list.out;
  auto show = R1d(server, "show deepseek-r1:1.5b");
  EXPECT_EQ(show.exit_code, 1);
  EXPECT_NE(show.err.find("run: r1d pull deepseek-r1:1.5b"), std::string::npos) << show.err;
}

}  // namespace
}  // namespace r1d::testing
