// A small anchored regular-expression matcher for hostname and path rules. Compiling (control
// plane) allocates and reports errors; matching (data plane) is a Thompson NFA simulation over
// fixed-size bit sets on the stack: it never allocates, never throws and runs in O(n * m).
// Supported: literals, `.`, `[...]`/`[^...]` with ranges, `\d \w \s \D \W \S`, escaped
// punctuation, `(...)`, `(?:...)`, `|`, `*`, `+`, `?`. The pattern must be `^...$`.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kakehi/common/result.hpp"

namespace kakehi::config {

class Regex {
 public:
  static constexpr std::size_t kMaxInstructions = 512;

  /// Compiles an anchored pattern ("^...$"). Error: a one-line reason.
  [[nodiscard]] static Result<Regex, std::string> compile(std::string_view pattern);

  /// True when the whole of `s` matches. No allocation, no exception.
  [[nodiscard]] bool full_match(std::string_view s) const noexcept;

  [[nodiscard]] const std::string& pattern() const noexcept { return pattern_; }

  struct Inst {
    enum Op : uint8_t { Char, Any, Class, Split, Jmp, Match } op;
    uint8_t c = 0;
    uint16_t x = 0;  ///< Split/Jmp target; Class index
    uint16_t y = 0;  ///< Split second target
  };
  using ByteSet = std::array<uint64_t, 4>;

 private:
  std::string pattern_;
  bool matches_all_ = false;  ///< "^.*$": every input matches (catch-all rules skip the NFA)
  std::vector<Inst> prog_;
  std::vector<ByteSet> classes_;
  friend class RegexCompiler;
};

}  // namespace kakehi::config
