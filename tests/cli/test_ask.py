"""`ami ask` against the fake provider: the text on stdout, the summary on stderr, --json, the
flags and the config file, every provider flavour's headers, body and usage, delivery corner
cases, retries, the budget, SIGINT and the ledger rows.

Expected numbers come from tests/fake_provider.py's rules: prompt_tokens = ceil(code points of
every message (and Anthropic's system) / 4), completion_tokens = the number of text deltas,
OpenRouter cost = prompt * 3e-6 + completion * 15e-6.  They are computed from the request the
fake provider logged, so a change of ami's persona does not break these tests, but a wrong
count does.
"""
import json
import math
import os
import pty
import select
import signal
import sqlite3
import subprocess
import time

import harness

KEY = "sk-or-v1-" + "5eed" * 16
KEYS = {"OPENROUTER_API_KEY": KEY, "OPENAI_API_KEY": "sk-proj-openai-test-key-0001",
        "MISTRAL_API_KEY": "mistral-test-key-0002", "SCW_SECRET_KEY": "scw-test-key-0003",
        "ANTHROPIC_API_KEY": "sk-ant-api03-test-key-0004"}
HELLO = "Hello, world! Ça va ? 👋"
HELLO_DELTAS = 6
# The provider to name for each flavour of the fake provider.
PROVIDER = {"llamacpp": "openai-compatible", "vllm": "openai-compatible"}


# ---------------------------------------------------------------------------- helpers

def ask(env, model, *args, flavour="openrouter", provider=None, input="", keys=KEYS,
        question="hi", extra_env=None):
    """Runs `ami ask` on one flavour of the fake provider (stdin: `input`, never inherited)."""
    e = dict(keys)
    e.update(extra_env or {})
    argv = ["ask", "--provider", provider or PROVIDER.get(flavour, flavour),
            "--base-url", env.fake.base(flavour), "--model", model, *args]
    if question is not None:
        argv.append(question)
    return env.run(argv, input=input, env=e)


def chats(env):
    """The POST requests the fake provider received, oldest first."""
    return [q for q in env.fake.requests() if q.get("method") == "POST"]


def last_user(q):
    return [m for m in q["body"]["messages"] if m["role"] == "user"][-1]["content"]


def fake_prompt_tokens(body):
    """The fake provider's count: ceil(code points of every message and system / 4)."""
    n = sum(len(m["content"]) for m in body["messages"] if isinstance(m["content"], str))
    if isinstance(body.get("system"), str):
        n += len(body["system"])
    return -(-n // 4)


def co2(tokens):
    """ami's default carbon points (200 tok, 0.4 g), (2000, 1.0), (20000, 2.0), log-log."""
    pts = [(200, 0.4), (2000, 1.0), (20000, 2.0)]
    (x0, y0), (x1, y1) = pts[:2] if tokens < 2000 else pts[1:]
    slope = math.log(y1 / y0) / math.log(x1 / x0)
    return y0 * (tokens / x0) ** slope


def same(a, b):
    """Equal as doubles printed with 15 significant digits."""
    return a is not None and math.isclose(a, b, rel_tol=1e-13)


def events(r):
    return r.json_lines()


def deltas_text(lines):
    return "".join(o["text"] for o in lines if o["type"] == "delta")


def ledger_path(env):
    return os.path.join(env.env["XDG_STATE_HOME"], "ami", "ledger.sqlite3")


def ledger_rows(env):
    path = ledger_path(env)
    if not os.path.exists(path):
        return []
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute("SELECT * FROM requests ORDER BY id")]
    finally:
        db.close()


def read_some(p, want, timeout=10):
    """Reads p's stdout until `want` bytes arrived (the process keeps running)."""
    got = b""
    end = time.monotonic() + timeout
    while len(got) < want:
        left = end - time.monotonic()
        assert left > 0, "no output from ami within %ss: %r" % (timeout, got)
        r, _, _ = select.select([p.stdout], [], [], left)
        if r:
            chunk = os.read(p.stdout.fileno(), 65536)
            assert chunk, "ami closed stdout early: %r" % got
            got += chunk
    return got


def count_text(n):
    return "".join("%d " % i for i in range(1, n + 1))


# ---------------------------------------------------------------------------- basics

def test_ask_streams_the_answer_then_one_summary_line(env):
    r = ask(env, "fake/hello", "--system", "S")
    assert r.code == 0, r
    assert r.stdout == HELLO + "\n"
    # "S" + "hi" = 3 characters: 1 prompt token; 6 deltas; 1 * 3e-6 + 6 * 15e-6 = $0.000093.
    assert r.stderr == ("ami: fake/hello-20250101 via openrouter · 1 in · 6 out · $0.000093 · "
                        "~0.1 gCO₂e\n"), r
    (q,) = chats(env)
    assert q["path"] == "/openrouter/v1/chat/completions"
    assert q["body"]["messages"] == [{"role": "system", "content": "S"},
                                     {"role": "user", "content": "hi"}]
    assert q["body"]["stream"] is True


