// Result<T>: a value or an error, returned across component boundaries instead of
// throwing. Error text is complete and user-facing ("routes.yaml:3:5: unknown key"); a
// caller that must tell failures apart tests the code, never the text (LevelDB's Status
// model).
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace bottle {

enum class ErrorCode {
  unknown,        // the default: a failure no caller needs to tell apart
  not_supported,  // e.g. a content-encoding the decoder does not know
  too_large,      // a configured size limit was reached
};

struct Error {
  std::string message;
  ErrorCode code = ErrorCode::unknown;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}      // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  const std::string& error() const { return std::get<1>(v_).message; }
  ErrorCode code() const { return std::get<1>(v_).code; }
  // The whole error, to pass on with its code: `if (!r) return r.failure();`.
  const Error& failure() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// For operations that produce nothing but can fail.
struct Ok {};
using Status = Result<Ok>;
inline Status OkStatus() { return Ok{}; }

}  // namespace bottle
