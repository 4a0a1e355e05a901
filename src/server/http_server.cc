#include "server/http_server.h"

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>

#include "server/peer_probe.h"

namespace r1d::server {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// After a response that closes the connection, what the client still sends is read and dropped
// for a while, so the response is not lost to a TCP reset (a client still uploading a body we
// refused would otherwise see "connection reset" instead of our 413).
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr size_t kLingerBytes = 16 * 1024 * 1024;

struct Config {
  HttpOptions options;
  Handler handler;
  CompletionHook on_complete;
  std::shared_ptr<std::atomic<int64_t>> active;  // requests received and not fully answered
};

std::string StatusLine(int status) {
  const auto reason = http::obsolete_reason(http::int_to_status(static_cast<unsigned>(status)));
  return "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\n";
}

std::string ToHex(size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s;
  do {
    s.insert(s.begin(), kDigits[n & 15]);
    n >>= 4;
  } while (n != 0);
  return s;
}

class ConnExchange;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, std::shared_ptr<const Config> config)
      : stream_(std::move(socket)), config_(std::move(config)) {}

  ~Connection() { SetBusy(false); }

  void Start() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Connection::ReadRequest, shared_from_this()));
  }

 private:
  friend class ConnExchange;

  void ReadRequest();
  void OnHeader(beast::error_code ec, size_t bytes);
  void OnRead(beast::error_code ec, size_t bytes);
  void OnReadError(beast::error_code ec);
  void SendErrorAndClose(const ApiError& error);
  void Dispatch(Request request);

  void QueueWrite(std::string data);
  void StartWrite();
  void OnWrite(beast::error_code ec, size_t bytes);
  void AfterResponse();

  void StartWatch();
  void OnWatch(uint64_t seq, beast::error_code ec);

  void SetBusy(bool busy) {
    if (busy == busy_) return;
    busy_ = busy;
    config_->active->fetch_add(busy ? 1 : -1);
  }

  void GracefulClose();
  void Linger();
  void Fail();
  void Close();

  beast::tcp_stream stream_;
  std::shared_ptr<const Config> config_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<ConnExchange> exchange_;  // the request being answered
  uint64_t seq_ = 0;                        // number of the current exchange
  bool keep_alive_ = true;
  bool response_done_ = false;  // the whole response is queued
  bool writing_ = false;
  bool watching_ = false;
  bool closed_ = false;
  bool busy_ = false;
  std::string pending_out_;
  std::string in_flight_;
  std::chrono::steady_clock::time_point linger_deadline_;
  size_t lingered_ = 0;
  char scratch_[4096];
};

class ConnExchange : public Exchange {
 public:
  ConnExchange(std::shared_ptr<Connection> conn, uint64_t seq)
      : conn_(std::move(conn)), seq_(seq) {}

  void Post(std::function<void()> fn) override {
    net::post(conn_->stream_.get_executor(), [conn = conn_, fn = std::move(fn)] { fn(); });
  }

  void Respond(int status, const std::string& content_type, std::string body,
               const Headers& extra) override {
    if (!live()) return;
    std::string out = StatusLine(status);
    out += "Content-Type: " + content_type + "\r\n";
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    AddCommonHeaders(out, extra);
    out += body;
    Complete(status);
    conn_->QueueWrite(std::move(out));
  }

  void BeginStream(const std::string& content_type, const Headers& extra) override {
    if (!live() || streaming_) return;
    streaming_ = true;
    std::string out = StatusLine(200);
    out += "Content-Type: " + content_type + "\r\n";
    out += "Transfer-Encoding: chunked\r\nCache-Control: no-cache\r\nX-Accel-Buffering: no\r\n";
    AddCommonHeaders(out, extra);
    conn_->QueueWrite(std::move(out));
  }

  void Write(std::string data) override {
    if (!live() || !streaming_ || data.empty()) return;
    std::string out = ToHex(data.size()) + "\r\n";
    out += data;
    out += "\r\n";
    conn_->QueueWrite(std::move(out));
  }

