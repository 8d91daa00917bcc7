// Markdown case reader for the llhttp corpus (rules restated in FORMAT.md of the corpus).
#include "llhttp_cases.hpp"

#include <fstream>
#include <sstream>

namespace kakehi::http1::test {

namespace {

void put_utf8(std::string& out, unsigned cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else {
    out += char(0xc0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3f));
  }
}

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Escapes \r \n \t \f \xHH \NNN; \xHH ≥ 0x80 becomes UTF-8. Log spans use the same escapes
/// (their quotes and backslashes are raw), so `log` only exists to document that choice.
std::string unescape(const std::string& s, bool log) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    char c = s[++i];
    if (c == 'r')
      out += '\r';
    else if (c == 'n')
      out += '\n';
    else if (c == 't')
      out += '\t';
    else if (c == 'f')
      out += '\f';
    else if (c == 'x' && i + 2 < s.size() && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
      put_utf8(out, unsigned(hexval(s[i + 1]) * 16 + hexval(s[i + 2])));
      i += 2;
    } else if (c >= '0' && c <= '7') {
      unsigned v = 0;
      size_t n = 0;
      while (n < 3 && i < s.size() && s[i] >= '0' && s[i] <= '7')
        v = v * 8 + unsigned(s[i++] - '0'), ++n;
      --i;
      put_utf8(out, v);
    } else if (log) {
      out += c;  // \\ and \"
    } else {
      out += '\\';
      out += c;
    }
  }
  return out;
}

std::string decode_input(const std::vector<std::string>& lines) {
  std::string joined;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i) joined += '\n';
    joined += lines[i];
  }
  std::string folded;  // drop backslash + line break
  for (size_t i = 0; i < joined.size(); ++i) {
    if (joined[i] == '\\' && i + 1 < joined.size() && joined[i + 1] == '\n') {
      ++i;
      continue;
    }
    folded += joined[i];
  }
  std::string crlf;
  for (char c : folded) {
    if (c == '\n')
      crlf += "\r\n";
    else
      crlf += c;
  }
  return unescape(crlf, false);
}

void apply_log_line(const std::string& line, LlCase& c) {
  if (line.find("message begin") != std::string::npos) {
    c.msgs.emplace_back();
    return;
  }
  if (auto h = line.find("headers complete"); h != std::string::npos && !c.msgs.empty()) {
    c.msgs.back().head = true;
    if (auto st = line.find(" status=", h); st != std::string::npos)
      c.msgs.back().code = std::to_string(std::stoi(line.substr(st + 8)));
    return;
  }
  if (line.find("message complete") != std::string::npos) {
    if (!c.msgs.empty()) c.msgs.back().complete = true;
    return;
  }
  if (auto e = line.find("error code="); e != std::string::npos) {
    int code = std::stoi(line.substr(e + 11));
    if (code == 21) return;
    if (code == 22 || code == 23 || code == 5)
      c.stop = true;
    else
      c.reject = true;
    return;
  }
  auto sp = line.find("span[");
  if (sp == std::string::npos || c.msgs.empty()) return;
  auto close = line.find(']', sp);
  std::string kind = line.substr(sp + 5, close - sp - 5);
  std::string raw = line.substr(close + 2);  // after "]="
  std::string value = raw == "lf"   ? "\n"
                      : raw == "cr" ? "\r"
                                    : unescape(raw.substr(1, raw.size() - 2), false);
  LlMessage& m = c.msgs.back();
  if (kind == "method")
    m.method += value;
  else if (kind == "url")
    m.url += value;
  else if (kind == "version")
    m.version += value;
  else if (kind == "status")
    m.status += value;
  else if (kind == "body")
    m.body += value;
  else if (kind == "header_field")
    m.fields.emplace_back(value, "");
  else if (kind == "header_value" && !m.fields.empty())
    m.fields.back().second += value;
}

std::string meta_type(const std::string& line) {
  auto t = line.find("\"type\"");
  auto q1 = line.find('"', line.find(':', t) + 1);
  auto q2 = line.find('"', q1 + 1);
  return line.substr(q1 + 1, q2 - q1 - 1);
}

}  // namespace

std::vector<LlCase> load_llhttp_file(const std::filesystem::path& file, const std::string& id) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  std::vector<LlCase> out;
  std::string heading, type;
  bool skip_body = false;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    if (l.starts_with("#")) {
      heading = l.substr(l.find_first_not_of("# "));
    } else if (l.size() >= 3 && l.find_first_not_of('=') == std::string::npos && i > 0) {
      heading = lines[i - 1];
    } else if (l.starts_with("<!-- meta=")) {
      type = meta_type(l);
      skip_body = l.find("\"skipBody\": true") != std::string::npos;
    } else if (l.starts_with("```http") && !type.empty()) {
      LlCase c;
      c.id = id + "#" + heading;
      c.type = type;
      c.skip_body = skip_body;
      std::vector<std::string> block;
      for (++i; i < lines.size() && !lines[i].starts_with("```"); ++i) block.push_back(lines[i]);
      c.input = decode_input(block);
      while (++i < lines.size() && !lines[i].starts_with("```log")) {
      }
      for (++i; i < lines.size() && !lines[i].starts_with("```"); ++i) apply_log_line(lines[i], c);
      out.push_back(std::move(c));
      type.clear();
    }
  }
  return out;
}

}  // namespace kakehi::http1::test
