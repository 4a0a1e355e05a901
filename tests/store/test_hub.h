#pragma once
// Starts a local HTTP server for the store tests: tests/store/hub_server.py (hub layout, Range,
// ETags, cut connections, fixed statuses) or python's own `http.server` (static files, no
// Range, no digests). The server is this test's child and is stopped by the destructor.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"

namespace r1d::testing {

class TestServer {
 public:
  // Runs `argv` (argv[0] is the program path) with stdout in a file, and waits for the line
  // "port N" that both servers print once they listen.
  explicit TestServer(std::vector<std::string> argv) {
    dir_ = MakeTempDir();
    const std::string out = dir_ + "/stdout";
    pid_ = ::fork();
    if (pid_ == 0) {
      std::freopen(out.c_str(), "w", stdout);
      std::freopen((dir_ + "/stderr").c_str(), "w", stderr);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    // Startup takes well under a second; 20 s only bounds a broken environment.
    for (int i = 0; i < 400 && port_ == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      const std::string text = ReadFile(out);
      const size_t at = text.find("port ");
      if (at != std::string::npos) port_ = std::atoi(text.c_str() + at + 5);
    }
  }
  ~TestServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  // The hub stand-in serving `root` (laid out <owner>/<repo>/<file>), with extra flags.
  static std::vector<std::string> HubArgs(const std::string& root, const std::string& log,
                                          std::vector<std::string> flags) {
    std::vector<std::string> argv = {"/usr/bin/python3",
                                     std::string(R1D_SOURCE_DIR) + "/tests/store/hub_server.py",
                                     "--root",
                                     root,
                                     "--log",
                                     log};
    argv.insert(argv.end(), flags.begin(), flags.end());
    return argv;
  }
  // `python3 -m http.server` serving `root` as plain static files.
  static std::vector<std::string> StaticArgs(const std::string& root) {
    return {"/usr/bin/python3", "-u",        "-m",          "http.server", "0",
            "--bind",           "127.0.0.1", "--directory", root};
  }

  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string server_stderr() const { return ReadFile(dir_ + "/stderr"); }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string dir_;
};

// Occurrences of `needle` in `text`.
inline int CountOf(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

}  // namespace r1d::testing
