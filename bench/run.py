#!/usr/bin/env python3
"""ami's benchmark: `make bench` (python3 bench/run.py).  See doc/BENCHMARKS.md.

Measures, against tests/fake_provider.py on 127.0.0.1, with Neovim driven over --listen:
  1. Neovim's responsiveness while an answer streams (a second client's nvim_eval("1")
     round trips, p50/p99/max) and Neovim's CPU time per answer (in a run without the probe),
     in the TUI (inside tmux, markdown syntax on, the sidebar visible) and headless;
  2. the same streams consumed the way the popular plugins do it (bench/yardstick.lua) and
     the ratios ami / yardstick; a floor: ready-made text appended at a fixed cadence;
  3. time to first token (fake provider's first body byte -> text in the buffer);
  4. the host's CPU per delta and per short answer (`ami ask`);
  5. Neovim's RSS before and after each answer;
  6. 1, 8 and 32 concurrent answers: host RSS and CPU, Neovim's p99;
  7. start-up: what the plugin adds to `nvim --startuptime`, host spawn-to-ready.
Prints a table and writes it to bench/results.md (machine, Neovim version, date).

    python3 bench/run.py [--runs N] [--quick] [--only SECTION,...] [--answers A,...]
                         [--displays D,...] [--out FILE] [--json FILE]

SECTION: stream, floor, scale, host, startup.  --answers burst,essay,slow and --displays
tui,headless narrow the stream section; --json also writes every run's raw figures.
--quick: smaller answers, one run, for trying the harness (its results are not comparable
to a full run and go to stdout only unless --out is given).
"""
import argparse
import datetime
import json
import os
import platform
import re
import resource
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import nvimrpc  # noqa: E402

AMI = os.environ.get("AMI_BIN") or os.path.join(ROOT, "build", "ami")
NVIM = os.environ.get("NVIM_BIN") or "nvim"  # the first Neovim: start-up, host, scale
# The newest Neovim, from Debian sid (scripts/debian-fetch.sh, as `make test` prepares it).
NEWEST_NVIM = os.path.join(ROOT, "build", "debian", "sid", "usr", "bin", "nvim")
FAKE = os.path.join(ROOT, "tests", "fake_provider.py")
KEY = "sk-or-bench-0123456789"
PROBE_PERIOD_MS = 2.0
COLUMNS, LINES = 200, 50  # the TUI's size: the sidebar gets 40 % of the columns

# The three answers.  `n` deltas; the essays are long Markdown paced at `tps` deltas/s.
SCENARIOS = [
    ("burst", "fake/flood?n=20000&size=4", "20,000 deltas of 4 chars, as fast as possible"),
    ("essay", "fake/essay?n=20000&tps=5000&tick_ms=1", "Markdown essay, 20,000 deltas at 5,000/s"),
    ("slow", "fake/essay?n=2000&tps=200&tick_ms=1", "Markdown essay, 2,000 deltas at 200/s"),
]
QUICK = {"burst": "fake/flood?n=4000&size=4", "essay": "fake/essay?n=4000&tps=5000",
         "slow": "fake/essay?n=400&tps=200"}


def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


# ---- /proc ------------------------------------------------------------------------------------

def cpu_ns(pid):
    """CPU time of every thread of pid (ns), from /proc/<pid>/task/*/schedstat: the same
    total as utime+stime in /proc/<pid>/stat, without its 10 ms ticks."""
    total = 0
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                    total += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
    except OSError:
        return 0
    return total


def stat_fields(pid):
    with open("/proc/%d/stat" % pid) as f:
        s = f.read()
    return s[s.rindex(")") + 2:].split()


def cpu_stat_s(pid):
    """utime + stime of /proc/<pid>/stat (seconds), and cutime + cstime (waited-for
    children: the yardstick's curl)."""
    f = stat_fields(pid)
    tck = os.sysconf("SC_CLK_TCK")
    return (int(f[11]) + int(f[12])) / tck, (int(f[13]) + int(f[14])) / tck


def status_kib(pid, field="VmRSS"):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


# ---- statistics ---------------------------------------------------------------------------------

