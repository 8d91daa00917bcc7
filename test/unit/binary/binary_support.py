"""What the Python tests of the kakehi binary share: checks counted and reported, free ports,
and children stopped by PID at the end (every wait bounded)."""
import socket
import subprocess

PROCS = []  # every child a test starts, stopped by PID in finish()
FAILURES = []
CHECKS = 0


def check(cond, what):
    global CHECKS
    CHECKS += 1
    if not cond:
        FAILURES.append(what)
        print(f"FAIL: {what}", flush=True)
    return cond


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def finish():
    """Kills what still runs, reports the counts; the exit status (0 or 1)."""
    for p in PROCS:
        if p.poll() is None:
            p.kill()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            FAILURES.append(f"pid {p.pid} did not exit after SIGKILL")
    print(f"{CHECKS} checks, {len(FAILURES)} failed", flush=True)
    return 1 if FAILURES else 0
