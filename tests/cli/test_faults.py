"""Faults (issue 6): every way a provider, the network or the input can go wrong, each with
the exit status, the exact message and what stays printed; and valgrind runs of a normal, an
errored and two interrupted answers.

Exit statuses: 2 usage/config, 3 provider error, 4 the stream was cut off, 130 interrupted.
"""
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import time

import harness

KEY = "sk-or-v1-" + "fa17" * 16
KEYS = {"OPENROUTER_API_KEY": KEY, "OPENAI_API_KEY": "sk-proj-faults-0001",
        "MISTRAL_API_KEY": "mistral-faults-0002", "SCW_SECRET_KEY": "scw-faults-0003",
        "ANTHROPIC_API_KEY": "sk-ant-faults-0004", "VLLM_KEY": "vllm-faults-0005"}
PROVIDER = {"llamacpp": "openai-compatible", "vllm": "openai-compatible"}
HELLO = "Hello, world! Ça va ? 👋"
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


# The vLLM flavour wants a key: openai-compatible reads it from $VLLM_KEY.
VLLM_CONFIG = {"providers": {"openai-compatible": {"api_key_env": "VLLM_KEY"}}}


def ask(env, model, *args, flavour="openrouter", input="", question="hi", keys=KEYS):
    return env.run(["ask", "--provider", PROVIDER.get(flavour, flavour), "--base-url",
                    env.fake.base(flavour), "--model", model, *args, question], input=input,
                   env=keys)


def chats(env):
    return [q for q in env.fake.requests() if q.get("method") == "POST"]


def ledger_rows(env):
    path = os.path.join(env.env["XDG_STATE_HOME"], "ami", "ledger.sqlite3")
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute("SELECT * FROM requests ORDER BY id")]
    finally:
        db.close()


def count_text(n):
    return "".join("%d " % i for i in range(1, n + 1))


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def only_error(r, message, code=3):
    """Nothing on stdout, one line on stderr (no summary: nothing was answered)."""
    assert (r.code, r.stdout) == (code, ""), r
    assert r.stderr == "ami: %s\n" % message, r


# ---------------------------------------------------------------------------- HTTP errors

def test_http_errors_carry_the_providers_message(env):
    m = "fake/http-error?status=%d&times=-1"
    cases = {
        400: "openrouter refused the request (HTTP 400 Bad Request): Invalid request",
        401: "openrouter refused the request (HTTP 401 Unauthorized): User not found.",
        402: "openrouter refused the request (HTTP 402 Payment Required): Insufficient "
             "credits. Add more using https://openrouter.ai/settings/credits",
        403: "openrouter refused the request (HTTP 403 Forbidden): %s requires moderation on "
             "Fake. Your input was flagged for \"harassment\". No credits were charged. "
             "(reasons: harassment) (flagged input: \"…\")" % (m % 403),
        404: "openrouter refused the request (HTTP 404 Not Found): Not Found",
        408: "openrouter refused the request (HTTP 408 Request Timeout): Request timed out",
        500: "openrouter refused the request (HTTP 500 Internal Server Error): Internal server "
             "error",
    }
    for status, message in cases.items():
        r = ask(env, m % status)
        only_error(r, message)
    assert len(chats(env)) == len(cases)  # none of these is retried
    # Retried ones end with "(after retrying)" and the last answer's message.
    for status, message in ((429, "Rate limit exceeded: limit_rpm/" + m % 429 + "&retry_after=0"),
                            (502, "Provider returned error — Fake: upstream error"),
                            (503, "No allowed providers are available for the selected model.")):
        r = ask(env, m % status + "&retry_after=0")
        assert (r.code, r.stdout) == (3, ""), r
        last = r.stderr.splitlines()[-1]
        assert last == "ami: openrouter refused the request (HTTP %d %s): %s (after retrying)" % (
            status, {429: "Too Many Requests", 502: "Bad Gateway",
                     503: "Service Unavailable"}[status], message), r.stderr
    rows = ledger_rows(env)
    assert {x["status"] for x in rows} == {"error"} and len(rows) == len(cases) + 3


