// Test harness for the HTTP/1.1 parsers: feeds a byte string whole or in small pieces through a
// growing receive buffer (unconsumed bytes are moved to its front, as a real connection would),
// and records each message with owned copies of its parts.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kakehi/http1/parser.hpp"

namespace kakehi::http1::test {

struct Msg {
  std::string method, scheme, authority, path, reason;
  int version = 0, status = 0;
  std::vector<std::pair<std::string, std::string>> fields, trailers;
  std::string body;
  http::Framing framing;
  HeadInfo info;  ///< its upgrade_protocol view is cleared: use `upgrade_protocol`
  std::string upgrade_protocol;
  std::vector<std::string> chunk_exts;
  bool complete = false;
};

struct Run {
  std::vector<Msg> msgs;
  Outcome error = Outcome::Ok;
  size_t leftover = 0;  ///< bytes never consumed
  std::string rest;     ///< those bytes
  bool ok() const { return error == Outcome::Ok; }
};

inline std::vector<std::pair<std::string, std::string>> copy(const http::FieldList& l) {
  std::vector<std::pair<std::string, std::string>> v;
  for (const auto& f : l) v.emplace_back(std::string(f.name), std::string(f.value));
  return v;
}

inline void capture_head(const http::Request& m, Msg& out) {
  out.method = m.method;
  out.scheme = m.scheme;
  out.authority = m.authority;
  out.path = m.path;
  out.version = m.version;
  out.fields = copy(m.fields);
  out.framing = m.framing;
}
inline void capture_head(const http::Response& m, Msg& out) {
  out.status = m.status;
  out.reason = m.reason;
  out.version = m.version;
  out.fields = copy(m.fields);
  out.framing = m.framing;
}

/// Feeds `input` in pieces of `piece` bytes (0: all at once); `eof` feeds EOF at the end.
template <class Parser>
Run run(Parser& p, std::string_view input, size_t piece = 0, bool eof = false) {
  Run r;
  std::string buf;
  size_t fed = 0;
  if (piece == 0) piece = input.size() ? input.size() : 1;
  for (;;) {
    if (fed < input.size()) {
      size_t n = std::min(piece, input.size() - fed);
      buf.append(input.substr(fed, n));
      fed += n;
    }
    bool progress = true;
    while (progress) {
      Step s = p.feed(buf);
      progress = s.consumed > 0 || s.event != Event::NeedMore;
      switch (s.event) {
        case Event::Head:
          r.msgs.emplace_back();
          capture_head(p.message(), r.msgs.back());
          r.msgs.back().info = p.info();
          r.msgs.back().upgrade_protocol = p.info().upgrade_protocol;
          r.msgs.back().info.upgrade_protocol = {};
          break;
        case Event::Body:
          r.msgs.back().body.append(s.data);
          break;
        case Event::ChunkHeader:
          r.msgs.back().chunk_exts.emplace_back(s.data);
          break;
        case Event::Complete:
          r.msgs.back().trailers = copy(p.message().trailers);
          r.msgs.back().complete = true;
          break;
        case Event::Error:
          r.error = s.error;
          return r;
        case Event::NeedMore:
          break;
      }
      buf.erase(0, s.consumed);
      if (s.event == Event::Complete && buf.empty() && fed == input.size()) progress = false;
    }
    if (fed == input.size()) break;
  }
  if (eof) {
    Step s = p.feed_eof();
    if (s.event == Event::Error) r.error = s.error;
    if (s.event == Event::Complete) {
      r.msgs.back().trailers = copy(p.message().trailers);
      r.msgs.back().complete = true;
    }
  }
  r.leftover = buf.size();
  r.rest = buf;
  return r;
}

inline Run parse_request(std::string_view in, size_t piece = 0, const Limits& l = {}) {
  RequestParser p(l);
  return run(p, in, piece);
}
inline Run parse_response(std::string_view in, std::string_view method = "GET", size_t piece = 0,
                          bool eof = false) {
  ResponseParser p;
  p.start(method);
  return run(p, in, piece, eof);
}

}  // namespace kakehi::http1::test
