// The llhttp parser cases (../shared/testdata/llhttp-cases, strict `request`/`response` modes):
// accepted cases must give the same messages, fields and bodies; error cases must be rejected.
// Where our stricter proxy policy rejects a case llhttp accepts (or the reverse), the case is
// listed in kDifferences with the reason; a listed case that stops differing fails the test too.
// llhttp does not check for Host, so these cases run with Limits::require_host = false
// (MissingHost is tested in smuggling_test.cpp).
#include <doctest/doctest.h>

#include <cstdlib>
#include <map>
#include <set>

#include "harness.hpp"
#include "llhttp_cases.hpp"
#include "support/testdata.hpp"

using namespace kakehi::http1;
using namespace kakehi::http1::test;

namespace {

// clang-format off
const std::map<std::string, std::string> kDifferences = {
  {"request/sample.md#No HTTP version",
   "HTTP/0.9 request lines are refused (issue 4 policy; RFC 9112 §2.3 makes 0.9 obsolete)"},
  {"request/content-length.md#Content-Length reset when no body is received",
   "skipBody on a request is an llhttp API feature; a proxy reads the declared body"},
  {"request/method.md#CONNECT request",
   "CONNECT refused with 501: a reverse proxy offers no tunnels"},
  {"request/method.md#CONNECT request with CAPS",
   "CONNECT refused with 501"},
  {"request/method.md#CONNECT with body",
   "CONNECT refused with 501"},
  {"request/uri.md#Underscore in hostname",
   "CONNECT refused with 501"},
  {"request/method.md#M-SEARCH request",
   "asterisk-form only with OPTIONS (RFC 9112 §3.2.4)"},
  {"request/method.md#SOURCE request with ICE",
   "ICE/1.0 is not HTTP: only HTTP/1.0 and HTTP/1.1 are accepted"},
  {"request/method.md#OPTIONS request with RTSP",
   "RTSP/1.0 is not HTTP"},
  {"request/method.md#ANNOUNCE request with RTSP",
   "RTSP/1.0 is not HTTP"},
  {"request/transfer-encoding.md#POST with `chunked` as last transfer-encoding",
   "codings other than chunked are not implemented: 501 (RFC 9112 §6.1)"},
  {"request/transfer-encoding.md#POST with `chunked` as last transfer-encoding (multiple headers)",
   "a second Transfer-Encoding field is refused (smuggling defence)"},
  {"request/invalid.md#HTTP protocol and ANNOUNCE method",
   "any token is a valid method (RFC 9110 §9.1); a proxy forwards extension methods"},
  {"request/invalid.md#Invalid method",
   "MKCOLA is a valid token method (RFC 9110 §9.1); llhttp only knows its method table"},
  {"request/uri.md#`host:port` and basic auth",
   "userinfo in the target is refused (RFC 9110 §4.2.4: treat as an error)"},
  {"response/sample.md#No reason phrase",
   "the SP after the status code is required (RFC 9112 §4); Beast refuses it"},
  {"response/sample.md#HTTP version 0.9",
   "only HTTP/1.0 and HTTP/1.1 responses are accepted"},
  {"response/sample.md#RTSP response",
   "RTSP is not HTTP"},
  {"response/sample.md#ICE response",
   "ICE is not HTTP"},
  {"response/transfer-encoding.md#`chunked` before other transfer-encoding",
   "a response whose Transfer-Encoding does not end in chunked is refused (502) instead of read until close"},
  {"response/transfer-encoding.md#multiple transfer-encoding where chunked is not the last one",
   "a second Transfer-Encoding field is refused (502)"},
  {"response/transfer-encoding.md#`chunkedchunked` transfer-encoding does not enable chunked enconding",
   "unknown final coding refused (502) instead of read until close"},
};
// clang-format on

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// Empty when the run matches the expectation, else a description of the first difference.
std::string compare(const LlCase& c, const Run& r, bool request) {
  size_t n = c.msgs.size();
  while (n > 0 && !c.msgs[n - 1].head) --n;  // a head cut off by the end of the input
  if (c.reject) return r.ok() ? "llhttp rejects, we accept" : "";
  if (!r.ok() && !(c.stop && r.msgs.size() >= n && (n == 0 || r.msgs[n - 1].complete)))
    return std::string("we reject: ") + reason(r.error);
  if (c.stop ? r.msgs.size() < n : r.msgs.size() != n)
    return "message count " + std::to_string(r.msgs.size()) + " vs " + std::to_string(n);
  for (size_t i = 0; i < n; ++i) {
    const LlMessage& e = c.msgs[i];
    const Msg& m = r.msgs[i];
    std::string host;
    std::vector<std::pair<std::string, std::string>> expect_fields;
    for (auto& f : e.fields) {
      std::string v(kakehi::http::trim_ows(f.second));  // RFC 9110 §5.5: OWS is not the value
      if (request && lower(f.first) == "host")
        host = v;
      else
        expect_fields.emplace_back(f.first, v);
    }
    auto fields = m.fields;  // llhttp reports trailer fields like header fields
    fields.insert(fields.end(), m.trailers.begin(), m.trailers.end());
    if (request) {
      if (m.method != e.method) return "method " + m.method;
      bool absolute = !e.url.empty() && e.url[0] != '/' && e.url != "*";
      if (!absolute && m.path != e.url) return "url " + m.path;
      std::string base = lower(m.scheme + "://" + m.authority);
      if (absolute && base + lower(m.path) != lower(e.url) &&
          base + lower(m.path.substr(1)) != lower(e.url))  // "/" added to "http://h?q"
        return "absolute url " + m.scheme + "://" + m.authority + m.path;
      if (!absolute && m.authority != host) return "authority " + m.authority;
    } else if (std::to_string(m.status) != e.code) {
      return "status " + std::to_string(m.status);
    }
    if (std::to_string(m.version / 10) + "." + std::to_string(m.version % 10) != e.version)
      return "version";
    if (fields != expect_fields) return "fields differ";
    if (m.body != e.body)
      return "body size " + std::to_string(m.body.size()) + " vs " + std::to_string(e.body.size());
    if (m.complete != e.complete) return "completion differs";
  }
  return {};
}

template <class P>
Run run_and_complete(P& p, const LlCase& c, size_t piece) {
  Run r = run(p, c.input, piece);
  // llhttp rejects some inputs before their head is complete (it checks while it reads); we
  // check whole heads. For a rejected case we are still waiting on, complete the head and the
  // last line, and see whether we reject then.
  if (c.reject && r.ok() && !p.idle()) {
    Step s = p.feed(r.rest + "\r\n\r\n");
    if (s.event == Event::Error) r.error = s.error;
  }
  return r;
}

Run run_case(const LlCase& c, size_t piece) {
  Limits l;
  l.require_host = false;
  if (c.type == "request") {
    RequestParser p(l);
    return run_and_complete(p, c, piece);
  }
  ResponseParser p(l);
  p.start(c.skip_body ? "HEAD" : "GET");
  return run_and_complete(p, c, piece);
}

}  // namespace

