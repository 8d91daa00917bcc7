#!/usr/bin/env python3
"""Two proxies measured at the same time: the CPU per request of B against A, within ~±1%.

run-peers and split.py measure targets one after the other. On a shared VM the host's speed
drifts by tens of percent from one run to the next, so a change worth a few percent of CPU is
lost in the noise. Here A and B run together, pinned to the same proxy CPU, in front of the
same origin, each under its own copy of one scenario's load, started and stopped at the same
instant on the load CPU. Whatever the host does during a round, it does to both, and the ratio
of their CPU per request (utime+stime of each process tree ÷ its requests) holds still: two
copies of one binary measure 1.00 within ±0.5% on this 2-core VM.

  bench/peers/ab.py [--scenario S1] [--rounds 6] [--duration 5] A B

A and B are NAME=COMMAND, with the harness's placeholders and {conf:FILE} templates (see
../shared/bench/README.md), or the name of a harness peer (haproxy, nginx, h2o), or `kakehi`
(build/proxy/kakehi on bench/peers/kakehi.toml). Examples, from the repository root:

  bench/peers/ab.py --scenario S1 haproxy kakehi
  bench/peers/ab.py --scenario S4 "base=/tmp/kakehi-old -c {conf:$PWD/bench/peers/kakehi.toml}" kakehi

Scenarios: the harness's S1-S6 and S8, and H4/H5 (run-peers-h2.py's 16 KiB HTTP/2 ones). Each
load gets the scenario's connections (so the load CPU serves twice the harness's load, and
is saturated: read the CPU ratios, not req/s). A first round warms up and is not counted.
Every process started is stopped by PID (the harness's stop_all) on exit.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import threading

import harness
from split import emit, prepare, tree_times

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))


def target_command(rp, spec):
    """(name, command template) for a NAME=COMMAND, a peer's name, or `kakehi`."""
    if "=" in spec:
        name, cmd = spec.split("=", 1)
        return name, cmd
    if spec in rp.PEERS:
        return spec, rp.PEERS[spec]
    if spec == "kakehi":
        binary = os.path.join(ROOT, "build", "proxy", "kakehi")
        if not os.access(binary, os.X_OK):
            raise SystemExit("ab.py: no kakehi binary at %s (build it first)" % binary)
        return spec, "%s -c {conf:%s}" % (binary, os.path.join(HERE, "kakehi.toml"))
    raise SystemExit("ab.py: %r is neither NAME=COMMAND, a peer (%s) nor kakehi"
                     % (spec, ", ".join(rp.PEERS)))