  void End() override {
    if (!live() || !streaming_) return;
    Complete(200);
    conn_->QueueWrite("0\r\n\r\n");
  }

  void OnDisconnect(std::function<void()> fn) override { on_disconnect_ = std::move(fn); }
  bool finished() const override { return finished_ || conn_->closed_; }

  // The client went away before the response was complete.
  void Disconnected() {
    if (finished_) return;
    finished_ = true;
    if (config().on_complete) config().on_complete(route(), 499);
    std::function<void()> fn = std::move(on_disconnect_);
    on_disconnect_ = nullptr;
    if (fn) fn();
  }
  // Drops the disconnect callback (it usually holds the route's state, which holds us).
  void Release() { on_disconnect_ = nullptr; }

 private:
  const Config& config() const { return *conn_->config_; }
  bool live() const { return !finished_ && !conn_->closed_ && conn_->seq_ == seq_; }
  void AddCommonHeaders(std::string& out, const Headers& extra) const {
    for (const auto& [name, value] : extra) out += name + ": " + value + "\r\n";
    if (!conn_->keep_alive_) out += "Connection: close\r\n";
    out += "\r\n";
  }
  void Complete(int status) {
    finished_ = true;
    conn_->response_done_ = true;
    if (config().on_complete) config().on_complete(route(), status);
  }

  std::shared_ptr<Connection> conn_;
  uint64_t seq_;
  bool streaming_ = false;
  bool finished_ = false;
  std::function<void()> on_disconnect_;
};

void Connection::ReadRequest() {
  if (closed_) return;
  parser_.emplace();
  parser_->header_limit(static_cast<uint32_t>(config_->options.max_header_bytes));
  parser_->body_limit(config_->options.max_body_bytes);
  stream_.expires_after(config_->options.idle_timeout);
  http::async_read_header(stream_, buffer_, *parser_,
                          beast::bind_front_handler(&Connection::OnHeader, shared_from_this()));
}

void Connection::OnHeader(beast::error_code ec, size_t) {
  if (ec) return OnReadError(ec);
  const auto& req = parser_->get();
  if (beast::iequals(req[http::field::expect], "100-continue") && !parser_->is_done()) {
    // Clients that ask first (curl with large bodies) wait for this before sending the body.
    static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    beast::error_code wec;
    net::write(stream_.socket(), net::buffer(kContinue), wec);
    if (wec) return Fail();
  }
  stream_.expires_after(config_->options.request_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&Connection::OnRead, shared_from_this()));
}

void Connection::OnRead(beast::error_code ec, size_t) {
  if (ec) return OnReadError(ec);
  stream_.expires_never();
  http::request<http::string_body> req = parser_->release();
  parser_.reset();
  keep_alive_ = req.keep_alive();
  Request request;
  request.method = std::string(req.method_string());
  request.target = std::string(req.target());
  request.path = request.target.substr(0, request.target.find('?'));
  request.authorization = std::string(req[http::field::authorization]);
  request.body = std::move(req.body());
  request.received = std::chrono::steady_clock::now();
  Dispatch(std::move(request));
}

void Connection::Dispatch(Request request) {
  SetBusy(true);
  ++seq_;
  response_done_ = false;
  exchange_ = std::make_shared<ConnExchange>(shared_from_this(), seq_);
  StartWatch();
  try {
    config_->handler(request, exchange_);
  } catch (const std::exception& e) {
    // Handlers report errors as values; this is a last line of defence that keeps serving.
    exchange_->RespondError(InternalError("internal error while handling the request"));
  }
}

