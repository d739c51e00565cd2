"""API keys: never in ami's command line, its output (even when a provider echoes the key
back), the ledger's bytes or its debug logs; api_key_cmd, a config file that others can read,
and a key sent over plain http:// to another machine."""
import glob
import os
import signal
import time

KEY = "sk-or-v1-" + "5ec2e7" * 10 + "beef"
ANT = "sk-ant-api03-" + "a1b2c3d4" * 8
KEYS = {"OPENROUTER_API_KEY": KEY, "OPENAI_API_KEY": KEY, "MISTRAL_API_KEY": KEY,
        "SCW_SECRET_KEY": KEY, "ANTHROPIC_API_KEY": ANT}
SECRETS = (KEY, ANT)
HELLO = "Hello, world! Ça va ? 👋"


def ask(env, model, *args, flavour="openrouter", keys=KEYS, extra_env=None):
    e = dict(keys)
    e.update(extra_env or {})
    return env.run(["ask", "--provider", flavour, "--base-url", env.fake.base(flavour),
                    "--model", model, *args, "hi"], input="", env=e)


def no_secret(*texts):
    for t in texts:
        for s in SECRETS:
            assert s not in t, "a key leaked: %r" % t[:3000]
            assert s[len(s) // 2:] not in t, "half a key leaked: %r" % t[:3000]


def chats(env):
    return [q for q in env.fake.requests() if q.get("method") == "POST"]


def test_key_never_in_the_command_line(env):
    p = env.spawn(["ask", "--base-url", env.fake.base(), "--model", "fake/endless?gap_ms=20",
                   "hi"], env=KEYS)
    try:
        assert p.stdout.read(2) == b"1 "  # streaming: the key is in use right now
        with open("/proc/%d/cmdline" % p.pid, "rb") as f:
            argv = f.read()
        assert argv.split(b"\0")[1:3] == [b"ask", b"--base-url"], argv
        no_secret(argv.decode())
        # Nor in the command line of any child it may have started.
        for child in glob.glob("/proc/%d/task/*/children" % p.pid):
            with open(child) as f:
                for pid in f.read().split():
                    with open("/proc/%s/cmdline" % pid, "rb") as c:
                        no_secret(c.read().decode(errors="replace"))
    finally:
        p.send_signal(signal.SIGINT)
        assert p.wait(5) == 130
    no_secret(p.stdout.read().decode(), p.stderr.read().decode())
    assert chats(env)[0]["headers"]["authorization"] == "Bearer " + KEY  # it was used


def test_key_echoed_by_the_provider_is_masked(env):
    for flavour, key in (("openrouter", KEY), ("openai", KEY), ("mistral", KEY),
                         ("scaleway", KEY), ("anthropic", ANT)):
        for json_flag in ((), ("--json",)):
            r = ask(env, "fake/key-echo", *json_flag, flavour=flavour)
            assert r.code == 3, (flavour, r)
            no_secret(r.stdout, r.stderr)
            masked = ("%s refused the request (HTTP 401 Unauthorized): Invalid API key "
                      "provided: %s" % (flavour, "*" * len(key)))
            if json_flag:
                assert r.json_lines()[0]["message"] == masked, r
            else:
                assert r.stderr == "ami: %s\n" % masked, r
    # The provider did receive the real key: the masking is ami's.
    assert chats(env)[-1]["headers"]["x-api-key"] == ANT


def test_key_not_in_any_output_of_failing_requests(env):
    env.config({"stall_timeout_s": 1, "max_answer_bytes": 2048})
    models = ["fake/http-error?status=%d&times=-1&retry_after=0" % s
              for s in (400, 401, 402, 403, 429, 500, 503)]
    models += ["fake/midstream-error?after=2", "fake/drop?after=2", "fake/drop?rst=1",
               "fake/no-finish", "fake/not-sse", "fake/endless?gap_ms=1", "fake/key-echo",
               "fake/http-error?status=500&times=-1&body=html"]
    for model in models:
        for flavour in ("openrouter", "anthropic"):
            r = ask(env, model, flavour=flavour, extra_env={"AMI_LOG": "debug"})
            assert r.code in (3, 4), (model, flavour, r)
            no_secret(r.stdout, r.stderr)
    r = env.run(["ask", "--base-url", "http://127.0.0.1:9/v1", "hi"], input="", env=KEYS)
    assert r.code == 3
    no_secret(r.stdout, r.stderr)


def test_key_not_in_the_ledger_file(env):
    env.config({"ledger": {"store_text": True}})
    assert ask(env, "fake/hello").code == 0
    assert ask(env, "fake/key-echo").code == 3
    assert ask(env, "fake/key-echo", flavour="anthropic").code == 3
    assert ask(env, "fake/midstream-error?after=1").code == 3
    files = glob.glob(os.path.join(env.env["XDG_STATE_HOME"], "ami", "ledger.sqlite3*"))
    assert any(f.endswith("ledger.sqlite3") for f in files), files
    for path in files:
        with open(path, "rb") as f:
            data = f.read()
        for s in SECRETS:
            assert s.encode() not in data, path
    u = env.run(["usage", "--json"], input="")
    assert u.code == 0
    no_secret(u.stdout, u.stderr)


def test_key_not_in_debug_logs_and_http_traces(env):
    log_file = env.path("ami.log")
    trace = {"AMI_LOG": "debug", "AMI_HTTP_TRACE": "1"}
    r = ask(env, "fake/hello", extra_env=trace)
    assert r.code == 0 and r.stdout == HELLO + "\n", r
    assert "ami: http 1 > Authorization: [redacted]\n" in r.stderr, r.stderr  # traced, masked
    assert "X-OpenRouter-Title: ami" in r.stderr
    no_secret(r.stdout, r.stderr)
    r = ask(env, "fake/hello", flavour="anthropic", extra_env=trace)
    assert r.code == 0, r
    assert "ami: http 1 > x-api-key: [redacted]\n" in r.stderr, r.stderr
    no_secret(r.stdout, r.stderr)
    for flavour in ("openrouter", "anthropic"):
        r = ask(env, "fake/key-echo", flavour=flavour,
                extra_env=dict(trace, AMI_LOG_FILE=log_file))
        assert r.code == 3, r
        no_secret(r.stdout, r.stderr)
    with open(log_file, encoding="utf-8", errors="replace") as f:
        logged = f.read()
    assert "[redacted]" in logged and "401" in logged, logged[:2000]
    no_secret(logged)
    # The models list's GET is traced the same way.
    r = env.run(["models", "--refresh", "--base-url", env.fake.base()], input="",
                env=dict(KEYS, **trace))
    assert r.code == 0 and "Authorization: [redacted]" in r.stderr, r.stderr[-2000:]
    no_secret(r.stdout, r.stderr)


def test_api_key_cmd(env):
    cmd_key = "sk-or-v1-" + "c0de" * 16
    env.config({"providers": {"openrouter": {"api_key_cmd": "printf '%s\\n'" % cmd_key}}})
    r = ask(env, "fake/hello", keys={})
    assert r.code == 0 and r.stdout == HELLO + "\n", r
    assert chats(env)[-1]["headers"]["authorization"] == "Bearer " + cmd_key
    assert cmd_key not in r.stderr + r.stdout
    # A key from a command is masked too when the provider echoes it.
    r = ask(env, "fake/key-echo", keys={})
    assert r.code == 3, r
    assert r.stderr == ("ami: openrouter refused the request (HTTP 401 Unauthorized): Invalid "
                        "API key provided: %s\n" % ("*" * len(cmd_key))), r
    # The environment variable comes before the command.
    r = ask(env, "fake/hello")
    assert chats(env)[-1]["headers"]["authorization"] == "Bearer " + KEY


def test_failing_api_key_cmd_is_a_clear_error(env):
    cases = [
        ("echo 'vault is locked' >&2; exit 3",
         "ami: api_key_cmd for openrouter failed (exit status 3): vault is locked\n"),
        ("true", "ami: api_key_cmd for openrouter printed no key\n"),
        ("printf '\\n\\n'", "ami: api_key_cmd for openrouter printed no key\n"),
        ("kill -9 $$", "ami: api_key_cmd for openrouter was killed by signal 9\n"),
    ]
    for cmd, message in cases:
        env.config({"providers": {"openrouter": {"api_key_cmd": cmd}}})
        r = ask(env, "fake/hello", keys={})
        assert (r.code, r.stdout, r.stderr) == (2, "", message), (cmd, r)
        r = ask(env, "fake/hello", "--json", keys={})
        (err,) = r.json_lines()
        assert (err["kind"], err["message"]) == ("key", message[5:-1]), (cmd, err)
    # A command that does not exist: the shell's own words say so.
    env.config({"providers": {"openrouter": {"api_key_cmd": "/nonexistent/pass show key"}}})
    r = ask(env, "fake/hello", keys={})
    assert r.code == 2 and r.stderr.startswith(
        "ami: api_key_cmd for openrouter failed (exit status 127): "), r
    assert "/nonexistent/pass" in r.stderr and r.stderr.endswith("not found\n"), r
    assert chats(env) == []  # nothing sent without a key


def test_config_file_holding_a_key_readable_by_others(env):
    file_key = "sk-or-v1-" + "f11e" * 16
    for mode, warned in ((0o644, True), (0o640, True), (0o600, False)):
        path = env.config({"providers": {"openrouter": {"api_key": file_key}}}, mode=mode)
        r = ask(env, "fake/hello", keys={})
        assert (r.code, r.stdout) == (0, HELLO + "\n"), r
        warning = ("ami: warning: %s holds an API key and is readable by other users; run "
                   "chmod 600 %s\n" % (path, path))
        assert (warning in r.stderr) == warned, (oct(mode), r.stderr)
        if warned:
            assert r.stderr.startswith(warning), r.stderr  # before anything is sent
        assert file_key not in r.stderr + r.stdout
        assert chats(env)[-1]["headers"]["authorization"] == "Bearer " + file_key
    # A readable config file without a key: nothing to warn about.
    env.config({"model": "fake/hello"}, mode=0o644)
    r = ask(env, "fake/hello")
    assert "warning" not in r.stderr, r


def test_key_over_plain_http_to_another_host_is_warned_first(env):
    env.config({"connect_timeout_s": 1})
    base = "http://192.0.2.1:9/v1"  # TEST-NET-1: unroutable, never answers
    start = time.monotonic()
    r = env.run(["ask", "--base-url", base, "--model", "fake/hello", "hi"], input="", env=KEYS)
    assert time.monotonic() - start < 10
    assert (r.code, r.stdout) == (3, ""), r
    lines = r.stderr.splitlines()
    assert lines[0] == ("ami: warning: the API key for openrouter is sent over plain http:// to "
                        "%s: anyone on the network path can read it; use https://" % base), r
    assert len(lines) == 2 and lines[1].startswith("ami: ") and "192.0.2.1" in lines[1], r
    assert ("could not connect to 192.0.2.1 port 9" in lines[1] or
            "connecting to 192.0.2.1 port 9 timed out" in lines[1]), lines[1]
    no_secret(r.stderr)
    # Loopback: no warning.  No key (ollama): nothing to warn about.
    r = env.run(["ask", "--base-url", env.fake.base(), "--model", "fake/hello", "hi"],
                input="", env=KEYS)
    assert r.code == 0 and "warning" not in r.stderr, r
    r = env.run(["ask", "--provider", "ollama", "--base-url", base, "--model", "m", "hi"],
                input="", env=KEYS)
    assert r.code == 3 and "warning" not in r.stderr, r
