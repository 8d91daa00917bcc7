// Minimal leveled logging to stderr for start-up and control-plane messages; never per request,
// except through a Throttle.
// The level comes from KAKEHI_LOG (error|warn|info|debug), default info.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace kakehi::log {

enum class Level { Error = 0, Warn = 1, Info = 2, Debug = 3 };

inline Level threshold() noexcept {
  static const Level level = [] {
    const char* v = std::getenv("KAKEHI_LOG");
    if (!v) return Level::Info;
    if (!std::strcmp(v, "error")) return Level::Error;
    if (!std::strcmp(v, "warn")) return Level::Warn;
    if (!std::strcmp(v, "debug")) return Level::Debug;
    return Level::Info;
  }();
  return level;
}

template <class... A>
void write(Level l, const char* tag, fmt::format_string<A...> f, A&&... a) {
  if (l > threshold()) return;
  auto line = fmt::format("kakehi {}: {}\n", tag, fmt::format(f, std::forward<A>(a)...));
  std::fwrite(line.data(), 1, line.size(), stderr);
}

/// Rate limit for a warning that a condition may repeat at every request or loop turn (file
/// descriptors exhausted...): the first occurrence is logged, then at most one per interval,
/// saying how many were left out in between.
class Throttle {
 public:
  explicit Throttle(uint64_t interval_ns = 1'000'000'000) : interval_ns_(interval_ns) {}
  /// Whether to log now (`now_ns`: a monotonic clock); counts the occurrence otherwise.
  bool allow(uint64_t now_ns) noexcept {
    if (logged_ && now_ns < next_ns_) {
      ++suppressed_;
      return false;
    }
    logged_ = true;
    next_ns_ = now_ns + interval_ns_;
    return true;
  }
  /// Occurrences not logged since the last logged one (reset by the call).
  uint64_t take_suppressed() noexcept { return std::exchange(suppressed_, 0); }

 private:
  uint64_t interval_ns_;
  uint64_t next_ns_ = 0;
  uint64_t suppressed_ = 0;
  bool logged_ = false;
};

/// A warning through `t`: logged when `t` allows it at `now_ns`, followed by how many were left
/// out since the last one.
template <class... A>
void warn_throttled(Throttle& t, uint64_t now_ns, fmt::format_string<A...> f, A&&... a) {
  if (!t.allow(now_ns)) return;
  write(Level::Warn, "warn", "{} ({} more since the last such message)",
        fmt::format(f, std::forward<A>(a)...), t.take_suppressed());
}

template <class... A>
void error(fmt::format_string<A...> f, A&&... a) {
  write(Level::Error, "error", f, std::forward<A>(a)...);
}
template <class... A>
void warn(fmt::format_string<A...> f, A&&... a) {
  write(Level::Warn, "warn", f, std::forward<A>(a)...);
}
template <class... A>
void info(fmt::format_string<A...> f, A&&... a) {
  write(Level::Info, "info", f, std::forward<A>(a)...);
}
template <class... A>
void debug(fmt::format_string<A...> f, A&&... a) {
  write(Level::Debug, "debug", f, std::forward<A>(a)...);
}

}  // namespace kakehi::log
