// HPACK decode and encode throughput on the hpack-test-case stories, side by side with
// nghttp2's inflater and deflater on the same inputs in the same run. Decoding: the `wire`
// blocks of one encoder's directory (Arg selects which). Encoding: the raw-data header lists.
// One iteration = every story, each with a fresh context, as a connection would see it.
#include <benchmark/benchmark.h>
#include <nghttp2/nghttp2.h>

// The one TU that compiles Boost.JSON (GCC 12 + ASan reports false bounds warnings in it).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#include <boost/json/src.hpp>
#pragma GCC diagnostic pop
#include <cstdio>
#include <cstdlib>

#include "kakehi/http2/hpack/decoder.hpp"
#include "kakehi/http2/hpack/encoder.hpp"
#include "story_loader.hpp"

namespace hp = kakehi::http2::hpack;
namespace {

const char* const kDirs[] = {"nghttp2", "python-hpack", "swift-nio-hpack-plain-text"};

std::filesystem::path corpus_root() {
  const char* p = std::getenv("KAKEHI_SHARED_TESTDATA");
  std::filesystem::path root = p ? p : KAKEHI_DEFAULT_TESTDATA;
  return root / "hpack-test-case";
}

struct Corpus {
  std::vector<hp::test::Story> encoded[3];
  std::vector<hp::test::Story> raw;
  std::vector<std::vector<std::vector<hp::HeaderField>>> raw_fields;  // story, case, field
  std::vector<std::vector<std::vector<nghttp2_nv>>> raw_nv;
  std::size_t raw_cases = 0;
  bool ok = false;
};

Corpus& corpus() {
  static Corpus loaded = [] {
    Corpus c;
    const auto root = corpus_root();
    if (!std::filesystem::is_directory(root)) return c;
    for (int i = 0; i < 3; ++i) c.encoded[i] = hp::test::load_dir(root / kDirs[i]);
    c.raw = hp::test::load_dir(root / "raw-data");
    for (auto& s : c.raw) {
      auto& fs = c.raw_fields.emplace_back();
      auto& ns = c.raw_nv.emplace_back();
      for (auto& cs : s.cases) {
        auto& f = fs.emplace_back();
        auto& n = ns.emplace_back();
        for (auto& [name, value] : cs.headers) {
          f.push_back({name, value});
          n.push_back({reinterpret_cast<std::uint8_t*>(name.data()),
                       reinterpret_cast<std::uint8_t*>(value.data()), name.size(), value.size(),
                       NGHTTP2_NV_FLAG_NONE});
        }
        ++c.raw_cases;
      }
    }
    c.ok = true;
    return c;
  }();
  return loaded;
}

bool need_corpus(benchmark::State& state) {
  if (corpus().ok) return true;
  state.SkipWithError("hpack-test-case not found (set KAKEHI_SHARED_TESTDATA)");
  return false;
}

std::size_t count_blocks(const std::vector<hp::test::Story>& stories) {
  std::size_t n = 0;
  for (auto& s : stories) n += s.cases.size();
  return n;
}

void BM_decode_kakehi(benchmark::State& state) {
  if (!need_corpus(state)) return;
  const auto& stories = corpus().encoded[state.range(0)];
  std::size_t bytes = 0;
  auto sink = [&](const hp::HeaderField& f) { bytes += f.name.size() + f.value.size(); };
  for (auto _ : state) {
    for (const auto& s : stories) {
      hp::Decoder d;
      for (const auto& c : s.cases) {
        if (c.header_table_size) d.set_max_table_size_setting(*c.header_table_size);
        auto r = d.decode(c.wire, sink);
        if (!r) state.SkipWithError("decode failed");
      }
    }
    benchmark::DoNotOptimize(bytes);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * count_blocks(stories)));
  state.SetLabel(kDirs[state.range(0)]);
}

void BM_decode_nghttp2(benchmark::State& state) {
  if (!need_corpus(state)) return;
  const auto& stories = corpus().encoded[state.range(0)];
  std::size_t bytes = 0;
  for (auto _ : state) {
    for (const auto& s : stories) {
      nghttp2_hd_inflater* inf = nullptr;
      nghttp2_hd_inflate_new(&inf);
      for (const auto& c : s.cases) {
        if (c.header_table_size) nghttp2_hd_inflate_change_table_size(inf, *c.header_table_size);
        auto* in = reinterpret_cast<const std::uint8_t*>(c.wire.data());
        std::size_t left = c.wire.size();
        for (;;) {
          nghttp2_nv nv;
          int flags = 0;
          const auto rv = nghttp2_hd_inflate_hd2(inf, &nv, &flags, in, left, 1);
          if (rv < 0) {
            state.SkipWithError("nghttp2 decode failed");
            break;
          }
          in += rv;
          left -= static_cast<std::size_t>(rv);
          if (flags & NGHTTP2_HD_INFLATE_EMIT) bytes += nv.namelen + nv.valuelen;
          if (flags & NGHTTP2_HD_INFLATE_FINAL) {
            nghttp2_hd_inflate_end_headers(inf);
            break;
          }
          if (left == 0 && !(flags & NGHTTP2_HD_INFLATE_EMIT)) break;
        }
      }
      nghttp2_hd_inflate_del(inf);
    }
    benchmark::DoNotOptimize(bytes);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * count_blocks(stories)));
  state.SetLabel(kDirs[state.range(0)]);
}

void BM_encode_kakehi(benchmark::State& state) {
  if (!need_corpus(state)) return;
  const auto& stories = corpus().raw_fields;
  std::vector<std::byte> out;
  out.reserve(64 * 1024);
  std::size_t total = 0;
  for (auto _ : state) {
    total = 0;
    for (const auto& s : stories) {
      hp::Encoder e;
      for (const auto& fields : s) {
        out.clear();
        e.encode(fields, out);
        total += out.size();
      }
    }
    benchmark::DoNotOptimize(total);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * corpus().raw_cases));
  state.counters["wire_bytes"] = static_cast<double>(total);
}

void BM_encode_nghttp2(benchmark::State& state) {
  if (!need_corpus(state)) return;
  auto& stories = corpus().raw_nv;
  std::vector<std::uint8_t> out(64 * 1024);
  std::size_t total = 0;
  for (auto _ : state) {
    total = 0;
    for (auto& s : stories) {
      nghttp2_hd_deflater* def = nullptr;
      nghttp2_hd_deflate_new(&def, 4096);
      for (auto& nva : s) {
        const auto n = nghttp2_hd_deflate_hd(def, out.data(), out.size(), nva.data(), nva.size());
        if (n < 0) state.SkipWithError("nghttp2 encode failed");
        total += static_cast<std::size_t>(n);
      }
      nghttp2_hd_deflate_del(def);
    }
    benchmark::DoNotOptimize(total);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * corpus().raw_cases));
  state.counters["wire_bytes"] = static_cast<double>(total);
}

}  // namespace

BENCHMARK(BM_decode_kakehi)->DenseRange(0, 2)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_decode_nghttp2)->DenseRange(0, 2)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_encode_kakehi)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_encode_nghttp2)->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
