#pragma once
// The transport-neutral view of one HTTP exchange that routes work with: the parsed request and
// an Exchange to answer it, at once (Respond) or piece by piece (BeginStream / Write / End, sent
// with chunked transfer encoding, as SSE needs). Routes never see Boost.Beast.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "server/errors.h"

namespace r1d::server {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as sent, with the query
  std::string path;    // target without the query
  std::string authorization;
  std::string body;
  std::chrono::steady_clock::time_point received;  // when the request was complete
};

// One request's response channel. Every method must be called on the connection's strand: the
// route handler runs there, and work from other threads (engine events) comes in through Post.
// Calls after the response is complete or the client has gone are ignored, so late engine
// events need no special care.
class Exchange {
 public:
  virtual ~Exchange() = default;
  // Runs fn on the connection's strand (thread-safe). fn runs even if the client has gone.
  virtual void Post(std::function<void()> fn) = 0;
  // A complete response with Content-Length.
  virtual void Respond(int status, const std::string& content_type, std::string body,
                       const Headers& extra = {}) = 0;
  void RespondJson(int status, std::string body) {
    Respond(status, "application/json", std::move(body));
  }
  void RespondError(const ApiError& error);
  // Starts a chunked 200 response; then Write pieces and End it.
  virtual void BeginStream(const std::string& content_type, const Headers& extra = {}) = 0;
  virtual void Write(std::string data) = 0;
  virtual void End() = 0;
  // fn runs once, on the strand, if the client disconnects before the response is complete.
  virtual void OnDisconnect(std::function<void()> fn) = 0;
  // True once the response is complete or the client has gone.
  virtual bool finished() const = 0;

  // The label the request is counted under in the metrics (a known route, never the raw path).
  void set_route(std::string route) { route_ = std::move(route); }
  const std::string& route() const { return route_; }

 private:
  std::string route_ = "other";
};

// Handles one request (on the connection's strand). It must answer through the exchange, now or
// later.
using Handler = std::function<void(const Request& request, std::shared_ptr<Exchange> exchange)>;

}  // namespace r1d::server
