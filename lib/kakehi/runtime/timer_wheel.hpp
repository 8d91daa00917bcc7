// TimerWheel: a hashed timing wheel (Varghese & Lauck, scheme 6) for the many per-connection
// deadlines of a worker. Arm and cancel are O(1) (intrusive doubly-linked slot lists); advancing
// visits only the slots whose ticks have passed. A timer never fires early: it fires on the
// first `advance` at or after its deadline rounded up to the tick. Timers due in the same tick
// fire in arming order; earlier ticks fire first. Time is passed in (nanoseconds, monotonic).
#pragma once

#include <array>
#include <cstdint>
#include <optional>

namespace kakehi::runtime {

class TimerWheel;

/// An intrusive timer. Embed it, set `on_expire`, arm it. It must stay alive while armed;
/// destroying an armed timer cancels it.
struct TimerEntry {
  using Fn = void (*)(TimerEntry*);
  Fn on_expire = nullptr;

  TimerEntry() = default;
  explicit TimerEntry(Fn fn) : on_expire(fn) {}
  TimerEntry(const TimerEntry&) = delete;
  TimerEntry& operator=(const TimerEntry&) = delete;
  ~TimerEntry();
  bool armed() const noexcept { return wheel_ != nullptr; }

 private:
  friend class TimerWheel;
  TimerEntry* prev_ = nullptr;
  TimerEntry* next_ = nullptr;
  TimerWheel* wheel_ = nullptr;
  uint64_t expiry_tick_ = 0;
  uint32_t list_ = 0;  // slot index, or kFiring while queued to fire
};

class TimerWheel {
 public:
  static constexpr uint32_t kSlots = 4096;  // power of two

  /// `tick_ns`: the resolution; `now_ns`: the current time.
  explicit TimerWheel(uint64_t now_ns, uint64_t tick_ns = 1'000'000);
  ~TimerWheel();
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  /// Arms (or re-arms) `t` to fire at `deadline_ns`. O(1).
  void arm(TimerEntry& t, uint64_t deadline_ns) noexcept;
  /// Disarms `t` if armed. O(1).
  static void cancel(TimerEntry& t) noexcept;
  /// Fires every timer due at or before `now_ns`; returns how many fired.
  size_t advance(uint64_t now_ns);
  /// The earliest time at which `advance` may have something to fire (a lower bound on the
  /// next deadline: it may wake for an entry of a later round); empty when nothing is armed.
  std::optional<uint64_t> next_wakeup() const noexcept;

  size_t size() const noexcept { return size_; }
  uint64_t tick_ns() const noexcept { return tick_ns_; }

 private:
  static constexpr uint32_t kFiring = kSlots;  // the extra list of entries due this advance

  void link(TimerEntry& t, uint32_t list) noexcept;
  void unlink(TimerEntry& t) noexcept;
  void collect_due(uint64_t tick) noexcept;

  uint64_t tick_ns_;
  uint64_t current_tick_;  // every tick ≤ this has been processed
  size_t size_ = 0;
  // kSlots slot lists, then the firing list. A callback may cancel or destroy any entry,
  // including one queued to fire: every list is intrusive, so that is always an O(1) unlink.
  std::array<TimerEntry*, kSlots + 1> heads_{};
  std::array<TimerEntry*, kSlots + 1> tails_{};
  std::array<uint64_t, kSlots / 64> occupied_{};  // bitmap of non-empty slots
};

}  // namespace kakehi::runtime
