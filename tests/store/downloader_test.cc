// DownloadFile against the local hub stand-in: resume, Range-less servers, digests, errors.
#include "store/downloader.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "store/sha256.h"
#include "store/test_hub.h"
#include "test_util.h"

namespace r1d::store {
namespace {

namespace fs = std::filesystem;
using ::r1d::testing::CountOf;
using ::r1d::testing::MakeTempDir;
using ::r1d::testing::ReadFile;
using ::r1d::testing::TestServer;
using ::r1d::testing::WriteFile;

constexpr size_t kSize = 300000;

class DownloaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hub_ = MakeTempDir();
    work_ = MakeTempDir();
    for (size_t i = 0; i < kSize; ++i) content_.push_back(static_cast<char>((i * 131) ^ (i >> 9)));
    fs::create_directories(hub_ + "/acme/r");
    WriteFile(hub_ + "/acme/r/m.gguf", content_);
    Sha256 h;
    h.Update(content_);
    sha_ = h.HexDigest();
    log_ = work_ + "/requests.log";
    partial_ = work_ + "/m.gguf.partial";
    options_.backoff_ms = 10;  // keeps retry tests quick; the policy itself is the same
  }
  std::string Url(const TestServer& s, const std::string& file = "m.gguf") const {
    return s.endpoint() + "/acme/r/resolve/main/" + file;
  }
  std::vector<std::string> Hub(std::vector<std::string> flags) const {
    return TestServer::HubArgs(hub_, log_, std::move(flags));
  }

  std::string hub_, work_, content_, sha_, log_, partial_;
  DownloadOptions options_;
};

TEST_F(DownloaderTest, FullDownloadVerifiedByEtag) {
  TestServer server(Hub({"--etag", "sha256"}));
  ASSERT_GT(server.port(), 0) << server.server_stderr();
  auto r = DownloadFile(Url(server), partial_, options_, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->size, kSize);
  EXPECT_EQ(r->sha256, sha_);
  EXPECT_EQ(r->hub_sha256, sha_);
  EXPECT_EQ(ReadFile(partial_), content_);
}

TEST_F(DownloaderTest, LinkedEtagOnRedirectIsTheDigest) {
  TestServer server(Hub({"--redirect", "--etag", "linked"}));
  ASSERT_GT(server.port(), 0) << server.server_stderr();
  auto r = DownloadFile(Url(server), partial_, options_, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->hub_sha256, sha_);  // from X-Linked-Etag on the 302, not the CDN's ETag
  EXPECT_EQ(ReadFile(partial_), content_);
  EXPECT_EQ(CountOf(ReadFile(log_), "GET /cdn/acme/r/m.gguf"), 1);
}

TEST_F(DownloaderTest, EtagThatIsNotADigestIsIgnored) {
  TestServer server(Hub({"--etag", "other"}));
  ASSERT_GT(server.port(), 0) << server.server_stderr();
  auto r = DownloadFile(Url(server), partial_, options_, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->hub_sha256, "");
  EXPECT_EQ(r->sha256, sha_);
}

