#include "test_util.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace r1d::testing {

std::string TestDataDir() {
  const char* env = std::getenv("R1D_TESTDATA");
  std::string dir = env != nullptr ? env : std::string(R1D_SOURCE_DIR) + "/../shared/testdata";
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return "";
  return dir;
}

std::string FindTestModel(const std::string& file_name) {
  std::vector<std::string> candidates;
  if (!TestDataDir().empty()) candidates.push_back(TestDataDir() + "/models/" + file_name);
  candidates.push_back(std::string(R1D_GENERATED_MODELS) + "/" + file_name);
  for (const auto& path : candidates) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) return path;
  }
  return "";
}

std::string MakeTempDir() {
  std::string tmpl = "/tmp/r1d_test_XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
}

CommandResult RunR1d(const std::string& args) { return RunR1dWith("", args); }

CommandResult RunR1dWith(const std::string& prefix, const std::string& args) {
  std::string dir = MakeTempDir();
  std::string out_path = dir + "/out", err_path = dir + "/err";
  std::string cmd = std::string(R1D_BINARY) + " " + args + " >" + out_path + " 2>" + err_path;
  if (!prefix.empty()) cmd = "/bin/bash -c '" + prefix + " " + cmd + "'";
  int status = std::system(cmd.c_str());
  CommandResult r;
  if (WIFEXITED(status)) {
    r.exit_code = WEXITSTATUS(status);
    // The shell reports a child killed by a signal as 128+signal.
    if (r.exit_code > 128) {
      r.signal = r.exit_code - 128;
      r.exit_code = -1;
    }
  } else if (WIFSIGNALED(status)) {
    r.signal = WTERMSIG(status);
  }
  r.out = ReadFile(out_path);
  r.err = ReadFile(err_path);
  std::remove(out_path.c_str());
  std::remove(err_path.c_str());
  ::rmdir(dir.c_str());
  return r;
}

}  // namespace r1d::testing
