#!/usr/bin/env python3
"""PROXY protocol through the kakehi edge binary, against real peers (Python 3 stdlib).

Receiving (listeners with accept_proxy_protocol): v1 and v2 headers written by this script's own
encoder with addresses that are not the socket's, a header split over two writes, UNKNOWN and
LOCAL, HTTP/1.1, h2c and HTTPS after the header; a listener made to require it by SIGHUP
(connections accepted before go on without); curl --haproxy-protocol (HTTP, HTTPS) and
haproxy's send-proxy-v2 in front; a missing, a malformed and a late header close the
connection. Sending (clusters with send_proxy_protocol v1/v2, HTTP and TCP listeners): nginx
behind kakehi with `listen ... proxy_protocol` reports the addresses it was given, the client
connecting from 127.0.0.2 and 127.0.0.3 in turn (a connection is never reused for another
client, but kept for that client's next request); from an HTTPS listener the v2 header carries
ALPN, AUTHORITY and SSL TLVs (read by this script and by haproxy). Every process is stopped by PID; every wait
is bounded. Skips (exit 77) without haproxy, nginx, curl or openssl.

usage: proxy_protocol_test.py PATH/TO/kakehi
"""
import http.server
import ipaddress
import os
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time

from binary_support import PROCS, check, finish, free_port

KAKEHI = os.path.abspath(sys.argv[1])
V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def wait_port(port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def start(args, **kw):
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, **kw)  # stderr: the test's log
    PROCS.append(p)
    return p


def stop(p):
    if p.poll() is None:
        p.terminate()
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(timeout=10)


class EchoOrigin:
    """Answers with the request's forwarding fields: `xff=... port=... proto=...`."""

    def __init__(self):
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                h = self.headers
                body = (f"xff={h.get('X-Forwarded-For')} port={h.get('X-Forwarded-Port')} "
                        f"proto={h.get('X-Forwarded-Proto')}").encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class V2Origin:
    """Reads the v2 header each connection starts with (our own reader, from the spec), then
    one HTTP request, and answers with what the header carried: `src=ADDR:PORT alpn=...
    authority=... ssl=CLIENT/VERIFY version=... cipher=...`."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(c,), daemon=True).start()

    @staticmethod
    def _read(c, n):
        out = b""
        while len(out) < n:
            d = c.recv(n - len(out))
            if not d:
                raise EOFError
            out += d
        return out

    def _one(self, c):
        c.settimeout(5)
        try:
            fixed = self._read(c, 16)
            if fixed[:12] != V2_SIG:
                return
            rest = self._read(c, struct.unpack("!H", fixed[14:16])[0])
            fam = fixed[13] >> 4
            n = 4 if fam == 1 else 16
            src = ipaddress.ip_address(rest[:n])
            sport = struct.unpack("!H", rest[2 * n:2 * n + 2])[0]
            tlvs, i = {}, 2 * n + 4
            while i + 3 <= len(rest):
                t, ln = rest[i], struct.unpack("!H", rest[i + 1:i + 3])[0]
                tlvs[t] = rest[i + 3:i + 3 + ln]
                i += 3 + ln
            info = {"src": f"{src}:{sport}", "alpn": tlvs.get(1, b"").decode(),
                    "authority": tlvs.get(2, b"").decode()}
            ssl_tlv = tlvs.get(0x20, b"")
            if len(ssl_tlv) >= 5:
                info["ssl"] = f"{ssl_tlv[0]}/{struct.unpack('!I', ssl_tlv[1:5])[0]}"
                j = 5
                while j + 3 <= len(ssl_tlv):
                    t, ln = ssl_tlv[j], struct.unpack("!H", ssl_tlv[j + 1:j + 3])[0]
                    name = {0x21: "version", 0x23: "cipher"}.get(t, hex(t))
                    info[name] = ssl_tlv[j + 3:j + 3 + ln].decode()
                    j += 3 + ln
            head = b""
            while b"\r\n\r\n" not in head:
                d = c.recv(65536)
                if not d:
                    return
                head += d
            body = " ".join(f"{k}={v}" for k, v in info.items()).encode()
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                      % len(body) + body)
        except (OSError, EOFError, ValueError, IndexError):
            pass
        finally:
            c.close()

    def close(self):
        self.sock.close()


def v1(src, dst, sport, dport):
    fam = "TCP6" if ":" in src else "TCP4"
    return f"PROXY {fam} {src} {dst} {sport} {dport}\r\n".encode()


def v2(src, dst, sport, dport, command=1, tlvs=b""):
    """Our own v2 encoder, independent of the proxy's (struct packing from the spec)."""
    if src is None:
        return V2_SIG + bytes([0x20 | command, 0x00]) + struct.pack("!H", len(tlvs)) + tlvs
    a, b = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    fam = 0x11 if a.version == 4 else 0x21
    block = a.packed + b.packed + struct.pack("!HH", sport, dport) + tlvs
    return V2_SIG + bytes([0x20 | command, fam]) + struct.pack("!H", len(block)) + block


