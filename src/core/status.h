#pragma once
// Errors a user can cause are values: Status / Result<T>. CHECK is for programmer errors only.
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>

namespace r1d {

// What kind of failure a Status is, for callers that react differently (an HTTP status, a retry).
enum class StatusCode {
  kOk,
  kInvalidArgument,  // the input is wrong (default for Error(message))
  kNotFound,
  kResourceExhausted,  // a queue, cache or limit is full; may succeed later
  kUnavailable,        // shutting down / not ready
  kCancelled,
  kInternal,
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status Error(std::string message) {
    return Error(StatusCode::kInvalidArgument, std::move(message));
  }
  static Status Error(StatusCode code, std::string message) {
    Status s;
    s.ok_ = false;
    s.code_ = code;
    s.message_ = std::move(message);
    return s;
  }
  bool ok() const { return ok_; }
  StatusCode code() const { return ok_ ? StatusCode::kOk : code_; }
  const std::string& message() const { return message_; }
  // Prepends context ("while loading X: ") to an error; no-op on success.
  Status WithContext(const std::string& context) const {
    if (ok_) return *this;
    return Error(code_, context + ": " + message_);
  }

 private:
  bool ok_ = true;
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (status_.ok()) status_ = Status::Error("internal: Result built from an OK status");
  }
  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T&& operator*() && { return std::move(*value_); }

 private:
  std::optional<T> value_;
  Status status_;
};

[[noreturn]] void CheckFailed(const char* file, int line, const char* expr, const char* message);

}  // namespace r1d

#define R1D_CONCAT_INNER(a, b) a##b
#define R1D_CONCAT(a, b) R1D_CONCAT_INNER(a, b)

#define R1D_RETURN_IF_ERROR(expr)              \
  do {                                         \
    ::r1d::Status r1d_status_ = (expr);        \
    if (!r1d_status_.ok()) return r1d_status_; \
  } while (0)

#define R1D_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()

#define R1D_ASSIGN_OR_RETURN(lhs, expr) \
  R1D_ASSIGN_OR_RETURN_IMPL(R1D_CONCAT(r1d_result_, __LINE__), lhs, expr)

// Programmer errors only: must be unreachable from any input.
#define R1D_CHECK(cond)                                             \
  do {                                                              \
    if (!(cond)) ::r1d::CheckFailed(__FILE__, __LINE__, #cond, ""); \
  } while (0)
#define R1D_CHECK_MSG(cond, msg)                                       \
  do {                                                                 \
    if (!(cond)) ::r1d::CheckFailed(__FILE__, __LINE__, #cond, (msg)); \
  } while (0)
