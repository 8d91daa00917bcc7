#!/usr/bin/env python3
"""Where a proxy's CPU goes, per request: user time, kernel time and syscalls.

Complements ../shared/bench/run-peers (which reports the total CPU per request): starts the
same origin and the same peers from the harness (its functions are imported, its configs are
used as they are), plus kakehi on bench/peers/kakehi.toml, then for each HTTP/1.1 scenario and
each target runs wrk (pinned to the load CPU) while reading the proxy's utime/stime from /proc
and counting its syscalls with `perf stat -e raw_syscalls:sys_enter`. Targets are measured in
rotation within each round, so their figures share the machine's conditions.

  bench/peers/split.py [--rounds 2] [--duration 4] [--scenarios S1,S2,S3,S8,T1,T6] [--out FILE]

T1/T6 are HTTPS (TLS 1.3 with the harness's client settings): keep-alive, and a full handshake
per request (every server runs with the harness's openssl-server.cnf: no TLS 1.3 tickets).

Needs: the harness (../shared/bench), haproxy, nginx, wrk, taskset, perf (Debian linux-perf).
Every process it starts is stopped by PID (the harness's stop_all) on exit.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

import harness

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))

SCENARIOS = {  # name: (path, connections, extra wrk args, over TLS)
    "S1": ("/hello", 64, [], False),
    "S2": ("/16k", 64, [], False),
    "S3": ("/hello", 64, ["-H", "Connection: close"], False),
    "S8": ("/hello", 256, [], False),
    # HTTPS (TLS 1.3, the harness's client settings): keep-alive, and one handshake per request.
    "T1": ("/hello", 64, [], True),
    "T6": ("/hello", 64, ["-H", "Connection: close"], True),
}


def tree_times(rp, root):
    """(utime, stime) in seconds of the process tree rooted at `root`."""
    u = s = 0
    for pid in rp.proc_tree(root):
        try:
            with open("/proc/%d/stat" % pid) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        u += int(fields[11])
        s += int(fields[12])
    return u / rp.CLK_TCK, s / rp.CLK_TCK


def emit(lines, out):
    """Prints a report's lines, and writes them to `out` too when given."""
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if out:
        with open(out, "w") as f:
            f.write(text)


def prepare(rp, tmp, b):
    """The harness's documents and a certificate like its own (ECDSA P-256, localhost) in
    `tmp`: the placeholder values every server shares, with the origin on port `b`."""
    docroot = os.path.join(tmp, "www")
    os.makedirs(docroot)
    with open(os.path.join(docroot, "hello"), "wb") as f:
        f.write(rp.HELLO_BODY)
    with open(os.path.join(docroot, "16k"), "wb") as f:
        f.write(b"x" * rp.BIG_SIZE)
    cert, key, pem = (os.path.join(tmp, x) for x in ("cert.pem", "key.pem", "certkey.pem"))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
    with open(pem, "w") as f:
        f.write(open(cert).read() + open(key).read())
    return {"backend_port": b, "backend_h2c_port": b + 1, "backend_tls_port": b + 2,
            "cert": cert, "key": key, "pem": pem, "docroot": docroot}