def exchange(port, chunks, tls=False, timeout=5.0, pause=0.0):
    """Sends `chunks` (the last one after an optional TLS handshake when `tls`), returns what
    came back until the connection closed."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        for i, c in enumerate(chunks):
            if tls and i == len(chunks) - 1:
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                s = ctx.wrap_socket(s, server_hostname="localhost")
            s.sendall(c)
            if pause:
                time.sleep(pause)
        out = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                d = s.recv(65536)
            except (ConnectionResetError, ssl.SSLError):
                break
            if not d:
                break
            out += d
        return out
    except OSError as e:
        return f"error: {e}".encode()
    finally:
        s.close()


def get(host="x"):
    return f"GET /p HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()


def read_response(sock, timeout=5.0):
    """One response with a Content-Length from a keep-alive socket: (status line, body)."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        d = sock.recv(65536)
        if not d:
            return None, ""
        data += d
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        d = sock.recv(65536)
        if not d:
            break
        body += d
    return head.split(b"\r\n")[0].decode(), body.decode(errors="replace")


def body_of(resp):
    return resp.partition(b"\r\n\r\n")[2].decode(errors="replace")


def curl(args, timeout=5):
    r = subprocess.run(["curl", "-s", "-m", str(timeout), "-w", "\n%{http_code}"] + args,
                       capture_output=True, text=True, timeout=timeout + 5)
    body, _, code = r.stdout.rpartition("\n")
    return code, body


def cert(tmp):
    c, k = os.path.join(tmp, "c.pem"), os.path.join(tmp, "k.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", k, "-out", c, "-days", "2",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
                   check=True, capture_output=True, timeout=30)
    return c, k


