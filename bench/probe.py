#!/usr/bin/env python3
"""The latency probe: a second RPC client that asks Neovim nvim_eval("1") every PERIOD ms and
records each round trip, as a person pressing a key would wait for it.

    python3 bench/probe.py SOCKET OUT [PERIOD_MS [NVIM_PID]]

Runs until SIGTERM, then writes OUT: one line per sample, "<send time ns> <round trip ns>",
send times on CLOCK_MONOTONIC (time.monotonic_ns), so the driver can cut the samples into
the windows it timed (idle, streaming).  With NVIM_PID, each line also has where the round
trip went, from the kernel's schedstat of Neovim's main thread and of the probe itself:
"<Neovim on CPU ns> <Neovim runnable but waiting for a CPU ns> <probe waiting for a CPU ns>"
(a slow round trip is Neovim working, or the 2 cores busy with something else).  Pacing is
from send to send: a slow answer delays the next question, it never piles questions up.
"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nvimrpc  # noqa: E402

stop = False


def on_term(signum, frame):
    global stop
    stop = True


def schedstat(path):
    """(ns on CPU, ns runnable waiting for a CPU) of one thread."""
    try:
        with open(path) as f:
            run, wait, _ = f.read().split()
        return int(run), int(wait)
    except (OSError, ValueError):
        return 0, 0


def main():
    path, out = sys.argv[1], sys.argv[2]
    period = (float(sys.argv[3]) if len(sys.argv) > 3 else 2.0) * 1e6
    nvim_stat = "/proc/%s/schedstat" % sys.argv[4] if len(sys.argv) > 4 else None
    self_stat = "/proc/thread-self/schedstat"
    signal.signal(signal.SIGTERM, on_term)
    nv = nvimrpc.Nvim(path)
    samples = []
    next_t = time.monotonic_ns()
    while not stop:
        if nvim_stat:
            n0, s0 = schedstat(nvim_stat), schedstat(self_stat)
        t0 = time.monotonic_ns()
        try:
            nv.request("nvim_eval", "1", timeout=30)
        except (EOFError, OSError, TimeoutError):
            break
        t1 = time.monotonic_ns()
        if nvim_stat:
            n1, s1 = schedstat(nvim_stat), schedstat(self_stat)
            samples.append((t0, t1 - t0, n1[0] - n0[0], n1[1] - n0[1], s1[1] - s0[1]))
        else:
            samples.append((t0, t1 - t0))
        next_t += period
        wait = next_t - time.monotonic_ns()
        if wait > 0:
            time.sleep(wait / 1e9)
        else:
            next_t = time.monotonic_ns()
    with open(out, "w") as f:
        f.write("".join(" ".join(map(str, s)) + "\n" for s in samples))


if __name__ == "__main__":
    main()
