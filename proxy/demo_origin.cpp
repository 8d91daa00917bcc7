// Demo origin: one Asio io_context on one thread; an accept loop and one coroutine per
// connection reading requests with Beast's parser (bounded head and body) and writing a
// text/plain page; keep-alive as the client asks.
#include "proxy/demo_origin.hpp"

// GCC 12 with -fsanitize=address reports a false -Wmaybe-uninitialized inside Beast's parser
// (a boost::optional in basic_parser::do_field); the suppression covers Boost's code only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#pragma GCC diagnostic pop

#include <stdexcept>
#include <thread>

namespace kakehi::edge {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);

std::string page(const http::request<http::string_body>& req, const std::string& proxy,
                 uint16_t port, const tcp::endpoint& peer) {
  std::string s;
  s += "Hello from kakehi!\n\n";
  s += "This page came through kakehi: the reverse proxy on " + proxy +
       " passed your request to the demo origin built into the binary (127.0.0.1:" +
       std::to_string(port) + ").\n";
  s += "Run `kakehi -c FILE` to proxy your own services (docs/configuration.md).\n\n";
  s += "The request as the origin received it (from " + peer.address().to_string() + ":" +
       std::to_string(peer.port()) + "):\n\n";
  s += std::string(req.method_string()) + " " + std::string(req.target()) + " HTTP/" +
       std::to_string(req.version() / 10) + "." + std::to_string(req.version() % 10) + "\n";
  for (const auto& f : req)
    s += std::string(f.name_string()) + ": " + std::string(f.value()) + "\n";
  s += "\n(request body: " + std::to_string(req.body().size()) + " bytes)\n";
  return s;
}

}  // namespace

struct DemoOrigin::Impl {
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::string proxy;
  uint16_t port = 0;
  std::thread thread;

  asio::awaitable<void> session(tcp::socket socket) {
    beast::flat_buffer buffer;
    boost::system::error_code ec;
    const auto peer = socket.remote_endpoint(ec);
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(16 * 1024);
      parser.body_limit(1024 * 1024);
      auto [rec, n] = co_await http::async_read(socket, buffer, parser, kAwait);
      (void)n;
      if (rec) break;
      const auto& req = parser.get();
      http::response<http::string_body> res{http::status::ok, req.version()};
      res.set(http::field::server, "kakehi-demo-origin");
      res.set(http::field::content_type, "text/plain; charset=utf-8");
      res.keep_alive(req.keep_alive());
      std::string body = page(req, proxy, port, peer);
      if (req.method() == http::verb::head) {
        res.content_length(body.size());
      } else {
        res.body() = std::move(body);
        res.prepare_payload();
      }
      auto [wec, wn] = co_await http::async_write(socket, res, kAwait);
      (void)wn;
      if (wec || !res.keep_alive()) break;
    }
    socket.shutdown(tcp::socket::shutdown_send, ec);
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(kAwait);
      if (ec) {
        if (ec == asio::error::operation_aborted) co_return;
        continue;
      }
      asio::co_spawn(io, session(std::move(socket)), asio::detached);
    }
  }
};

DemoOrigin::DemoOrigin(uint16_t port, std::string proxy_address) : impl_(new Impl) {
  impl_->proxy = std::move(proxy_address);
  const tcp::endpoint ep(asio::ip::make_address_v4("127.0.0.1"), port);
  boost::system::error_code ec;
  impl_->acceptor.open(ep.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(ep, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("demo origin: cannot listen on 127.0.0.1:" + std::to_string(port) +
                             ": " + ec.message());
  impl_->port = impl_->acceptor.local_endpoint().port();
  asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
  impl_->thread = std::thread([io = &impl_->io] { io->run(); });
}

uint16_t DemoOrigin::port() const noexcept { return impl_->port; }

DemoOrigin::~DemoOrigin() {
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace kakehi::edge
