#!/usr/bin/env python3
"""Runs an instrumented kakehi (a -Db_pgo=generate build) through the proxy's hot paths, so
that GCC's -fprofile-use build optimizes for them. Used by scripts/build-pgo.

  scripts/pgo-train.py BUILD/proxy/kakehi [--seconds 3]

kakehi runs on bench/peers/kakehi.toml (one worker; HTTP/1.1 and h2c on one port, HTTPS with
ALPN h2 and http/1.1 on another) in front of an nginx origin serving /hello (13 B) and /16k,
all on 127.0.0.1. The loads are the benchmark's: HTTP/1.1 keep-alive (small and 16 KiB
bodies), a connection per request, h2c and h2 over TLS with 32 streams per connection, HTTPS
keep-alive and a TLS handshake per request. kakehi then gets SIGTERM and, exiting, writes
its profile (.gcda files beside the objects). Needs nginx, wrk, h2load and openssl (the
packages scripts/bootstrap installs). Every process started is stopped by PID.
"""
import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
TEMPLATE = os.path.join(ROOT, "bench", "peers", "kakehi.toml")

ORIGIN_CONF = """
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 75s;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  server {{
    listen 127.0.0.1:{port} reuseport;
    root {tmp}/www;
  }}
}}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, what, timeout=15):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit("pgo-train: %s exited (%s)" % (what, proc.returncode))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("pgo-train: %s is not listening on %d" % (what, port))


def load_problem(r):
    """Why a wrk or h2load run failed ('' when it did not): every request must succeed."""
    if r.returncode != 0:
        return "exit %d" % r.returncode
    out = r.stdout
    m = re.search(r"(\d+) succeeded, (\d+) failed, (\d+) errored", out)
    if m:
        if int(m.group(1)) == 0 or int(m.group(2)) or int(m.group(3)):
            return "h2load: " + m.group(0)
        codes = re.search(r"status codes: \d+ 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
        if not codes or any(int(x) for x in codes.groups()):
            return "h2load: " + (codes.group(0) if codes else "no status codes")
        return ""
    if not re.search(r"[1-9]\d* requests in", out):
        return "no request completed"
    m = re.search(r"Non-2xx or 3xx responses: \d+|Socket errors: .*", out)
    return "wrk: " + m.group(0) if m else ""


def stop(proc, timeout=10):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("kakehi")
    ap.add_argument("--seconds", type=int, default=3)
    args = ap.parse_args()
    for tool in ("nginx", "wrk", "h2load", "openssl"):
        if not shutil.which(tool):
            raise SystemExit("pgo-train: missing tool: %s (scripts/bootstrap installs it)" % tool)
    tmp = tempfile.mkdtemp(prefix="kakehi-pgo-")
    os.chmod(tmp, 0o755)  # nginx's workers (www-data) read the documents
    procs = []
    try:
        os.makedirs(os.path.join(tmp, "www"))
        with open(os.path.join(tmp, "www", "hello"), "wb") as f:
            f.write(b"hello world!\n")
        with open(os.path.join(tmp, "www", "16k"), "wb") as f:
            f.write(b"x" * 16384)
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "2", "-subj", "/CN=localhost"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        origin_port, port, tls_port = free_port(), free_port(), free_port()
        with open(os.path.join(tmp, "origin.conf"), "w") as f:
            f.write(ORIGIN_CONF.format(tmp=tmp, port=origin_port))
        origin = subprocess.Popen(["nginx", "-p", tmp + "/", "-c", os.path.join(tmp, "origin.conf")],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(origin)
        wait_listening(origin_port, origin, "the nginx origin")
        with open(TEMPLATE) as f:
            conf = f.read()
        for k, v in {"port": port, "h2c_port": port, "tls_port": tls_port,
                     "backend_port": origin_port, "cert": cert, "key": key,
                     "workdir": tmp}.items():
            conf = conf.replace("{%s}" % k, str(v))
        with open(os.path.join(tmp, "kakehi.toml"), "w") as f:
            f.write(conf)
        proxy = subprocess.Popen([args.kakehi, "-c", os.path.join(tmp, "kakehi.toml")],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(proxy)
        wait_listening(port, proxy, "kakehi")
        wait_listening(tls_port, proxy, "kakehi (TLS)")
        d = str(args.seconds)
        h1 = "http://127.0.0.1:%d" % port
        tls = "https://127.0.0.1:%d" % tls_port
        loads = [
            ["wrk", "-t1", "-c64", "-d" + d, h1 + "/hello"],
            ["wrk", "-t1", "-c64", "-d" + d, h1 + "/16k"],
            ["wrk", "-t1", "-c64", "-d" + d, "-H", "Connection: close", h1 + "/hello"],
            ["h2load", "-t1", "-c16", "-m32", "-D", d, h1 + "/hello"],
            ["h2load", "-t1", "-c16", "-m32", "-D", d, h1 + "/16k"],
            ["h2load", "-t1", "-c16", "-m32", "-D", d, tls + "/hello"],
            ["h2load", "-t1", "-c16", "-m32", "-D", d, tls + "/16k"],
            ["wrk", "-t1", "-c64", "-d" + d, tls + "/hello"],
            ["wrk", "-t1", "-c64", "-d" + d, "-H", "Connection: close", tls + "/hello"],
        ]
        for cmd in loads:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=args.seconds + 60)
            problem = load_problem(r)
            print("pgo-train: %s: %s" % (" ".join(cmd), problem or "ok"), flush=True)
            if problem:
                raise SystemExit("pgo-train: the load failed:\n" + r.stdout[-2000:])
            if proxy.poll() is not None:
                raise SystemExit("pgo-train: kakehi exited during the training")
        stop(proxy)  # a graceful exit writes the profile
        if proxy.returncode != 0:
            raise SystemExit("pgo-train: kakehi exited with %d" % proxy.returncode)
    finally:
        for p in procs:
            stop(p)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