TEST_F(DownloaderTest, CutConnectionIsRetriedWithRange) {
  TestServer server(Hub({"--etag", "sha256", "--cut-after", "100000", "--cut-times", "2"}));
  ASSERT_GT(server.port(), 0) << server.server_stderr();
  auto r = DownloadFile(Url(server), partial_, options_, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(ReadFile(partial_), content_);
  EXPECT_EQ(r->hub_sha256, sha_);  // the hash covers the resumed prefix too
  const std::string log = ReadFile(log_);
  EXPECT_EQ(CountOf(log, "range=-"), 1) << log;
  EXPECT_EQ(CountOf(log, "range=bytes=100000-"), 1) << log;
  EXPECT_EQ(CountOf(log, "range=bytes=200000-"), 1) << log;
}

TEST_F(DownloaderTest, InterruptedDownloadKeepsPartialAndResumesLater) {
  {
    TestServer server(Hub({"--etag", "sha256", "--cut-after", "123456"}));
    ASSERT_GT(server.port(), 0) << server.server_stderr();
    DownloadOptions once = options_;
    once.max_attempts = 1;
    auto r = DownloadFile(Url(server), partial_, once, nullptr);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("pull again to resume"), std::string::npos)
        << r.status().message();
    EXPECT_EQ(fs::file_size(partial_), 123456u);
  }
  TestServer server(Hub({"--etag", "sha256"}));
  ASSERT_GT(server.port(), 0) << server.server_stderr();
  auto r = DownloadFile(Url(server), partial_, options_, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(ReadFile(partial_), content_);
  EXPECT_EQ(r->hub_sha256, sha_);
  EXPECT_EQ(CountOf(ReadFile(log_), "range=bytes=123456-"), 1);
}

TEST_F(DownloaderTest, ServerIgnoringRangeRestartsCleanly) {
  WriteFile(partial_, content_.substr(0, 5000) + "garbage that must not survive");
  TestServer server(Hub({"--no-range", "--etag", "sha256"}));
  ASSERT_GT(server.port(), 0) << server.server_stderr();
  auto r = DownloadFile(Url(server), partial_, options_, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(ReadFile(partial_), content_);
  EXPECT_NE(ReadFile(log_).find("range=bytes=5029-"), std::string::npos);
}

TEST_F(DownloaderTest, CompletePartialIsAcceptedOn416) {
  WriteFile(partial_, content_);
  TestServer server(Hub({"--etag", "sha256"}));
  ASSERT_GT(server.port(), 0) << server.server_stderr();
  auto r = DownloadFile(Url(server), partial_, options_, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->sha256, sha_);
  EXPECT_EQ(ReadFile(partial_), content_);
}

TEST_F(DownloaderTest, WrongChecksumIsRefusedAndDiscarded) {
  TestServer server(Hub({"--etag", "wrong"}));
  ASSERT_GT(server.port(), 0) << server.server_stderr();
  auto r = DownloadFile(Url(server), partial_, options_, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("checksum mismatch"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find(sha_), std::string::npos);
  EXPECT_FALSE(fs::exists(partial_));
}

TEST_F(DownloaderTest, NotFoundNamesTheUrlAndIsNotRetried) {
  TestServer server(Hub({}));
  ASSERT_GT(server.port(), 0) << server.server_stderr();
  const std::string url = Url(server, "missing.gguf");
  auto r = DownloadFile(url, partial_, options_, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not found (HTTP 404): " + url), std::string::npos)
      << r.status().message();
  EXPECT_EQ(CountOf(ReadFile(log_), "GET "), 1);
}

TEST_F(DownloaderTest, AuthErrorsMentionTokenWithoutLeakingIt) {
  TestServer server(Hub({"--status", "401"}));
  ASSERT_GT(server.port(), 0) << server.server_stderr();
  auto anonymous = DownloadFile(Url(server), partial_, options_, nullptr);
  ASSERT_FALSE(anonymous.ok());
  EXPECT_NE(anonymous.status().message().find("set HF_TOKEN"), std::string::npos);
  DownloadOptions with_token = options_;
  with_token.token = "hf_s3cr3t";
  auto r = DownloadFile(Url(server), partial_, with_token, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("HTTP 401"), std::string::npos);
  EXPECT_NE(r.status().message().find("HF_TOKEN was sent"), std::string::npos);
  EXPECT_EQ(r.status().message().find("s3cr3t"), std::string::npos);
  EXPECT_NE(ReadFile(log_).find("auth=Bearer hf_s3cr3t"), std::string::npos);
}

TEST_F(DownloaderTest, ServerErrorsAreRetriedThenReported) {
  TestServer server(Hub({"--status", "503"}));
  ASSERT_GT(server.port(), 0) << server.server_stderr();
  DownloadOptions three = options_;
  three.max_attempts = 3;
  auto r = DownloadFile(Url(server), partial_, three, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("giving up after 3 attempts"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(CountOf(ReadFile(log_), "GET "), 3);
}

TEST_F(DownloaderTest, StalledTransferTimesOutAndKeepsWhatArrived) {
  TestServer server(Hub({"--stall-after", "50000"}));
  ASSERT_GT(server.port(), 0) << server.server_stderr();
  DownloadOptions impatient = options_;
  impatient.max_attempts = 1;
  impatient.stall_timeout_s = 1;
  auto r = DownloadFile(Url(server), partial_, impatient, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("timed out"), std::string::npos) << r.status().message();
  EXPECT_EQ(fs::file_size(partial_), 50000u);
}

TEST_F(DownloaderTest, ConnectionRefusedIsAClearError) {
  // A port nobody listens on: a server started and stopped again.
  std::string endpoint;
  {
    TestServer gone(Hub({}));
    endpoint = gone.endpoint();
  }
  DownloadOptions two = options_;
  two.max_attempts = 2;
  auto r = DownloadFile(endpoint + "/acme/r/resolve/main/m.gguf", partial_, two, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("giving up after 2 attempts"), std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace r1d::store
