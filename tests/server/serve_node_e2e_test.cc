// Drives a running `r1d serve` with the official `openai` npm client (tests/server/node/e2e.mjs):
// models, chat streamed and not, reasoning_content, usage, stop strings, seeds, error objects,
// 16 concurrent streams, /v1/completions.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>

#include "server_harness.h"

namespace r1d::testing {
namespace {

TEST(ServeNodeE2e, OpenAiClient) {
  R1D_REQUIRE_TESTDATA();
  if (std::system("node --version >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "node is not installed; scripts/install-deps.sh installs it";
  }
  const std::string node_dir = std::string(R1D_SOURCE_DIR) + "/tests/server/node";
  struct stat st {};
  if (::stat((node_dir + "/node_modules/openai/package.json").c_str(), &st) != 0) {
    GTEST_SKIP() << "the openai npm package is not installed; scripts/install-deps.sh runs "
                    "`npm ci` in tests/server/node";
  }
  ServerProcess server;
  ASSERT_TRUE(server.Start({"-m", QwenTinyModel(), "--api-key", "e2e-key", "--chat-template-file",
                            R1DistillTemplate(), "-t", "2", "--parallel", "16"}))
      << server.log();
  const std::string cmd = "cd '" + node_dir +
                          "' && R1D_BASE_URL=http://127.0.0.1:" + std::to_string(server.port()) +
                          " R1D_API_KEY=e2e-key timeout 300 node e2e.mjs 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  const int status = ::pclose(p);
  EXPECT_EQ(status, 0) << out << "\nserver log:\n" << server.log();
  EXPECT_NE(out.find("all passed"), std::string::npos) << out;
}

}  // namespace
}  // namespace r1d::testing
