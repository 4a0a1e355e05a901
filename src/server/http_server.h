#pragma once
// HTTP/1.1 server on Boost.Beast: async accept, keep-alive connections, limits on header and body
// size, idle / request / write timeouts, chunked streaming responses, and detection of clients
// that disconnect while their request is being served. Requests are handed to one Handler.
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/status.h"
#include "server/http.h"

namespace r1d::server {

struct HttpOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0: any free port (see HttpServer::port())
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 1024 * 1024;
  // Waiting for the next request on a keep-alive connection (and for its headers).
  std::chrono::seconds idle_timeout{60};
  // Reading the body once the headers are in.
  std::chrono::seconds request_timeout{30};
  // One write to a client that does not read.
  std::chrono::seconds write_timeout{60};
};

// Called when a response is complete (status as sent) or the client left first (status 499).
using CompletionHook = std::function<void(const std::string& route, int status)>;

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& ioc, HttpOptions options, Handler handler,
             CompletionHook on_complete);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens; errors name the address.
  Status Listen();
  // Starts accepting connections (on the io_context's threads).
  void Start();
  // Stops accepting new connections; open ones continue.
  void StopListening();
  uint16_t port() const { return port_; }
  // Requests received whose response is not yet fully written (thread-safe).
  int64_t active_requests() const { return active_->load(); }

 private:
  class Listener;
  boost::asio::io_context& ioc_;
  HttpOptions options_;
  Handler handler_;
  CompletionHook on_complete_;
  std::shared_ptr<Listener> listener_;
  uint16_t port_ = 0;
  std::shared_ptr<std::atomic<int64_t>> active_ = std::make_shared<std::atomic<int64_t>>(0);
};

}  // namespace r1d::server
