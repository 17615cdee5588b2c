#pragma once
// A value or an Error, returned at module edges (GCC 12 in C++20 has no std::expected);
// Result<void> when there is no value.

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace sos {

struct Error {
  std::string code;     // short machine-readable kind, e.g. "config.invalid"
  std::string message;  // what a person reads; may span several lines
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  // By value: `for (auto& x : f().value())` then iterates a value that lives through the loop,
  // not a reference into a temporary Result that is gone before the first iteration.
  T value() && { return std::get<T>(std::move(v_)); }
  const Error& error() const { return std::get<Error>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Success or an Error, for an operation with nothing to hand back (a write, a delivery):
// `return {};` succeeds, `return Error{...};` fails. A Result<bool> whose value is always true
// would make every caller wonder what false means.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return *error_; }

 private:
  std::optional<Error> error_;
};

}  // namespace sos
