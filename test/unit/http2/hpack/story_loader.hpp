// Loads hpack-test-case stories (../shared/testdata/hpack-test-case, see its FORMAT.md) with
// Boost.JSON. The including program must compile <boost/json/src.hpp> in exactly one TU.
// Shared by the HPACK unit tests and bench/http2/hpack.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace kakehi::http2::hpack::test {

struct StoryCase {
  std::optional<std::uint32_t> header_table_size;  // SETTINGS value acked before this case
  std::vector<std::byte> wire;                     // empty in raw-data
  std::vector<std::pair<std::string, std::string>> headers;
};

struct Story {
  std::string name;  // e.g. "nghttp2/story_05.json"
  std::vector<StoryCase> cases;
};

inline std::vector<std::byte> hex_bytes(std::string_view hex) {
  std::vector<std::byte> out(hex.size() / 2);
  auto nib = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = std::byte(nib(hex[2 * i]) * 16 + nib(hex[2 * i + 1]));
  return out;
}

inline Story load_story(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  const auto doc = boost::json::parse(ss.str());
  Story story{file.parent_path().filename().string() + "/" + file.filename().string(), {}};
  for (const auto& c : doc.at("cases").as_array()) {
    const auto& o = c.as_object();
    StoryCase sc;
    if (auto* t = o.if_contains("header_table_size"); t && !t->is_null())
      sc.header_table_size = static_cast<std::uint32_t>(t->to_number<std::uint64_t>());
    if (auto* w = o.if_contains("wire")) sc.wire = hex_bytes(w->as_string());
    for (const auto& h : o.at("headers").as_array())
      for (const auto& kv : h.as_object())
        sc.headers.emplace_back(std::string(kv.key()), std::string(kv.value().as_string()));
    story.cases.push_back(std::move(sc));
  }
  return story;
}

/// Every story_*.json of `dir`, sorted by name.
inline std::vector<Story> load_dir(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::vector<Story> out;
  for (const auto& f : files) out.push_back(load_story(f));
  return out;
}

}  // namespace kakehi::http2::hpack::test
