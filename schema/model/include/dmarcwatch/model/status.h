#pragma once
// Status: the outcome of an operation that can fail, and Result<T>, a value
// or the Status that explains why there is none.
//
// Every public API of a dmarcwatch module returns one of these instead of
// throwing: exceptions from Poco and the standard library are caught at the
// adapter that calls them and mapped to a code here (STYLE.md, "Errors").
//
// A Status carries three things:
//  - a code, which says what kind of failure it is and so how the caller
//    reacts (bad input is quarantined and never retried; an unavailable
//    server is retried with backoff; a bug is never a Status, see check.h);
//  - a reason, a short stable token such as "inflate_limit" that tools,
//    tests, logs and the rejected-inputs table can rely on;
//  - a message, one line of plain words for a person.
//
// Result<T> is shaped like C++23 std::expected, which GCC 12 lacks.

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace dmarcwatch {

enum class StatusCode {
  kOk = 0,
  kInvalidInput,      // the input is not what it claims to be; never retried
  kLimitExceeded,     // the input is larger than a configured limit allows
  kNotFound,
  kAlreadyExists,
  kFailedPrecondition,
  kIoError,           // local file system or store; usually not retried
  kUnavailable,       // a server or lock is not reachable now; retried
  kTimeout,           // a deadline passed; retried
  kPermissionDenied,
  kUnauthenticated,
  kInternal,          // a dependency failed in a way we did not expect
  kUnknown,
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string reason, std::string message)
      : code_(code), reason_(std::move(reason)), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidInput(std::string reason, std::string message) {
    return {StatusCode::kInvalidInput, std::move(reason), std::move(message)};
  }
  static Status LimitExceeded(std::string reason, std::string message) {
    return {StatusCode::kLimitExceeded, std::move(reason), std::move(message)};
  }
  static Status NotFound(std::string message) {
    return {StatusCode::kNotFound, "not_found", std::move(message)};
  }
  static Status IoError(std::string message) {
    return {StatusCode::kIoError, "io_error", std::move(message)};
  }
  static Status Unavailable(std::string reason, std::string message) {
    return {StatusCode::kUnavailable, std::move(reason), std::move(message)};
  }
  static Status Internal(std::string message) {
    return {StatusCode::kInternal, "internal", std::move(message)};
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  // A stable token naming the failure ("doctype_forbidden", "inflate_limit").
  const std::string& reason() const { return reason_; }
  // One line for a person; may quote (sanitised) input.
  const std::string& message() const { return message_; }
  // True for failures that may succeed when tried again later.
  bool retryable() const {
    return code_ == StatusCode::kUnavailable || code_ == StatusCode::kTimeout;
  }
  // "reason: message", or "ok".
  std::string ToString() const;

  // Marks a status as deliberately ignored.
  void IgnoreError() const {}

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string reason_;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT
  Result(Status status) : state_(std::in_place_index<1>, std::move(status)) {  // NOLINT
    assert(!std::get<1>(state_).ok() && "a Result holding a Status must hold a failure");
  }

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // REQUIRES: ok()
  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // REQUIRES: !ok()
  const Status& status() const& { return std::get<1>(state_); }
  Status&& status() && { return std::get<1>(std::move(state_)); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace dmarcwatch

// Returns early from the enclosing function when `expr` yields a failed Status.
#define DMARC_RETURN_IF_ERROR(expr)                        \
  do {                                                     \
    ::dmarcwatch::Status dmarc_status_ = (expr);           \
    if (!dmarc_status_.ok()) return dmarc_status_;         \
  } while (false)
