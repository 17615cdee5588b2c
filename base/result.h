#pragma once
// A value or an Error, returned at module edges (GCC 12 in C++20 has no std::expected).

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
  T&& value() && { return std::get<T>(std::move(v_)); }
  const Error& error() const { return std::get<Error>(v_); }

 private:
  std::variant<T, Error> v_;
};

}  // namespace sos
