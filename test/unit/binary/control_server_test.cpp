// The control socket server over a real Unix socket with a fake apply, `run_ctl`'s exit codes,
// and the demo origin answering two keep-alive requests on one connection.
#include "proxy/control_server.hpp"

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "kakehi/config/json.hpp"
#include "proxy/demo_origin.hpp"

using namespace kakehi;
using namespace kakehi::edge;

namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "kakehi-ctl-XXXXXX").string();
    REQUIRE(mkdtemp(t.data()) != nullptr);
    path = t;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

struct FakeProxy {
  config::State state;
  ApplyFn fn() {
    return [this](std::vector<config::Request> diff) {
      auto out = config::apply_and_answer(state, diff);
      if (out.state) state = std::move(*out.state);
      return out.answers;
    };
  }
};

/// A connected socket with bounded reads.
struct Conn {
  int fd = -1;
  explicit Conn(int domain, const sockaddr* a, socklen_t len) {
    fd = ::socket(domain, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    REQUIRE(::connect(fd, a, len) == 0);
  }
  ~Conn() { ::close(fd); }
  void send(std::string_view s) const {
    REQUIRE(::send(fd, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size()));
  }
  /// Reads until `lines` newlines arrived, EOF, or 10 s.
  std::string read_lines(size_t lines) const {
    std::string in;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    char buf[4096];
    while (static_cast<size_t>(std::count(in.begin(), in.end(), '\n')) < lines &&
           std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      in.append(buf, static_cast<size_t>(n));
    }
    return in;
  }
};

Conn connect_unix(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.data(), path.size());
  return Conn(AF_UNIX, reinterpret_cast<const sockaddr*>(&a), sizeof a);
}

std::vector<config::Answer> parse_lines(const std::string& text) {
  std::vector<config::Answer> out;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    auto a = config::answer_from_json(std::string_view(text).substr(start, nl - start));
    REQUIRE(a.has_value());
    out.push_back(*a);
  }
  return out;
}

}  // namespace

TEST_CASE("control server: lines, arrays, bad JSON, split writes, over-long lines") {
  TempDir dir;
  const std::string path = (dir.path / "ctl.sock").string();
  FakeProxy p;
  {
    ControlServer server(path, p.fn());
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));

    Conn c = connect_unix(path);
    // One request split over two writes, then bad JSON, then an array, in one stream.
    c.send(R"({"id":"l1","type":"add_lis)");
    c.send(
        R"(tener","data":{"address":"127.0.0.1:80"}})"
        "\n{oops\n"
        R"([{"id":"c1","type":"add_cluster","data":{"id":"c"}},{"id":"q","type":"list_clusters"}])"
        "\n");
    auto answers = parse_lines(c.read_lines(4));
    REQUIRE(answers.size() == 4);
    CHECK(answers[0].id == "l1");
    CHECK(answers[0].status == config::AnswerStatus::Ok);
    CHECK(answers[1].id == "");
    CHECK(answers[1].status == config::AnswerStatus::Error);
    CHECK(answers[2].id == "c1");
    CHECK(answers[3].id == "q");
    REQUIRE(answers[3].payload.has_value());
    CHECK(answers[3].payload->clusters.contains("c"));
    CHECK(p.state.listeners.contains("127.0.0.1:80"));

    // A second connection works while the first is open.
    Conn c2 = connect_unix(path);
    c2.send(R"({"id":"r","type":"remove_cluster","data":{"id":"c"}})"
            "\n");
    answers = parse_lines(c2.read_lines(1));
    REQUIRE(answers.size() == 1);
    CHECK(answers[0].status == config::AnswerStatus::Ok);
    CHECK(!p.state.clusters.contains("c"));

    // An over-long line: one error answer, then the connection is closed.
    Conn c3 = connect_unix(path);
    std::string big(kMaxControlLine + 70'000, 'x');
    (void)::send(c3.fd, big.data(), big.size(), MSG_NOSIGNAL);
    auto text = c3.read_lines(2);
    answers = parse_lines(text);
    REQUIRE(answers.size() == 1);
    CHECK(answers[0].message.find("longer than") != std::string::npos);

    // The last line without a newline is answered at EOF.
    Conn c4 = connect_unix(path);
    c4.send(R"({"id":"e","type":"list_listeners"})");
    ::shutdown(c4.fd, SHUT_WR);
    answers = parse_lines(c4.read_lines(1));
    REQUIRE(answers.size() == 1);
    CHECK(answers[0].id == "e");

    // run_ctl: 0 when all ok, 1 with an error answer, 2 without a server.
    CHECK(run_ctl(path, R"({"id":"x","type":"list_clusters"})") == 0);
    CHECK(run_ctl(path, R"({"id":"y","type":"remove_cluster","data":{"id":"nope"}})") == 1);
    CHECK(run_ctl(path, "not json") == 1);
    CHECK(run_ctl((dir.path / "none.sock").string(), "{}") == 2);
  }
  // Removed at the end; a stale socket file is replaced, any other file refused.
  CHECK(!std::filesystem::exists(path));
  { ControlServer again(path, p.fn()); }
  {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, path.data(), path.size());
    REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0);
    ::close(fd);  // leaves a stale socket file
  }
  { ControlServer stale(path, p.fn()); }
  const std::string regular = (dir.path / "file").string();
  { std::ofstream(regular) << "x"; }
  CHECK_THROWS_AS(ControlServer(regular, p.fn()), std::runtime_error);
  CHECK(std::filesystem::exists(regular));
}

TEST_CASE("demo origin: keep-alive page that says it came through kakehi") {
  DemoOrigin origin(0, "127.0.0.1:8080");
  REQUIRE(origin.port() != 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(origin.port());
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  Conn c(AF_INET, reinterpret_cast<const sockaddr*>(&a), sizeof a);
  for (const char* target : {"/first", "/second?q=1"}) {
    c.send(std::string("GET ") + target + " HTTP/1.1\r\nHost: demo\r\nX-Test: yes\r\n\r\n");
    std::string in;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    char buf[4096];
    while (in.find("(request body: 0 bytes)\n") == std::string::npos &&
           std::chrono::steady_clock::now() < deadline) {
      pollfd p{c.fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      in.append(buf, static_cast<size_t>(n));
    }
    CAPTURE(in);
    CHECK(in.starts_with("HTTP/1.1 200 OK\r\n"));
    CHECK(in.find("came through kakehi") != std::string::npos);
    CHECK(in.find(std::string("GET ") + target + " HTTP/1.1\n") != std::string::npos);
    CHECK(in.find("X-Test: yes\n") != std::string::npos);
    CHECK(in.find("Connection: close") == std::string::npos);
  }
}