def test_ask_json_deltas_then_exactly_one_done(env):
    r = ask(env, "fake/hello", "--json")
    assert r.code == 0, r
    lines = events(r)
    assert all(o["type"] == "delta" for o in lines[:-1]), lines
    assert deltas_text(lines) == HELLO
    done = lines[-1]
    (q,) = chats(env)
    tin = fake_prompt_tokens(q["body"])
    assert done == {
        "type": "done", "model": "fake/hello-20250101", "model_requested": "fake/hello",
        "provider": "openrouter", "finish_reason": "stop",
        "usage": {"prompt_tokens": tin, "completion_tokens": HELLO_DELTAS,
                  "cost_usd": done["usage"]["cost_usd"], "cost_source": "reported",
                  "co2e_g": done["usage"]["co2e_g"]}}, done
    # The provider's own figure (cJSON prints 15 significant digits, hence isclose).
    assert same(done["usage"]["cost_usd"], tin * 3e-6 + HELLO_DELTAS * 15e-6), done
    assert math.isclose(done["usage"]["co2e_g"], co2(tin + HELLO_DELTAS), rel_tol=1e-9)
    # The summary still goes to stderr; stdout holds JSON only.
    assert r.stderr.startswith("ami: fake/hello-20250101 via openrouter · %d in · 6 out · $"
                               % tin), r


def test_ask_json_error_object(env):
    r = ask(env, "fake/http-error?status=402&times=-1", "--json")
    assert r.code == 3, r
    assert events(r) == [{
        "type": "error", "kind": "http", "status": "error", "http_status": 402,
        "message": "openrouter refused the request (HTTP 402 Payment Required): Insufficient "
                   "credits. Add more using https://openrouter.ai/settings/credits",
        "partial": False}]
    # Mid-stream: the deltas first, then the error with partial: true.
    r = ask(env, "fake/midstream-error?after=3", "--json")
    assert r.code == 3, r
    lines = events(r)
    assert deltas_text(lines) == "1 2 3 "
    assert [o["type"] for o in lines].count("error") == 1 and lines[-1]["type"] == "error"
    assert "done" not in [o["type"] for o in lines]
    # What was spent is told with the error: this stream reported no usage, so it is estimated.
    usage = lines[-1].pop("usage")
    assert usage["estimated"] is True and usage["completion_tokens"] > 0, usage
    assert usage["cost_usd"] is None and usage["cost_source"] == "unknown", usage
    assert lines[-1] == {
        "type": "error", "kind": "provider", "status": "error", "http_status": None,
        "message": "openrouter reported an error mid-answer (429 rate_limit_exceeded): Rate "
                   "limit exceeded; the partial answer is kept",
        "partial": True}, lines[-1]


def test_ask_stdin_goes_as_context(env):
    r = ask(env, "fake/hello", input="Some context.\nLine 2\n", question="What?")
    assert r.code == 0, r
    assert r.stdout == HELLO + "\n"
    (q,) = chats(env)
    assert last_user(q) == "<context>\nSome context.\nLine 2\n</context>\n\nWhat?"


def test_ask_stdin_is_the_question_without_arguments(env):
    r = ask(env, "fake/echo?size=3", input="Quelle heure est-il ?\n", question=None)
    assert r.code == 0, r
    (q,) = chats(env)
    assert last_user(q) == "Quelle heure est-il ?\n"
    assert r.stdout == "Quelle heure est-il ?\n"  # echo: the question verbatim, newline kept


def test_ask_without_any_question_exits_2(env):
    msg = "ami: ask: no question (give it as arguments, or text on standard input)\n"
    r = ask(env, "fake/hello", input="", question=None)
    assert (r.code, r.stdout, r.stderr) == (2, "", msg), r
    # A terminal on stdin is not read (it would wait for the user): same message, at once.
    master, slave = pty.openpty()
    try:
        full = dict(env.env, **KEYS)
        p = subprocess.run([harness.AMI, "ask", "--base-url", env.fake.base(), "--model",
                            "fake/hello"], stdin=slave, capture_output=True, env=full,
                           timeout=10)
        assert (p.returncode, p.stdout, p.stderr.decode()) == (2, b"", msg), p
        # With a question and a terminal on stdin: asked, nothing read from the terminal.
        p = subprocess.run([harness.AMI, "ask", "--base-url", env.fake.base(), "--model",
                            "fake/echo", "just this"], stdin=slave, capture_output=True,
                           env=full, timeout=10)
        assert (p.returncode, p.stdout) == (0, b"just this\n"), p
    finally:
        os.close(master)
        os.close(slave)
    assert [last_user(q) for q in chats(env)] == ["just this"]


