// IntrusiveList: a doubly-linked list of objects that embed an IntrusiveHook. O(1) push, erase
// and "am I linked"; no allocation. The hook unlinks itself when destroyed.
#pragma once

#include <cstddef>

namespace kakehi {

struct IntrusiveHook {
  IntrusiveHook* prev = nullptr;
  IntrusiveHook* next = nullptr;
  bool linked() const noexcept { return prev != nullptr; }
  void unlink() noexcept {
    if (!prev) return;
    prev->next = next;
    next->prev = prev;
    prev = next = nullptr;
  }
  IntrusiveHook() = default;
  IntrusiveHook(const IntrusiveHook&) = delete;
  IntrusiveHook& operator=(const IntrusiveHook&) = delete;
  ~IntrusiveHook() { unlink(); }
};

/// `T` derives from IntrusiveHook (once).
template <class T>
class IntrusiveList {
 public:
  IntrusiveList() noexcept { head_.prev = head_.next = &head_; }
  ~IntrusiveList() { clear(); }
  IntrusiveList(const IntrusiveList&) = delete;
  IntrusiveList& operator=(const IntrusiveList&) = delete;

  bool empty() const noexcept { return head_.next == &head_; }
  void push_back(T& t) noexcept {
    IntrusiveHook& h = t;
    h.prev = head_.prev;
    h.next = &head_;
    head_.prev->next = &h;
    head_.prev = &h;
  }
  T& front() noexcept { return static_cast<T&>(*head_.next); }
  T* pop_front() noexcept {
    if (empty()) return nullptr;
    T& t = front();
    static_cast<IntrusiveHook&>(t).unlink();
    return &t;
  }
  size_t size() const noexcept {
    size_t n = 0;
    for (const IntrusiveHook* h = head_.next; h != &head_; h = h->next) ++n;
    return n;
  }
  /// Calls `f(T&)` for each element; `f` must not unlink elements other than the one it gets.
  template <class F>
  void for_each(F&& f) {
    for (IntrusiveHook* h = head_.next; h != &head_;) {
      IntrusiveHook* next = h->next;
      f(static_cast<T&>(*h));
      h = next;
    }
  }
  void clear() noexcept {
    while (!empty()) pop_front();
  }

 private:
  IntrusiveHook head_;
};

}  // namespace kakehi
