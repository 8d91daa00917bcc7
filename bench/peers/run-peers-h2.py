#!/usr/bin/env python3
"""The peer harness (../shared/bench/run-peers) with two more HTTP/2 scenarios: 16 KiB bodies.

The harness's S4 and S5 load HTTP/2 with 13-byte bodies only; issue 7 also asks for 16 KiB
bodies. This script loads the harness as a module, adds

  H4: h2c prior knowledge, 16 KiB body, h2load -c16 -m32 (S4 with /16k)
  H5: h2 over TLS 1.3, 16 KiB body, h2load -c16 -m32 (S5 with /16k)

and runs its main() with the arguments given here, so everything else (peers, candidate
templates, checks, rounds, the report) is the harness's own. Example, from the repository root:

  bench/peers/run-peers-h2.py --scenarios S4,H4,S5,H5 --rounds 2 \\
      --candidate "kakehi=$PWD/build/proxy/kakehi -c {conf:$PWD/bench/peers/kakehi.toml}"
"""
import os
import sys

import harness


def main():
    rp = harness.load("run-peers-h2.py")
    for name, base in (("H4", "S4"), ("H5", "S5")):
        s = dict(rp.SCENARIOS[base])
        s["path"] = "/16k"
        s["desc"] = s["desc"].replace("13 B body", "16 KiB body")
        rp.SCENARIOS[name] = s
    # The harness finds its peer configs relative to itself; run from its directory.
    os.chdir(os.path.dirname(harness.PATH))
    sys.argv[0] = harness.PATH
    rp.main()


if __name__ == "__main__":
    main()
