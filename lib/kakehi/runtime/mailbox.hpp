// Mailbox<T>: a cross-thread channel into one worker (the config channel's transport). Any
// thread may `push`; a coroutine on the worker `co_await receive()`s. The queue is Vyukov's
// intrusive MPSC list (wait-free push, one node allocation per message); the consumer is woken
// through an eventfd read on the worker's ring, written only when the consumer may be asleep
// (at most one write per wake-up, not one per message). The worker never blocks on it.
// Lifetime: destroy a mailbox only when no receive is pending (e.g. after its worker's teardown).
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cassert>
#include <cerrno>
#include <coroutine>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <utility>

#include "kakehi/runtime/worker.hpp"

namespace kakehi::runtime {

template <class T>
class Mailbox {
 public:
  explicit Mailbox(Worker& w) : worker_(w), fd_(::eventfd(0, EFD_CLOEXEC)) {
    if (fd_ < 0) throw std::runtime_error("kakehi: eventfd failed");
    head_.store(&stub_, std::memory_order_relaxed);
    tail_ = &stub_;
    read_op_.fn = &on_read;
    read_op_.mb = this;
  }
  ~Mailbox() {
    assert(!read_pending_ && "mailbox destroyed with a receive pending");
    while (try_pop()) {
    }
    ::close(fd_);
  }
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  /// Any thread. Never blocks.
  void push(T value) {
    auto* n = new Node(std::move(value));
    link(n);
    if (!notified_.exchange(true, std::memory_order_seq_cst)) {
      uint64_t one = 1;
      [[maybe_unused]] ssize_t r = ::write(fd_, &one, sizeof one);
    }
  }

  /// Worker thread only: the next message, or empty if none is queued.
  std::optional<T> try_pop() {
    for (;;) {
      NodeBase* tail = tail_;
      NodeBase* next = tail->next.load(std::memory_order_acquire);
      if (tail == &stub_) {
        if (!next) {
          if (head_.load(std::memory_order_seq_cst) == &stub_) return std::nullopt;
          continue;  // a producer is between its exchange and its link: a few instructions
        }
        tail_ = tail = next;
        next = tail->next.load(std::memory_order_acquire);
      }
      if (next) {
        tail_ = next;
        return take(tail);
      }
      if (tail != head_.load(std::memory_order_seq_cst)) continue;  // producer mid-push
      link(&stub_);  // tail is the last real node: put the stub behind it
      next = tail->next.load(std::memory_order_acquire);
      if (next) {
        tail_ = next;
        return take(tail);
      }
    }
  }

  /// Worker coroutine: waits for the next message.
  struct Receive {
    Mailbox& mb;
    std::optional<T> value;
    bool await_ready() {
      value = mb.try_pop();
      return value.has_value();
    }
    bool await_suspend(std::coroutine_handle<> h) {
      // Clear the flag before looking again: a push after this point writes the eventfd.
      mb.notified_.store(false, std::memory_order_seq_cst);
      value = mb.try_pop();
      if (value) return false;
      mb.waiter_ = h;
      mb.receiver_ = this;
      mb.arm_read();
      return true;
    }
    T await_resume() { return std::move(*value); }
  };
  Receive receive() { return Receive{*this, std::nullopt}; }

 private:
  struct NodeBase {
    std::atomic<NodeBase*> next{nullptr};
  };
  struct Node : NodeBase {
    explicit Node(T v) : value(std::move(v)) {}
    T value;
  };
  struct ReadOp : Completion {
    Mailbox* mb = nullptr;
    uint64_t counter = 0;
  };

  void link(NodeBase* n) {
    n->next.store(nullptr, std::memory_order_relaxed);
    NodeBase* prev = head_.exchange(n, std::memory_order_seq_cst);
    prev->next.store(n, std::memory_order_release);
  }
  T take(NodeBase* n) {
    auto* node = static_cast<Node*>(n);
    T v = std::move(node->value);
    delete node;
    return v;
  }

  static void on_read(Completion* c, int res, uint32_t) {
    Mailbox* mb = static_cast<ReadOp*>(c)->mb;
    mb->read_pending_ = false;
    if (!mb->waiter_ || res == -ECANCELED) return;  // teardown: the waiter is destroyed
    mb->notified_.store(false, std::memory_order_seq_cst);
    if (auto v = mb->try_pop()) {
      mb->receiver_->value = std::move(v);
      std::exchange(mb->waiter_, {}).resume();
      return;
    }
    mb->arm_read();  // woken by an earlier message already taken: sleep again
  }
  void arm_read() {
    if (read_pending_) return;
    read_pending_ = true;
    io_uring_prep_read(worker_.ring().sqe(&read_op_), fd_, &read_op_.counter,
                       sizeof read_op_.counter, 0);
  }

  Worker& worker_;
  int fd_;
  alignas(64) std::atomic<NodeBase*> head_;  // producers
  alignas(64) NodeBase* tail_;               // consumer
  NodeBase stub_;
  alignas(64) std::atomic<bool> notified_{false};
  std::coroutine_handle<> waiter_;
  Receive* receiver_ = nullptr;
  bool read_pending_ = false;
  ReadOp read_op_;
};

}  // namespace kakehi::runtime