def test_a_503_storm_with_retry_after(env):
    model = "fake/http-error?status=503&times=-1&retry_after=1"
    r = ask(env, model)
    assert (r.code, r.stdout) == (3, ""), r
    msg = "No allowed providers are available for the selected model."
    assert r.stderr == (
        "ami: openrouter answered HTTP 503: %s; retrying in 1 s (1 of 2)\n"
        "ami: openrouter answered HTTP 503: %s; retrying in 1 s (2 of 2)\n"
        "ami: openrouter refused the request (HTTP 503 Service Unavailable): %s (after "
        "retrying)\n" % (msg, msg, msg)), r.stderr
    qs = chats(env)
    assert len(qs) == 3 and all(b["t"] - a["t"] >= 0.9 for a, b in zip(qs, qs[1:])), qs
    # A Retry-After longer than 15 s is shortened to 15 s (and Ctrl-C ends the wait).
    p = env.spawn(["ask", "--base-url", env.fake.base(), "--model",
                   "fake/http-error?status=429&times=-1&retry_after=3600", "hi"], env=KEYS)
    line = p.stderr.readline().decode()
    assert line.endswith("; retrying in 15 s (1 of 2)\n"), line
    p.send_signal(signal.SIGINT)
    assert p.wait(5) == 130
    assert len(chats(env)) == 4


def test_http_error_bodies_of_every_flavour(env):
    m = "fake/http-error?status=%d&times=-1"
    cases = [
        ("openai", 404, "openai refused the request (HTTP 404 Not Found): The model `%s` does "
                        "not exist or you do not have access to it." % (m % 404)),
        ("openai", 500, "openai refused the request (HTTP 500 Internal Server Error): The server "
                        "had an error while processing your request. Sorry about that!"),
        ("scaleway", 400, "scaleway refused the request (HTTP 400 Bad Request): Invalid "
                          "request"),
        ("anthropic", 400, "anthropic refused the request (HTTP 400 Bad Request): Invalid "
                           "request"),
        ("anthropic", 404, "anthropic refused the request (HTTP 404 Not Found): model: %s"
         % (m % 404)),
        ("anthropic", 413, "anthropic refused the request (HTTP 413 Payload Too Large): Request "
                           "exceeds the maximum allowed number of bytes."),
        ("anthropic", 529, "anthropic refused the request (HTTP 529 Overloaded): Overloaded"),
        # Mistral's 422: the message is an object; its detail is what is said.
        ("mistral", 422, "mistral refused the request (HTTP 422 Unprocessable Entity): "
                         "body.messages: Field required"),
        ("mistral", 500, "mistral refused the request (HTTP 500 Internal Server Error): "
                         "Internal server error"),
        ("ollama", 404, "ollama refused the request (HTTP 404 Not Found): model \"%s\" not "
                        "found, try pulling it first" % (m % 404)),
        ("llamacpp", 500, "openai-compatible refused the request (HTTP 500 Internal Server "
                          "Error): Internal server error"),
        ("vllm", 404, "openai-compatible refused the request (HTTP 404 Not Found): The model "
                      "`%s` does not exist." % (m % 404)),
    ]
    env.config(VLLM_CONFIG)
    for flavour, status, message in cases:
        r = ask(env, m % status, flavour=flavour)
        only_error(r, message)