def test_accept(tmp, origin):
    http_port, https_port, plain_port = free_port(), free_port(), free_port()
    c, k = cert(tmp)
    conf = os.path.join(tmp, "accept.toml")
    with open(conf, "w") as f:
        f.write(f"""
[proxy]
workers = 1

[[listeners]]
address = "127.0.0.1:{http_port}"
accept_proxy_protocol = true
timeouts = {{ request_head_ms = 600 }}

[[listeners]]
address = "127.0.0.1:{https_port}"
kind = "https"
accept_proxy_protocol = true

[[listeners]]
address = "127.0.0.1:{plain_port}"

[[certificates]]
id = "c"
listener = "127.0.0.1:{https_port}"
certificate = "{c}"
key = "{k}"

[[clusters]]
id = "o"
  [[clusters.backends]]
  address = "127.0.0.1:{origin.port}"
  [[clusters.frontends]]
  id = "h"
  listener = "127.0.0.1:{http_port}"
  [[clusters.frontends]]
  id = "s"
  listener = "127.0.0.1:{https_port}"
  [[clusters.frontends]]
  id = "p"
  listener = "127.0.0.1:{plain_port}"
""")
    k = start([KAKEHI, "-c", conf])
    if not check(wait_port(http_port) and wait_port(https_port), "accepting proxy starts"):
        return
    hp = http_port
    r = exchange(hp, [v1("203.0.113.7", "198.51.100.1", 40000, 8443) + get()])
    check(body_of(r) == "xff=203.0.113.7 port=8443 proto=http", f"v1 TCP4: {r!r}")
    r = exchange(hp, [v1("2001:db8::1", "2001:db8::2", 1234, 443) + get()])
    check(body_of(r) == "xff=2001:db8::1 port=443 proto=http", f"v1 TCP6: {r!r}")
    r = exchange(hp, [v2("192.0.2.9", "192.0.2.10", 5555, 9090) + get()])
    check(body_of(r) == "xff=192.0.2.9 port=9090 proto=http", f"v2 INET: {r!r}")
    tlvs = bytes([0x02]) + struct.pack("!H", 9) + b"localhost" + bytes([0xE0, 0, 2]) + b"zz"
    r = exchange(hp, [v2("2001:db8::5", "2001:db8::6", 7, 8, tlvs=tlvs) + get()])
    check(body_of(r) == "xff=2001:db8::5 port=8 proto=http", f"v2 INET6 with TLVs: {r!r}")
    h = v2("192.0.2.1", "192.0.2.2", 1, 2)
    r = exchange(hp, [h[:7], h[7:] + get()[:10], get()[10:]], pause=0.05)
    check(body_of(r) == "xff=192.0.2.1 port=2 proto=http", f"v2 split over reads: {r!r}")
    r = exchange(hp, [b"PROXY UNKNOWN\r\n" + get()])
    check(body_of(r) == f"xff=127.0.0.1 port={hp} proto=http", f"v1 UNKNOWN: {r!r}")
    r = exchange(hp, [v2(None, None, 0, 0, command=0) + get()])
    check(body_of(r) == f"xff=127.0.0.1 port={hp} proto=http", f"v2 LOCAL: {r!r}")
    # h2c with prior knowledge after the header: curl sends its own v1 line.
    code, body = curl(["--haproxy-protocol", "--http2-prior-knowledge", f"http://127.0.0.1:{hp}/"])
    check(code == "200" and body == f"xff=127.0.0.1 port={hp} proto=http",
          f"curl --haproxy-protocol h2c: {code} {body}")
    code, body = curl(["--haproxy-protocol", f"http://127.0.0.1:{hp}/"])
    check(code == "200", f"curl --haproxy-protocol HTTP/1.1: {code}")
    # HTTPS: the header, then the TLS handshake.
    r = exchange(https_port, [v1("198.51.100.20", "198.51.100.21", 3333, 443), get("localhost")],
                 tls=True)
    check(body_of(r) == "xff=198.51.100.20 port=443 proto=https", f"HTTPS after v1: {r!r}")
    code, body = curl(["-k", "--haproxy-protocol", f"https://localhost:{https_port}/"])
    check(code == "200" and body == f"xff=127.0.0.1 port={https_port} proto=https",
          f"curl --haproxy-protocol HTTPS: {code} {body}")
    # No header, a broken one, a late one: closed without an answer.
    check(exchange(hp, [get()]) == b"", "a request without the header is not answered")
    check(exchange(hp, [b"PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n" + get()]) == b"",
          "a v1 port above 65535 is rejected")
    check(exchange(hp, [V2_SIG + b"\x31\x11\x00\x0c" + bytes(12) + get()]) == b"",
          "a v2 version 3 is rejected")
    t0 = time.monotonic()
    r = exchange(hp, [b"PROXY TCP4 "], timeout=5)
    took = time.monotonic() - t0
    check(r == b"" and 0.4 < took < 3.0, f"a header not finished in 600 ms is dropped ({took:.2f} s)")
    # The listener without accept_proxy_protocol serves plain requests still.
    r = exchange(plain_port, [get()])
    check(body_of(r) == f"xff=127.0.0.1 port={plain_port} proto=http", f"plain listener: {r!r}")

    # Live: SIGHUP makes the plain listener require a header. A connection accepted before is
    # still served without one; new ones need it.
    early = socket.create_connection(("127.0.0.1", plain_port), timeout=5)
    keep = b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\n"
    early.sendall(keep)
    check(read_response(early)[1] == f"xff=127.0.0.1 port={plain_port} proto=http",
          "keep-alive connection before the reload")
    with open(conf) as f:
        text = f.read()
    with open(conf, "w") as f:
        f.write(text.replace(f'address = "127.0.0.1:{plain_port}"\n',
                             f'address = "127.0.0.1:{plain_port}"\naccept_proxy_protocol = true\n'))
    k.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and exchange(plain_port, [get()]) != b"":
        time.sleep(0.05)
    check(exchange(plain_port, [get()]) == b"", "after the reload a request needs the header")
    r = exchange(plain_port, [v1("192.0.2.77", "192.0.2.78", 1000, 2000) + get()])
    check(body_of(r) == "xff=192.0.2.77 port=2000 proto=http", f"after the reload: {r!r}")
    early.sendall(keep)
    check(read_response(early)[1] == f"xff=127.0.0.1 port={plain_port} proto=http",
          "the connection accepted before the reload is still served")
    early.close()

    # haproxy in front (TCP mode, send-proxy-v2), the client on 127.0.0.2.
    hport = free_port()
    hconf = os.path.join(tmp, "haproxy.cfg")
    with open(hconf, "w") as f:
        f.write(f"""
global
  maxconn 100
defaults
  mode tcp
  timeout connect 5s
  timeout client 10s
  timeout server 10s
frontend fe
  bind 127.0.0.1:{hport}
  default_backend be
backend be
  server k 127.0.0.1:{hp} send-proxy-v2 proxy-v2-options crc32c
""")
    hap = start(["haproxy", "-db", "-f", hconf])
    if check(wait_port(hport), "haproxy starts"):
        code, body = curl(["--interface", "127.0.0.2", f"http://127.0.0.1:{hport}/"])
        check(code == "200" and body == f"xff=127.0.0.2 port={hport} proto=http",
              f"haproxy send-proxy-v2: {code} {body}")
    stop(hap)
    k.send_signal(signal.SIGINT)
    check(k.wait(timeout=10) == 0, "accepting proxy exits cleanly")