def test_ask_bad_arguments_exit_2_and_send_nothing(env):
    cases = {("--bogus",): "ami: unknown option --bogus (see --help)\n",
             ("--model",): "ami: --model needs a value\n",
             ("--max-tokens", "0"): "ami: --max-tokens needs a positive whole number\n",
             ("--max-tokens", "12x"): "ami: --max-tokens needs a positive whole number\n",
             ("--provider", "nope"): None}
    for args, first in cases.items():
        r = env.run(["ask", *args] + (["q"] if args[0] != "--model" else []), input="",
                    env=KEYS)
        assert r.code == 2 and r.stdout == "", (args, r)
        if first:
            assert r.stderr.startswith(first), (args, r)
            assert "usage: ami ask [OPTIONS] [QUESTION...]" in r.stderr, (args, r)
    r = env.run(["ask", "--provider", "nope", "q"], input="", env=KEYS)
    assert r.stderr == (
        'ami: unknown provider "nope" (built in: openrouter, openai, mistral, scaleway, ollama, '
        'openai-compatible, anthropic; or define providers.nope with a base_url)\n'), r
    r = env.run(["ask", "--help"], input="")
    assert r.code == 0 and r.stdout.startswith("usage: ami ask") and "--no-ledger" in r.stdout
    assert chats(env) == []


# ---------------------------------------------------------------------------- flags, config

def test_ask_system_flag_replaces_the_system_prompt(env):
    r = ask(env, "fake/hello")
    assert r.code == 0, r
    r = ask(env, "fake/hello", "--system", "Réponds en une ligne.")
    assert r.code == 0, r
    default, custom = chats(env)
    sys0 = [m for m in default["body"]["messages"] if m["role"] == "system"]
    assert len(sys0) == 1 and sys0[0]["content"].startswith("You are the writer's expert friend")
    assert custom["body"]["messages"] == [
        {"role": "system", "content": "Réponds en une ligne."}, {"role": "user", "content": "hi"}]
    # Anthropic: the system prompt is the top-level field, never a message.
    r = ask(env, "fake/hello", "--system", "Sois bref.", flavour="anthropic")
    assert r.code == 0, r
    a = chats(env)[-1]["body"]
    assert a["system"] == "Sois bref." and a["messages"] == [{"role": "user", "content": "hi"}]


def test_ask_max_tokens_in_each_providers_field(env):
    for flavour, field, absent in (("openrouter", "max_tokens", "max_completion_tokens"),
                                   ("openai", "max_completion_tokens", "max_tokens"),
                                   ("mistral", "max_tokens", "max_completion_tokens"),
                                   ("anthropic", "max_tokens", "max_completion_tokens")):
        r = ask(env, "fake/hello", flavour=flavour)
        assert r.code == 0, (flavour, r)
        body = chats(env)[-1]["body"]
        assert body[field] == 2048 and absent not in body, (flavour, body)
        r = ask(env, "fake/hello", "--max-tokens", "321", flavour=flavour)
        assert r.code == 0, (flavour, r)
        body = chats(env)[-1]["body"]
        assert body[field] == 321 and absent not in body, (flavour, body)
    # The config's max_tokens, and the flag over it.
    env.config({"max_tokens": 77})
    assert ask(env, "fake/hello").code == 0
    assert chats(env)[-1]["body"]["max_tokens"] == 77
    assert ask(env, "fake/hello", "--max-tokens", "5").code == 0
    assert chats(env)[-1]["body"]["max_tokens"] == 5


def test_ask_no_ledger_records_nothing(env):
    r = ask(env, "fake/hello", "--no-ledger")
    assert r.code == 0 and r.stdout == HELLO + "\n", r
    assert ledger_rows(env) == []
    u = env.run(["usage", "--json"], input="")
    assert u.code == 0 and json.loads(u.stdout)["requests"] == 0, u
    r = ask(env, "fake/hello")
    assert r.code == 0, r
    rows = ledger_rows(env)
    assert [(x["status"], x["model_requested"], x["client"], x["command"]) for x in rows] == [
        ("ok", "fake/hello", "cli", "ask")]
    assert json.loads(env.run(["usage", "--json"], input="").stdout)["requests"] == 1


def test_ask_config_file_and_flags_over_it(env):
    base = env.fake.base()
    xdg = os.path.join(env.env["XDG_CONFIG_HOME"], "ami", "config.json")
    os.makedirs(os.path.dirname(xdg))
    with open(xdg, "w") as f:
        json.dump({"model": "fake/text?text=from%20xdg", "max_tokens": 111,
                   "providers": {"openrouter": {"base_url": base}}}, f)
    os.chmod(xdg, 0o600)
    r = env.run(["ask", "q"], input="", env=KEYS)
    assert (r.code, r.stdout) == (0, "from xdg\n"), r
    assert chats(env)[-1]["body"]["max_tokens"] == 111
    # $AMI_CONFIG wins over the XDG file.
    env.config({"model": "fake/text?text=from%20ami_config",
                "providers": {"openrouter": {"base_url": base}}})
    r = env.run(["ask", "q"], input="", env=KEYS)
    assert (r.code, r.stdout) == (0, "from ami_config\n"), r
    assert chats(env)[-1]["body"]["max_tokens"] == 2048
    # Flags win over the file.
    r = env.run(["ask", "--model", "fake/text?text=from%20flag", "q"], input="", env=KEYS)
    assert (r.code, r.stdout) == (0, "from flag\n"), r
    # --provider and --base-url over the file's provider.
    env.config({"provider": "openai",
                "providers": {"openai": {"base_url": "http://127.0.0.1:9/v1"}}})
    r = env.run(["ask", "--provider", "openrouter", "--base-url", base, "--model", "fake/hello",
                 "q"], input="", env=KEYS)
    assert r.code == 0 and r.stdout == HELLO + "\n", r
    assert chats(env)[-1]["path"] == "/openrouter/v1/chat/completions"