void Connection::OnReadError(beast::error_code ec) {
  if (ec == http::error::body_limit) {
    return SendErrorAndClose(PayloadTooLarge("The request body is larger than " +
                                             std::to_string(config_->options.max_body_bytes) +
                                             " bytes"));
  }
  if (ec == http::error::header_limit) {
    ApiError e = InvalidRequest("The request headers are larger than " +
                                std::to_string(config_->options.max_header_bytes) + " bytes");
    e.status = 431;
    return SendErrorAndClose(e);
  }
  if (ec.category() == beast::error_code(http::error::bad_method).category() &&
      ec != http::error::end_of_stream && ec != http::error::partial_message) {
    // A parse error: the bytes are not HTTP/1.1 we understand.
    return SendErrorAndClose(InvalidRequest("Malformed HTTP request: " + ec.message()));
  }
  // End of stream, timeout, reset, or a request cut short: nothing to answer.
  Close();
}

void Connection::SendErrorAndClose(const ApiError& error) {
  keep_alive_ = false;
  SetBusy(true);
  ++seq_;
  response_done_ = false;
  exchange_ = std::make_shared<ConnExchange>(shared_from_this(), seq_);
  exchange_->RespondError(error);
}

void Connection::QueueWrite(std::string data) {
  if (closed_) return;
  pending_out_ += data;
  if (!writing_) StartWrite();
}

void Connection::StartWrite() {
  writing_ = true;
  in_flight_.swap(pending_out_);
  pending_out_.clear();
  stream_.expires_after(config_->options.write_timeout);
  net::async_write(stream_, net::buffer(in_flight_),
                   beast::bind_front_handler(&Connection::OnWrite, shared_from_this()));
}

void Connection::OnWrite(beast::error_code ec, size_t) {
  writing_ = false;
  in_flight_.clear();
  if (ec) return Fail();
  if (!pending_out_.empty()) return StartWrite();
  if (response_done_) AfterResponse();
}

void Connection::AfterResponse() {
  response_done_ = false;
  stream_.expires_never();
  if (exchange_) exchange_->Release();
  exchange_.reset();
  SetBusy(false);
  if (keep_alive_) return ReadRequest();
  GracefulClose();
}

// While a request is being answered nobody reads the socket; waiting for it to become readable
// tells us when the client closes or resets it, so its generation can be cancelled at once
// instead of at the next failed write. Readiness is only a hint, checked with ProbePeer before
// acting on it: the reactor may report an event taken before the request's own bytes were read
// (a speculative read can take them first), and acting on that stale report dropped live
// requests unanswered.
void Connection::StartWatch() {
  if (watching_ || closed_) return;
  watching_ = true;
  stream_.socket().async_wait(
      tcp::socket::wait_read,
      beast::bind_front_handler(&Connection::OnWatch, shared_from_this(), seq_));
}

void Connection::OnWatch(uint64_t seq, beast::error_code ec) {
  watching_ = false;
  if (closed_) return;
  const bool answering = exchange_ != nullptr && !exchange_->finished() && !response_done_;
  if (!answering) return;  // the read of the next request takes over
  if (seq != seq_) {
    // Armed for an earlier exchange: the readiness it saw may have been this request's bytes,
    // which the read has consumed since. Watch again for this one.
    return StartWatch();
  }
  if (ec) {
    if (ec != net::error::operation_aborted) Fail();
    return;
  }
  switch (ProbePeer(stream_.socket().native_handle())) {
    case PeerState::kQuiet:
      // A stale report: the client is still there and quiet.
      return StartWatch();
    case PeerState::kEndOfInput:
      // The client closed its side. That is how almost every client hangs up (timeouts, aborted
      // fetches, closed tabs); a client that half-closes and still wants its answer is rare and
      // cannot be told apart before a write. Like nginx and llama.cpp we take it as a hang-up,
      // so an abandoned generation stops within a step instead of running to max_tokens.
      return Fail();
    case PeerState::kData:
      // A pipelined next request. It waits in the socket; stop watching for this exchange.
      return;
    case PeerState::kGone:
      return Fail();
  }
}

void Connection::GracefulClose() {
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (ec) return Close();
  linger_deadline_ = std::chrono::steady_clock::now() + kLingerTime;
  lingered_ = 0;
  Linger();
}

