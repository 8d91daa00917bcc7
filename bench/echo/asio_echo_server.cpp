// The baseline for the echo benchmark: the Boost.Asio C++20-coroutine echo server
// (asio::awaitable, one io_context on one thread), as the ecosystem writes it.
//
//   asio-echo-server ADDRESS PORT [BUFFER_BYTES]
#include <boost/asio.hpp>
#include <cstdio>
#include <string>
#include <vector>

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

asio::awaitable<void> session(tcp::socket s, size_t buffer_bytes) {
  std::vector<char> buf(buffer_bytes);
  try {
    for (;;) {
      size_t n = co_await s.async_read_some(asio::buffer(buf), asio::use_awaitable);
      co_await asio::async_write(s, asio::buffer(buf.data(), n), asio::use_awaitable);
    }
  } catch (const std::exception&) {
    // end of stream or reset: the session ends
  }
}

asio::awaitable<void> listen(tcp::acceptor& acceptor, size_t buffer_bytes) {
  for (;;) {
    tcp::socket s = co_await acceptor.async_accept(asio::use_awaitable);
    s.set_option(tcp::no_delay(true));
    asio::co_spawn(acceptor.get_executor(), session(std::move(s), buffer_bytes), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: asio-echo-server ADDRESS PORT [BUFFER_BYTES]\n");
    return 2;
  }
  size_t buffer_bytes = argc > 3 ? std::stoul(argv[3]) : 16384;
  asio::io_context ctx(1);
  tcp::acceptor acceptor(ctx, tcp::endpoint(asio::ip::make_address(argv[1]),
                                            static_cast<unsigned short>(std::stoi(argv[2]))));
  asio::signal_set signals(ctx, SIGINT, SIGTERM);
  signals.async_wait([&](auto, auto) { ctx.stop(); });
  asio::co_spawn(ctx, listen(acceptor, buffer_bytes), asio::detached);
  ctx.run();
  return 0;
}
