// Regex: recursive-descent parser to a small AST, then Thompson code generation; the matcher
// simulates all threads at once with two bit sets and an explicit stack (see regex.hpp).
#include "kakehi/config/regex.hpp"

#include <bitset>
#include <stdexcept>

namespace kakehi::config {

namespace {

struct Node {
  enum Kind : uint8_t { Empty, Lit, Any, Cls, Cat, Alt, Star, Plus, Opt } kind = Empty;
  uint8_t c = 0;
  uint16_t cls = 0;
  int a = -1;
  int b = -1;
};

void set_bit(Regex::ByteSet& s, unsigned c) { s[c / 64] |= uint64_t{1} << (c % 64); }
bool has_bit(const Regex::ByteSet& s, unsigned c) { return (s[c / 64] >> (c % 64)) & 1U; }

bool is_word(unsigned c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
bool is_space(unsigned c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/// Adds the set for a class escape (\d \w \s and negations); false when `e` is not one.
bool add_class_escape(Regex::ByteSet& s, char e) {
  for (unsigned c = 0; c < 256; ++c) {
    bool in = false;
    switch (e) {
      case 'd':
      case 'D':
        in = c >= '0' && c <= '9';
        break;
      case 'w':
      case 'W':
        in = is_word(c);
        break;
      case 's':
      case 'S':
        in = is_space(c);
        break;
      default:
        return false;
    }
    if (e >= 'A' && e <= 'Z') in = !in;
    if (in) set_bit(s, c);
  }
  return true;
}

}  // namespace

class RegexCompiler {
 public:
  explicit RegexCompiler(std::string_view body) : s_(body) {}

  void run(Regex& out) {
    int root = parse_alt();
    if (pos_ != s_.size()) fail("unbalanced ')'");
    prog_ = &out.prog_;
    emit(root);
    push({Regex::Inst::Match});
    out.classes_ = std::move(classes_);
  }

 private:
  [[noreturn]] void fail(const std::string& why) {
    throw std::invalid_argument(why + " at offset " + std::to_string(pos_ + 1));
  }
  bool eof() const { return pos_ >= s_.size(); }
  char peek() const { return s_[pos_]; }
  int add(Node n) {
    if (nodes_.size() >= Regex::kMaxInstructions) fail("pattern too complex");
    nodes_.push_back(n);
    return static_cast<int>(nodes_.size() - 1);
  }

  int parse_alt() {
    int left = parse_cat();
    while (!eof() && peek() == '|') {
      ++pos_;
      left = add({Node::Alt, 0, 0, left, parse_cat()});
    }
    return left;
  }
  int parse_cat() {
    int left = add({Node::Empty});
    while (!eof() && peek() != '|' && peek() != ')')
      left = add({Node::Cat, 0, 0, left, parse_rep()});
    return left;
  }
  int parse_rep() {
    int atom = parse_atom();
    while (!eof() && (peek() == '*' || peek() == '+' || peek() == '?')) {
      char q = s_[pos_++];
      atom = add({q == '*' ? Node::Star : q == '+' ? Node::Plus : Node::Opt, 0, 0, atom});
    }
    return atom;
  }
  int parse_atom() {
    char c = s_[pos_++];
    switch (c) {
      case '(': {
        if (s_.substr(pos_, 2) == "?:") pos_ += 2;
        int inner = parse_alt();
        if (eof() || peek() != ')') fail("missing ')'");
        ++pos_;
        return inner;
      }
      case '[':
        return parse_class();
      case '.':
        return add({Node::Any});
      case '\\':
        return parse_escape();
      case '*':
      case '+':
      case '?':
        fail("nothing to repeat");
      case '{':
      case '}':
        fail("counted repetition is not supported");
      case '^':
      case '$':
        fail("anchors are only allowed at the ends");
      default:
        return add({Node::Lit, static_cast<uint8_t>(c)});
    }
  }
  int parse_escape() {
    if (eof()) fail("trailing backslash");
    char e = s_[pos_++];
    Regex::ByteSet set{};
    if (add_class_escape(set, e)) return add_class(set);
    if (is_word(static_cast<unsigned char>(e))) fail(std::string("unknown escape \\") + e);
    return add({Node::Lit, static_cast<uint8_t>(e)});
  }
  int add_class(const Regex::ByteSet& set) {
    classes_.push_back(set);
    return add({Node::Cls, 0, static_cast<uint16_t>(classes_.size() - 1)});
  }
  /// One class member: a byte, or a class escape merged into `set` (returns -1 then).
  int class_byte(Regex::ByteSet& set) {
    if (eof()) fail("missing ']'");
    char c = s_[pos_++];
    if (c != '\\') return static_cast<unsigned char>(c);
    if (eof()) fail("trailing backslash");
    char e = s_[pos_++];
    if (add_class_escape(set, e)) return -1;
    return static_cast<unsigned char>(e);
  }
  int parse_class() {
    Regex::ByteSet set{};
    bool negate = !eof() && peek() == '^';
    if (negate) ++pos_;
    bool first = true;
    while (eof() || peek() != ']' || first) {
      first = false;
      int lo = class_byte(set);
      if (lo < 0) continue;
      int hi = lo;
      if (pos_ + 1 < s_.size() && peek() == '-' && s_[pos_ + 1] != ']') {
        ++pos_;
        hi = class_byte(set);
        if (hi < lo) fail("bad class range");
      }
      for (int c = lo; c <= hi; ++c) set_bit(set, static_cast<unsigned>(c));
    }
    ++pos_;
    if (negate)
      for (auto& w : set) w = ~w;
    return add_class(set);
  }

  uint16_t here() const { return static_cast<uint16_t>(prog_->size()); }
  void push(Regex::Inst i) {
    if (prog_->size() >= Regex::kMaxInstructions) fail("pattern too complex");
    prog_->push_back(i);
  }
  void emit(int n) {
    const Node node = nodes_[static_cast<std::size_t>(n)];
    using I = Regex::Inst;
    switch (node.kind) {
      case Node::Empty:
        return;
      case Node::Lit:
        return push({I::Char, node.c});
      case Node::Any:
        return push({I::Any});
      case Node::Cls:
        return push({I::Class, 0, node.cls});
      case Node::Cat:
        emit(node.a);
        return emit(node.b);
      case Node::Alt: {
        uint16_t split = here();
        push({I::Split});
        (*prog_)[split].x = here();
        emit(node.a);
        uint16_t jmp = here();
        push({I::Jmp});
        (*prog_)[split].y = here();
        emit(node.b);
        (*prog_)[jmp].x = here();
        return;
      }
      case Node::Star: {
        uint16_t split = here();
        push({I::Split});
        (*prog_)[split].x = here();
        emit(node.a);
        push({I::Jmp, 0, split});
        (*prog_)[split].y = here();
        return;
      }
      case Node::Plus: {
        uint16_t start = here();
        emit(node.a);
        push({I::Split, 0, start});
        (*prog_)[here() - 1].y = here();
        return;
      }
      case Node::Opt: {
        uint16_t split = here();
        push({I::Split});
        (*prog_)[split].x = here();
        emit(node.a);
        (*prog_)[split].y = here();
        return;
      }
    }
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  std::vector<Node> nodes_;
  std::vector<Regex::ByteSet> classes_;
  std::vector<Regex::Inst>* prog_ = nullptr;
};

Result<Regex, std::string> Regex::compile(std::string_view pattern) {
  if (pattern.size() < 2 || pattern.front() != '^' || pattern.back() != '$' ||
      (pattern.size() >= 3 && pattern[pattern.size() - 2] == '\\'))
    return Unexpected(std::string("regex must be anchored as ^...$"));
  Regex r;
  r.pattern_ = std::string(pattern);
  r.matches_all_ = pattern == "^.*$";
  try {
    RegexCompiler(pattern.substr(1, pattern.size() - 2)).run(r);
  } catch (const std::invalid_argument& e) {
    return Unexpected(std::string("bad regex: ") + e.what());
  }
  return r;
}

namespace {
using StateSet = std::bitset<Regex::kMaxInstructions>;

void add_thread(const std::vector<Regex::Inst>& prog, StateSet& set, uint16_t pc) noexcept {
  std::array<uint16_t, 2 * Regex::kMaxInstructions + 2> stack;
  std::size_t top = 0;
  stack[top++] = pc;
  while (top > 0) {
    uint16_t p = stack[--top];
    if (set.test(p)) continue;
    set.set(p);
    const auto& in = prog[p];
    if (in.op == Regex::Inst::Jmp) {
      stack[top++] = in.x;
    } else if (in.op == Regex::Inst::Split) {
      stack[top++] = in.y;
      stack[top++] = in.x;
    }
  }
}
}  // namespace

bool Regex::full_match(std::string_view s) const noexcept {
  if (matches_all_) return true;
  if (prog_.empty()) return false;
  StateSet cur, next;
  add_thread(prog_, cur, 0);
  const std::size_t n = prog_.size();
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    next.reset();
    for (std::size_t pc = 0; pc < n; ++pc) {
      if (!cur.test(pc)) continue;
      const auto& in = prog_[pc];
      bool step = (in.op == Inst::Char && in.c == c) || in.op == Inst::Any ||
                  (in.op == Inst::Class && has_bit(classes_[in.x], c));
      if (step) add_thread(prog_, next, static_cast<uint16_t>(pc + 1));
    }
    cur = next;
    if (cur.none()) return false;
  }
  for (std::size_t pc = 0; pc < n; ++pc)
    if (cur.test(pc) && prog_[pc].op == Inst::Match) return true;
  return false;
}

}  // namespace kakehi::config
