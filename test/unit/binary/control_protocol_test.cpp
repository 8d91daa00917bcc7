// The control socket's line protocol over a fake apply (config::apply_and_answer on a State).
#include "proxy/control_protocol.hpp"

#include <doctest/doctest.h>

#include "kakehi/config/json.hpp"

using namespace kakehi;
using namespace kakehi::edge;

namespace {

struct FakeProxy {
  config::State state;
  int applies = 0;
  ApplyFn fn() {
    return [this](std::vector<config::Request> diff) {
      ++applies;
      auto out = config::apply_and_answer(state, diff);
      if (out.state) state = std::move(*out.state);
      return out.answers;
    };
  }
};

config::Answer parse(const std::string& line) {
  auto a = config::answer_from_json(line);
  REQUIRE_MESSAGE(a.has_value(), line);
  return *a;
}

constexpr const char* kAddListener =
    R"({"id":"l1","type":"add_listener","data":{"address":"127.0.0.1:8080"}})";
constexpr const char* kAddCluster = R"({"id":"c1","type":"add_cluster","data":{"id":"c"}})";
constexpr const char* kAddBadBackend =
    R"({"id":"b1","type":"add_backend","data":{"cluster":"nope","id":"b","address":"127.0.0.1:1"}})";

}  // namespace

TEST_CASE("split_json_array") {
  auto r = split_json_array(R"( [ {"a":"],}"} , [1,[2]] ,"x\"]" ] )");
  REQUIRE(r.has_value());
  REQUIRE(r->size() == 3);
  CHECK((*r)[0] == R"({"a":"],}"})");
  CHECK((*r)[1] == "[1,[2]]");
  CHECK((*r)[2] == R"("x\"]")");
  CHECK(split_json_array("[]")->empty());
  CHECK(!split_json_array("[1,]"));
  CHECK(!split_json_array("[,1]"));
  CHECK(!split_json_array("[{]"));
  CHECK(!split_json_array("[\"abc]"));
  CHECK(!split_json_array("{}"));
}

TEST_CASE("one request per line: answered with its id") {
  FakeProxy p;
  auto lines = handle_control_line(std::string(kAddListener) + "\r\n", p.fn());
  REQUIRE(lines.size() == 1);
  auto a = parse(lines[0]);
  CHECK(a.id == "l1");
  CHECK(a.status == config::AnswerStatus::Ok);
  CHECK(p.state.listeners.contains("127.0.0.1:8080"));

  lines = handle_control_line(R"({"id":"q","type":"list_listeners"})", p.fn());
  REQUIRE(lines.size() == 1);
  a = parse(lines[0]);
  REQUIRE(a.payload.has_value());
  CHECK(a.payload->listeners.size() == 1);

  lines = handle_control_line(kAddBadBackend, p.fn());
  a = parse(lines.at(0));
  CHECK(a.id == "b1");
  CHECK(a.status == config::AnswerStatus::Error);
  CHECK(a.message.find("cluster \"nope\" does not exist") != std::string::npos);
}

TEST_CASE("an array is one all-or-nothing diff with one answer per request") {
  FakeProxy p;
  auto lines = handle_control_line(
      std::string("[") + kAddListener + "," + kAddCluster + "," + kAddBadBackend + "]", p.fn());
  REQUIRE(lines.size() == 3);
  CHECK(parse(lines[0]).status == config::AnswerStatus::Error);
  CHECK(parse(lines[1]).status == config::AnswerStatus::Error);
  CHECK(parse(lines[2]).status == config::AnswerStatus::Error);
  CHECK(p.state == config::State{});

  lines = handle_control_line(std::string("[") + kAddListener + "," + kAddCluster + "]", p.fn());
  REQUIRE(lines.size() == 2);
  CHECK(parse(lines[0]).id == "l1");
  CHECK(parse(lines[1]).id == "c1");
  CHECK(parse(lines[1]).status == config::AnswerStatus::Ok);
  CHECK(p.state.clusters.contains("c"));
}

TEST_CASE("bad input gets one error answer with id \"\" and applies nothing") {
  FakeProxy p;
  for (const char* bad : {"{not json", "42", "[1,2", R"({"id":"x","type":"launch_rocket"})",
                          "\x01\x02\xff", "[{\"id\":\"a\"},]"}) {
    CAPTURE(bad);
    auto lines = handle_control_line(bad, p.fn());
    REQUIRE(lines.size() == 1);
    auto a = parse(lines[0]);
    CHECK(a.id == "");
    CHECK(a.status == config::AnswerStatus::Error);
    CHECK(!a.message.empty());
  }
  // A bad element rejects the whole array before anything is applied.
  auto lines = handle_control_line(std::string("[") + kAddListener + ",{\"id\":1}]", p.fn());
  REQUIRE(lines.size() == 1);
  CHECK(parse(lines[0]).message.find("request 1 of the array") != std::string::npos);
  CHECK(p.applies == 0);
  CHECK(handle_control_line("   \r", p.fn()).empty());
  CHECK(handle_control_line("[]", p.fn()).empty());
}