def measure(rp, pid, port, scen, duration, load_cpu):
    path, conns, extra, tls = SCENARIOS[scen]
    url = "https://127.0.0.1:%d%s" % (port + 2, path) if tls else "http://127.0.0.1:%d%s" % (port, path)
    pids = ",".join(str(p) for p in rp.proc_tree(pid))
    perf_out = tempfile.NamedTemporaryFile(prefix="perf-", suffix=".txt", delete=False).name
    perf = subprocess.Popen(["perf", "stat", "-x", ",", "-e", "raw_syscalls:sys_enter", "-p", pids,
                             "-o", perf_out], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    u0, s0 = tree_times(rp, pid)
    cmd = ["taskset", "-c", str(load_cpu), "wrk", "-t1", "-c%d" % conns, "-d%ds" % duration,
           "--latency"] + extra + [url]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 30,
                         env=rp.CLIENT_ENV if tls else None).stdout
    u1, s1 = tree_times(rp, pid)
    perf.send_signal(2)  # SIGINT: perf prints its counts and exits
    try:
        perf.wait(timeout=10)
    except subprocess.TimeoutExpired:
        perf.kill()
        perf.wait()
    syscalls = None
    with open(perf_out) as f:
        for line in f:
            m = re.match(r"\s*(\d+),.*raw_syscalls:sys_enter", line)
            if m:
                syscalls = int(m.group(1))
    os.unlink(perf_out)
    r = rp.parse_wrk(out)
    n = max(r["requests"], 1)
    return {"rps": r["rps"], "errors": r["errors"], "user_us": (u1 - u0) / n * 1e6,
            "kernel_us": (s1 - s0) / n * 1e6,
            "syscalls": syscalls / n if syscalls is not None else None}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--duration", type=int, default=4)
    ap.add_argument("--scenarios", default="S1,S2,S3,S8")
    ap.add_argument("--kakehi", default=os.path.join(ROOT, "build", "proxy", "kakehi"))
    ap.add_argument("--base-port", type=int, default=28000)
    ap.add_argument("--proxy-cpu", type=int, default=0)
    ap.add_argument("--load-cpu", type=int, default=1)
    ap.add_argument("--out")
    args = ap.parse_args()
    args.kakehi = os.path.abspath(args.kakehi)
    scens = args.scenarios.split(",")
    with_tls = any(SCENARIOS[x][3] for x in scens)
    for tool in ("taskset", "wrk", "perf", "haproxy", "nginx"):
        if not shutil.which(tool):
            raise SystemExit("split.py: missing tool: %s" % tool)
    if not os.access(args.kakehi, os.X_OK):
        raise SystemExit("split.py: no kakehi binary at %s (build it first)" % args.kakehi)
    rp = harness.load("split.py")
    targets = {"haproxy": rp.PEERS["haproxy"], "nginx": rp.PEERS["nginx"],
               "kakehi": args.kakehi + " -c {conf:%s}" % os.path.join(HERE, "kakehi.toml")}
    tmp = tempfile.mkdtemp(prefix="split-")
    os.chmod(tmp, 0o755)
    results = {}  # (target, scen) -> list of dicts
    try:
        b = args.base_port
        common = prepare(rp, tmp, b)
        env = dict(os.environ)
        env["OPENSSL_CONF"] = os.path.join(rp.PEERS_DIR, "openssl-server.cnf")
        # The origin without its TLS listener (no certificate here).
        origin_conf = os.path.join(tmp, "backend-nginx.conf")
        with open(os.path.join(rp.PEERS_DIR, "backend-nginx.conf")) as f:
            text = "\n".join(l for l in f.read().split("\n")
                             if "ssl" not in l and "{backend_tls_port}" not in l)
        with open(origin_conf, "w") as f:
            f.write(text)
        odir = os.path.join(tmp, "origin")
        vals = dict(common, workdir=odir, port=b, h2c_port=b + 1, tls_port=b + 2)
        op, _ = rp.start_server("origin", rp.BACKEND_CMD.replace("backend-nginx.conf", origin_conf),
                                vals, odir, args.load_cpu, env)
        rp.wait_ready("origin", op, [b, b + 1], odir)
        servers = {}
        for i, (name, cmd) in enumerate(targets.items()):
            port = b + 10 * (i + 1)
            wdir = os.path.join(tmp, name)
            # Peers' h2c binds are dropped (and their TLS binds unless a T scenario runs).
            def dropped(line):
                return "{h2c_port}" in line or (not with_tls and ("{tls_port}" in line
                                                                    or "ssl" in line))
            if name == "haproxy":
                src = os.path.join(rp.PEERS_DIR, "haproxy.cfg")
                with open(src) as f:
                    text = "\n".join(l for l in f.read().split("\n") if not dropped(l))
                conf = os.path.join(tmp, "haproxy.cfg")
                with open(conf, "w") as f:
                    f.write(text)
                cmd = "haproxy -db -f {conf:%s}" % conf
            elif name == "nginx":
                src = os.path.join(rp.PEERS_DIR, "nginx.conf")
                with open(src) as f:
                    text = "\n".join(l for l in f.read().split("\n") if not dropped(l))
                conf = os.path.join(tmp, "nginx.conf")
                with open(conf, "w") as f:
                    f.write(text)
                cmd = "nginx -e stderr -p {workdir}/ -c {conf:%s} -g 'daemon off;'" % conf
            v = dict(common, workdir=wdir, port=port, h2c_port=port + 1, tls_port=port + 2)
            p, _ = rp.start_server(name, cmd, v, wdir, args.proxy_cpu, env)
            rp.wait_ready(name, p, [port, port + 2] if with_tls else [port], wdir)
            servers[name] = (p.pid, port)
        for rnd in range(args.rounds):
            order = list(servers)
            order = order[rnd % len(order):] + order[:rnd % len(order)]
            for scen in scens:
                for name in order:
                    pid, port = servers[name]
                    r = measure(rp, pid, port, scen, args.duration, args.load_cpu)
                    results.setdefault((name, scen), []).append(r)
                    rp.log("round %d %s %-8s %6.0f req/s user %.2f us kernel %.2f us "
                           "syscalls %s" % (rnd + 1, scen, name, r["rps"], r["user_us"],
                                            r["kernel_us"],
                                            "%.2f" % r["syscalls"] if r["syscalls"] else "-"))
    finally:
        rp.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)

    def med(xs):
        xs = [x for x in xs if x is not None]
        return statistics.median(xs) if xs else None

    def total(r):
        return r["user_us"] + r["kernel_us"]

    # "paired": the median (and range) of each round's ratio to haproxy measured in the same
    # round, back to back, which a host whose speed drifts between rounds disturbs less.
    lines = ["| scen | target | req/s | user µs/req | kernel µs/req | CPU µs/req | "
             "CPU ×haproxy | paired (range) | syscalls/req | errors |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for scen in scens:
        ref = med([total(r) for r in results[("haproxy", scen)]]) \
            if ("haproxy", scen) in results else None
        for name in servers:
            rs = results[(name, scen)]
            cpu = med([total(r) for r in rs])
            paired = "-"
            if ref and name != "haproxy":
                rr = [total(r) / total(h) for r, h in zip(rs, results[("haproxy", scen)])
                      if total(h) > 0]
                if rr:
                    paired = "%.2f (%.2f–%.2f)" % (statistics.median(rr), min(rr), max(rr))
            sc = med([r["syscalls"] for r in rs])
            lines.append("| %s | %s | %.0f | %.2f | %.2f | %.2f | %s | %s | %s | %d |" % (
                scen, name, med([r["rps"] for r in rs]), med([r["user_us"] for r in rs]),
                med([r["kernel_us"] for r in rs]), cpu,
                "%.2f" % (cpu / ref) if ref else "-", paired,
                "%.2f" % sc if sc is not None else "-", sum(r["errors"] for r in rs)))
    emit(lines, args.out)


if __name__ == "__main__":
    main()