def test_ask_config_errors_exit_2_naming_the_field(env):
    cases = [
        ({"budget": {"montly_usd": 1}},
         "unknown field budget.montly_usd (did you mean budget.monthly_usd?)"),
        ({"max_tokens": "many"}, "max_tokens must be a whole number of tokens, not a string"),
        ({"stall_timeout_s": 0}, "stall_timeout_s must be between 1 and 3600, not 0"),
        ({"providers": {"openrouter": {"app_url": 5}}},
         "providers.openrouter.app_url must be a URL, not a number"),
    ]
    for cfg, what in cases:
        path = env.config(cfg)
        r = ask(env, "fake/hello")
        assert r.code == 2 and r.stdout == "", (cfg, r)
        assert r.stderr == "ami: config: %s: %s\n" % (path, what), (cfg, r)
    env.write("config.json", "{\"model\": ")
    r = ask(env, "fake/hello")
    assert r.code == 2 and "is not valid JSON" in r.stderr and env.path("config.json") in r.stderr
    assert chats(env) == []


def test_ask_missing_key_names_the_variable(env):
    for flavour, var in (("openrouter", "OPENROUTER_API_KEY"), ("openai", "OPENAI_API_KEY"),
                         ("mistral", "MISTRAL_API_KEY"), ("scaleway", "SCW_SECRET_KEY"),
                         ("anthropic", "ANTHROPIC_API_KEY")):
        keys = {k: v for k, v in KEYS.items() if k != var}
        r = ask(env, "fake/hello", flavour=flavour, keys=keys)
        assert r.code == 2 and r.stdout == "", (flavour, r)
        assert r.stderr == (
            "ami: no API key for %s: set %s in the environment ami starts from, or "
            "providers.%s.api_key_cmd\n" % (flavour, var, flavour)), r
        r = ask(env, "fake/hello", "--json", flavour=flavour, keys=dict(keys, **{var: ""}))
        assert r.code == 2, r
        (err,) = events(r)
        assert (err["type"], err["kind"], err["http_status"]) == ("error", "key", None), err
        assert var in err["message"]
    assert chats(env) == []  # nothing was sent without a key


# ---------------------------------------------------------------------------- flavours

def check_usage(env, r, q, completion=HELLO_DELTAS, finish="stop", model="fake/hello-20250101"):
    """The --json done line holds the fake provider's exact counts."""
    assert r.code == 0, r
    lines = events(r)
    assert deltas_text(lines) == HELLO, lines
    done = lines[-1]
    assert done["type"] == "done" and done["model"] == model, done
    assert done["finish_reason"] == finish, done
    u = done["usage"]
    assert (u["prompt_tokens"], u["completion_tokens"]) == (
        fake_prompt_tokens(q["body"]), completion), (u, q["body"])
    return done


def test_flavour_openrouter(env):
    for uc in ("empty", "content"):  # usage in its own choices:[] chunk, or with the finish
        r = ask(env, "fake/hello?usage_choices=" + uc, "--json")
        q = chats(env)[-1]
        done = check_usage(env, r, q)
        tin = fake_prompt_tokens(q["body"])
        assert same(done["usage"]["cost_usd"], tin * 3e-6 + 6 * 15e-6), done
        assert done["usage"]["cost_source"] == "reported"
    h = q["headers"]
    assert h["authorization"] == "Bearer " + KEY
    assert h["x-openrouter-title"] == "ami" and h["x-title"] == "ami"
    assert "http-referer" not in h  # only with app_url
    assert h["accept"] == "text/event-stream" and h["content-type"] == "application/json"
    assert "stream_options" not in q["body"]  # deprecated on OpenRouter: usage always comes
    # Attribution from the config.
    env.config({"providers": {"openrouter": {"app_url": "https://example.org/notes",
                                             "app_title": "Mes notes"}}})
    r = ask(env, "fake/hello")
    assert r.code == 0, r
    h = chats(env)[-1]["headers"]
    assert h["http-referer"] == "https://example.org/notes"
    assert h["x-openrouter-title"] == "Mes notes" and h["x-title"] == "Mes notes"


def test_flavour_openai(env):
    r = ask(env, "fake/hello", "--json", flavour="openai")
    q = chats(env)[-1]
    done = check_usage(env, r, q)  # from the last chunk, whose choices are empty
    assert (done["usage"]["cost_usd"], done["usage"]["cost_source"]) == (None, "unknown")
    assert q["path"] == "/openai/v1/chat/completions"
    assert q["headers"]["authorization"] == "Bearer " + KEYS["OPENAI_API_KEY"]
    assert "x-title" not in q["headers"] and "x-openrouter-title" not in q["headers"]
    assert q["body"]["stream_options"] == {"include_usage": True}
    assert q["body"]["max_completion_tokens"] == 2048 and "max_tokens" not in q["body"]
    assert "ami: fake/hello-20250101 via openai · %d in · 6 out · cost unknown · " % (
        fake_prompt_tokens(q["body"])) in r.stderr, r
    # A configured price gives an estimate, marked with "~".
    env.config({"prices": {"fake/hello": {"prompt": 3, "completion": 15}}})
    r = ask(env, "fake/hello", "--json", "--system", "S", flavour="openai")
    done = check_usage(env, r, chats(env)[-1])
    # ami computes the estimate itself, as one division: exactly (1 * 3 + 6 * 15) / 1e6.
    assert (done["usage"]["cost_usd"], done["usage"]["cost_source"]) == (
        (1 * 3 + 6 * 15) / 1e6, "estimated")
    assert "· 1 in · 6 out · ~$0.000093 · " in r.stderr, r


