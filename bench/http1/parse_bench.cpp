// HTTP/1.1 request parsing throughput (requests/s, bytes/s) for a typical browser request and a
// minimal GET, side by side with Node.js http-parser on the same bytes in the same run. Both
// parsers do the same work: find method, target, every header name/value as views, end of
// message. Ours also runs the proxy checks (smuggling, Host, limits) and fills the model.
#include <benchmark/benchmark.h>

#include <array>
#include <string>
#include <string_view>

#include "kakehi/http1/parser.hpp"
#ifdef KAKEHI_HAVE_HTTP_PARSER
#include <http_parser.h>
#endif

namespace {

// ~500 bytes, 15 header fields: what a desktop browser sends for a page.
const std::string kBrowser =
    "GET /products/shoes/running?color=blue&size=42 HTTP/1.1\r\n"
    "Host: shop.example.com\r\n"
    "Connection: keep-alive\r\n"
    "Cache-Control: max-age=0\r\n"
    "sec-ch-ua: \"Chromium\";v=\"119\"\r\n"
    "sec-ch-ua-mobile: ?0\r\n"
    "sec-ch-ua-platform: \"Linux\"\r\n"
    "Upgrade-Insecure-Requests: 1\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/119.0.0.0 Safari/537.36\r\n"
    "Accept: text/html,application/xhtml+xml,*/*;q=0.8\r\n"
    "Sec-Fetch-Site: same-origin\r\n"
    "Sec-Fetch-Mode: navigate\r\n"
    "Sec-Fetch-Dest: document\r\n"
    "Referer: https://shop.example.com/\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Accept-Language: en-US,en;q=0.9\r\n"
    "\r\n";
const std::string kMinimal = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";

void set_counters(benchmark::State& state, const std::string& in) {
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(in.size()));
}

void kakehi_parse(benchmark::State& state, const std::string& in) {
  kakehi::http1::RequestParser p;
  for (auto _ : state) {
    auto head = p.feed(in);
    auto done = p.feed(std::string_view(in).substr(head.consumed));
    benchmark::DoNotOptimize(p.message().fields.size());
    benchmark::DoNotOptimize(done.event);
  }
  if (p.message().fields.empty() && &in == &kBrowser) state.SkipWithError("parse failed");
  set_counters(state, in);
}

#ifdef KAKEHI_HAVE_HTTP_PARSER
struct Collected {
  std::string_view url;
  std::array<std::string_view, 64> names, values;
  size_t n = 0;
  bool done = false;
};

int on_url(http_parser* p, const char* at, size_t len) {
  static_cast<Collected*>(p->data)->url = {at, len};
  return 0;
}
int on_field(http_parser* p, const char* at, size_t len) {
  auto* c = static_cast<Collected*>(p->data);
  if (c->n < c->names.size()) c->names[c->n] = {at, len};
  return 0;
}
int on_value(http_parser* p, const char* at, size_t len) {
  auto* c = static_cast<Collected*>(p->data);
  if (c->n < c->values.size()) c->values[c->n++] = {at, len};
  return 0;
}
int on_complete(http_parser* p) {
  static_cast<Collected*>(p->data)->done = true;
  return 0;
}

void node_http_parser(benchmark::State& state, const std::string& in) {
  http_parser_settings s{};
  s.on_url = on_url;
  s.on_header_field = on_field;
  s.on_header_value = on_value;
  s.on_message_complete = on_complete;
  Collected c;
  http_parser p;
  for (auto _ : state) {
    http_parser_init(&p, HTTP_REQUEST);
    p.data = &c;
    c.n = 0;
    c.done = false;
    size_t n = http_parser_execute(&p, &s, in.data(), in.size());
    benchmark::DoNotOptimize(n);
    benchmark::DoNotOptimize(c.n);
  }
  if (!c.done) state.SkipWithError("http-parser failed");
  set_counters(state, in);
}
#endif

}  // namespace

BENCHMARK_CAPTURE(kakehi_parse, browser_500B_15h, kBrowser);
#ifdef KAKEHI_HAVE_HTTP_PARSER
BENCHMARK_CAPTURE(node_http_parser, browser_500B_15h, kBrowser);
#endif
BENCHMARK_CAPTURE(kakehi_parse, minimal_get, kMinimal);
#ifdef KAKEHI_HAVE_HTTP_PARSER
BENCHMARK_CAPTURE(node_http_parser, minimal_get, kMinimal);
#endif

BENCHMARK_MAIN();
