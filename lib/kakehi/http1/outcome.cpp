// Status codes and reasons of parse outcomes (see outcome.hpp).
#include "kakehi/http1/outcome.hpp"

namespace kakehi::http1 {

uint16_t status(Outcome o) noexcept {
  switch (o) {
    case Outcome::Ok:
      return 0;
    case Outcome::UnknownTransferCoding:
    case Outcome::ConnectRefused:
      return 501;
    case Outcome::UnsupportedVersion:
      return 505;
    case Outcome::UriTooLong:
      return 414;
    case Outcome::HeaderTooLarge:
    case Outcome::TooManyHeaders:
      return 431;
    case Outcome::BodyTooLarge:
      return 413;
    case Outcome::BadStatusLine:
      return 502;
    default:
      return 400;
  }
}

const char* reason(Outcome o) noexcept {
  switch (o) {
    case Outcome::Ok:
      return "ok";
    case Outcome::BadRequestLine:
      return "invalid request line";
    case Outcome::BadTarget:
      return "invalid request target";
    case Outcome::BadHeaderName:
      return "invalid header field name";
    case Outcome::BadHeaderValue:
      return "invalid character in header field value";
    case Outcome::BareLineFeed:
      return "line ending without CR";
    case Outcome::ObsFold:
      return "obsolete line folding";
    case Outcome::ContentLengthAndTransferEncoding:
      return "both Content-Length and Transfer-Encoding";
    case Outcome::BadContentLength:
      return "invalid Content-Length";
    case Outcome::DuplicateContentLength:
      return "multiple Content-Length values";
    case Outcome::BadTransferEncoding:
      return "invalid Transfer-Encoding";
    case Outcome::MissingHost:
      return "missing Host";
    case Outcome::MultipleHost:
      return "multiple Host fields";
    case Outcome::BadHost:
      return "invalid Host";
    case Outcome::HostMismatch:
      return "Host disagrees with the request target";
    case Outcome::BadChunk:
      return "invalid chunk";
    case Outcome::BadConnectionHeader:
      return "invalid Connection field";
    case Outcome::BadMessage:
      return "malformed message";
    case Outcome::UnknownTransferCoding:
      return "unsupported transfer coding";
    case Outcome::ConnectRefused:
      return "CONNECT not supported";
    case Outcome::UnsupportedVersion:
      return "HTTP version not supported";
    case Outcome::UriTooLong:
      return "request line too long";
    case Outcome::HeaderTooLarge:
      return "header section too large";
    case Outcome::TooManyHeaders:
      return "too many header fields";
    case Outcome::BodyTooLarge:
      return "body too large";
    case Outcome::BadStatusLine:
      return "invalid status line";
    case Outcome::UnexpectedEof:
      return "connection closed before the message ended";
  }
  return "unknown";
}

}  // namespace kakehi::http1