def test_flavour_mistral(env):
    for model in ("fake/hello", "fake/hello?parts=1"):  # content as a string, or parts
        r = ask(env, model, "--json", flavour="mistral")
        q = chats(env)[-1]
        check_usage(env, r, q)  # usage arrives in the same chunk as the finish
        assert q["headers"]["authorization"] == "Bearer " + KEYS["MISTRAL_API_KEY"]
        assert "stream_options" not in q["body"]
    r = ask(env, "fake/reasoning", flavour="mistral")
    assert r.code == 0 and r.stdout == "Bonjour ! Voici la réponse.\n", r


def test_flavour_scaleway(env):
    r = ask(env, "fake/hello", "--json", flavour="scaleway")
    q = chats(env)[-1]
    check_usage(env, r, q)
    assert q["path"] == "/scaleway/v1/chat/completions"
    assert q["headers"]["authorization"] == "Bearer " + KEYS["SCW_SECRET_KEY"]
    assert q["body"]["stream_options"] == {"include_usage": True}


def test_flavour_ollama_needs_no_key(env):
    r = ask(env, "fake/hello", "--json", flavour="ollama", keys={})
    q = chats(env)[-1]
    check_usage(env, r, q)
    assert "authorization" not in q["headers"]
    assert q["body"]["stream_options"] == {"include_usage": True}
    # Go's escapes (\u003c, \u0026) are decoded.
    r = ask(env, "fake/text?text=" + "a%20%3Cb%3E%20%26%20c", flavour="ollama", keys={})
    assert (r.code, r.stdout) == (0, "a <b> & c\n"), r


def test_flavour_llamacpp_done_at_eof(env):
    # openai-compatible with no key configured: none is needed, none is sent.
    r = ask(env, "fake/hello", "--json", flavour="llamacpp", keys={})
    q = chats(env)[-1]
    check_usage(env, r, q)  # usage on the finish chunk; "data: [DONE]" with no blank line
    assert "authorization" not in q["headers"]
    r = ask(env, "fake/done-at-eof", flavour="llamacpp", keys={})
    assert (r.code, r.stdout) == (0, HELLO + "\n"), r
    for flavour in ("openrouter", "anthropic"):  # the same end, no line ending at all
        r = ask(env, "fake/done-at-eof", flavour=flavour)
        assert (r.code, r.stdout) == (0, HELLO + "\n"), (flavour, r)


def test_flavour_vllm(env):
    env.config({"providers": {"openai-compatible": {"api_key_env": "VLLM_KEY"}}})
    r = ask(env, "fake/hello", "--json", flavour="vllm", keys={"VLLM_KEY": "vllm-key-0005"})
    q = chats(env)[-1]
    check_usage(env, r, q)
    assert q["headers"]["authorization"] == "Bearer vllm-key-0005"
    # A provider defined in the config (kind openai) works the same way.
    env.config({"providers": {"local": {"kind": "openai", "base_url": env.fake.base("vllm"),
                                        "api_key_env": "VLLM_KEY"}}})
    r = env.run(["ask", "--provider", "local", "--model", "fake/hello", "q"], input="",
                env={"VLLM_KEY": "vllm-key-0005"})
    assert (r.code, r.stdout) == (0, HELLO + "\n"), r
    assert "via local · " in r.stderr


def test_flavour_anthropic(env):
    r = ask(env, "fake/hello", "--json", flavour="anthropic")
    q = chats(env)[-1]
    # input_tokens from message_start, output_tokens from message_delta (cumulative).
    check_usage(env, r, q, finish="end_turn")
    assert q["path"] == "/anthropic/v1/messages"
    h = q["headers"]
    assert h["x-api-key"] == KEYS["ANTHROPIC_API_KEY"]
    assert h["anthropic-version"] == "2023-06-01"
    assert "authorization" not in h
    b = q["body"]
    assert b["max_tokens"] == 2048 and b["stream"] is True
    assert b["system"].startswith("You are the writer's expert friend")
    assert [m["role"] for m in b["messages"]] == ["user"]
    r = ask(env, "fake/reasoning", flavour="anthropic")  # a thinking block is not the answer
    assert (r.code, r.stdout) == (0, "Bonjour ! Voici la réponse.\n"), r


