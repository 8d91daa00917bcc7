// Control line protocol: trim, tell a single request from an array, parse every request before
// applying anything (a bad element rejects the whole line), then apply once.
#include "proxy/control_protocol.hpp"

#include "kakehi/config/json.hpp"

namespace kakehi::edge {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string error_answer_line(std::string_view reason) {
  config::Answer a;
  a.status = config::AnswerStatus::Error;
  a.message = std::string(reason);
  return config::answer_to_json(a);
}

Result<std::vector<std::string_view>, std::string> split_json_array(std::string_view text) {
  text = trim(text);
  if (text.size() < 2 || text.front() != '[' || text.back() != ']')
    return Unexpected(std::string("not a JSON array"));
  std::vector<std::string_view> out;
  const std::string_view body = text.substr(1, text.size() - 2);
  size_t start = 0;
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  auto push = [&](size_t end) -> bool {
    auto e = trim(body.substr(start, end - start));
    if (e.empty()) return false;
    out.push_back(e);
    return true;
  };
  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      ++depth;
    } else if (c == ']' || c == '}') {
      if (--depth < 0) return Unexpected(std::string("unbalanced brackets in the array"));
    } else if (c == ',' && depth == 0) {
      if (!push(i)) return Unexpected(std::string("empty element in the array"));
      start = i + 1;
    }
  }
  if (in_string || depth != 0) return Unexpected(std::string("unterminated JSON array"));
  if (!push(body.size()) && !out.empty())
    return Unexpected(std::string("empty element in the array"));
  return out;
}

std::vector<std::string> handle_control_line(std::string_view line, const ApplyFn& apply) {
  std::vector<std::string> lines;
  line = trim(line);
  if (line.empty()) return lines;
  try {
    std::vector<config::Request> diff;
    if (line.front() == '[') {
      auto parts = split_json_array(line);
      if (!parts) return {error_answer_line("bad request array: " + parts.error())};
      if (parts->empty()) return lines;
      for (size_t i = 0; i < parts->size(); ++i) {
        auto r = config::request_from_json((*parts)[i]);
        if (!r)
          return {error_answer_line("request " + std::to_string(i) + " of the array: " + r.error() +
                                    " (nothing applied)")};
        diff.push_back(std::move(*r));
      }
    } else {
      auto r = config::request_from_json(line);
      if (!r) return {error_answer_line(r.error())};
      diff.push_back(std::move(*r));
    }
    for (const auto& a : apply(std::move(diff))) lines.push_back(config::answer_to_json(a));
  } catch (const std::exception& e) {
    return {error_answer_line(std::string("internal error: ") + e.what())};
  }
  return lines;
}

}  // namespace kakehi::edge
