// Large bodies streamed both ways through the proxy with checksums, memory bounded on every
// side (curl streams through pipes we hash as we go; the origin streams too). The size is
// KAKEHI_BIG_BODY_MIB (default 1024, or 64 in sanitizer builds).
#include <cstdio>

#include "rig.hpp"

using namespace kakehi::test;
using namespace kakehi;

namespace {

uint64_t big_size() {
  return env_u64("KAKEHI_BIG_BODY_MIB", sanitized() ? 64 : 1024) * 1024 * 1024;
}

struct BigRig {
  Rig rig;
  HttpOrigin origin{"o"};
  BigRig() {
    rig.add_http_listener();
    rig.add_cluster("c", {&origin});
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(rig.port) + path;
  }
};

// Peak resident set of this process (proxy, origin and harness together), in MiB.
uint64_t peak_rss_mib() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  uint64_t kib = 0;
  while (std::fgets(line, sizeof line, f))
    if (std::sscanf(line, "VmHWM: %lu kB", &kib) == 1) break;
  std::fclose(f);
  return kib / 1024;
}

double mib_per_s(uint64_t bytes, Clock::duration d) {
  double s = std::chrono::duration<double>(d).count();
  return s > 0 ? static_cast<double>(bytes) / (1024.0 * 1024.0) / s : 0;
}

}  // namespace

TEST_CASE("big bodies: streamed download, Content-Length and chunked") {
  BigRig b;
  const uint64_t n = big_size();
  const uint64_t want = pattern_fnv(n);
  for (const char* kind : {"/bytes/", "/chunked/"}) {
    CAPTURE(kind);
    auto t0 = Clock::now();
    auto d = curl_download(b.url(kind + std::to_string(n)), {"-H", "Host: app.test"}, 240);
    auto took = Clock::now() - t0;
    CAPTURE(d.err);
    CHECK(d.curl_exit == 0);
    CHECK_FALSE(d.timed_out);
    CHECK(d.bytes == n);
    CHECK(d.fnv == want);
    const std::string line = std::string("download ") + kind + std::to_string(n >> 20) +
                             " MiB: " + std::to_string(mib_per_s(n, took)) + " MiB/s";
    MESSAGE(line);
  }
}

TEST_CASE("big bodies: streamed upload, Content-Length and chunked") {
  BigRig b;
  const uint64_t n = big_size();
  const std::string want = std::to_string(n) + " " + hex64(pattern_fnv(n));
  for (bool chunked : {false, true}) {
    CAPTURE(chunked);
    auto t0 = Clock::now();
    auto r = curl_upload(b.url("/upload"), {"-H", "Host: app.test"}, n, chunked, 240);
    auto took = Clock::now() - t0;
    CAPTURE(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out == want);
    const std::string line = std::string("upload ") + (chunked ? "chunked " : "length ") +
                             std::to_string(n >> 20) +
                             " MiB: " + std::to_string(mib_per_s(n, took)) + " MiB/s";
    MESSAGE(line);
  }
}

TEST_CASE("big bodies: memory stays bounded") {
  // Runs after the transfers above: a body buffered whole would show here (1 GiB each way).
  const uint64_t peak = peak_rss_mib();
  MESSAGE("peak RSS of the test process: " << peak << " MiB");
  if (!sanitized() && big_size() >= (512ull << 20)) CHECK(peak < 256);
}
