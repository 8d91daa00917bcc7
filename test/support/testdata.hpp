// Locating ../shared/testdata from tests: the path comes from KAKEHI_SHARED_TESTDATA (set by
// meson's test environment). Tests that cannot run without it skip with a clear message.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace kakehi::test {

/// The shared testdata directory, or empty if it is absent.
inline std::filesystem::path shared_testdata() {
  const char* p = std::getenv("KAKEHI_SHARED_TESTDATA");
  if (!p) return {};
  std::filesystem::path dir(p);
  std::error_code ec;
  return std::filesystem::is_directory(dir, ec) ? dir : std::filesystem::path{};
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace kakehi::test
