// TLS test support: a temp dir, a bounded child-process runner (posix_spawn, kill + waitpid by
// PID), certificates made with the real `openssl` CLI, and a blocking 127.0.0.1 loop that
// drives a kakehi::tls::Connection against `openssl s_client`.
#pragma once

#include <string>
#include <vector>

#include "kakehi/tls/connection.hpp"
#include "kakehi/tls/context.hpp"

namespace kakehi::test {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
};

std::string slurp(const std::string& path);
void spit(const std::string& path, const std::string& text);

/// A started child; its stdout and stderr go to `log`. The destructor kills and reaps it.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::string& log);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  /// Waits at most `timeout_ms`; the exit status, or -1 if it had to be killed.
  int wait(int timeout_ms);

 private:
  int pid_ = -1;
};

/// Runs to completion within `timeout_ms` (killed otherwise); exit status or -1.
int run(const std::vector<std::string>& argv, const std::string& log, int timeout_ms = 20000);

/// Certificates generated once per test binary with `openssl` into a temp dir.
struct Certs {
  TempDir dir;
  // each: <name>.pem (chain) and <name>.key
  //   rsa       RSA 2048, SAN rsa.test www.rsa.test, PKCS#8 key; rsa-pkcs1.key (PKCS#1)
  //   p256      ECDSA P-256, SAN p256.test, SEC1 key; p256-pkcs8.key
  //   p384      ECDSA P-384, SAN p384.test
  //   wild      ECDSA P-256, SAN *.wild.test
  //   cnonly    ECDSA P-256, CN cnonly.test, no SAN
  //   weak      RSA 1024
  //   leaf      signed by ca (ECDSA), SAN chain.test; leaf-chain.pem = leaf + ca,
  //             leaf-reversed.pem = ca + leaf
  Certs();
  std::string file(const std::string& name) const { return dir.path(name); }
  tls::CertificateSource source(const std::string& name, const std::string& key = {}) const;
};
const Certs& certs();

/// Current Unix time, taken after the certificates were generated.
std::int64_t now_unix();

/// What an s_client run saw.
struct ClientRun {
  bool connected = false;              // the handshake completed on our side
  std::string client_output;           // s_client's stdout + stderr
  tls::HandshakeInfo info;             // ours
  std::string server_error;            // our TlsError reason, if any
  std::vector<std::byte> first_bytes;  // the client's first flight (for mutation tests)
};

/// Starts `openssl s_client -connect 127.0.0.1:PORT <args>` against one Connection on
/// `ctx`; answers "hello from kakehi\n" after the handshake, then close_notify. Every wait is
/// bounded. `byte_by_byte` feeds the engine one byte per feed().
ClientRun run_s_client(const std::shared_ptr<tls::Context>& ctx,
                       const std::vector<std::string>& args, bool byte_by_byte = false);

}  // namespace kakehi::test
