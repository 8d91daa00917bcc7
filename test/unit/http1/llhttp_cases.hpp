// Reader for ../shared/testdata/llhttp-cases (see its FORMAT.md): turns each markdown case into
// input bytes and the expectations that carry over to another parser (verdict, messages, fields,
// body). Test support only.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace kakehi::http1::test {

struct LlMessage {
  std::string method, url, version;
  std::string status;  ///< the reason phrase (llhttp's span[status])
  std::string code;    ///< the status code (from "headers complete … status=")
  std::vector<std::pair<std::string, std::string>> fields;
  std::string body;
  bool head = false;  ///< llhttp reached "headers complete"
  bool complete = false;
};

struct LlCase {
  std::string id;    ///< "request/uri.md#<heading>"
  std::string type;  ///< meta type ("request", "response", "request-lenient-…", …)
  bool skip_body = false;
  std::string input;
  std::vector<LlMessage> msgs;
  bool reject = false;  ///< an error other than a pause / data-after-close
  bool stop = false;    ///< llhttp paused (upgrade/CONNECT/PRI) or stopped after Connection: close
};

/// All cases of one markdown file.
std::vector<LlCase> load_llhttp_file(const std::filesystem::path& file, const std::string& id);

}  // namespace kakehi::http1::test
