#include "kakehi/config/model.hpp"

#include <doctest/doctest.h>

using namespace kakehi::config;

TEST_CASE("socket addresses: IPv4 and bracketed IPv6 with a port") {
  for (const char* s :
       {"127.0.0.1:8080", "0.0.0.0:1", "255.255.255.255:65535", "[::1]:443", "[::]:80",
        "[2001:db8::1]:8443", "[1:2:3:4:5:6:7:8]:1", "[::ffff:192.0.2.1]:80", "[fe80::]:9"})
    CHECK_MESSAGE(valid_socket_address(s), s);
  for (const char* s : {"",
                        "127.0.0.1",
                        "127.0.0.1:",
                        "127.0.0.1:0",
                        "127.0.0.1:65536",
                        "256.0.0.1:80",
                        "1.2.3:80",
                        "1.2.3.4.5:80",
                        "01.2.3.4:80",
                        "localhost:80",
                        "::1:80",
                        "[::1]",
                        "[::1:80",
                        "[1:2:3:4:5:6:7:8:9]:80",
                        "[1::2::3]:80",
                        "[:1]:80",
                        "[1:]:80",
                        "[12345::]:80",
                        "1.2.3.4:8x",
                        "1.2.3.4:-1",
                        "[1:2:3:4:5:6:7]:80"})
    CHECK_FALSE_MESSAGE(valid_socket_address(s), s);
  CHECK(valid_socket_address("0.0.0.0:0", true));
}

TEST_CASE("hostnames: exact, one-label wildcard, anchored regex") {
  std::string why;
  CHECK(classify_hostname("example.com", &why) == HostKind::Exact);
  CHECK(classify_hostname("a-b.x_y.example", &why) == HostKind::Exact);
  CHECK(classify_hostname("*.example.com", &why) == HostKind::Wildcard);
  CHECK(classify_hostname("~^[a-z]+\\.example\\.com$", &why) == HostKind::Regex);
  for (const char* bad : {"", "Example.com", "a..b", ".a", "a.", "-a.com", "a-.com", "*.",
                          "*example.com", "a.*.com", "**.a.com", "~example", "~^a(b$", "a b"}) {
    why.clear();
    CHECK_FALSE_MESSAGE(classify_hostname(bad, &why).has_value(), bad);
    CHECK_FALSE(why.empty());
  }
  CHECK_FALSE(classify_hostname(std::string(64, 'a') + ".com", nullptr).has_value());
  CHECK(classify_hostname(std::string(63, 'a') + ".com", nullptr).has_value());
}

TEST_CASE("path rules and methods") {
  CHECK(check_path_rule({PathKind::Prefix, "/"}).empty());
  CHECK(check_path_rule({PathKind::Exact, "/a/b"}).empty());
  CHECK(check_path_rule({PathKind::Regex, "^/api/[0-9]+$"}).empty());
  CHECK_FALSE(check_path_rule({PathKind::Prefix, "api"}).empty());
  CHECK_FALSE(check_path_rule({PathKind::Prefix, ""}).empty());
  CHECK_FALSE(check_path_rule({PathKind::Exact, "/a?b"}).empty());
  CHECK_FALSE(check_path_rule({PathKind::Exact, "/a b"}).empty());
  CHECK_FALSE(check_path_rule({PathKind::Regex, "/api"}).empty());
  CHECK(valid_method("GET"));
  CHECK(valid_method("M-SEARCH"));
  CHECK_FALSE(valid_method(""));
  CHECK_FALSE(valid_method("GE T"));
  CHECK_FALSE(valid_method("GET/"));
}

TEST_CASE("enum names round trip") {
  for (auto k : {ListenerKind::Http, ListenerKind::Https, ListenerKind::Tcp})
    CHECK(listener_kind_from(to_string(k)) == k);
  for (auto a : {LbAlgorithm::RoundRobin, LbAlgorithm::Random, LbAlgorithm::LeastConnections,
                 LbAlgorithm::PowerOfTwo})
    CHECK(lb_algorithm_from(to_string(a)) == a);
  for (auto p : {PathKind::Prefix, PathKind::Exact, PathKind::Regex})
    CHECK(path_kind_from(to_string(p)) == p);
  for (auto p : {Position::Pre, Position::Tree, Position::Post})
    CHECK(position_from(to_string(p)) == p);
  for (auto p : {BackendProtocol::Http1, BackendProtocol::Http2})
    CHECK(backend_protocol_from(to_string(p)) == p);
  CHECK(to_string(BackendProtocol::Http2) == "http2");
  CHECK_FALSE(backend_protocol_from("h2").has_value());
  CHECK(to_string(LbAlgorithm::PowerOfTwo) == "power_of_two");
  CHECK_FALSE(lb_algorithm_from("roundrobin").has_value());
}