def test_send_tls(tmp):
    """v2 from an HTTPS listener carries the client's TLS facts as TLVs."""
    v2o = V2Origin()
    c, k = cert(tmp)
    hp_port, ps, pd = free_port(), free_port(), free_port()
    hconf = os.path.join(tmp, "haproxy-recv.cfg")
    with open(hconf, "w") as f:
        f.write(f"""
defaults
  mode http
  timeout connect 5s
  timeout client 10s
  timeout server 10s
frontend fe
  bind 127.0.0.1:{hp_port} accept-proxy
  http-request return status 200 content-type text/plain lf-string "%[fc_pp_authority] %[src]"
""")
    hap = start(["haproxy", "-db", "-f", hconf])
    conf = os.path.join(tmp, "send-tls.toml")
    with open(conf, "w") as f:
        f.write(f"""
[proxy]
workers = 1

[[listeners]]
address = "127.0.0.1:{ps}"
kind = "https"
[[listeners]]
address = "127.0.0.1:{pd}"
kind = "https"

[[certificates]]
id = "c"
listener = "127.0.0.1:{ps}"
certificate = "{c}"
key = "{k}"
[[certificates]]
id = "d"
listener = "127.0.0.1:{pd}"
certificate = "{c}"
key = "{k}"

[[clusters]]
id = "ours"
send_proxy_protocol = "v2"
  [[clusters.backends]]
  address = "127.0.0.1:{v2o.port}"
  [[clusters.frontends]]
  id = "s"
  listener = "127.0.0.1:{ps}"

[[clusters]]
id = "haproxy"
send_proxy_protocol = "v2"
  [[clusters.backends]]
  address = "127.0.0.1:{hp_port}"
  [[clusters.frontends]]
  id = "d"
  listener = "127.0.0.1:{pd}"
""")
    kk = start([KAKEHI, "-c", conf])
    if check(wait_port(ps) and wait_port(pd) and wait_port(hp_port), "TLS sender starts"):
        for flag, alpn in (("--http1.1", "http/1.1"), ("--http2", "h2")):
            code, body = curl(["-k", flag, "--interface", "127.0.0.2",
                               f"https://localhost:{ps}/"])
            info = dict(kv.split("=", 1) for kv in body.split(" ") if "=" in kv)
            check(code == "200" and info.get("src", "").startswith("127.0.0.2:") and
                  info.get("alpn") == alpn and info.get("authority") == "localhost" and
                  info.get("ssl") == "1/1" and info.get("version", "").startswith("TLSv1.") and
                  info.get("cipher"), f"v2 TLVs from an HTTPS client ({flag}): {code} {body}")
        code, body = curl(["-k", "--interface", "127.0.0.3", f"https://localhost:{pd}/"])
        check(code == "200" and body == "localhost 127.0.0.3",
              f"haproxy reads the AUTHORITY TLV: {code} {body}")
    kk.send_signal(signal.SIGINT)
    check(kk.wait(timeout=10) == 0, "TLS sender exits cleanly")
    stop(hap)
    v2o.close()


