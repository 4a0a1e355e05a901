#pragma once
// Test helpers for `r1d serve`: a server process on a free port (read from its log line), a
// blocking HTTP client on Boost.Beast, raw socket I/O for malformed requests, and /metrics
// parsing. Header-only because each tests/<module>/*_test.cc becomes one binary.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"

namespace r1d::testing {

inline std::string QwenTinyModel() { return FindTestModel("qwen2-tiny-q8_0.gguf"); }
inline std::string R1DistillTemplate() {
  const std::string dir = TestDataDir();
  return dir.empty() ? "" : dir + "/templates/deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja";
}

// A running `r1d serve`; stopped (SIGKILL if need be) when destroyed.
class ServerProcess {
 public:
  ServerProcess() = default;
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  ~ServerProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    if (reader_.joinable()) reader_.join();
  }

  // Starts `r1d serve --port 0 <args>` and waits (up to 60 s) for it to listen. False (with the
  // log in log()) if it exits or never says where it listens.
  bool Start(const std::vector<std::string>& args) {
    int fds[2];
    if (::pipe(fds) != 0) return false;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fds[1], 2);
      const int devnull = ::open("/dev/null", O_WRONLY);
      ::dup2(devnull, 1);
      ::close(fds[0]);
      ::close(fds[1]);
      std::vector<std::string> all = {R1D_BINARY, "serve", "--port", "0"};
      all.insert(all.end(), args.begin(), args.end());
      std::vector<char*> argv;
      for (auto& a : all) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    fd_ = fds[0];
    reader_ = std::thread([this] { ReadLog(); });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        const size_t at = log_.find(" on http://");
        if (at != std::string::npos) {
          const size_t colon = log_.find(':', at + 11);
          const size_t nl = log_.find('\n', at);
          if (colon != std::string::npos && nl != std::string::npos) {
            port_ = std::atoi(log_.substr(colon + 1, nl - colon - 1).c_str());
            return port_ > 0;
          }
        }
        if (eof_) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string log() {
    std::lock_guard<std::mutex> lock(mu_);
    return log_;
  }
  void Signal(int sig) { ::kill(pid_, sig); }
  // Waits up to `seconds` for the process to exit; its exit code, or -1 (killed by a signal or
  // still running: then it is killed).
  int Wait(int seconds) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }
  bool Running() { return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0; }

 private:
  void ReadLog() {
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(fd_, buf, sizeof(buf));
      std::lock_guard<std::mutex> lock(mu_);
      if (n <= 0) {
        eof_ = true;
        break;
      }
      log_.append(buf, static_cast<size_t>(n));
    }
    ::close(fd_);
  }

  pid_t pid_ = -1;
  int fd_ = -1;
  int port_ = 0;
  std::thread reader_;
  std::mutex mu_;
  std::string log_;
  bool eof_ = false;
};

struct HttpResult {
  int status = 0;  // 0: no response (connection failed or closed first)
  std::string body;
  std::string content_type;
  std::string retry_after;
};

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

inline std::optional<tcp::socket> Connect(net::io_context& ioc, int port) {
  tcp::socket socket(ioc);
  boost::system::error_code ec;
  socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port)),
                 ec);
  if (ec) return std::nullopt;
  return socket;
}

inline HttpResult ReadResponse(tcp::socket& socket, beast::flat_buffer& buffer) {
  HttpResult r;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  boost::system::error_code ec;
  http::read(socket, buffer, parser, ec);
  if (ec) return r;
  const auto& res = parser.get();
  r.status = static_cast<int>(res.result_int());
  r.body = res.body();
  r.content_type = std::string(res[http::field::content_type]);
  r.retry_after = std::string(res[http::field::retry_after]);
  return r;
}

// Writes raw bytes and reads one response.
inline HttpResult RawRequest(int port, const std::string& bytes) {
  net::io_context ioc;
  auto socket = Connect(ioc, port);
  if (!socket) return {};
  boost::system::error_code ec;
  net::write(*socket, net::buffer(bytes), ec);
  beast::flat_buffer buffer;
  return ReadResponse(*socket, buffer);
}

inline std::string BuildRequest(const std::string& method, const std::string& path,
                                const std::string& body, const std::string& key,
                                bool keep_alive = false) {
  std::string r = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (!key.empty()) r += "Authorization: Bearer " + key + "\r\n";
  if (!body.empty() || method == "POST") {
    r +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  if (!keep_alive) r += "Connection: close\r\n";
  return r + "\r\n" + body;
}

inline HttpResult Request(int port, const std::string& method, const std::string& path,
                          const std::string& body = "", const std::string& key = "") {
  return RawRequest(port, BuildRequest(method, path, body, key));
}

// Value of an unlabelled sample in a Prometheus text exposition; NaN if absent.
inline double MetricValue(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + " ", 0) == 0) return std::atof(line.c_str() + name.size() + 1);
  }
  return std::nan("");
}

// Polls until pred() holds or `seconds` pass; returns pred().
template <class Pred>
bool WaitFor(Pred pred, int seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

}  // namespace r1d::testing

namespace r1d::testing {

// A request whose response is read bit by bit (SSE streams); reads time out after 60 s.
class RawStream {
 public:
  RawStream(int port, const std::string& request) : socket_(ioc_) {
    auto s = Connect(ioc_, port);
    if (!s) return;
    socket_ = std::move(*s);
    timeval tv{60, 0};
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    boost::system::error_code ec;
    net::write(socket_, net::buffer(request), ec);
    ok_ = !ec;
  }
  bool ok() const { return ok_; }
  // Reads until `needle` has appeared `count` times in what was received, or the connection
  // ends. Returns whether it did.
  bool ReadUntil(const std::string& needle, int count = 1) {
    for (;;) {
      if (Count(needle) >= count) return true;
      char buf[4096];
      boost::system::error_code ec;
      const size_t n = socket_.read_some(net::buffer(buf), ec);
      if (ec || n == 0) return Count(needle) >= count;
      received_.append(buf, n);
    }
  }
  int Count(const std::string& needle) const {
    int c = 0;
    for (size_t at = received_.find(needle); at != std::string::npos;
         at = received_.find(needle, at + 1)) {
      ++c;
    }
    return c;
  }
  const std::string& received() const { return received_; }
  void Close() {
    boost::system::error_code ec;
    socket_.close(ec);
  }

 private:
  net::io_context ioc_;
  tcp::socket socket_;
  bool ok_ = false;
  std::string received_;
};

}  // namespace r1d::testing