def test_wrong_key_for_every_flavour(env):
    bad = {k: "bad-key" for k in KEYS}
    cases = [
        ("openrouter", "openrouter refused the request (HTTP 401 Unauthorized): User not found."),
        ("openai", "openai refused the request (HTTP 401 Unauthorized): Incorrect API key "
                   "provided: *******. You can find your API key at "
                   "https://platform.openai.com/account/api-keys."),
        ("anthropic", "anthropic refused the request (HTTP 401 Unauthorized): invalid "
                      "x-api-key"),
        ("mistral", "mistral refused the request (HTTP 401 Unauthorized): Unauthorized"),
    ]
    for flavour, message in cases:
        r = ask(env, "fake/hello", flavour=flavour, keys=bad)
        only_error(r, message)
    # vLLM's 401 body is {"error": "Unauthorized"}: a string, still understood.
    env.config(VLLM_CONFIG)
    r = ask(env, "fake/hello", flavour="vllm", keys={"VLLM_KEY": ""})
    only_error(r, "openai-compatible refused the request (HTTP 401 Unauthorized): Unauthorized")


def test_http_error_without_a_body_html_or_text(env):
    r = ask(env, "fake/http-error?status=500&times=-1&body=none")
    only_error(r, "openrouter refused the request (HTTP 500 Internal Server Error), with no "
                  "message")
    # nginx's error page: its title, not the markup.
    r = ask(env, "fake/http-error?status=500&times=-1&body=html")
    only_error(r, "openrouter refused the request (HTTP 500 Internal Server Error): 500 "
                  "Internal Server Error")
    r = ask(env, "fake/http-error?status=404&times=-1&body=html", flavour="anthropic")
    only_error(r, "anthropic refused the request (HTTP 404 Not Found): 404 Not Found")
    r = ask(env, "fake/http-error?status=500&times=-1&body=text")
    only_error(r, "openrouter refused the request (HTTP 500 Internal Server Error): 500 "
                  "Internal Server Error")
    r = ask(env, "fake/http-error?status=400&times=-1&message=%3Cscript%3E%20nope", "--json")
    assert r.code == 3 and r.json_lines()[0]["message"] == (
        "openrouter refused the request (HTTP 400 Bad Request): <script> nope"), r


def test_a_200_that_is_not_an_event_stream(env):
    for flavour in ("openrouter", "openai", "anthropic"):
        r = ask(env, "fake/not-sse", flavour=flavour)
        assert (r.code, r.stdout) == (3, ""), r
        assert r.stderr.startswith(
            "ami: %s answered with something that is not an event stream (Content-Type "
            "application/json): {\"id\":\"" % flavour), r
        assert r.stderr.count("\n") == 1 and len(r.stderr) < 400, r  # one line, cut short
    r = ask(env, "fake/not-sse", "--json")
    (err,) = r.json_lines()
    assert (err["kind"], err["http_status"], err["partial"]) == ("protocol", 200, False), err


# ---------------------------------------------------------------------------- mid-stream

def test_midstream_error_of_every_flavour(env):
    server = "The server had an error while processing your request. Sorry about that!"
    cases = [
        ("openrouter", "", "openrouter reported an error mid-answer (429 "
                           "rate_limit_exceeded): Rate limit exceeded"),
        ("openai", "", "openai reported an error mid-answer (server_error): " + server),
        ("mistral", "", "mistral reported an error mid-answer (server_error): " + server),
        ("scaleway", "", "scaleway reported an error mid-answer (server_error): " + server),
        ("ollama", "", "ollama reported an error mid-answer (api_error): an error was "
                       "encountered while running the model: unexpected EOF"),
        ("llamacpp", "", "openai-compatible reported an error mid-answer (500 server_error): "
                         "the model crashed while decoding"),
        ("llamacpp", "&style=data", "openai-compatible reported an error mid-answer (500 "
                                    "server_error): the model crashed while decoding"),
        ("vllm", "", "openai-compatible reported an error mid-answer (400 BadRequestError): "
                     "Internal server error during decoding"),
        ("anthropic", "", "anthropic reported an error mid-answer (overloaded_error): "
                          "Overloaded"),
        ("anthropic", "&type=api_error&message=Boom", "anthropic reported an error "
                                                      "mid-answer (api_error): Boom"),
    ]
    env.config(VLLM_CONFIG)
    for flavour, extra, message in cases:
        r = ask(env, "fake/midstream-error?after=3" + extra, flavour=flavour)
        assert (r.code, r.stdout) == (3, "1 2 3 \n"), (flavour, r)  # partial text stays
        lines = r.stderr.splitlines()
        assert lines[0] == "ami: %s; the partial answer is kept" % message, (flavour, r)
        assert lines[1].startswith("ami: fake/midstream-error-20250101 via "), (flavour, r)
    # Before any text: no partial answer to keep, nothing printed.
    r = ask(env, "fake/midstream-error?after=0&message=Nope")
    only_error(r, "openrouter reported an error before answering (429 rate_limit_exceeded): "
                  "Nope")
    assert len(chats(env)) == len(cases) + 1  # never retried


