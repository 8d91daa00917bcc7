// TimerWheel implementation. A slot holds every timer whose expiry tick ≡ slot (mod kSlots);
// entries of later rounds stay in place and are skipped until their tick comes.
#include "kakehi/runtime/timer_wheel.hpp"

#include <bit>
#include <cassert>

namespace kakehi::runtime {

TimerEntry::~TimerEntry() {
  if (wheel_) TimerWheel::cancel(*this);
}

TimerWheel::TimerWheel(uint64_t now_ns, uint64_t tick_ns)
    : tick_ns_(tick_ns), current_tick_(now_ns / tick_ns) {}

TimerWheel::~TimerWheel() {
  for (uint32_t l = 0; l <= kSlots; ++l) {
    while (TimerEntry* t = heads_[l]) unlink(*t);
  }
}

void TimerWheel::link(TimerEntry& t, uint32_t list) noexcept {
  t.prev_ = tails_[list];
  t.next_ = nullptr;
  if (tails_[list])
    tails_[list]->next_ = &t;
  else
    heads_[list] = &t;
  tails_[list] = &t;
  if (list < kSlots) occupied_[list / 64] |= uint64_t{1} << (list % 64);
  t.list_ = list;
  t.wheel_ = this;
  ++size_;
}

void TimerWheel::unlink(TimerEntry& t) noexcept {
  uint32_t list = t.list_;
  if (t.prev_)
    t.prev_->next_ = t.next_;
  else
    heads_[list] = t.next_;
  if (t.next_)
    t.next_->prev_ = t.prev_;
  else
    tails_[list] = t.prev_;
  if (list < kSlots && !heads_[list]) occupied_[list / 64] &= ~(uint64_t{1} << (list % 64));
  t.prev_ = t.next_ = nullptr;
  t.wheel_ = nullptr;
  --size_;
}

void TimerWheel::arm(TimerEntry& t, uint64_t deadline_ns) noexcept {
  if (t.wheel_) cancel(t);
  uint64_t tick = (deadline_ns + tick_ns_ - 1) / tick_ns_;  // round up: never fire early
  if (tick <= current_tick_) tick = current_tick_ + 1;      // past deadlines: next tick
  t.expiry_tick_ = tick;
  link(t, static_cast<uint32_t>(tick & (kSlots - 1)));
}

void TimerWheel::cancel(TimerEntry& t) noexcept {
  if (t.wheel_) t.wheel_->unlink(t);
}

void TimerWheel::collect_due(uint64_t tick) noexcept {
  uint32_t slot = static_cast<uint32_t>(tick & (kSlots - 1));
  for (TimerEntry* t = heads_[slot]; t;) {
    TimerEntry* next = t->next_;
    if (t->expiry_tick_ <= tick) {  // later rounds stay in the slot
      unlink(*t);
      link(*t, kFiring);
    }
    t = next;
  }
}

size_t TimerWheel::advance(uint64_t now_ns) {
  uint64_t now_tick = now_ns / tick_ns_;
  if (now_tick <= current_tick_) return 0;
  size_t fired = 0;
  // More than one rotation behind (a stalled loop): each slot is visited once.
  uint64_t first = now_tick - current_tick_ > kSlots ? now_tick - kSlots + 1 : current_tick_ + 1;
  for (uint64_t tick = first; tick <= now_tick; ++tick) {
    uint32_t slot = static_cast<uint32_t>(tick & (kSlots - 1));
    if (!(occupied_[slot / 64] & (uint64_t{1} << (slot % 64)))) continue;
    collect_due(tick);
    current_tick_ = tick;  // timers armed by callbacks land at tick + 1 or later
    while (TimerEntry* t = heads_[kFiring]) {
      unlink(*t);
      ++fired;
      t->on_expire(t);
    }
  }
  current_tick_ = now_tick;
  return fired;
}

std::optional<uint64_t> TimerWheel::next_wakeup() const noexcept {
  if (size_ == 0) return std::nullopt;
  // Scan the occupancy bitmap from the slot after the current tick, a word at a time.
  uint64_t start = current_tick_ + 1;
  for (uint32_t scanned = 0; scanned < kSlots;) {
    uint32_t slot = static_cast<uint32_t>((start + scanned) & (kSlots - 1));
    uint64_t word = occupied_[slot / 64] >> (slot % 64);
    if (word) return (start + scanned + static_cast<uint32_t>(std::countr_zero(word))) * tick_ns_;
    scanned += 64 - slot % 64;
  }
  return (start + kSlots) * tick_ns_;  // unreachable while size_ > 0
}

}  // namespace kakehi::runtime
