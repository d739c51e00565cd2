"""Helpers for ami's CLI tests: an isolated environment per test, the fake provider, and
running build/ami.

Every test function takes one argument, an `Env`: a fresh temporary HOME with its own XDG_*
directories and no real API keys in the environment, so a test can never reach a real
provider nor print a real key.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.environ.get("AMI_ROOT") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AMI = os.environ.get("AMI_BIN") or os.path.join(ROOT, "build", "ami")
FAKE = os.path.join(ROOT, "tests", "fake_provider.py")
# Set by tests/run.sh for the pass against the ASan+UBSan build (valgrind cannot run it).
SANITIZED = bool(os.environ.get("AMI_SANITIZED"))


class Skip(Exception):
    """Raised by skip(): the test does not apply to this run (it is reported, not counted)."""


def skip(reason):
    raise Skip(reason)

# Variables a developer's shell may hold that must never leak into a test.
SCRUB = ("OPENROUTER_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "MISTRAL_API_KEY",
         "SCW_SECRET_KEY", "SCALEWAY_API_KEY", "AMI_CONFIG", "AMI_LOG", "AMI_LOG_FILE",
         "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy")


class Result:
    def __init__(self, code, stdout, stderr):
        self.code = code
        self.stdout = stdout
        self.stderr = stderr

    def __repr__(self):
        return "Result(code=%r, stdout=%r, stderr=%r)" % (self.code, self.stdout[:2000],
                                                           self.stderr[:2000])

    def json_lines(self):
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


class FakeProvider:
    """tests/fake_provider.py on 127.0.0.1, on a free port, logging every request."""

    def __init__(self, tmp, *extra):
        self.log = os.path.join(tmp, "fake-requests.jsonl")
        self.proc = subprocess.Popen(
            [sys.executable, FAKE, "--port", "0", "--log", self.log, *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            err = self.proc.stderr.read() if self.proc.poll() is not None else ""
            raise RuntimeError("fake provider did not start: %r %s" % (line, err))
        self.port = int(line.split()[1])

    def base(self, flavour="openrouter"):
        """The base URL of one provider flavour (openrouter, openai, mistral, ollama,
        llamacpp, vllm, anthropic)."""
        return "http://127.0.0.1:%d/%s/v1" % (self.port, flavour)

    def requests(self):
        """Every request received so far, oldest first: dicts with method, path, headers
        (lower-case names), body (parsed JSON, or the raw text)."""
        if not os.path.exists(self.log):
            return []
        with open(self.log, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()


class Env:
    def __init__(self, tmp):
        self.tmp = tmp
        self.home = os.path.join(tmp, "home")
        env = {k: v for k, v in os.environ.items() if k not in SCRUB}
        for name in ("CONFIG", "STATE", "CACHE", "DATA", "RUNTIME"):
            path = os.path.join(self.home, "xdg-" + name.lower())
            os.makedirs(path, mode=0o700, exist_ok=True)
            env["XDG_%s_HOME" % name if name != "RUNTIME" else "XDG_RUNTIME_DIR"] = path
        env["HOME"] = self.home
        self.env = env
        self._fake = None
        self._procs = []

    @property
    def fake(self):
        """The fake provider, started on first use."""
        if self._fake is None:
            self._fake = FakeProvider(self.tmp)
        return self._fake

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def write(self, name, text, mode=0o600):
        path = self.path(name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def config(self, cfg, mode=0o600):
        """Writes cfg (a dict) as the config file and points AMI_CONFIG at it."""
        path = self.write("config.json", json.dumps(cfg), mode)
        self.env["AMI_CONFIG"] = path
        return path

    def run(self, args, input=None, timeout=60, env=None, cwd=None):
        full = dict(self.env)
        if env:
            full.update(env)
        p = subprocess.run([AMI, *args], input=input, capture_output=True, timeout=timeout,
                           env=full, text=True, errors="surrogateescape", cwd=cwd)
        return Result(p.returncode, p.stdout, p.stderr)

    def spawn(self, args, env=None, **kw):
        full = dict(self.env)
        if env:
            full.update(env)
        kw.setdefault("stdin", subprocess.DEVNULL)
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        p = subprocess.Popen([AMI, *args], env=full, **kw)
        self._procs.append(p)
        return p

    def close(self):
        for p in self._procs:
            if p.poll() is None:
                p.kill()
                p.wait()
            for s in (p.stdin, p.stdout, p.stderr):
                if s:
                    s.close()
        if self._fake:
            self._fake.stop()


def wait_for(pred, timeout=10.0, interval=0.02):
    """Polls pred() until it returns something truthy; returns it, or raises on timeout."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError("timed out waiting for %r" % (pred,))
        time.sleep(interval)


def make_env():
    tmp = tempfile.mkdtemp(prefix="ami-test-")
    return Env(tmp)


def remove_env(env):
    env.close()
    shutil.rmtree(env.tmp, ignore_errors=True)
