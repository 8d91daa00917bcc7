// Mailbox: many producer threads under contention into one worker; nothing lost, nothing
// duplicated, each producer's messages in its own order; the worker sleeps between bursts.
#include "kakehi/runtime/mailbox.hpp"

#include <doctest/doctest.h>

#include <thread>
#include <vector>

#include "kakehi/runtime/ring.hpp"

using namespace kakehi::runtime;

namespace {
struct Msg {
  int producer;
  int seq;
};
}  // namespace

TEST_CASE("mailbox: 4 producers x 100000 messages into one worker") {
  constexpr int kProducers = 4;
  constexpr int kPerProducer = 100000;
  Worker w;
  Mailbox<Msg> mb(w);
  std::vector<int> next(kProducers, 0);
  int received = 0;
  bool in_order = true;

  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p)
    producers.emplace_back([&mb, p] {
      for (int i = 0; i < kPerProducer; ++i) {
        mb.push(Msg{p, i});
        if (i % 10000 == 0) std::this_thread::yield();
      }
    });

  w.block_on([](Mailbox<Msg>& m, std::vector<int>& nx, int& count, bool& ok) -> Task<void> {
    while (count < kProducers * kPerProducer) {
      Msg msg = co_await m.receive();
      if (msg.seq != nx[msg.producer]) ok = false;
      nx[msg.producer] = msg.seq + 1;
      ++count;
    }
  }(mb, next, received, in_order));
  for (auto& t : producers) t.join();

  CHECK(received == kProducers * kPerProducer);
  CHECK(in_order);
  for (int p = 0; p < kProducers; ++p) CHECK(next[p] == kPerProducer);
  CHECK_FALSE(mb.try_pop().has_value());
}

TEST_CASE("mailbox: a sleeping worker wakes for a late message, with no busy loop") {
  Worker w;
  Mailbox<int> mb(w);
  std::thread late([&mb] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    mb.push(7);
  });
  int got = w.block_on([](Mailbox<int>& m) -> Task<int> { co_return co_await m.receive(); }(mb));
  late.join();
  CHECK(got == 7);
  // Waiting 50 ms took a handful of loop turns, not a spin.
  CHECK(w.stats().turns < 10);
}