def run_round(rp, scen, targets, duration, tmp, args):
    """Runs both loads at once; per target: rps, requests, errors, user/kernel µs per request."""
    s = rp.SCENARIOS[scen]
    outs = [None] * len(targets)
    cmds = []
    for i, t in enumerate(targets):
        log = os.path.join(tmp, "h2load-%d.log" % i) if s["tool"] == "h2load" else None
        cmds.append((rp.load_command(scen, t["ports"][s["port"]], duration, tmp, args, log), log))

    def run(i):
        cmd, _ = cmds[i]
        outs[i] = rp.run_tool(cmd, args.load_cpu, duration + 60)[1]

    before = [tree_times(rp, t["pid"]) for t in targets]
    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(targets))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    after = [tree_times(rp, t["pid"]) for t in targets]
    res = []
    for i in range(len(targets)):
        parse = rp.parse_wrk if s["tool"] == "wrk" else (lambda o, i=i: rp.parse_h2load(o, cmds[i][1]))
        r = parse(outs[i])
        n = max(r["requests"], 1)
        res.append({"rps": r["rps"], "errors": r["errors"],
                    "user_us": (after[i][0] - before[i][0]) / n * 1e6,
                    "kernel_us": (after[i][1] - before[i][1]) / n * 1e6})
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--scenario", default="S1")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--base-port", type=int, default=29000)
    ap.add_argument("--proxy-cpu", type=int, default=0)
    ap.add_argument("--load-cpu", type=int, default=1)
    ap.add_argument("--out")
    args = ap.parse_args()
    args.s7_delay_ms = 0  # load_command reads it (S7 is not offered here)
    rp = harness.load("ab.py")
    for name, base in (("H4", "S4"), ("H5", "S5")):
        rp.SCENARIOS[name] = dict(rp.SCENARIOS[base], path="/16k")
    if args.scenario not in rp.SCENARIOS or args.scenario == "S7":
        raise SystemExit("ab.py: unknown scenario %s" % args.scenario)
    tool = rp.SCENARIOS[args.scenario]["tool"]
    for t in ("taskset", "nginx", tool):
        if not shutil.which(t):
            raise SystemExit("ab.py: missing tool: %s" % t)
    specs = [target_command(rp, x) for x in (args.a, args.b)]
    if specs[0][0] == specs[1][0]:
        specs[1] = (specs[1][0] + "-b", specs[1][1])
    tmp = tempfile.mkdtemp(prefix="ab-")
    os.chmod(tmp, 0o755)
    rounds = []
    try:
        b = args.base_port
        common = prepare(rp, tmp, b)
        env = dict(os.environ, OPENSSL_CONF=os.path.join(rp.PEERS_DIR, "openssl-server.cnf"))
        odir = os.path.join(tmp, "origin")
        op, _ = rp.start_server("origin", rp.BACKEND_CMD,
                                dict(common, workdir=odir, port=b, h2c_port=b + 1,
                                     tls_port=b + 2), odir, args.load_cpu, env)
        rp.wait_ready("origin", op, [b, b + 1], odir)
        targets = []
        for i, (name, cmd) in enumerate(specs):
            port = b + 10 * (i + 1)
            wdir = os.path.join(tmp, name)
            ports = {"port": port, "h2c_port": port + 1, "tls_port": port + 2}
            if "h2c_port" not in rp.placeholders_used(cmd):
                ports["h2c_port"] = port  # as in the harness: S4 goes to {port}
            p, _ = rp.start_server(name, cmd, dict(common, workdir=wdir, port=port,
                                                   h2c_port=port + 1, tls_port=port + 2),
                                   wdir, args.proxy_cpu, env)
            needed = {ports[rp.SCENARIOS[args.scenario]["port"]], port}
            rp.wait_ready(name, p, sorted(needed), wdir)
            targets.append({"name": name, "pid": p.pid, "ports": ports})
        for rnd in range(args.rounds + 1):
            res = run_round(rp, args.scenario, targets, args.duration, tmp, args)
            if rnd == 0:
                continue  # warm-up
            rounds.append(res)
            a, bb = res
            ta, tb = a["user_us"] + a["kernel_us"], bb["user_us"] + bb["kernel_us"]
            rp.log("round %d: %s %.0f req/s %.2f+%.2f µs/req, %s %.0f req/s %.2f+%.2f µs/req: "
                   "CPU B/A %.3f" % (rnd, targets[0]["name"], a["rps"], a["user_us"],
                                     a["kernel_us"], targets[1]["name"], bb["rps"],
                                     bb["user_us"], bb["kernel_us"], tb / ta if ta else 0))
    finally:
        rp.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)

    def summary(key):
        vals = [key(r[1]) / key(r[0]) for r in rounds if key(r[0]) > 0]
        if not vals:
            return "-"
        return "%.3f (%.3f–%.3f)" % (statistics.median(vals), min(vals), max(vals))

    def med(i, key):
        return statistics.median(key(r[i]) for r in rounds)

    def total(r):
        return r["user_us"] + r["kernel_us"]

    na, nb = targets[0]["name"], targets[1]["name"]
    lines = ["%s, %d rounds of %d s, A = %s, B = %s, run together" % (
                 args.scenario, len(rounds), args.duration, na, nb), "",
             "| | req/s | user µs/req | kernel µs/req | CPU µs/req | errors |",
             "|---|---:|---:|---:|---:|---:|"]
    for i, name in enumerate((na, nb)):
        lines.append("| %s | %.0f | %.2f | %.2f | %.2f | %d |" % (
            name, med(i, lambda r: r["rps"]), med(i, lambda r: r["user_us"]),
            med(i, lambda r: r["kernel_us"]), med(i, total), sum(r[i]["errors"] for r in rounds)))
    lines.append("| B/A, median of the rounds (range) | %s | %s | %s | **%s** | |" % (
        summary(lambda r: r["rps"]), summary(lambda r: r["user_us"]),
        summary(lambda r: r["kernel_us"]), summary(total)))
    emit(lines, args.out)


if __name__ == "__main__":
    main()
