// The edge binary's configuration file: TOML (toml++) turned into ProxyOptions, the binary's own
// settings and one config::State, validated as a whole (config::apply of diff({}, state)). Every
// error names the file, line and column of the offending key or value (docs/configuration.md).
// Control plane: may allocate and throw internally; the entry points return a Result.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "kakehi/common/result.hpp"
#include "kakehi/config/model.hpp"
#include "kakehi/proxy/proxy.hpp"

namespace kakehi::edge {

/// Everything a configuration file sets.
struct FileConfig {
  proxy::ProxyOptions options;
  std::chrono::milliseconds drain_timeout{10'000};  ///< SIGTERM/SIGINT graceful drain deadline
  std::string control_socket;                       ///< Unix socket path; empty: none
  uint64_t max_open_files = 0;  ///< RLIMIT_NOFILE soft limit set at start; 0: the hard limit
  config::State state;
};

/// `FILE:LINE:COL: message` (LINE/COL 0 when the error has no position, e.g. unreadable file).
struct LoadError {
  std::string file;
  uint32_t line = 0;
  uint32_t column = 0;
  std::string message;
  [[nodiscard]] std::string to_string() const;
};

/// Parses and validates `text`. `file` names it in errors; relative paths inside it (answer
/// files, certificates) are resolved against `base_dir`.
[[nodiscard]] Result<FileConfig, LoadError> load_toml(std::string_view text, std::string_view file,
                                                      const std::filesystem::path& base_dir);
/// Reads `path` and calls load_toml (base_dir: the file's directory).
[[nodiscard]] Result<FileConfig, LoadError> load_toml_file(const std::string& path);

/// The configuration used without `-c`: an HTTP listener on 127.0.0.1:8080 proxying every
/// request to the built-in demo origin on 127.0.0.1:8081.
extern const std::string_view kEmbeddedConfig;
inline constexpr std::string_view kEmbeddedConfigName = "<embedded>";
inline constexpr uint16_t kDemoOriginPort = 8081;

}  // namespace kakehi::edge