def test_dropped_connection_keeps_the_partial_text(env):
    for flavour in ("openrouter", "anthropic", "ollama"):
        r = ask(env, "fake/drop?after=3", flavour=flavour)
        assert (r.code, r.stdout) == (4, "1 2 3 \n"), (flavour, r)
        first = r.stderr.splitlines()[0]
        assert re.fullmatch(r"ami: the connection to 127\.0\.0\.1 closed before the response "
                            r"was complete \(\d+ body bytes received\); the partial answer is "
                            r"kept", first), (flavour, r)
    r = ask(env, "fake/drop?after=3", "--json")
    lines = r.json_lines()
    assert "".join(o.get("text", "") for o in lines[:-1]) == "1 2 3 "
    assert (lines[-1]["type"], lines[-1]["kind"], lines[-1]["status"], lines[-1]["partial"]) == (
        "error", "network", "interrupted", True), lines[-1]
    # Cut before any text, once the answer had begun: still a cut stream.
    r = ask(env, "fake/drop?after=0")
    assert (r.code, r.stdout) == (4, ""), r
    assert r.stderr.endswith("body bytes received), before any text arrived\n"), r
    assert [x["status"] for x in ledger_rows(env)] == ["interrupted"] * 5


def test_connection_reset_mid_answer(env):
    # The three deltas reach ami's socket before the reset: they must be printed every time.
    # (Repeated: whether the reset is seen by poll() before the data is read is a race.)
    for _ in range(6):
        r = ask(env, "fake/drop?after=3&rst=1")
        assert (r.code, r.stdout) == (4, "1 2 3 \n"), r
        first = r.stderr.splitlines()[0]
        assert first.startswith("ami: ") and first.endswith("; the partial answer is kept"), r
        # The request had long been sent and the answer was streaming: the message must not
        # blame the sending of the request (libcurl's CURLE_SEND_ERROR for a poll error).
        assert "while sending the request" not in first, first
        assert "127.0.0.1" in first, first


def test_stream_ending_without_a_finish(env):
    for flavour in ("openrouter", "anthropic", "mistral"):
        r = ask(env, "fake/no-finish?after=3", flavour=flavour)
        assert (r.code, r.stdout) == (4, "1 2 3 \n"), (flavour, r)
        assert r.stderr.splitlines()[0] == (
            "ami: the answer from %s stopped before it was complete (the stream ended without "
            "a finish); the partial answer is kept" % flavour), r
    # Only keep-alive comments, then the end: an event stream that ended early, not "not an
    # event stream".
    r = ask(env, "fake/no-finish?after=0")
    only_error(r, "the stream from openrouter ended before any text arrived", code=4)


def test_silence_mid_answer_hits_the_stall_timeout(env):
    env.config({"stall_timeout_s": 1})
    start = time.monotonic()
    r = ask(env, "fake/silence?after=3&secs=30")
    took = time.monotonic() - start
    assert (r.code, r.stdout) == (4, "1 2 3 \n"), r
    assert r.stderr.splitlines()[0] == ("ami: no data from 127.0.0.1 for 1 s; the partial "
                                        "answer is kept"), r
    # ami hung up: the fake provider saw the client go.
    harness.wait_for(lambda: [e for e in env.fake.requests()
                              if e.get("event") == "disconnect"], timeout=5)
    # One second of silence ends the answer: a generous bound, not the 30 s of silence (nor
    # libcurl's averaged speed window, which lets ~6 s pass).
    assert took < 4.0, "a 1 s stall timeout took %.1f s" % took
    assert ledger_rows(env)[0]["status"] == "interrupted"