def pct(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    k = (len(v) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def lat_stats(samples):
    """samples: round trips in ns -> dict of ms."""
    ms = [s / 1e6 for s in samples]
    return {"n": len(ms), "p50": pct(ms, 50), "p99": pct(ms, 99),
            "max": max(ms) if ms else float("nan")}


def median(xs):
    xs = [x for x in xs if x is not None and x == x]
    return statistics.median(xs) if xs else float("nan")


# ---- processes ------------------------------------------------------------------------------

class Env:
    """A temporary HOME with its own XDG directories and a fake key: nothing of the user's."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="ami-bench-")
        for d in ("config", "data", "state", "cache", "home", "run"):
            os.makedirs(os.path.join(self.tmp, d))
        os.chmod(os.path.join(self.tmp, "run"), 0o700)
        env = {k: v for k, v in os.environ.items()
               if not k.endswith("_API_KEY") and k not in (
                   "SCW_SECRET_KEY", "AMI_CONFIG", "AMI_LOG", "AMI_LOG_FILE", "http_proxy",
                   "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy",
                   "NVIM", "NVIM_LISTEN_ADDRESS", "VIMINIT", "MYVIMRC", "TMUX")}
        env.update({
            "HOME": os.path.join(self.tmp, "home"),
            "XDG_CONFIG_HOME": os.path.join(self.tmp, "config"),
            "XDG_DATA_HOME": os.path.join(self.tmp, "data"),
            "XDG_STATE_HOME": os.path.join(self.tmp, "state"),
            "XDG_CACHE_HOME": os.path.join(self.tmp, "cache"),
            "XDG_RUNTIME_DIR": os.path.join(self.tmp, "run"),
            "OPENROUTER_API_KEY": KEY,
            "AMI_BIN": AMI,
            "AMI_ROOT": ROOT,
            "NO_PROXY": "127.0.0.1",
        })
        self.env = env
        self.counter = 0

    def path(self, name):
        return os.path.join(self.tmp, name)

    def unique(self, prefix):
        self.counter += 1
        return self.path("%s-%d" % (prefix, self.counter))

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


class Fake:
    """tests/fake_provider.py, logging when each streamed body's first byte left."""

    def __init__(self, env):
        self.log = env.path("fake.jsonl")
        self.proc = subprocess.Popen(
            [sys.executable, FAKE, "--port", "0", "--log", self.log, "--log-first-byte"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env.env)
        line = self.proc.stdout.readline()
        m = re.match(r"PORT (\d+)", line)
        if not m:
            raise RuntimeError("the fake provider did not start: %r" % line)
        self.port = int(m.group(1))
        self.base = "http://127.0.0.1:%d/openrouter/v1" % self.port

    def first_byte_ns(self, model):
        try:
            with open(self.log) as f:
                for line in f:
                    rec = json.loads(line)
                    if rec.get("event") == "first_byte" and rec.get("model") == model:
                        return rec["monotonic_ns"]
        except OSError:
            pass
        return None

    def stop(self):
        self.proc.terminate()
        self.proc.wait(5)


class Tmux:
    """A private tmux server (its own socket) that hosts the TUI runs."""

    def __init__(self, env):
        self.name = "ami-bench-%d" % os.getpid()
        self.env = env
        self.conf = env.path("tmux.conf")
        with open(self.conf, "w") as f:
            f.write('set -g default-terminal "tmux-256color"\nset -g status off\n'
                    "set -g exit-empty off\n")
        self.sessions = 0

    def tmux(self, *args):
        return subprocess.run(["tmux", "-L", self.name, "-f", self.conf] + list(args),
                              env=self.env.env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)

    def new(self, argv, env):
        self.sessions += 1
        name = "s%d" % self.sessions
        cmd = "env " + " ".join(shlex.quote("%s=%s" % kv) for kv in env.items()) + " " + \
            " ".join(shlex.quote(a) for a in argv)
        self.tmux("new-session", "-d", "-s", name, "-x", str(COLUMNS), "-y", str(LINES), cmd)
        return name

    def kill_session(self, name):
        self.tmux("kill-session", "-t", name)

    def stop(self):
        self.tmux("kill-server")


class Instance:
    """One Neovim, headless or in a tmux pane, listening on a socket of our own."""

    def __init__(self, env, display, tmux=None, nvim=None):
        self.env = env
        self.display = display
        self.sock = env.unique("nvim") + ".sock"
        argv = [nvim or NVIM, "--listen", self.sock, "-n", "-i", "NONE", "-u",
                os.path.join(HERE, "init.lua")]
        self.proc = None
        self.session = None
        self.tmux = tmux
        if display == "headless":
            self.stderr = open(env.unique("nvim-stderr"), "w")
            self.proc = subprocess.Popen(argv + ["--headless"], stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=self.stderr,
                                         env=env.env)
        else:
            self.session = tmux.new(argv, {k: env.env[k] for k in (
                "HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME",
                "XDG_RUNTIME_DIR", "OPENROUTER_API_KEY", "AMI_BIN", "AMI_ROOT", "NO_PROXY")})
        self.nv = nvimrpc.Nvim(self.sock)
        self.chan = self.nv.request("nvim_get_api_info")[0]
        self.pid = self.nv.lua("return vim.fn.getpid()")

    def lua(self, code, *args, **kw):
        return self.nv.lua(code, *args, **kw)

    def close(self):
        try:
            self.nv.notify("nvim_command", "qa!")
        except OSError:
            pass
        self.nv.close()
        if self.proc:
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.stderr.close()
        if self.session:
            deadline = time.monotonic() + 5
            while os.path.exists("/proc/%d" % self.pid) and time.monotonic() < deadline:
                time.sleep(0.02)
            self.tmux.kill_session(self.session)


class Probe:
    """bench/probe.py against an instance: round trips every PROBE_PERIOD_MS."""

    def __init__(self, env, inst):
        self.out = env.unique("probe") + ".txt"
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "probe.py"),
                                      inst.sock, self.out, str(PROBE_PERIOD_MS),
                                      str(inst.pid)])

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)
        samples = []
        with open(self.out) as f:
            for line in f:
                samples.append(tuple(int(x) for x in line.split()))
        return samples  # (send ns, round trip ns, Neovim CPU ns, Neovim wait ns, probe wait ns)


# The probe's round trip less its own waits for a core (see Probe.stop).
LESS_PROBE_WAIT = -1


def window(samples, t0, t1, field=1):
    """One field of the samples sent in [t0, t1): 1 the round trip, 2 Neovim's CPU in it,
    LESS_PROBE_WAIT the round trip less the probe's own waits for a core."""
    if field == LESS_PROBE_WAIT:
        return [s[1] - s[4] for s in samples if t0 <= s[0] < t1 and len(s) > 4]
    return [s[field] for s in samples if t0 <= s[0] < t1 and len(s) > field]


# ---- one answer ---------------------------------------------------------------------------------

IDLE_S = 2.0  # the idle window that prices the probe
SETTLE_S = 0.3  # after the end: the last redraw


