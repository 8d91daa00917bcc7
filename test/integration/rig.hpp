// A kakehi::proxy::Proxy brought up in-process for one test case, with an HTTP (or TCP)
// listener on a free loopback port, and helpers to apply diffs that must succeed.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "kakehi/proxy/proxy.hpp"
#include "support/origin.hpp"

namespace kakehi::test {

inline proxy::ProxyOptions rig_options(size_t workers = 1) {
  proxy::ProxyOptions o;
  o.workers = workers;
  o.worker.buffer_count = 2048;
  return o;
}

struct Rig {
  proxy::Proxy proxy;
  uint16_t port = 0;
  std::string listener;  ///< "127.0.0.1:<port>" of the first listener

  explicit Rig(proxy::ProxyOptions o = rig_options()) : proxy(std::move(o)) {}

  /// Applies `d`; the test fails (REQUIRE) unless every answer is ok.
  void apply(Diff& d) {
    auto answers = proxy.apply(d.take());
    std::string f = failures(answers);
    REQUIRE_MESSAGE(f.empty(), f);
  }

  /// Adds listener `l` (its address is replaced by a free port; retried if the port was taken
  /// meanwhile) and returns its port. The first one becomes `port`/`listener`.
  uint16_t add_listener(config::Listener l) {
    for (int attempt = 0; attempt < 10; ++attempt) {
      uint16_t p = free_port();
      l.address = local(p);
      Diff d;
      d(config::AddListener{l});
      auto answers = proxy.apply(d.take());
      if (failures(answers).empty()) {
        if (port == 0) {
          port = p;
          listener = l.address;
        }
        return p;
      }
      MESSAGE("listener on " << l.address << " failed: " << failures(answers));
    }
    FAIL("could not add a listener");
    return 0;
  }
  uint16_t add_http_listener() { return add_listener(http_listener("127.0.0.1:1")); }

  /// One cluster `id` whose backends are `origins` (ids b0, b1, ...) behind one frontend
  /// (`hostname`, prefix "/") on the first listener.
  void add_cluster(const std::string& id, const std::vector<const HttpOrigin*>& origins,
                   config::LbAlgorithm lb = config::LbAlgorithm::RoundRobin,
                   const std::string& hostname = "app.test") {
    Diff d;
    d(config::AddCluster{cluster(id, lb)});
    for (size_t i = 0; i < origins.size(); ++i)
      d(config::AddBackend{backend(id, "b" + std::to_string(i), *origins[i])});
    d(config::AddHttpFrontend{frontend("f-" + id, listener, id, hostname)});
    apply(d);
  }
};

/// Polls `pred` every 5 ms for at most `limit`.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 5000ms) {
  auto end = Clock::now() + limit;
  while (Clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

}  // namespace kakehi::test