TEST_CASE("llhttp cases (strict modes)") {
  auto dir = kakehi::test::shared_testdata() / "llhttp-cases";
  if (kakehi::test::shared_testdata().empty() || !std::filesystem::is_directory(dir)) {
    MESSAGE("SKIPPED: ../shared/testdata/llhttp-cases is absent");
    return;
  }
  bool dump = std::getenv("KAKEHI_LLHTTP_DUMP") != nullptr;
  std::set<std::string> used;
  int total = 0, same = 0;
  for (const char* kind : {"request", "response"}) {
    for (auto& e : std::filesystem::directory_iterator(dir / kind)) {
      std::string id = std::string(kind) + "/" + e.path().filename().string();
      for (const LlCase& c : load_llhttp_file(e.path(), id)) {
        if (c.type != "request" && c.type != "response") continue;
        ++total;
        CAPTURE(c.id);
        std::string diff = compare(c, run_case(c, 0), c.type == "request");
        if (diff.empty() && !c.reject && !c.stop)  // split input must not change anything
          diff = compare(c, run_case(c, 3), c.type == "request");
        auto listed = kDifferences.find(c.id);
        if (dump && !diff.empty()) MESSAGE(c.id << " => " << diff);
        if (listed == kDifferences.end()) {
          CHECK_MESSAGE(diff.empty(), c.id << ": " << diff);
          if (diff.empty()) ++same;
        } else {
          used.insert(c.id);
          CHECK_MESSAGE(!diff.empty(), c.id << " is listed as different but now matches");
          MESSAGE("stricter/different by policy: " << c.id << " (" << listed->second
                                                   << "): " << diff);
        }
      }
    }
  }
  for (auto& [id, why] : kDifferences) CHECK_MESSAGE(used.count(id) == 1, "stale entry " << id);
  MESSAGE(total << " strict cases, " << same << " identical, " << used.size()
                << " listed differences");
  CHECK(total > 150);
}