def test_never_ending_answer_stopped_by_max_answer_bytes(env):
    env.config({"max_answer_bytes": 1024})
    r = ask(env, "fake/endless?gap_ms=1")
    assert r.code == 4, r
    text = r.stdout[:-1]
    assert r.stdout.endswith("\n") and len(text.encode()) <= 1024, len(text)
    n = len(text.split())
    assert text == count_text(n) and len(count_text(n + 1)) > 1024, text[-40:]
    assert r.stderr.splitlines()[0] == ("ami: the answer passed max_answer_bytes (1024 bytes) "
                                        "and was stopped; the text so far is kept"), r
    harness.wait_for(lambda: [e for e in env.fake.requests()
                              if e.get("event") == "disconnect"], timeout=5)
    (row,) = ledger_rows(env)
    assert (row["status"], row["answer_text"]) == ("interrupted", text), row
    # One 20 MiB delta, over the default 4 MiB: stopped, none of it printed, no crash.
    env.config({})
    r = ask(env, "fake/huge?mb=20&field=content", "--json")
    assert r.code == 4, (r.code, r.stdout[:100], r.stderr)
    events = r.json_lines()
    assert events[0].pop("usage")["estimated"] is True  # the prompt was sent: it was spent
    assert events == [{
        "type": "error", "kind": "too_long", "status": "interrupted", "http_status": None,
        "message": "the answer passed max_answer_bytes (4194304 bytes) and was stopped; the "
                   "text so far is kept", "partial": False}]


def test_interrupted_anthropic_answer_does_not_claim_an_exact_output_count(env):
    # message_start says output_tokens 1 before any text; three text deltas followed, then
    # the connection dropped.  The final count (message_delta) never came, so ami cannot
    # know it: it must estimate ("~") rather than report the placeholder 1 as exact.
    r = ask(env, "fake/drop?after=3", flavour="anthropic")
    assert (r.code, r.stdout) == (4, "1 2 3 \n"), r
    summary = r.stderr.splitlines()[1]
    assert " · 1 out · " not in summary, summary
    assert re.search(r" · ~\d+ out · ", summary), summary


# ---------------------------------------------------------------------------- network

def test_connection_refused(env):
    port = closed_port()
    r = env.run(["ask", "--base-url", "http://127.0.0.1:%d/v1" % port, "--model", "fake/hello",
                 "hi"], input="", env=KEYS)
    only_error(r, "could not connect to 127.0.0.1 port %d: connection refused" % port)
    r = env.run(["ask", "--json", "--base-url", "http://127.0.0.1:%d/v1" % port, "hi"],
                input="", env=KEYS)
    (err,) = r.json_lines()
    assert (err["kind"], err["status"], err["http_status"]) == ("network", "error", None), err
    assert [x["status"] for x in ledger_rows(env)] == ["error", "error"]


def test_dns_failure(env):
    # ollama: no key, so no plain-http warning; the error alone.
    r = env.run(["ask", "--provider", "ollama", "--base-url", "http://nonexistent.invalid/v1",
                 "--model", "m", "hi"], input="", env={})
    only_error(r, "could not resolve host nonexistent.invalid")


def test_tls_failure_never_turns_verification_off(env):
    tmp = env.path("tls")
    os.makedirs(tmp)
    tls = harness.FakeProvider(tmp, "--tls")
    try:
        base = "https://127.0.0.1:%d/openrouter/v1" % tls.port
        r = env.run(["ask", "--base-url", base, "--model", "fake/hello", "hi"], input="",
                    env=KEYS)
        only_error(r, "TLS certificate verification failed for 127.0.0.1: SSL certificate "
                      "problem: self-signed certificate")
        r = env.run(["models", "--refresh", "--base-url", base], input="", env=KEYS)
        assert r.code == 3 and "certificate" in r.stderr, r
        assert tls.requests() == []  # no request ever went through: the key never left
    finally:
        tls.stop()