void Connection::Linger() {
  stream_.expires_at(linger_deadline_);
  stream_.async_read_some(net::buffer(scratch_),
                          [self = shared_from_this()](beast::error_code ec, size_t n) {
                            self->lingered_ += n;
                            if (ec || self->lingered_ > kLingerBytes) return self->Close();
                            self->Linger();
                          });
}

void Connection::Fail() {
  if (closed_) return;
  Close();
  if (exchange_) {
    exchange_->Disconnected();
    exchange_->Release();
    // The exchange points back at this connection: drop our end of that cycle. Whoever still
    // answers the request holds its own reference (and sees finished() from now on).
    exchange_.reset();
  }
}

void Connection::Close() {
  if (closed_) return;
  closed_ = true;
  SetBusy(false);
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream_.close();
}

}  // namespace

class HttpServer::Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(net::io_context& ioc, std::shared_ptr<const Config> config)
      : ioc_(ioc), acceptor_(net::make_strand(ioc)), retry_(ioc), config_(std::move(config)) {}

  Result<uint16_t> Listen(const std::string& host, uint16_t port) {
    beast::error_code ec;
    const std::string h = host == "localhost" ? "127.0.0.1" : host;
    const auto address = net::ip::make_address(h, ec);
    if (ec) return Status::Error("--host '" + host + "' is not an IP address");
    const tcp::endpoint endpoint(address, port);
    const std::string where = host + ":" + std::to_string(port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec)
      return Status::Error(StatusCode::kUnavailable,
                           "cannot listen on " + where + ": " + ec.message());
    return acceptor_.local_endpoint().port();
  }

  void Accept() {
    acceptor_.async_accept(net::make_strand(ioc_),
                           beast::bind_front_handler(&Listener::OnAccept, shared_from_this()));
  }

  void Stop() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      self->stopped_ = true;
      self->acceptor_.close(ec);
      self->retry_.cancel();
    });
  }

 private:
  void OnAccept(beast::error_code ec, tcp::socket socket) {
    if (stopped_ || ec == net::error::operation_aborted) return;
    if (ec) {
      // Out of descriptors or similar: back off instead of spinning.
      retry_.expires_after(std::chrono::milliseconds(100));
      retry_.async_wait([self = shared_from_this()](beast::error_code wec) {
        if (!wec && !self->stopped_) self->Accept();
      });
      return;
    }
    beast::error_code opt_ec;
    socket.set_option(tcp::no_delay(true), opt_ec);  // SSE chunks must not wait for Nagle
    std::make_shared<Connection>(std::move(socket), config_)->Start();
    Accept();
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_;
  std::shared_ptr<const Config> config_;
  bool stopped_ = false;
};

HttpServer::HttpServer(net::io_context& ioc, HttpOptions options, Handler handler,
                       CompletionHook on_complete)
    : ioc_(ioc),
      options_(std::move(options)),
      handler_(std::move(handler)),
      on_complete_(std::move(on_complete)) {}

HttpServer::~HttpServer() = default;

Status HttpServer::Listen() {
  auto config = std::make_shared<Config>(Config{options_, handler_, on_complete_, active_});
  listener_ = std::make_shared<Listener>(ioc_, std::move(config));
  auto port = listener_->Listen(options_.host, options_.port);
  if (!port.ok()) return port.status();
  port_ = *port;
  return Status::Ok();
}

void HttpServer::Start() {
  if (listener_) listener_->Accept();
}

void HttpServer::StopListening() {
  if (listener_) listener_->Stop();
}

void Exchange::RespondError(const ApiError& error) {
  Headers extra;
  if (error.retry_after_s > 0)
    extra.emplace_back("Retry-After", std::to_string(error.retry_after_s));
  if (error.status == 401) extra.emplace_back("WWW-Authenticate", "Bearer");
  Respond(error.status, "application/json", error.ToJson(), extra);
}

}  // namespace r1d::server
