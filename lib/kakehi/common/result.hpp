// Result<T, E>: the data plane's error channel (no throw on the data plane, STYLE "Errors").
// Member names follow std::expected (C++23) so the type can be swapped for it later.
// Must not allocate beyond what T and E themselves hold.
#pragma once

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

namespace kakehi {

template <class E>
class Unexpected {
 public:
  constexpr explicit Unexpected(E e) : error_(std::move(e)) {}
  constexpr const E& error() const& noexcept { return error_; }
  constexpr E&& error() && noexcept { return std::move(error_); }

 private:
  E error_;
};

template <class E>
Unexpected(E) -> Unexpected<E>;

/// Either a value of T or an error of E. `Result<void, E>` holds only an optional error.
template <class T, class E>
class [[nodiscard]] Result {
 public:
  using value_type = T;
  using error_type = E;

  template <class U = T>
  requires std::is_constructible_v<T, U&&>
  constexpr Result(U&& v) : v_(std::in_place_index<0>, std::forward<U>(v)) {}  // NOLINT
  template <class G>
  constexpr Result(Unexpected<G> e)  // NOLINT
      : v_(std::in_place_index<1>, std::move(e).error()) {}

  constexpr bool has_value() const noexcept { return v_.index() == 0; }
  constexpr explicit operator bool() const noexcept { return has_value(); }

  constexpr T& value() & { return assert(has_value()), *std::get_if<0>(&v_); }
  constexpr const T& value() const& { return assert(has_value()), *std::get_if<0>(&v_); }
  constexpr T&& value() && { return assert(has_value()), std::move(*std::get_if<0>(&v_)); }
  constexpr T& operator*() & { return value(); }
  constexpr const T& operator*() const& { return value(); }
  constexpr T&& operator*() && { return std::move(*this).value(); }
  constexpr T* operator->() { return &value(); }
  constexpr const T* operator->() const { return &value(); }

  constexpr const E& error() const& { return assert(!has_value()), *std::get_if<1>(&v_); }
  constexpr E& error() & { return assert(!has_value()), *std::get_if<1>(&v_); }

  template <class U>
  constexpr T value_or(U&& u) const& {
    return has_value() ? value() : static_cast<T>(std::forward<U>(u));
  }

 private:
  std::variant<T, E> v_;
};

template <class E>
class [[nodiscard]] Result<void, E> {
 public:
  using value_type = void;
  using error_type = E;

  constexpr Result() noexcept = default;
  template <class G>
  constexpr Result(Unexpected<G> e) : err_(std::move(e).error()), ok_(false) {}  // NOLINT

  constexpr bool has_value() const noexcept { return ok_; }
  constexpr explicit operator bool() const noexcept { return ok_; }
  constexpr void value() const { assert(ok_); }
  constexpr const E& error() const& { return assert(!ok_), err_; }

 private:
  E err_{};
  bool ok_ = true;
};

}  // namespace kakehi
