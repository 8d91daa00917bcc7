// Minimal leveled logging to stderr for start-up and control-plane messages (never per request).
// The level comes from KAKEHI_LOG (error|warn|info|debug), default info.
#pragma once

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

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