def measure(env, fake, tmux, display, mode, model, tag, floor=None, probing=True, nvim=None):
    """One answer in a fresh Neovim.  mode: ami, yardstick or floor (floor = (text, piece,
    period_ms, plain)).  probing: with the latency probe (and its cost subtracted from Neovim's
    CPU); without it, Neovim's CPU is the answer's alone.  Returns a dict of figures."""
    inst = Instance(env, display, tmux, nvim)
    try:
        B = "require('ami_bench')"
        inst.lua("return %s.init(...)" % B, inst.chan, env.unique("note") + ".md")
        helper_pid = None
        if mode == "ami":
            inst.lua("return %s.ami_setup(...)" % B, fake.base)
            helper_pid = inst.lua("return require('ami.host').pid()")
            ask = lambda m: inst.lua("%s.ami_ask(...)" % B, m)  # noqa: E731
        else:
            inst.lua("%s.yardstick_setup(...)" % B, fake.base, KEY)
            ask = lambda m: inst.lua("%s.yardstick_ask(...)" % B, m)  # noqa: E731
        if mode != "floor":
            # Warm up: the engine (or curl) has run once, the window is open.
            ask("fake/hello?warm=%s" % tag)
            inst.nv.wait_notification("bench_done", 30)
        time.sleep(0.3)
        probe = Probe(env, inst) if probing else None
        time.sleep(0.5)
        # Idle: Neovim with the probe and nothing else; prices the probe's own cost.
        t0, c0 = time.monotonic_ns(), cpu_ns(inst.pid)
        time.sleep(IDLE_S if probing else 0.2)
        t1, c1 = time.monotonic_ns(), cpu_ns(inst.pid)
        idle_rate = (c1 - c0) / (t1 - t0) if probing else 0.0
        rss0 = status_kib(inst.pid)
        st0, ch0 = cpu_stat_s(inst.pid)
        h0 = cpu_ns(helper_pid) if helper_pid else 0
        run_model = model + ("&" if "?" in model else "?") + "run=" + tag
        k2 = cpu_ticks()
        t2, c2 = time.monotonic_ns(), cpu_ns(inst.pid)
        if mode == "floor":
            inst.lua("%s.floor(...)" % B, *floor)
        else:
            ask(run_model)
        t_asked = time.monotonic_ns()
        res = inst.nv.wait_notification("bench_done", 600)[0]
        t3 = time.monotonic_ns()
        steal = steal_share(k2, cpu_ticks())
        time.sleep(SETTLE_S)
        t4, c4 = time.monotonic_ns(), cpu_ns(inst.pid)
        st4, ch4 = cpu_stat_s(inst.pid)
        h4 = cpu_ns(helper_pid) if helper_pid else 0
        rss1 = status_kib(inst.pid)
        samples = probe.stop() if probe else []
        fb = fake.first_byte_ns(run_model) if mode != "floor" else None
        if os.environ.get("BENCH_DEBUG"):
            log("samples (ms after the question, round trip ms), asked %.2f ms, first byte %s "
                "ms, first text %s ms, steal %s:" % (
                    (t_asked - t2) / 1e6, fb and (fb - t2) / 1e6,
                    (res.get("first_ns", 0) - t2) / 1e6, "–" if steal is None else "%.0f %%" % (100 * steal)))
            # Each sample: when (ms after the question): round trip, and of it Neovim on CPU
            # / Neovim runnable but waiting / the probe waiting (ms).
            log(" ".join("%.1f:%.2f(%.2f/%.2f/%.2f)" % (
                (s[0] - t2) / 1e6, s[1] / 1e6, s[2] / 1e6, s[3] / 1e6, s[4] / 1e6)
                for s in samples if t2 - 10e6 <= s[0] < t3 + 50e6))
        first = res.get("first_ns", -1)
        out = {
            "display": display, "mode": mode, "model": model,
            "duration_ms": (t3 - t2) / 1e6,
            "cpu_ms": (c4 - c2) / 1e6,
            "cpu_stat_ms": (st4 - st0) * 1000,
            "probe_rate": idle_rate,
            "net_cpu_ms": ((c4 - c2) - idle_rate * (t4 - t2)) / 1e6,
            "helper_cpu_ms": (h4 - h0) / 1e6 if helper_pid else (ch4 - ch0) * 1000,
            "idle": lat_stats(window(samples, t0, t1)),
            "stream": lat_stats(window(samples, t2, t3)),
            # Neovim's main thread on a CPU during each round trip: its own work in it (the
            # rest of a slow one is waiting for one of the 2 cores, Neovim's or the probe's).
            "busy": lat_stats(window(samples, t2, t3, 2)),
            # The round trip less the probe's own waits for a core: what is left is Neovim
            # (working, or itself waiting for a core), not the instrument.
            "neovim": lat_stats(window(samples, t2, t3, LESS_PROBE_WAIT)),
            "rss0_kib": rss0, "rss1_kib": rss1,
            "bytes": res.get("bytes", 0),
            "ttft_ms": (first - fb) / 1e6 if fb and first and first > 0 else None,
            "status": res.get("status"),
            "steal": steal,
        }
        return out
    finally:
        inst.close()


def answer_text(env, fake, model):
    """The text of an answer, as `ami ask` prints it (for the floor)."""
    r = subprocess.run([AMI, "ask", "--no-ledger", "--base-url", fake.base, "--model", model,
                        "Tell me about this note."], env=env.env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True)
    return r.stdout.decode("utf-8")


def measure_scale(env, fake, tmux, n, model, tag):
    """n answers at once in a fresh TUI Neovim: the host's RSS (idle, peak) and CPU, and
    Neovim's round trips while they stream."""
    inst = Instance(env, "tui", tmux)
    try:
        B = "require('ami_bench')"
        inst.lua("return %s.init(...)" % B, inst.chan, env.unique("note") + ".md")
        inst.lua("return %s.ami_setup(...)" % B, fake.base)
        hpid = inst.lua("return require('ami.host').pid()")
        time.sleep(0.3)
        idle_kib = status_kib(hpid)
        probe = Probe(env, inst)
        time.sleep(0.5)
        h0 = cpu_ns(hpid)
        ts = time.monotonic_ns()
        inst.lua("%s.ami_ask_many(...)" % B, model + "&run=" + tag, n)
        # The round trips count from when the n questions are asked (asking is Lua work
        # a person does one command at a time), until the last answer ends.
        t0 = time.monotonic_ns()
        inst.nv.wait_notification("bench_done", 600)
        t1 = time.monotonic_ns()
        h1 = cpu_ns(hpid)
        samples = probe.stop()
        return {"n": n, "host_idle_kib": idle_kib, "host_peak_kib": status_kib(hpid, "VmHWM"),
                "host_cpu_ms": (h1 - h0) / 1e6, "duration_ms": (t1 - t0) / 1e6,
                "ask_ms": (t0 - ts) / 1e6,
                "stream": lat_stats(window(samples, t0, t1))}
    finally:
        inst.close()