def test_finish_at_max_tokens_is_reported(env):
    for flavour in ("openrouter", "anthropic"):  # "length" and Anthropic's "max_tokens"
        r = ask(env, "fake/hello?finish=length", flavour=flavour)
        assert (r.code, r.stdout) == (0, HELLO + "\n"), r
        assert r.stderr.startswith(
            "ami: the answer stopped at max_tokens (raise --max-tokens)\nami: "), (flavour, r)
    r = ask(env, "fake/hello")
    assert "max_tokens" not in r.stderr, r


# ---------------------------------------------------------------------------- delivery

def test_delivery_utf8_cut_across_reads(env):
    cafe = "Un café noir, s'il vous plaît ! Et un croissant 🥐 pour 3 €."
    for model in ("fake/split-codepoint", "fake/split-codepoint?chunk=1",
                  "fake/hello?chunk=1"):
        r = ask(env, model, "--json")
        assert r.code == 0, (model, r)
        text = deltas_text(events(r))
        assert text == (HELLO if "hello" in model else cafe), (model, r)
    r = ask(env, "fake/split-codepoint?chunk=1", flavour="anthropic")
    assert (r.code, r.stdout) == (0, cafe + "\n"), r


def test_delivery_invalid_utf8_becomes_replacement_characters(env):
    raw = (b"Valid start, then \xff here, a lone \x80 continuation, an overlong \xc0\xaf, "
           b"a surrogate \xed\xa0\x80, a cut \xe2\x82 sequence, and valid \xc3\xa9 end.")
    want = ("Valid start, then \ufffd here, a lone \ufffd continuation, an overlong "
            "\ufffd\ufffd, a surrogate \ufffd\ufffd\ufffd, a cut \ufffd sequence, and valid é "
            "end.")
    assert raw.decode("utf-8", "replace") == want  # Unicode's "maximal subpart" practice
    for model in ("fake/invalid-utf8", "fake/invalid-utf8?chunk=1"):
        full = dict(env.env, **KEYS)
        p = subprocess.run([harness.AMI, "ask", "--base-url", env.fake.base(), "--model",
                            model, "hi"], input=b"", capture_output=True, env=full, timeout=30)
        assert p.returncode == 0, (model, p)
        assert p.stdout.decode("utf-8") == want + "\n", (model, p.stdout)  # strict decode
        r = ask(env, model, "--json")
        assert deltas_text(events(r)) == want, (model, r)


def test_delivery_crlf_and_cr_line_endings_byte_by_byte(env):
    for flavour in ("openrouter", "anthropic", "llamacpp"):
        for eol in ("crlf", "cr", "lf"):
            r = ask(env, "fake/hello?chunk=1&eol=" + eol, "--json", flavour=flavour,
                    keys=KEYS if flavour != "llamacpp" else {})
            q = chats(env)[-1]
            check_usage(env, r, q, finish="end_turn" if flavour == "anthropic" else "stop")


def test_delivery_sse_spellings(env):
    # A JSON document split over several data: lines, no space after the colon, a BOM, and
    # \u escapes (the emoji as a surrogate pair).
    for params in ("multiline=1", "space=0", "bom=1", "ascii=1",
                   "multiline=1&space=0&bom=1&ascii=1&chunk=1"):
        for flavour in ("openrouter", "anthropic"):
            r = ask(env, "fake/hello?" + params, "--json", flavour=flavour)
            check_usage(env, r, chats(env)[-1],
                        finish="end_turn" if flavour == "anthropic" else "stop")


def test_delivery_keepalive_comments_before_the_text(env):
    r = ask(env, "fake/hello?processing=5&keepalive_ms=20&ttft_ms=300", "--json")
    q = chats(env)[-1]
    check_usage(env, r, q)


