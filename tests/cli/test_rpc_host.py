"""`ami rpc` at the protocol level: requests, errors, EOF, malformed input."""
import os
import select
import subprocess
import time

import harness
from msgpack_lite import Stream, pack


class Host:
    def __init__(self, env):
        self.p = env.spawn(["rpc"], stdin=subprocess.PIPE)
        self.stream = Stream()
        self.pending = []

    def send(self, msg):
        self.p.stdin.write(pack(msg))
        self.p.stdin.flush()

    def read(self, timeout=5):
        end = time.monotonic() + timeout
        while not self.pending:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError("no message from the host within %ss" % timeout)
            r, _, _ = select.select([self.p.stdout], [], [], left)
            if r:
                data = os.read(self.p.stdout.fileno(), 65536)
                if not data:
                    raise AssertionError("host closed stdout")
                self.pending += self.stream.feed(data)
        return self.pending.pop(0)

    def call(self, msgid, method, *params):
        self.send([0, msgid, method, list(params)])
        return self.read()


def test_ping_and_unknown_method(env):
    h = Host(env)
    resp = h.call(1, "ping")
    assert resp[0] == 1 and resp[1] == 1 and resp[2] is None, resp
    assert resp[3]["pid"] == h.p.pid
    resp = h.call(2, "frobnicate", 1)
    assert resp[:2] == [1, 2], resp
    assert resp[2] == [0, "unknown method: frobnicate"], resp
    assert resp[3] is None
    # Still alive, and a request split across writes works.
    raw = pack([0, 3, "ping", []])
    for i in range(len(raw)):
        h.p.stdin.write(raw[i:i + 1])
        h.p.stdin.flush()
    assert h.read()[:3] == [1, 3, None]
    # Several requests in one write: answered in order.
    h.p.stdin.write(pack([0, 4, "ping", []]) + pack([0, 5, "ping", []]))
    h.p.stdin.flush()
    assert h.read()[1] == 4 and h.read()[1] == 5


def test_eof_ends_the_host_within_a_second(env):
    h = Host(env)
    h.call(1, "ping")
    start = time.monotonic()
    h.p.stdin.close()
    code = h.p.wait(5)
    took = time.monotonic() - start
    assert code == 0, code
    assert took < 1.0, took


def test_malformed_msgpack_exits_cleanly_with_a_message(env):
    h = Host(env)
    h.call(1, "ping")
    h.p.stdin.write(b"\xc1garbage")
    h.p.stdin.flush()
    code = h.p.wait(5)
    err = h.p.stderr.read().decode()
    assert code == 1, code
    assert "not valid msgpack" in err, err
    assert "stopping" in err, err
    assert "AddressSanitizer" not in err and "runtime error" not in err, err


def test_not_an_rpc_message_exits_cleanly(env):
    h = Host(env)
    h.send({"hello": "world"})
    code = h.p.wait(5)
    err = h.p.stderr.read().decode()
    assert code == 1, code
    assert "not a msgpack-RPC request, response or notification" in err, err


def test_huge_array_header_is_refused(env):
    h = Host(env)
    h.p.stdin.write(b"\x94\x00\x01\xa4ping\xdd\xff\xff\xff\xff")
    h.p.stdin.flush()
    code = h.p.wait(5)
    err = h.p.stderr.read().decode()
    assert code == 1, code
    assert "announces 4294967295 elements" in err, err


def test_rpc_refuses_a_terminal_or_file(env):
    path = env.write("in.txt", "")
    with open(path, "rb") as f:
        r = subprocess.run([harness.AMI, "rpc"], stdin=f, capture_output=True, env=env.env,
                           timeout=10)
    assert r.returncode == 2
    assert b"must be pipes" in r.stderr, r.stderr


def test_version_and_help(env):
    r = env.run(["--version"])
    assert r.code == 0 and r.stdout.startswith("ami ") and r.stdout.count(".") == 2, r
    r = env.run(["--help"])
    assert r.code == 0
    for sub in ("rpc", "config"):
        assert ("ami " + sub) in r.stdout, r.stdout
    r = env.run(["bogus"])
    assert r.code == 2 and "unknown command 'bogus'" in r.stderr


def test_config_check(env):
    r = env.run(["config", "--check"])
    assert r.code == 0 and "no config file" in r.stdout, r
    path = env.config({"budget": {"monthly_usd": "five"}})
    r = env.run(["config", "--check"])
    assert r.code == 2, r
    assert r.stderr.strip() == (
        "ami: config: %s: budget.monthly_usd must be a number of US dollars, or null, not a string"
        % path), r.stderr
    env.config({"providers": {"openrouter": {"api_key": "sk-or-v1-secret"}}}, mode=0o644)
    r = env.run(["config", "--check"])
    assert r.code == 0, r
    assert "readable by other users" in r.stderr and "chmod 600" in r.stderr, r
    assert "sk-or-v1-secret" not in r.stderr + r.stdout
