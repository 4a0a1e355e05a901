#pragma once
// Internal error type of the Jinja interpreter. It is thrown only inside src/tokenizer/jinja and
// caught at the public API (Template::Parse / Template::Render), which turns it into a Status.
// Exceptions keep the evaluator readable: Python-style errors can start anywhere in an
// expression, and the nearest enclosing node adds its line number on the way out.
#include <exception>
#include <string>

namespace r1d::tokenizer::jinja {

enum class ErrorKind {
  kSyntax,   // the template text does not parse
  kRuntime,  // a Python/Jinja runtime error (TypeError, UndefinedError, ...)
  kRaised,   // raise_exception(msg) called by the template
  kLimit,    // a sandbox limit (steps, recursion, output size) was hit
};

class JinjaError : public std::exception {
 public:
  JinjaError(ErrorKind kind, std::string message, int line = 0)
      : kind_(kind), message_(std::move(message)), line_(line) {}
  const char* what() const noexcept override { return message_.c_str(); }
  ErrorKind kind() const { return kind_; }
  const std::string& message() const { return message_; }
  int line() const { return line_; }
  void set_line(int line) { line_ = line; }

 private:
  ErrorKind kind_;
  std::string message_;
  int line_;
};

[[noreturn]] inline void ThrowRuntime(std::string message) {
  throw JinjaError(ErrorKind::kRuntime, std::move(message));
}
[[noreturn]] inline void ThrowSyntax(std::string message, int line) {
  throw JinjaError(ErrorKind::kSyntax, std::move(message), line);
}
[[noreturn]] inline void ThrowLimit(std::string message) {
  throw JinjaError(ErrorKind::kLimit, std::move(message));
}

}  // namespace r1d::tokenizer::jinja
