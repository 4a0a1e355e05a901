#pragma once
// Helpers shared by tests: where the shared test data lives, running the r1d binary.
#include <string>

namespace r1d::testing {

// ../shared/testdata relative to the repository root, or "" when absent.
std::string TestDataDir();
// Finds a test model by file name: ../shared/testdata/models, then the build's generated models.
// Returns "" when neither has it.
std::string FindTestModel(const std::string& file_name);
// Skips the current test with a clear message when the shared test data is absent.
#define R1D_REQUIRE_TESTDATA()                                                        \
  do {                                                                                \
    if (::r1d::testing::TestDataDir().empty())                                        \
      GTEST_SKIP() << "../shared/testdata not found next to the repository; skipped"; \
  } while (0)

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;      // the signal, when killed by one
  std::string out;     // stdout
  std::string err;     // stderr
};
// Runs the r1d binary with the given argument string (shell-quoted by the caller).
CommandResult RunR1d(const std::string& args);
// Same, under a shell prefix such as "ulimit -v 2097152; timeout 10" (empty: none).
CommandResult RunR1dWith(const std::string& prefix, const std::string& args);
// A fresh temporary directory for this test.
std::string MakeTempDir();
std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& content);

}  // namespace r1d::testing