def cpu_of(argv, env):
    """CPU seconds (user + system) of one process run to its end, output discarded."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)  # µs, not os.times()'s 10 ms ticks
    subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def host_costs(env, fake, runs, n_flood):
    """CPU per delta of the host alone (ami ask on the flood, minus a short answer's cost) and
    the per-call overhead of a short answer."""
    def ask(model):
        return [AMI, "ask", "--no-ledger", "--base-url", fake.base, "--model", model,
                "Tell me about this note."]
    short = [cpu_of(ask("fake/hello"), env.env) for _ in range(max(10, runs * 4))]
    flood = [cpu_of(ask("fake/flood?n=%d&size=4" % n_flood), env.env) for _ in range(runs)]
    call_s = median(short)
    return {"call_ms": call_s * 1000,
            "per_delta_us": (median(flood) - call_s) / n_flood * 1e6,
            "flood_deltas": n_flood}


def startup(env, runs, fake):
    """What sourcing plugin/ami.lua costs in --startuptime (ms), whether the host started, and
    the host's spawn-to-ready time and idle RSS (before any request: libcurl and OpenSSL start
    with the first one), then its RSS once it has answered."""
    init = env.path("startup.lua")
    with open(init, "w") as f:
        f.write("vim.opt.runtimepath:prepend(%r)\n" % ROOT)
    plugin = os.path.join(ROOT, "plugin", "ami.lua")
    loads, started = [], False
    for i in range(max(10, runs * 4)):
        log_path = env.unique("startuptime")
        out = subprocess.run(
            [NVIM, "--headless", "-n", "-i", "NONE", "-u", init, "--startuptime", log_path,
             "-c", "lua io.stdout:write(tostring(package.loaded['ami.host'] ~= nil))",
             "-c", "qa!"], env=env.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True, timeout=60).stdout
        started = started or "true" in out
        with open(log_path) as f:
            for line in f:
                # "clock  self+sourced  self:  sourcing <file>"
                parts = line.split()
                if len(parts) >= 5 and parts[-1] == plugin and parts[3] == "sourcing":
                    loads.append(float(parts[1]))
    inst = Instance(env, "headless")
    try:
        inst.lua("return require('ami_bench').init(...)", inst.chan, env.unique("note") + ".md")
        spawns, rss, anon = [], [], []
        for i in range(max(10, runs * 4)):
            r = inst.lua("return require('ami_bench').host_spawn_ms()")
            spawns.append(r["ms"])
            time.sleep(0.2)
            rss.append(status_kib(r["pid"]))
            anon.append(status_kib(r["pid"], "RssAnon"))
        # One short answer, then idle again: what the host holds once it has sent something.
        pid = inst.lua("return require('ami_bench').ami_setup(...)", fake.base)
        inst.lua("require('ami_bench').ami_ask(...)", "fake/hello?startup=%d" % time.time_ns())
        inst.nv.wait_notification("bench_done", 30)
        time.sleep(0.2)
        answered = status_kib(pid)
    finally:
        inst.close()
    return {"plugin_ms": median(loads), "host_started": started, "spawn_ms": median(spawns),
            "host_idle_kib": median(rss), "host_anon_kib": median(anon),
            "host_answered_kib": answered}


# ---- the run --------------------------------------------------------------------------------

def nvim_version(nvim):
    out = subprocess.run([nvim, "--version"], stdout=subprocess.PIPE, text=True).stdout
    return out.splitlines()[0] if out else "?"


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    nv = nvim_version(NVIM)
    ami = subprocess.run([AMI, "--version"], stdout=subprocess.PIPE, text=True).stdout
    tmux = subprocess.run(["tmux", "-V"], stdout=subprocess.PIPE, text=True).stdout
    return {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
            "nvim": nv, "ami": ami.strip(), "tmux": tmux.strip(),
            "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M")}


def cpu_ticks():
    """The machine's busy and stolen time so far (/proc/stat, clock ticks): steal is the time
    the hypervisor ran something else while this VM had work for its cores."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    v += [0] * (8 - len(v))
    return sum(v[0:3]) + v[5] + v[6], v[7]  # user nice system, irq softirq; steal


def steal_share(t0, t1):
    """Of the time this VM's cores were busy or wanted to be, the share stolen (None: unknown)."""
    if not t0 or not t1:
        return None
    busy, steal = t1[0] - t0[0], t1[1] - t0[1]
    return steal / float(busy + steal) if busy + steal > 0 else None


def f1(x, nd=1):
    if x is None or x != x:
        return "–"
    return ("%%.%df" % nd) % x


def ratio(a, b):
    if a is None or b is None or a != a or b != b or b == 0:
        return "–"
    return "%.1f %%" % (100.0 * a / b)


def med(rows, key, sub=None):
    vals = [(r[key][sub] if sub else r[key]) for r in rows]
    return median([v for v in vals if v is not None])