def test_send(tmp, origin):
    nport = free_port()
    nconf = os.path.join(tmp, "nginx.conf")
    with open(nconf, "w") as f:
        f.write(f"""
worker_processes 1;
daemon off;
error_log stderr error;
pid {tmp}/nginx.pid;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {tmp};
  proxy_temp_path {tmp};
  fastcgi_temp_path {tmp};
  uwsgi_temp_path {tmp};
  scgi_temp_path {tmp};
  server {{
    listen 127.0.0.1:{nport} proxy_protocol;
    location / {{
      return 200 "$proxy_protocol_addr $proxy_protocol_port $proxy_protocol_server_addr $proxy_protocol_server_port $connection";
    }}
  }}
}}
""")
    ngx = start(["nginx", "-c", nconf, "-p", tmp])
    p1, p2, pt, pa = free_port(), free_port(), free_port(), free_port()
    conf = os.path.join(tmp, "send.toml")
    with open(conf, "w") as f:
        f.write(f"""
[proxy]
workers = 1

[[listeners]]
address = "127.0.0.1:{p1}"
[[listeners]]
address = "127.0.0.1:{p2}"
[[listeners]]
address = "127.0.0.1:{pt}"
kind = "tcp"
[[listeners]]
address = "127.0.0.1:{pa}"
accept_proxy_protocol = true

[[clusters]]
id = "v1"
send_proxy_protocol = "v1"
  [[clusters.backends]]
  address = "127.0.0.1:{nport}"
  [[clusters.frontends]]
  id = "f1"
  listener = "127.0.0.1:{p1}"

[[clusters]]
id = "v2"
send_proxy_protocol = "v2"
  [[clusters.backends]]
  address = "127.0.0.1:{nport}"
  [[clusters.frontends]]
  id = "f2"
  listener = "127.0.0.1:{p2}"
  [[clusters.frontends]]
  id = "fa"
  listener = "127.0.0.1:{pa}"
  [[clusters.tcp_frontends]]
  listener = "127.0.0.1:{pt}"
""")
    k = start([KAKEHI, "-c", conf])
    ok = check(wait_port(nport) and wait_port(p1) and wait_port(pt), "sending proxy and nginx start")
    if ok:
        for name, port in (("v1", p1), ("v2", p2), ("v2 over a TCP listener", pt)):
            seen = []
            for src in ("127.0.0.2", "127.0.0.3", "127.0.0.2"):
                code, body = curl(["--interface", src, f"http://127.0.0.1:{port}/"])
                f = body.split(" ")
                good = code == "200" and len(f) == 5 and f[0] == src and f[2] == "127.0.0.1" \
                    and f[3] == str(port)
                check(good, f"{name}: nginx saw client {src} through port {port}: {code} {body}")
                seen.append(f[4] if len(f) == 5 else None)
            check(len(set(seen)) == 3, f"{name}: one backend connection per client ({seen})")
        # An HTTP/2 client's streams: each goes to nginx over its own connection with the header.
        code, body = curl(["--http2-prior-knowledge", "--interface", "127.0.0.3",
                           f"http://127.0.0.1:{p2}/"])
        check(code == "200" and body.split(" ")[:1] == ["127.0.0.3"], f"h2c to v2: {code} {body}")
        # The addresses a PROXY header gave kakehi are the ones it sends on.
        r = exchange(pa, [v1("203.0.113.50", "203.0.113.51", 6000, 7000) + get()])
        f = body_of(r).split(" ")
        check(f[:4] == ["203.0.113.50", "6000", "203.0.113.51", "7000"],
              f"relayed addresses go on in v2: {r!r}")
        # Two requests on one keep-alive client connection: the backend connection opened for
        # the first (with its header) serves the second too.
        two = (b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
               b"GET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        r = exchange(p1, [two])
        answers = r.split(b"HTTP/1.1 ")[1:]
        conns = [body_of(b"HTTP/1.1 " + a).split(" ")[-1] for a in answers]
        check(len(answers) == 2 and all(a.startswith(b"200") for a in answers) and
              conns[0] == conns[1], f"two keep-alive requests through a v1 cluster: {r!r}")
    k.send_signal(signal.SIGINT)
    check(k.wait(timeout=10) == 0, "sending proxy exits cleanly")
    stop(ngx)


def main():
    for tool in ("haproxy", "nginx", "curl", "openssl"):
        if not shutil.which(tool):
            print(f"SKIP: {tool} not installed (scripts/bootstrap installs it)")
            return 77
    tmp = tempfile.mkdtemp(prefix="kakehi-pp-")
    origin = EchoOrigin()
    try:
        test_accept(tmp, origin)
        test_send(tmp, origin)
        test_send_tls(tmp)
    finally:
        status = finish()
        origin.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
