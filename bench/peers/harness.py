"""Loads the peer harness (../shared/bench/run-peers, a script without a .py name) as a module,
for the scripts beside this one that reuse its peers, configs and helpers."""
import importlib.machinery
import importlib.util
import os

HERE = os.path.dirname(os.path.abspath(__file__))
PATH = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "bench", "run-peers"))


def load(who):
    """The harness module; exits with a message naming `who` when it is missing."""
    if not os.path.isfile(PATH):
        raise SystemExit("%s: the peer harness is missing (%s)" % (who, PATH))
    loader = importlib.machinery.SourceFileLoader("run_peers", PATH)
    spec = importlib.util.spec_from_loader("run_peers", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod
