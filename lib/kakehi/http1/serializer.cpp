// HTTP/1.1 head and body framing serialization (see serializer.hpp).
#include "kakehi/http1/serializer.hpp"

#include <cstring>

namespace kakehi::http1 {

namespace {

using buffer::Slice;

/// Appends into a fixed region; remembers overflow instead of failing each call.
class Out {
 public:
  Out(char* p, size_t cap) : p_(p), cap_(cap) {}
  void put(std::string_view s) noexcept {
    if (len_ + s.size() > cap_) {
      overflow_ = true;
      return;
    }
    std::memcpy(p_ + len_, s.data(), s.size());
    len_ += s.size();
  }
  void put_dec(uint64_t v) noexcept {
    char tmp[20];
    size_t n = 0;
    do tmp[sizeof tmp - ++n] = char('0' + v % 10);
    while ((v /= 10) != 0);
    put({tmp + sizeof tmp - n, n});
  }
  void field(std::string_view name, std::string_view value) noexcept {
    put(name);
    put(": ");
    put(value);
    put("\r\n");
  }
  size_t size() const noexcept { return len_; }
  bool overflow() const noexcept { return overflow_; }

 private:
  char* p_;
  size_t cap_;
  size_t len_ = 0;
  bool overflow_ = false;
};

size_t put_hex(char* out, uint64_t v) noexcept {
  char tmp[16];
  size_t n = 0;
  do tmp[sizeof tmp - ++n] = "0123456789abcdef"[v & 15];
  while ((v >>= 4) != 0);
  std::memcpy(out, tmp + sizeof tmp - n, n);
  return n;
}

bool is_framing_field(std::string_view name) noexcept {
  return http::iequals(name, "content-length") || http::iequals(name, "transfer-encoding");
}

void put_fields_and_framing(Out& o, const http::FieldList& fields, http::Framing out,
                            const HeadOptions& opt) {
  bool own_framing = out.kind != http::BodyKind::None;
  for (const http::Field& f : fields) {
    if (own_framing && is_framing_field(f.name)) continue;
    o.field(f.name, f.value);
  }
  if (out.kind == http::BodyKind::ContentLength) {
    o.put("Content-Length: ");
    o.put_dec(out.length);
    o.put("\r\n");
  } else if (out.kind == http::BodyKind::Chunked) {
    o.put("Transfer-Encoding: chunked\r\n");
  }
  if (opt.upgrade)
    o.put("Connection: upgrade\r\n");
  else if (opt.connection_close)
    o.put("Connection: close\r\n");
  o.put("\r\n");
}

Result<Slice, SerializeError> finish_head(Slice buf, const Out& o) {
  if (o.overflow()) return Unexpected(SerializeError::HeadTooLarge);
  buf.remove_suffix(static_cast<uint32_t>(buf.size() - o.size()));
  return buf;
}

char* writable(Slice& s) noexcept { return reinterpret_cast<char*>(s.writable().data()); }

}  // namespace

const char* reason(SerializeError e) noexcept {
  switch (e) {
    case SerializeError::PoolExhausted:
      return "buffer pool exhausted";
    case SerializeError::HeadTooLarge:
      return "message head larger than a pool buffer";
  }
  return "serialize error";
}

http::Framing outgoing_framing(http::Framing in, http::Version peer_version) noexcept {
  using http::BodyKind;
  switch (in.kind) {
    case BodyKind::Chunked:
    case BodyKind::Close:
      return peer_version >= 11 ? http::Framing{BodyKind::Chunked, 0}
                                : http::Framing{BodyKind::Close, 0};
    default:
      return in;
  }
}

Result<Slice, SerializeError> write_request_head(buffer::BufferPool& pool, const http::Request& req,
                                                 http::Framing out, const HeadOptions& opt) {
  auto buf = pool.acquire();
  if (!buf) return Unexpected(SerializeError::PoolExhausted);
  Out o(writable(*buf), buf->size());
  o.put(req.method);
  o.put(" ");
  o.put(req.path);
  o.put(" HTTP/1.1\r\n");
  if (!req.authority.empty()) o.field("Host", req.authority);
  put_fields_and_framing(o, req.fields, out, opt);
  return finish_head(std::move(*buf), o);
}

Result<Slice, SerializeError> write_response_head(buffer::BufferPool& pool,
                                                  const http::Response& res, http::Framing out,
                                                  const HeadOptions& opt) {
  auto buf = pool.acquire();
  if (!buf) return Unexpected(SerializeError::PoolExhausted);
  Out o(writable(*buf), buf->size());
  o.put("HTTP/1.1 ");
  o.put_dec(res.status);
  o.put(" ");
  o.put(res.reason.empty() ? reason_phrase(res.status) : res.reason);
  o.put("\r\n");
  put_fields_and_framing(o, res.fields, out, opt);
  return finish_head(std::move(*buf), o);
}

Result<Slice, SerializeError> BodyWriter::carve(std::string_view a, std::string_view b) {
  size_t n = a.size() + b.size();
  if (!scratch_.data() || used_ + n > scratch_.size()) {
    auto s = pool_->acquire();
    if (!s) return Unexpected(SerializeError::PoolExhausted);
    if (n > s->size()) return Unexpected(SerializeError::HeadTooLarge);
    scratch_ = std::move(*s);
    used_ = 0;
  }
  // Bytes past used_ were never handed out, so writing them is safe although the buffer is
  // shared with the sub-slices carved earlier.
  char* p = const_cast<char*>(reinterpret_cast<const char*>(scratch_.data())) + used_;
  std::memcpy(p, a.data(), a.size());
  if (!b.empty()) std::memcpy(p + a.size(), b.data(), b.size());
  Slice piece = scratch_.sub(used_, static_cast<uint32_t>(n));
  used_ += static_cast<uint32_t>(n);
  return piece;
}

Result<void, SerializeError> BodyWriter::write(Slice data, buffer::BufferChain& chain) {
  if (data.empty()) return {};
  if (out_.kind != http::BodyKind::Chunked) {
    chain.append(std::move(data));
    return {};
  }
  char line[2 + 16 + 2];
  size_t n = 0;
  if (in_chunk_) {
    line[n++] = '\r';
    line[n++] = '\n';
  }
  n += put_hex(line + n, data.size());
  line[n++] = '\r';
  line[n++] = '\n';
  auto head = carve({line, n});
  if (!head) return Unexpected(head.error());
  chain.append(std::move(*head));
  chain.append(std::move(data));
  in_chunk_ = true;
  return {};
}

Result<void, SerializeError> BodyWriter::finish(const http::FieldList& trailers,
                                                buffer::BufferChain& chain) {
  if (out_.kind != http::BodyKind::Chunked) return {};
  auto last = carve(in_chunk_ ? "\r\n0\r\n" : "0\r\n");
  if (!last) return Unexpected(last.error());
  chain.append(std::move(*last));
  in_chunk_ = false;
  for (const http::Field& f : trailers) {
    auto a = carve(f.name, ": ");
    if (!a) return Unexpected(a.error());
    auto b = carve(f.value, "\r\n");
    if (!b) return Unexpected(b.error());
    chain.append(std::move(*a));
    chain.append(std::move(*b));
  }
  auto end = carve("\r\n");
  if (!end) return Unexpected(end.error());
  chain.append(std::move(*end));
  return {};
}

std::string_view reason_phrase(uint16_t status) noexcept {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 103:
      return "Early Hints";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 417:
      return "Expectation Failed";
    case 421:
      return "Misdirected Request";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "";
  }
}

}  // namespace kakehi::http1
