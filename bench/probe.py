#!/usr/bin/env python3
"""The latency probe: a second RPC client that asks Neovim nvim_eval("1") every PERIOD ms and
records each round trip, as a person pressing a key would wait for it.

    python3 bench/probe.py SOCKET OUT [PERIOD_MS]

Runs until SIGTERM, then writes OUT: one line per sample, "<send time ns> <round trip ns>",
send times on CLOCK_MONOTONIC (time.monotonic_ns), so the driver can cut the samples into
the windows it timed (idle, streaming).  Pacing is from send to send: a slow answer delays
the next question, it never piles questions up.
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


def main():
    path, out = sys.argv[1], sys.argv[2]
    period = (float(sys.argv[3]) if len(sys.argv) > 3 else 2.0) * 1e6
    signal.signal(signal.SIGTERM, on_term)
    nv = nvimrpc.Nvim(path)
    samples = []
    next_t = time.monotonic_ns()
    while not stop:
        t0 = time.monotonic_ns()
        try:
            nv.request("nvim_eval", "1", timeout=30)
        except (EOFError, OSError, TimeoutError):
            break
        t1 = time.monotonic_ns()
        samples.append((t0, t1 - t0))
        next_t += period
        wait = next_t - time.monotonic_ns()
        if wait > 0:
            time.sleep(wait / 1e9)
        else:
            next_t = time.monotonic_ns()
    with open(out, "w") as f:
        f.write("".join("%d %d\n" % s for s in samples))


if __name__ == "__main__":
    main()