# The hot paths' micro-benchmarks (bench/bench_*.c): what each measures, in results.md.
HOT_PATHS = [
    ("bench_anchor", "Anchoring: a critique's quotes found in the document as sent (exact, "
     "normalized, fuzzy tiers), and the index built once per request"),
    ("bench_notes", "The margin-notes parser over a streamed answer, fed whole and in small "
     "pieces"),
    ("bench_secrets", "Secret scanning: every outgoing text is scanned and masked before the "
     "body is built; a 10 MB document of configs and prose"),
    ("bench_arena", "The arena's leaderboard: Bradley–Terry strengths with bootstrap "
     "intervals"),
    ("bench_chart", "The usage charts alone (chart.c, 12 months × 8 series)"),
    ("bench_usage", "A year of use read from an in-memory ledger (3,600 requests of ami, "
     "2,400 imported conversations of 20 messages, 365 days of OpenRouter activity), then "
     "drawn; read on the thread pool: Neovim never waits for it"),
    ("bench_import", "Reading a chat export (`ami usage import chatgpt`) with bounded memory"),
]


def hot_path_bench(nvims):
    """Every bench/bench_*.c that was built: [(name, what, lines)]; a missing or failing one
    is listed with the reason."""
    out = []
    for name, what in HOT_PATHS:
        exe = os.path.join(ROOT, "build", "bench", name)
        if not os.access(exe, os.X_OK):
            out.append((name, what, ["(not built)"]))
            continue
        log("micro-benchmark %s" % name)
        p = subprocess.run([exe], capture_output=True, text=True, timeout=600)
        lines = [ln for ln in p.stdout.splitlines() if ln.strip()]
        if p.returncode != 0:
            lines.append("(failed with status %d: %s)" % (p.returncode, p.stderr.strip()[-200:]))
        out.append((name, what, lines))
    # Edit tracking, in Lua: margin notes moved through the writer's typing.
    lines = []
    for label, exe in nvims:
        home = tempfile.mkdtemp(prefix="ami-bench-typing-")
        p = subprocess.run([exe, "--headless", "-n", "-u", "NONE", "-i", "NONE", "--cmd",
                            "set rtp^=" + ROOT, "-c", "luafile " + os.path.join(HERE,
                            "notes_typing.lua"), "-c", "qall!"], capture_output=True,
                           text=True, timeout=600, cwd=ROOT,
                           env=dict(os.environ, ROUNDS="9", HOME=home))
        shutil.rmtree(home, ignore_errors=True)
        try:
            r = json.loads([ln for ln in (p.stdout + p.stderr).splitlines()
                            if ln.startswith("{")][-1])
            lines.append("Neovim %s: %d characters typed in a %d-byte document, median of %d: "
                         "%.2f µs per character with 100 notes on it, %.2f µs without "
                         "(ratio %.2f)" % (label, r["chars"], r["document_bytes"], r["rounds"],
                                           r["with_notes_us"], r["without_us"], r["ratio"]))
        except (IndexError, ValueError, KeyError):
            lines.append("Neovim %s: (failed: %s)" % (label, (p.stderr or p.stdout)[-200:]))
    out.append(("notes_typing", "Edit tracking: what margin notes cost the writer per typed "
                "character (bench/notes_typing.lua, in insert mode through feedkeys), on each "
                "Neovim", lines))
    return out


def worst(rows, key, sub="stream"):
    """The worst run's figure of the stream's round trips (sub="busy": of Neovim's CPU in
    them)."""
    vals = [r[sub][key] for r in rows if r.get(sub, {}).get(key) is not None]
    return max(vals) if vals else None