def test_delivery_a_one_mebibyte_line(env):
    size = 1048576
    body = ("abcdefghijklmnopqrstuvwxyz0123456789" * (size // 36 + 1))[:size]
    r = ask(env, "fake/bigline")
    assert r.code == 0, r.stderr
    assert r.stdout == "Big:" + body + " end.\n"
    assert "· 3 out ·" in r.stderr, r.stderr


def test_delivery_first_piece_at_once_then_coalesced(env):
    r = ask(env, "fake/flood?n=5000", "--json")
    assert r.code == 0, r.stderr
    lines = events(r)
    deltas = [o for o in lines if o["type"] == "delta"]
    text = ("abcdefghijklmnopqrstuvwxyz0123456789" * 600)[:5000 * 4]
    assert "".join(o["text"] for o in deltas) == text
    assert deltas[0]["text"] == "abcd"  # the first token alone, without waiting for a frame
    assert len(deltas) < 5000 / 10, len(deltas)  # then batched per frame
    assert lines[-1]["usage"]["completion_tokens"] == 5000


# ---------------------------------------------------------------------------- retries

def retry_line(status, message, wait, n):
    return "ami: openrouter answered HTTP %d: %s; retrying in %d s (%d of 2)\n" % (
        status, message, wait, n)


def test_retry_429_honours_retry_after_then_succeeds(env):
    model = "fake/http-error?status=429&times=2&retry_after=1"
    r = ask(env, model)
    assert r.code == 0 and r.stdout == HELLO + "\n", r
    msg = "Rate limit exceeded: limit_rpm/" + model
    lines = r.stderr.splitlines(keepends=True)
    assert lines[:2] == [retry_line(429, msg, 1, 1), retry_line(429, msg, 1, 2)], r.stderr
    assert lines[2].startswith("ami: fake/http-error-20250101 via openrouter · ") and \
        len(lines) == 3, r.stderr
    qs = chats(env)
    assert len(qs) == 3
    # Retry-After: 1 was waited (a lower bound only).
    assert qs[1]["t"] - qs[0]["t"] >= 0.9 and qs[2]["t"] - qs[1]["t"] >= 0.9
    assert [x["status"] for x in ledger_rows(env)] == ["ok"]  # one row for the three tries


def test_retry_502_and_503_once(env):
    for status, msg in ((502, "Provider returned error — Fake: upstream error"),
                        (503, "No allowed providers are available for the selected model.")):
        model = "fake/http-error?status=%d&times=1&retry_after=0" % status
        r = ask(env, model, "--json")
        assert r.code == 0 and deltas_text(events(r)) == HELLO, r
        assert r.stderr.startswith(retry_line(status, msg, 0, 1)), r.stderr
    assert len(chats(env)) == 4
    # Without Retry-After: one second before the first retry.
    r = ask(env, "fake/http-error?status=503&times=1")
    assert r.code == 0, r
    assert r.stderr.startswith(retry_line(
        503, "No allowed providers are available for the selected model.", 1, 1)), r.stderr


def test_retry_gives_up_after_three_attempts(env):
    model = "fake/http-error?status=429&times=-1&retry_after=0"
    r = ask(env, model, "--json")
    assert r.code == 3, r
    msg = "Rate limit exceeded: limit_rpm/" + model
    assert r.stderr == (retry_line(429, msg, 0, 1) + retry_line(429, msg, 0, 2) +
                        "ami: openrouter refused the request (HTTP 429 Too Many Requests): %s "
                        "(after retrying)\n" % msg), r.stderr
    (err,) = events(r)
    assert (err["kind"], err["http_status"], err["partial"]) == ("http", 429, False)
    assert len(chats(env)) == 3
    assert [(x["status"], x["prompt_tokens"], x["cost_usd"]) for x in ledger_rows(env)] == [
        ("error", 0, 0.0)]


def test_no_retry_once_text_arrived_or_for_other_statuses(env):
    r = ask(env, "fake/midstream-error?after=3&code=429")
    assert r.code == 3 and r.stdout == "1 2 3 \n", r
    assert "retrying" not in r.stderr
    assert len(chats(env)) == 1
    for status in (400, 401, 402, 403, 404, 500):
        r = ask(env, "fake/http-error?status=%d&times=-1&retry_after=0" % status)
        assert r.code == 3 and "retrying" not in r.stderr, (status, r)
    assert len(chats(env)) == 7


# ---------------------------------------------------------------------------- budget

def test_budget_per_request_cap_refuses_before_sending(env):
    path = env.config({"budget": {"per_request_usd": 0.0001},
                       "prices": {"fake/hello": {"prompt": 3, "completion": 15}}})
    r = ask(env, "fake/hello", "--system", "S")
    assert r.code == 5 and r.stdout == "", r
    # "S" + "hi": estimated 1 token in (plus framing), 2048 out at $15/M.
    assert r.stderr.startswith("ami: refused: this request would cost about ~$0.031 ("), r
    assert r.stderr.endswith(
        "over budget.per_request_usd = $0.00010; shorten the context or max_tokens, or raise "
        "the cap with setup({ budget = { per_request_usd = … } }) or in %s\n" % path), r
    assert chats(env) == []  # nothing was sent
    r = ask(env, "fake/hello", "--json")
    assert r.code == 5, r
    (err,) = events(r)
    assert (err["kind"], err["status"], err["http_status"]) == ("budget", "refused", None), err
    assert chats(env) == []
    # A smaller max_tokens fits under a larger cap: sent.
    env.config({"budget": {"per_request_usd": 0.01},
                "prices": {"fake/hello": {"prompt": 3, "completion": 15}}})
    r = ask(env, "fake/hello", "--max-tokens", "100")
    assert r.code == 0, r
    assert len(chats(env)) == 1
    rows = ledger_rows(env)
    assert [x["status"] for x in rows] == ["refused", "refused", "ok"]
    # A refused row keeps the estimate it refused (doc/LEDGER.md); nothing is counted spent.
    assert rows[0]["cost_source"] == "estimated" and 0.030 < rows[0]["cost_usd"] < 0.032, rows[0]
    u = json.loads(env.run(["usage", "--json"], input="").stdout)
    assert (u["requests"], u["refused"]) == (1, 2), u


def test_budget_monthly_cap_reached_after_one_request(env):
    path = env.config({"budget": {"monthly_usd": 0.0005}})
    r = ask(env, "fake/hello")  # $0.000699 reported by the provider
    assert r.code == 0, r
    r = ask(env, "fake/hello")
    assert r.code == 5 and r.stdout == "", r
    assert r.stderr == (
        "ami: refused: this month's spending $0.00070 has reached budget.monthly_usd = "
        "$0.00050; raise it with setup({ budget = { monthly_usd = … } }) or in %s\n" % path), r
    assert len(chats(env)) == 1  # the refused one never reached the provider
    rows = ledger_rows(env)
    assert [x["status"] for x in rows] == ["ok", "refused"]
    # No price known for fake/hello here: the refused row's cost is unknown, not 0.
    assert (rows[1]["cost_usd"], rows[1]["cost_source"]) == (None, "unknown"), rows[1]


# ---------------------------------------------------------------------------- SIGINT

def test_sigint_mid_stream_exits_130_and_closes_the_connection(env):
    p = env.spawn(["ask", "--base-url", env.fake.base(), "--model", "fake/endless?gap_ms=5",
                   "hi"], env=KEYS)
    got = read_some(p, 20)
    t0 = time.time()
    p.send_signal(signal.SIGINT)
    code = p.wait(5)
    took = time.time() - t0
    out = (got + p.stdout.read()).decode()
    err = p.stderr.read().decode()
    assert code == 130, (code, err)
    assert took < 2.0, took
    # The partial text stays printed, whole numbers, ended by a newline.
    assert out.endswith(" \n") and count_text(len(out.split())) + "\n" == out, out[-200:]
    lines = err.splitlines()
    assert lines[0] == "ami: interrupted (SIGINT)", err
    assert lines[1].startswith("ami: fake/endless-20250101 via openrouter · ~"), err
    assert len(lines) == 2, err
    gone = harness.wait_for(lambda: [e for e in env.fake.requests()
                                     if e.get("event") == "disconnect"], timeout=5)
    assert gone[0]["model"] == "fake/endless?gap_ms=5"
    assert gone[0]["t"] - t0 < 1.0, gone[0]["t"] - t0  # closed at once, not at the next write
    (row,) = ledger_rows(env)
    assert (row["status"], row["error"]) == ("cancelled", "interrupted (SIGINT)"), row
    assert row["answer_text"] == out[:-1]


def test_sigint_while_waiting_to_retry(env):
    p = env.spawn(["ask", "--json", "--base-url", env.fake.base(), "--model",
                   "fake/http-error?status=503&times=-1&retry_after=30", "hi"], env=KEYS)
    harness.wait_for(lambda: len(chats(env)) == 1)
    time.sleep(0.2)
    p.send_signal(signal.SIGINT)
    assert p.wait(5) == 130
    (err,) = [json.loads(x) for x in p.stdout.read().decode().splitlines()]
    assert (err["kind"], err["status"], err["partial"]) == ("cancelled", "cancelled", False), err
    assert len(chats(env)) == 1


# ---------------------------------------------------------------------------- the ledger

def test_ledger_one_row_per_request_with_its_status(env):
    assert ask(env, "fake/hello", "--system", "S").code == 0
    assert ask(env, "fake/http-error?status=500&times=-1").code == 3
    assert ask(env, "fake/drop?after=3").code == 4
    assert ask(env, "fake/midstream-error?after=2").code == 3
    p = env.spawn(["ask", "--base-url", env.fake.base(), "--model", "fake/endless", "hi"],
                  env=KEYS)
    read_some(p, 4)
    p.send_signal(signal.SIGINT)
    assert p.wait(5) == 130
    env.config({"budget": {"monthly_usd": 0}})
    assert ask(env, "fake/hello").code == 5
    rows = ledger_rows(env)
    assert [x["status"] for x in rows] == ["ok", "error", "interrupted", "error", "cancelled",
                                           "refused"], rows
    ok, http, cut, mid, cancelled, refused = rows
    assert (ok["prompt_tokens"], ok["completion_tokens"], ok["cost_source"],
            ok["finish_reason"], ok["model_answered"], ok["answer_text"], ok["error"]) == (
        1, 6, "reported", "stop", "fake/hello-20250101", HELLO, None), ok
    assert ok["cost_usd"] == 1 * 3e-6 + 6 * 15e-6  # the provider's double, stored as is
    assert ok["prompt_text"] == "[system]\nS\n\n[user]\nhi\n"
    assert ok["ttft_ms"] >= 0 and ok["duration_ms"] >= ok["ttft_ms"]
    assert (http["cost_usd"], http["answer_text"], http["ttft_ms"]) == (0.0, "", None), http
    assert http["error"] == ("openrouter refused the request (HTTP 500 Internal Server Error): "
                             "Internal server error"), http
    assert cut["answer_text"] == "1 2 3 " and cut["cost_source"] == "unknown", cut
    assert cut["error"].endswith("; the partial answer is kept"), cut
    assert mid["answer_text"] == "1 2 " and "Rate limit exceeded" in mid["error"], mid
    assert cancelled["error"] == "interrupted (SIGINT)" and cancelled["answer_text"], cancelled
    assert refused["error"].startswith("refused: this month's spending $"), refused
    assert all(x["client"] == "cli" and x["command"] == "ask" and x["document"] is None
               for x in rows)
    u = json.loads(env.run(["usage", "--json"], input="").stdout)
    assert (u["requests"], u["refused"]) == (5, 1), u