# ---------------------------------------------------------------------------- odd payloads

def test_deeply_nested_and_huge_json_from_the_provider(env):
    for flavour in ("openrouter", "anthropic"):
        r = ask(env, "fake/nested?depth=100000", flavour=flavour)
        assert (r.code, r.stdout) == (0, "Before after.\n"), (flavour, r)
        assert " · 2 out · " in r.stderr, r
        r = ask(env, "fake/huge?mb=20", flavour=flavour)
        assert (r.code, r.stdout) == (0, "Before after.\n"), (flavour, r.code, r.stderr)


def test_a_ten_megabyte_document(env):
    line = "Une ligne de texte assez ordinaire, numéro %07d, pour remplir le document.\n"
    text = "".join(line % i for i in range(136000))
    assert len(text.encode()) > 10 * 1024 * 1024
    path = env.write("big.md", text)
    # A model missing from the list: its context is unknown, so the whole document goes.
    r = env.run(["critique", path, "--lines", "5-6", "--base-url", env.fake.base(),
                 "--model", "fake/text?text=ok"], input="", env=KEYS, timeout=120)
    assert (r.code, r.stdout) == (0, "ok\n"), (r.code, r.stderr)
    user = chats(env)[-1]["body"]["messages"][-1]["content"]
    doc = user.split("<document>\n", 1)[1].split("\n</document>", 1)[0]
    assert doc == text[:-1]  # every byte of it, in valid JSON


def test_a_document_with_invalid_utf8_and_nul_bytes(env):
    path = env.path("bad.md")
    with open(path, "wb") as f:
        f.write(b"Caf\xc3\xa9 ok.\nBad \xff\xfe bytes, a NUL \x00 here, a cut \xe2\x82.\nEnd.\n")
    r = env.run(["critique", path, "--base-url", env.fake.base(), "--model", "fake/hello"],
                input="", env=KEYS)
    assert (r.code, r.stdout) == (0, HELLO + "\n"), r
    body = chats(env)[-1]["body"]
    assert isinstance(body, dict), body  # the fake provider parsed it as strict UTF-8 JSON
    user = body["messages"][-1]["content"]
    assert ("<document>\nCafé ok.\nBad \ufffd\ufffd bytes, a NUL \x00 here, a cut \ufffd.\n"
            "End.\n</document>") in user, user
    # The same bytes as ask's context.
    with open(path, "rb") as f:
        p = subprocess.run([harness.AMI, "ask", "--base-url", env.fake.base(), "--model",
                            "fake/hello", "what?"], stdin=f, capture_output=True,
                           env=dict(env.env, **KEYS), timeout=30)
    assert p.returncode == 0, p
    assert isinstance(chats(env)[-1]["body"], dict)


def test_very_long_lines(env):
    long_line = ("mot " * 500000).strip()  # 2 MB, no newline at all
    path = env.write("one-line.md", long_line)
    r = env.run(["critique", path, "--base-url", env.fake.base(), "--model",
                 "fake/text?text=ok"], input="", env=KEYS)
    assert (r.code, r.stdout) == (0, "ok\n"), (r.code, r.stderr)
    user = chats(env)[-1]["body"]["messages"][-1]["content"]
    assert "(line 1):\n\n<passage>\n%s\n</passage>" % long_line in user
    r = ask(env, "fake/text?text=ok", input=long_line, question="Trop long ?")
    assert (r.code, r.stdout) == (0, "ok\n"), (r.code, r.stderr)
    assert chats(env)[-1]["body"]["messages"][-1]["content"] == (
        "<context>\n%s\n</context>\n\nTrop long ?" % long_line)