def report(m, args, stream, floor, host, scale, start, usage=None):
    out = []
    w = out.append
    w("# ami benchmark results\n")
    w("`make bench` (python3 bench/run.py%s), %s. Machine: %s, %d cores, Linux %s; %s; %s; "
      "%s. Medians of %d run%s; ratios are from this run only. Method and limits: "
      "doc/BENCHMARKS.md.\n" % (
          " --quick" if args.quick else "", m["date"], m["cpu"], m["cores"], m["kernel"],
          "Neovim " + ", ".join(m.get("nvims") or [m["nvim"]]), m["tmux"], m["ami"], args.runs, "" if args.runs == 1 else "s"))
    if m.get("steal") is not None:
        w("Steal: the hypervisor held this VM's cores for %.1f %% of the time they were busy "
          "while the bench ran (/proc/stat); the higher, the noisier every figure below "
          "(doc/BENCHMARKS.md, \"How to read the numbers\").\n" % (100 * m["steal"]))
    targets = []
    labels = m.get("nvims") or []
    if stream:
        w("## Neovim while an answer streams\n")
        w("Neovim CPU is measured in a run of its own, without the latency probe. Round trips: "
          "a second RPC client's `nvim_eval(\"1\")` every %g ms; idle p99 is Neovim with the "
          "probe alone. TUI: Neovim's own terminal UI in tmux (%dx%d), filetype plugins and "
          "syntax on as by default, the answer's window visible. p99 and max: the median of "
          "the runs, and in brackets the worst run. *busy max*: the most CPU Neovim's main "
          "thread had in any one round trip (its own work in it, from the kernel's schedstat; "
          "the rest of a slow round trip is Neovim or the probe waiting for one of the "
          "machine's cores).\n" % (PROBE_PERIOD_MS, COLUMNS, LINES))
        w("| Neovim | answer | display | who | Neovim CPU (ms) | ami / yardstick | p50 (ms) "
          "| p99 (ms) | max (ms) | busy max (ms) | idle p99 (ms) | first text (ms) "
          "| RSS growth (KiB) | text (KiB) |")
        w("|---|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
        for label in labels:
            for name, _, _ in SCENARIOS:
                for display in ("tui", "headless"):
                    cpu = {}
                    for who in ("ami", "yardstick"):
                        rows = stream.get((label, name, display, who), [])
                        if not rows:
                            continue
                        cpu[who] = med(rows, "net_cpu_ms")
                        growth = median([r["rss1_kib"] - r["rss0_kib"] for r in rows])
                        w("| %s | %s | %s | %s | %s | %s | %s | %s (%s) | %s (%s) | %s (%s) "
                          "| %s | %s | %s | %s |" % (
                              label, name, display, who, f1(cpu[who]),
                              ratio(cpu.get("ami"), cpu.get("yardstick"))
                              if who == "yardstick" else "",
                              f1(med(rows, "stream", "p50"), 2),
                              f1(med(rows, "stream", "p99"), 2), f1(worst(rows, "p99"), 2),
                              f1(med(rows, "stream", "max"), 2), f1(worst(rows, "max"), 2),
                              f1(med(rows, "busy", "max"), 2),
                              f1(worst(rows, "max", "busy"), 2),
                              f1(med(rows, "idle", "p99"), 2), f1(med(rows, "ttft_ms"), 2),
                              f1(growth, 0), f1(median([r["bytes"] for r in rows]) / 1024.0, 0)))
                    if "ami" in cpu and "yardstick" in cpu and label == labels[0]:
                        limit = 25.0 if display == "tui" else 5.0
                        pc = 100.0 * cpu["ami"] / cpu["yardstick"] if cpu["yardstick"] \
                            else float("nan")
                        targets.append(("Neovim %s: CPU, %s, %s ≤ %g %% of the yardstick" % (
                            label, name, display, limit), "%.1f %%" % pc, pc <= limit))
                rows = stream.get((label, name, "tui", "ami"), [])
                if rows and name in ("burst", "essay"):
                    p99, mx = worst(rows, "p99"), worst(rows, "max")
                    targets.append(("Neovim %s: p99 ≤ 2 ms and max ≤ 10 ms in every run, %s, "
                                    "TUI" % (label, name), "%.2f / %.2f ms" % (p99, mx),
                                    p99 <= 2 and mx <= 10))
                    busy = worst(rows, "max", "busy")
                    if busy is not None:
                        # Not the target: what of those round trips was Neovim's own work.
                        targets.append(("Neovim %s: (diagnosis) Neovim's own CPU in any round "
                                        "trip ≤ 2 ms in every run, %s, TUI" % (label, name),
                                        "%.2f ms" % busy, busy <= 2))
                    p99n, mxn = worst(rows, "p99", "neovim"), worst(rows, "max", "neovim")
                    if p99n is not None:
                        # Nor this: the round trips less the probe's own waits for a core.
                        targets.append(("Neovim %s: (diagnosis) p99 ≤ 2 ms and max ≤ 10 ms in "
                                        "every run, %s, TUI, less the probe's own waits for a "
                                        "core" % (label, name), "%.2f / %.2f ms" % (p99n, mxn),
                                        p99n <= 2 and mxn <= 10))
                if rows and label == labels[0]:
                    tt = med(rows, "ttft_ms")
                    targets.append(("first text ≤ 5 ms after the provider's byte, %s" % name,
                                    "%.2f ms" % tt, tt <= 5))
        w("")
    floors, periods, paired = floor if floor else ({}, {}, {})
    if floors:
        w("## The floor\n")
        w("Each answer's ready-made text appended to the end of a visible markdown buffer in "
          "the TUI, one piece per frame at the frame times ami uses for it, the window "
          "following: what any display of that answer pays, whoever produces the text. "
          "*plain*: the buffer without highlighting (no syntax, no tree-sitter); *markdown*: "
          "highlighted as Neovim does by default (regex syntax up to 0.11, tree-sitter from "
          "0.12 on). ami highlights the thread itself, so its figure is compared with the "
          "plain floor.\n")
        w("| Neovim | answer | frame (ms) | floor, plain (ms) | floor, markdown (ms) "
          "| ami, TUI (ms) | ami / plain floor |")
        w("|---|---|--:|--:|--:|--:|--:|")
        for label in labels:
            for name, _, _ in SCENARIOS:
                plain = floors.get((label, name, "plain"))
                if not plain:
                    continue
                md = floors.get((label, name, "markdown"), [])
                rows = stream.get((label, name, "tui", "ami"), []) if stream else []
                fp, a = med(plain, "net_cpu_ms"), med(rows, "net_cpu_ms") if rows else None
                w("| %s | %s | %d | %s | %s | %s | %s |" % (
                    label, name, periods[name], f1(fp), f1(med(md, "net_cpu_ms")) if md else "–",
                    f1(a) if a is not None else "–",
                    "%.2f ×" % (a / fp) if a is not None and fp else "–"))
                if a is not None and fp and name == "slow" and not paired.get(label):
                    targets.append(("Neovim %s: real pace (2,000 tokens at 200/s), TUI, ≤ 1.2 × "
                                    "the plain floor" % label, "%.2f ×" % (a / fp), a <= 1.2 * fp))
        w("")
    if paired:
        w("### The real pace, paired\n")
        w("ami's real-pace answer (2,000 tokens at 200/s, TUI, no probe) and the plain floor "
          "measured back to back, twice a run in the order ami, floor, floor, ami: each "
          "figure alone drifts by about ±10 % from minute to minute on this machine, a pair "
          "shares the drift. The target is the median of the pairs' ratios.\n")
        w("| Neovim | pairs | ami (ms, median) | plain floor (ms, median) | ratio, median "
          "| ratios, min – max |")
        w("|---|--:|--:|--:|--:|--:|")
        for label in labels:
            ps = paired.get(label)
            if not ps:
                continue
            ratios = [a / f for a, f in ps if f]
            rm = statistics.median(ratios)
            w("| %s | %d | %s | %s | %.2f × | %.2f – %.2f |" % (
                label, len(ps), f1(statistics.median(a for a, _ in ps)),
                f1(statistics.median(f for _, f in ps)), rm, min(ratios), max(ratios)))
            targets.append(("Neovim %s: real pace (2,000 tokens at 200/s), TUI, ≤ 1.2 × the "
                            "plain floor (median of %d pairs)" % (label, len(ps)),
                            "%.2f ×" % rm, rm <= 1.2))
        w("")
    if host:
        w("## The host alone\n")
        w("`ami ask` to /dev/null: CPU of a short answer (whole process: start, TLS-free "
          "loopback request, exit), and CPU per delta on a flood of %d deltas, net of the "
          "short answer.\n" % host["flood_deltas"])
        w("| per call (ms) | per delta (µs) |")
        w("|--:|--:|")
        w("| %s | %s |\n" % (f1(host["call_ms"], 2), f1(host["per_delta_us"], 3)))
        targets.append(("host CPU per delta ≤ 1 µs", "%.3f µs" % host["per_delta_us"],
                        host["per_delta_us"] <= 1))
    if scale:
        w("## Concurrent answers\n")
        w("n answers at once (each %s), each in its own document's thread, TUI.\n" %
          SCALE_MODEL)
        w("| answers | host RSS idle (MiB) | host RSS peak (MiB) | host CPU (ms) | Neovim p99 "
          "(ms) | Neovim max (ms) |")
        w("|--:|--:|--:|--:|--:|--:|")
        for n in sorted(scale):
            rows = scale[n]
            w("| %d | %s | %s | %s | %s | %s |" % (
                n, f1(med(rows, "host_idle_kib") / 1024, 1),
                f1(med(rows, "host_peak_kib") / 1024, 1), f1(med(rows, "host_cpu_ms")),
                f1(med(rows, "stream", "p99"), 2), f1(med(rows, "stream", "max"), 2)))
        w("")
        if 32 in scale:
            peak = med(scale[32], "host_peak_kib") / 1024
            targets.append(("host RSS with 32 answers ≤ 30 MiB", "%.1f MiB" % peak, peak <= 30))
    if start:
        w("## Start-up\n")
        w("RSS counts the shared libraries' pages the host touched (libcurl, OpenSSL, SQLite, "
          "libc: mostly shared with every other process using them); private is the host's "
          "own memory (RssAnon). Idle: started, nothing sent yet (libcurl and OpenSSL start "
          "with the first request); after an answer: idle again after one short answer.\n")
        w("| plugin/ami.lua in --startuptime (ms) | host started at load | host spawn to "
          "ready (ms) | host RSS idle (MiB) | of which private (MiB) | host RSS after an "
          "answer (MiB) |")
        w("|--:|:-:|--:|--:|--:|--:|")
        w("| %s | %s | %s | %s | %s | %s |\n" % (f1(start["plugin_ms"], 3),
                                                 "yes" if start["host_started"] else "no",
                                                 f1(start["spawn_ms"], 1),
                                                 f1(start["host_idle_kib"] / 1024, 1),
                                                 f1(start["host_anon_kib"] / 1024, 1),
                                                 f1(start["host_answered_kib"] / 1024, 1)))
        targets.append(("plugin load ≤ 0.3 ms", "%.3f ms" % start["plugin_ms"],
                        start["plugin_ms"] <= 0.3))
        targets.append(("host RSS idle ≤ 10 MiB", "%.1f MiB" % (start["host_idle_kib"] / 1024),
                        start["host_idle_kib"] <= 10 * 1024))
    if usage:
        w("## Hot paths\n")
        w("The C functions on the paths that must stay fast, each on its own (bench/bench_*.c, "
          "medians of their own repetitions; built with the project's -O2).\n")
        for name, what, lines in usage:
            w("### %s\n" % name)
            w(what + ".\n")
            w("```")
            for ln in lines:
                w(ln)
            w("```\n")
    if targets:
        w("## Targets\n")
        w("| target | measured | met |")
        w("|---|--:|:-:|")
        for t, v, ok in targets:
            w("| %s | %s | %s |" % (t, v, "yes" if ok else "**no**"))
        w("")
    return "\n".join(out)


SCALE_MODEL = "fake/essay?n=1000&tps=200&tick_ms=1"
# The floors: (answer, frame period in ms).
FLOORS = [("essay", 16), ("slow", 100)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="stream,floor,scale,host,startup,usage")  # usage: the hot paths
    ap.add_argument("--answers", default="burst,essay,slow",
                    help="which answers the stream section measures")
    ap.add_argument("--displays", default="tui,headless")
    ap.add_argument("--nvim", help="comma-separated Neovim binaries for the stream and floor "
                    "sections (default: nvim, then Debian sid's from build/debian)")
    ap.add_argument("--out")
    ap.add_argument("--json", help="also write every run's raw figures to this file")
    args = ap.parse_args()
    only = set(args.only.split(","))
    if args.quick:
        args.runs = 1
    out = args.out or (None if args.quick else os.path.join(HERE, "results.md"))
    for tool in ("tmux", "curl", NVIM):
        if not shutil.which(tool):
            sys.exit("bench: %s is missing (scripts/deps.sh bench installs it)" % tool)
    if not os.access(AMI, os.X_OK):
        sys.exit("bench: %s is missing: run make first" % AMI)
    if args.nvim:
        bins = args.nvim.split(",")
    else:
        bins = [NVIM] + ([NEWEST_NVIM] if os.access(NEWEST_NVIM, os.X_OK) else [])
    nvims = []
    for b in bins:
        v = nvim_version(b) if shutil.which(b) else ""
        if not v.startswith("NVIM"):
            sys.exit("bench: %s does not run as Neovim" % b)
        nvims.append((re.sub(r"^NVIM v?", "", v).split("-")[0], b))
    m = machine()
    m["nvims"] = [n for n, _ in nvims]
    ticks0 = cpu_ticks()
    if len(nvims) < 2 and not args.nvim:
        log("bench: only one Neovim (%s is missing: `make test` or scripts/debian-fetch.sh "
            "sid build/debian/sid neovim fetches it)" % os.path.relpath(NEWEST_NVIM))
    env = Env()
    fake = Fake(env)
    tmux = Tmux(env)
    stream, floor, floor_period, host, scale, start = {}, {}, {}, None, {}, None
    paired = {}  # Neovim label -> [(ami ms, plain floor ms)], measured back to back
    try:
        scen = [(n, QUICK[n] if args.quick else mdl) for n, mdl, _ in SCENARIOS
                if n in args.answers.split(",")]
        displays = args.displays.split(",")
        # The floors: each answer's ready-made text, in pieces at the frame times ami uses
        # for it (the essay: 16 ms, the writer's frame; the real pace: 100 ms, see stream.h).
        floors = []
        if "floor" in only:
            for name, period in FLOORS:
                mdl = QUICK[name] if args.quick else dict((n, x) for n, x, _ in SCENARIOS)[name]
                text = answer_text(env, fake, re.sub(r"tps=\d+", "tps=0", mdl))
                # As long as the answer takes at its pace: n deltas at tps a second.
                q = dict(kv.split("=", 1) for kv in mdl.split("?", 1)[1].split("&"))
                secs = int(q["n"]) / float(q["tps"])
                pieces = max(1, int(secs * 1000 / period))
                floors.append((name, period, text, len(text.encode()) // pieces + 1))
        for run in range(args.runs):
            for vi, (label, nv) in enumerate(nvims):
                if "stream" not in only:
                    break
                # Headless on the first Neovim only: the TUI is where users are.
                for name, model in scen:
                    for display in (displays if vi == 0 else [d for d in displays if d == "tui"]):
                        for who in ("ami", "yardstick"):
                            log("run %d/%d: Neovim %s, %s, %s, %s" % (
                                run + 1, args.runs, label, name, display, who))
                            # Twice: with the latency probe, and alone for Neovim's CPU
                            # (the probe's own cost, subtracted, is noise as large as
                            # ami's figure on a 10 s answer).
                            r = measure(env, fake, tmux, display, who, model,
                                        "%s-%d" % (who, time.time_ns()), nvim=nv)
                            q = measure(env, fake, tmux, display, who, model,
                                        "%s-%d" % (who, time.time_ns()), probing=False,
                                        nvim=nv)
                            r["probe_net_cpu_ms"] = r["net_cpu_ms"]
                            for k in ("net_cpu_ms", "cpu_ms", "cpu_stat_ms", "helper_cpu_ms",
                                      "rss0_kib", "rss1_kib", "ttft_ms"):
                                r[k] = q[k]
                            stream.setdefault((label, name, display, who), []).append(r)
            for label, nv in nvims:
                for name, period, text, piece in floors:
                    for hl in ("plain", "markdown"):
                        log("run %d/%d: Neovim %s, floor, %s at %d ms, %s" % (
                            run + 1, args.runs, label, name, period, hl))
                        floor.setdefault((label, name, hl), []).append(measure(
                            env, fake, tmux, "tui", "floor", "floor", "f%d" % time.time_ns(),
                            floor=(text, piece, period, hl == "plain"), probing=False,
                            nvim=nv))
                        floor_period[name] = period
            # The real pace, paired: ami's answer and the plain floor back to back, in
            # alternating order (ami, floor, floor, ami), so that the machine's drift over
            # minutes (±10 % on one figure here) falls on both sides of each ratio.
            if "floor" in only:
                slow = QUICK["slow"] if args.quick else dict(
                    (n, x) for n, x, _ in SCENARIOS)["slow"]
                fl = [f for f in floors if f[0] == "slow"]
                for label, nv in nvims:
                    if not fl:
                        break
                    _, period, text, piece = fl[0]
                    got = {}
                    for who in ("ami", "floor", "floor", "ami"):
                        log("run %d/%d: Neovim %s, real pace paired, %s" % (
                            run + 1, args.runs, label, who))
                        if who == "ami":
                            r = measure(env, fake, tmux, "tui", "ami", slow,
                                        "p%d" % time.time_ns(), probing=False, nvim=nv)
                        else:
                            r = measure(env, fake, tmux, "tui", "floor", "floor",
                                        "f%d" % time.time_ns(),
                                        floor=(text, piece, period, True), probing=False,
                                        nvim=nv)
                        got.setdefault(who, []).append(r["net_cpu_ms"])
                    for a, f in zip(got["ami"], got["floor"]):  # (1st, 2nd), (4th, 3rd)
                        paired.setdefault(label, []).append((a, f))
            if "scale" in only:
                for n in (1, 8, 32):
                    log("run %d/%d: %d concurrent answers" % (run + 1, args.runs, n))
                    scale.setdefault(n, []).append(measure_scale(
                        env, fake, tmux, n, SCALE_MODEL, "s%d" % time.time_ns()))
        if "host" in only:
            log("host costs")
            host = host_costs(env, fake, args.runs, 20000 if args.quick else 200000)
        if "startup" in only:
            log("start-up")
            start = startup(env, args.runs, fake)
    finally:
        tmux.stop()
        fake.stop()
        env.cleanup()
    usage = hot_path_bench(nvims) if "usage" in only else None
    m["steal"] = steal_share(ticks0, cpu_ticks())
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": m, "stream": {"/".join(k): v for k, v in stream.items()},
                       "floor": {"/".join(k): v for k, v in floor.items()}, "host": host, "scale": scale, "startup": start}, f,
                      indent=1)
    text = report(m, args, stream, (floor, floor_period, paired), host, scale, start, usage)
    print(text)
    if out:
        with open(out, "w") as f:
            f.write(text)
        log("written to %s" % os.path.relpath(out))


if __name__ == "__main__":
    main()
