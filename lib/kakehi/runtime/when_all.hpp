// when_all: runs several tasks concurrently on the current worker and resumes the awaiter when
// the last one finishes. Results come back in argument order; if any child threw, the first
// exception is rethrown after all children have finished (no child outlives the call).
#pragma once

#include <coroutine>
#include <exception>
#include <optional>
#include <tuple>
#include <utility>
#include <vector>

#include "kakehi/runtime/task.hpp"

namespace kakehi::runtime {
namespace detail {

struct WhenAllState {
  size_t pending;
  std::coroutine_handle<> parent;
  std::exception_ptr error;
};

// A child coroutine: awaits one task, stores its result, and the last child resumes the parent.
// The parent owns the child's frame: a child stays suspended at its final point until the
// parent's frame (and with it `children`) goes, and a parent destroyed while children are still
// suspended (a worker's teardown) destroys them, and what they await, with it.
struct WhenAllChild {
  struct promise_type : PromiseBase {
    WhenAllState* state = nullptr;
    WhenAllChild get_return_object() noexcept {
      return WhenAllChild{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    struct Final {
      bool await_ready() noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
        WhenAllState* s = h.promise().state;
        return --s->pending == 0 ? s->parent : std::noop_coroutine();
      }
      void await_resume() noexcept {}
    };
    Final final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept {
      if (!state->error) state->error = std::current_exception();
    }
  };
  explicit WhenAllChild(std::coroutine_handle<promise_type> handle) noexcept : h(handle) {}
  WhenAllChild(WhenAllChild&& o) noexcept : h(std::exchange(o.h, {})) {}
  WhenAllChild& operator=(WhenAllChild&&) = delete;
  ~WhenAllChild() {
    if (h) h.destroy();
  }
  std::coroutine_handle<promise_type> h;
};

template <class T, class Slot>
WhenAllChild when_all_child(Task<T> t, Slot* slot) {
  if constexpr (std::is_void_v<T>) {
    co_await std::move(t);
  } else {
    slot->emplace(co_await std::move(t));
  }
}

// Starts every child; the last one to finish resumes the parent. `pending` starts at the
// number of children plus one for this start-up pass, so no child can resume the parent before
// it has suspended; if all children finished synchronously the parent does not suspend at all.
struct StartAll {
  WhenAllState& state;
  std::vector<WhenAllChild>& children;
  bool await_ready() const noexcept { return children.empty(); }
  bool await_suspend(std::coroutine_handle<> parent) noexcept {
    state.parent = parent;
    for (auto& c : children) {
      c.h.promise().state = &state;
      c.h.resume();
    }
    return --state.pending != 0;
  }
  void await_resume() const {
    if (state.error) std::rethrow_exception(state.error);
  }
};

}  // namespace detail

/// Runs all `tasks` concurrently; returns their values in order.
template <class T>
Task<std::conditional_t<std::is_void_v<T>, void, std::vector<T>>> when_all(
    std::vector<Task<T>> tasks) {
  using Slot = std::optional<std::conditional_t<std::is_void_v<T>, int, T>>;
  std::vector<Slot> slots(tasks.size());
  std::vector<detail::WhenAllChild> children;
  children.reserve(tasks.size());
  detail::WhenAllState state{tasks.size() + 1, {}, {}};
  for (size_t i = 0; i < tasks.size(); ++i)
    children.push_back(detail::when_all_child(std::move(tasks[i]), &slots[i]));
  co_await detail::StartAll{state, children};
  if constexpr (!std::is_void_v<T>) {
    std::vector<T> out;
    out.reserve(slots.size());
    for (auto& s : slots) out.push_back(std::move(*s));
    co_return out;
  }
}

/// Runs two or more non-void tasks concurrently; returns a tuple of their values.
template <class... Ts>
requires(sizeof...(Ts) > 0 &&
         (!std::is_void_v<Ts> && ...)) Task<std::tuple<Ts...>> when_all(Task<Ts>... tasks) {
  std::tuple<std::optional<Ts>...> slots;
  detail::WhenAllState state{sizeof...(Ts) + 1, {}, {}};
  std::vector<detail::WhenAllChild> children;
  children.reserve(sizeof...(Ts));
  [&]<size_t... I>(std::index_sequence<I...>) {
    (children.push_back(detail::when_all_child(std::move(tasks), &std::get<I>(slots))), ...);
  }
  (std::index_sequence_for<Ts...>{});
  co_await detail::StartAll{state, children};
  co_return std::apply([](auto&... s) { return std::tuple<Ts...>(std::move(*s)...); }, slots);
}

}  // namespace kakehi::runtime