def test_empty_inputs(env):
    r = env.run(["critique", env.write("empty.md", ""), "--base-url", env.fake.base()],
                input="", env=KEYS)
    only_error(r, "the document is empty: there is nothing to critique", code=2)
    r = ask(env, "fake/hello", input="", question="")  # an empty word, an empty stdin
    only_error(r, "ask: no question (give it as arguments, or text on standard input)", code=2)
    assert chats(env) == []


# ---------------------------------------------------------------------------- config

def test_config_wrong_types_and_unknown_fields(env):
    cases = [
        ({"modle": "x"}, "unknown field modle (did you mean model?)"),
        ({"budget": {"per_request": 1}}, "unknown field budget.per_request"),
        ({"ledger": "yes"}, "ledger"),
        ({"ledger": {"enabled": "yes"}}, "ledger.enabled"),
        ({"max_answer_bytes": 10}, "max_answer_bytes"),
        ({"connect_timeout_s": "ten"}, "connect_timeout_s"),
        ({"providers": {"openrouter": {"kind": 3}}}, "providers.openrouter.kind"),
        ({"providers": {"openrouter": {"api_key_cmd": ["pass", "x"]}}},
         "providers.openrouter.api_key_cmd"),
        ({"prices": {"m": {"prompt": "3"}}}, "prices"),
        ({"carbon": {"points": "many"}}, "carbon.points"),
        ({"temperature": "hot"}, "temperature"),
        ([1, 2], None),
    ]
    for cfg, field in cases:
        path = env.config(cfg)
        r = ask(env, "fake/hello")
        assert (r.code, r.stdout) == (2, ""), (cfg, r)
        assert r.stderr.startswith("ami: config: %s" % path), (cfg, r)
        assert r.stderr.count("\n") == 1, (cfg, r)
        if field:
            assert field in r.stderr, (cfg, r)
    assert chats(env) == []


# ---------------------------------------------------------------------------- valgrind

VALGRIND = ["valgrind", "--error-exitcode=99", "--leak-check=full",
            "--errors-for-leak-kinds=definite", "-q"]


def valgrind_ready():
    if getattr(harness, "SANITIZED", False):
        harness.skip("valgrind cannot run the ASan build")
    if not shutil.which("valgrind"):
        raise AssertionError("valgrind is not installed")


def vg_run(env, model, *args):
    p = subprocess.run(VALGRIND + [harness.AMI, "ask", "--base-url", env.fake.base(),
                                   "--model", model, *args, "hi"],
                       input="", capture_output=True, text=True, env=dict(env.env, **KEYS),
                       timeout=120)
    return p


def test_valgrind_normal_errored_and_cut_answers(env):
    valgrind_ready()
    for model, code, out in (("fake/hello", 0, HELLO + "\n"),
                             ("fake/http-error?status=402&times=-1", 3, ""),
                             ("fake/drop?after=3", 4, "1 2 3 \n")):
        p = vg_run(env, model)
        assert (p.returncode, p.stdout) == (code, out), (model, p.returncode, p.stderr)
        assert "==" not in p.stderr, p.stderr  # -q: valgrind speaks only about errors
    # The models list failing (an HTTP error inside a transfer's callback).
    p = subprocess.run(VALGRIND + [harness.AMI, "models", "--provider", "openai",
                                   "--base-url", env.fake.base("openai")],
                       input="", capture_output=True, text=True, env=env.env, timeout=120)
    assert p.returncode == 3 and "==" not in p.stderr, p.stderr


def test_valgrind_sigint_mid_answer(env):
    valgrind_ready()
    p = subprocess.Popen(VALGRIND + [harness.AMI, "ask", "--base-url", env.fake.base(),
                                     "--model", "fake/endless?gap_ms=5", "hi"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=dict(env.env, **KEYS))
    try:
        first = p.stdout.read(2)  # the answer is streaming under valgrind
        assert first == b"1 ", first
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 130, (p.returncode, err.decode()[-3000:])
    assert b"==" not in err, err.decode()[-3000:]
    assert (first + out).decode().endswith(" \n")
