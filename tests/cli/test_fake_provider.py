"""Self-tests of tests/fake_provider.py: the bytes it sends must be those of the real
providers (tests/../PROTOCOLS.md), since every other CLI test trusts it.

A small raw HTTP/1.1 client is used instead of http.client so that the tests see the exact
bytes: status line, headers, every HTTP chunk separately, and whether the chunked
terminator came.
"""
import json
import os
import re
import signal
import socket
import ssl
import threading
import time

import harness

HELLO = "Hello, world! Ça va ? 👋"
FLAVOURS = ("openrouter", "openai", "mistral", "scaleway", "ollama", "llamacpp", "vllm",
            "anthropic")
# "Bonjour toi" (11 characters) + "Sois bref." (10): ceil(21 / 4) = 6 prompt tokens.
MESSAGES = [{"role": "system", "content": "Sois bref."},
            {"role": "user", "content": "Bonjour toi"}]
PROMPT_TOKENS = 6


# ---------------------------------------------------------------------------- raw client

class Response:
    def __init__(self):
        self.status = None
        self.headers = {}
        self.chunks = []        # payload of each HTTP chunk, in order
        self.complete = False   # terminator (or full Content-Length) received
        self.body = b""
        self.partial = b""      # bytes of a chunk cut short by the server closing

    def text(self):
        return self.body.decode("utf-8")

    def json(self):
        return json.loads(self.body)


class Conn:
    def __init__(self, port, tls=None, timeout=30):
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if tls is not None:
            s = tls.wrap_socket(s, server_hostname="127.0.0.1")
        self.s = s
        self.buf = bytearray()

    def close(self):
        self.s.close()

    def _fill(self):
        d = self.s.recv(262144)
        if not d:
            raise EOFError()
        self.buf += d

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return line
            self._fill()

    def _n(self, n):
        while len(self.buf) < n:
            self._fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def send(self, method, path, body=None, headers=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        head = ["%s %s HTTP/1.1" % (method, path), "Host: 127.0.0.1"]
        for k, v in (headers or {}).items():
            head.append("%s: %s" % (k, v))
        if body is not None:
            head.append("Content-Length: %d" % len(body))
        self.s.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + (body or b""))

    def head(self):
        r = Response()
        line = self._line().decode()
        r.status = int(line.split()[1])
        while True:
            line = self._line().decode("latin-1")
            if not line:
                break
            k, _, v = line.partition(":")
            r.headers[k.strip().lower()] = v.strip()
        return r

    def next_chunk(self):
        """The next chunk's payload; b"" at the terminator."""
        size = int(self._line().split(b";")[0], 16)
        if size == 0:
            self._line()
            return b""
        data = self._n(size)
        assert self._n(2) == b"\r\n"
        return data

    def response(self):
        r = self.head()
        try:
            if r.headers.get("transfer-encoding") == "chunked":
                while True:
                    c = self.next_chunk()
                    if not c:
                        r.complete = True
                        break
                    r.chunks.append(c)
                r.body = b"".join(r.chunks)
            elif "content-length" in r.headers:
                r.body = self._n(int(r.headers["content-length"]))
                r.complete = True
            else:
                while True:
                    self._fill()
        except EOFError:
            r.partial = bytes(self.buf)
            r.body = b"".join(r.chunks) or r.partial
        return r

    def request(self, method, path, body=None, headers=None):
        self.send(method, path, body, headers)
        return self.response()


def auth(flavour, key="test-key"):
    if flavour == "anthropic":
        return {"x-api-key": key, "anthropic-version": "2023-06-01",
                "content-type": "application/json"}
    return {"Authorization": "Bearer " + key, "Content-Type": "application/json"}


def path_of(flavour):
    return "/%s/v1/%s" % (flavour, "messages" if flavour == "anthropic" else "chat/completions")


def body_of(flavour, model, messages=None, **extra):
    msgs = list(messages or MESSAGES)
    b = {"model": model, "stream": True}
    if flavour == "anthropic":
        b["max_tokens"] = 1024
        b["system"] = msgs[0]["content"] if msgs and msgs[0]["role"] == "system" else None
        msgs = [m for m in msgs if m["role"] != "system"]
        if b["system"] is None:
            del b["system"]
    b["messages"] = msgs
    b.update(extra)
    return b


def chat(env, flavour, model, headers=None, **extra):
    c = Conn(env.fake.port)
    try:
        return c.request("POST", path_of(flavour), body_of(flavour, model, **extra),
                         headers if headers is not None else auth(flavour))
    finally:
        c.close()


# ------------------------------------------------------------------ SSE (WHATWG) parsing

def sse(body):
    """(events, comments): events as (type, data) with data a str whose invalid bytes are
    lone surrogates.  An unterminated last line is dropped, as the standard says."""
    text = body.decode("utf-8", "surrogateescape") if isinstance(body, bytes) else body
    if text.startswith("\ufeff"):
        text = text[1:]
    events, comments, data, etype = [], [], [], ""
    for line in re.split(r"\r\n|\r|\n", text)[:-1]:
        if line == "":
            if data:
                events.append((etype or "message", "\n".join(data)))
            data, etype = [], ""
        elif line.startswith(":"):
            comments.append(line[1:])
        else:
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "data":
                data.append(value)
            elif name == "event":
                etype = value
    return events, comments


def chunks_of(body):
    """The JSON data events (not [DONE]) of a chat stream."""
    return [json.loads(d) for t, d in sse(body)[0] if d != "[DONE]"]


def delta_text(ch, field="content"):
    out = ""
    for choice in ch.get("choices") or []:
        v = (choice.get("delta") or {}).get(field)
        if isinstance(v, str):
            out += v
        elif isinstance(v, list):
            out += "".join(p.get("text", "") for p in v if p.get("type") == "text")
    return out


def stream_text(flavour, body):
    if flavour == "anthropic":
        return "".join(json.loads(d)["delta"].get("text", "") for t, d in sse(body)[0]
                       if t == "content_block_delta")
    return "".join(delta_text(ch) for ch in chunks_of(body))


# ----------------------------------------------------------------------------- the tests

def test_hello_framing_every_flavour(env):
    for f in FLAVOURS:
        r = chat(env, f, "fake/hello")
        assert r.status == 200 and r.complete, (f, r.status, r.headers)
        assert r.headers["content-type"].startswith("text/event-stream"), (f, r.headers)
        assert r.headers["transfer-encoding"] == "chunked", f
        assert stream_text(f, r.body) == HELLO, (f, r.body)
        if f == "anthropic":
            continue
        chs = chunks_of(r.body)
        assert all(c["model"] == "fake/hello-20250101" for c in chs), (f, chs)
        assert len({c["id"] for c in chs}) == 1, f
        content = [c for c in chs if delta_text(c)]
        assert len(content) == 6, (f, content)
        finishes = [c["choices"][0]["finish_reason"] for c in chs if c["choices"]]
        assert finishes[-1] == "stop" and set(finishes[:-1]) == {None}, (f, finishes)
        if f == "llamacpp":
            assert r.body.endswith(b"}\n\ndata: [DONE]\n"), r.body[-40:]
            assert not r.body.endswith(b"\n\n"), "no blank line after [DONE]"
        else:
            assert r.body.endswith(b"\n\ndata: [DONE]\n\n"), (f, r.body[-40:])
        if f == "openrouter":
            assert r.body.startswith(b": OPENROUTER PROCESSING\n\n" * 2 + b"data: {")
            assert r.headers["x-generation-id"] == chs[0]["id"]
            assert chs[-1]["choices"] == [], chs[-1]
            u = chs[-1]["usage"]
            assert (u["prompt_tokens"], u["completion_tokens"], u["total_tokens"]) == (
                PROMPT_TOKENS, 6, PROMPT_TOKENS + 6), u
            assert abs(u["cost"] - (PROMPT_TOKENS * 3e-6 + 6 * 15e-6)) < 1e-12, u
            assert isinstance(u["cost"], float)
            assert all(c["choices"][0]["delta"]["role"] == "assistant" for c in chs[:-1])
        if f == "openai":
            assert chs[0]["choices"][0]["delta"] == {"role": "assistant", "content": "",
                                                     "refusal": None}, chs[0]
            assert all("obfuscation" in c for c in chs)
            assert all("usage" not in c for c in chs), "usage only with include_usage"
            assert chs[-1]["choices"][0]["delta"] == {}
        if f == "mistral":
            assert chs[-1]["usage"] == {"prompt_tokens": PROMPT_TOKENS, "total_tokens":
                                        PROMPT_TOKENS + 6, "completion_tokens": 6}, chs[-1]
            assert chs[-1]["choices"][0]["finish_reason"] == "stop"
        if f == "ollama":
            assert all(c["choices"][0]["delta"]["role"] == "assistant" for c in chs)
            assert all("usage" not in c for c in chs)
        if f == "llamacpp":
            assert chs[0]["choices"][0]["delta"] == {"role": "assistant", "content": None}
            assert chs[-1]["usage"]["completion_tokens"] == 6
        if f in ("vllm", "scaleway"):
            assert chs[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    # Mistral's content parts.
    r = chat(env, "mistral", "fake/hello?parts=1")
    parts = [c["choices"][0]["delta"]["content"] for c in chunks_of(r.body)[1:-1]]
    assert all(isinstance(p, list) and p[0]["type"] == "text" for p in parts), parts
    assert stream_text("mistral", r.body) == HELLO
    # OpenRouter's other usage shape: usage and finish_reason on one chunk with content "".
    chs = chunks_of(chat(env, "openrouter", "fake/hello?usage_choices=content").body)
    assert chs[-1]["choices"][0]["delta"]["content"] == "" and chs[-1]["usage"]["cost"] > 0
    assert chs[-1]["choices"][0]["finish_reason"] == "stop"
    # Any other model behaves like hello; the answered model keeps the requested id.
    chs = chunks_of(chat(env, "openrouter", "anthropic/claude-sonnet-4?gap_ms=1").body)
    assert chs[0]["model"] == "anthropic/claude-sonnet-4-20250101"
    assert "".join(delta_text(c) for c in chs) == HELLO


def test_openai_include_usage(env):
    for f in ("openai", "ollama", "vllm"):
        r = chat(env, f, "fake/count?n=4", stream_options={"include_usage": True})
        chs = chunks_of(r.body)
        assert chs[-1]["choices"] == [], (f, chs[-1])
        u = chs[-1]["usage"]
        assert u["prompt_tokens"] == PROMPT_TOKENS and u["completion_tokens"] == 4, (f, u)
        assert u["total_tokens"] == PROMPT_TOKENS + 4
        assert all(c["choices"] for c in chs[:-1]), f
        if f == "openai":
            assert all(c["usage"] is None for c in chs[:-1]), chs
        assert r.body.endswith(b"data: [DONE]\n\n")
        chs = chunks_of(chat(env, f, "fake/count?n=4").body)
        assert all(c["choices"] and not c.get("usage") for c in chs), (f, chs[-1])


def test_anthropic_event_order(env):
    r = chat(env, "anthropic", "fake/hello")
    evs = sse(r.body)[0]
    names = [t for t, _ in evs]
    assert names == (["message_start", "content_block_start", "ping"] +
                     ["content_block_delta"] * 6 +
                     ["content_block_stop", "message_delta", "message_stop"]), names
    datas = [json.loads(d) for _, d in evs]
    assert all(d["type"] == t for (t, _), d in zip(evs, datas))
    msg = datas[0]["message"]
    assert msg["model"] == "fake/hello-20250101" and msg["usage"]["input_tokens"] == PROMPT_TOKENS
    assert datas[-2]["delta"]["stop_reason"] == "end_turn"
    assert datas[-2]["usage"]["output_tokens"] == 6
    assert b"[DONE]" not in r.body and r.body.endswith(b'data: {"type":"message_stop"}\n\n')
    assert b'event: ping\ndata: {"type": "ping"}\n\n' in r.body
    # Thinking first, in its own block, then the text.
    evs = sse(chat(env, "anthropic", "fake/reasoning").body)[0]
    datas = [json.loads(d) for _, d in evs]
    blocks = [d["content_block"]["type"] for d in datas if d["type"] == "content_block_start"]
    assert blocks == ["thinking", "text"], blocks
    kinds = [d["delta"]["type"] for d in datas if d["type"] == "content_block_delta"]
    assert kinds == ["thinking_delta"] * 6 + ["signature_delta"] + ["text_delta"] * 5, kinds
    assert stream_text("anthropic", chat(env, "anthropic", "fake/reasoning").body) == \
        "Bonjour ! Voici la réponse."
    assert datas[-2]["usage"]["output_tokens"] == 11


def test_reasoning_is_apart_from_the_text(env):
    where = {"openrouter": "reasoning", "ollama": "reasoning", "llamacpp": "reasoning_content",
             "vllm": "reasoning_content"}
    for f in ("openrouter", "ollama", "llamacpp", "vllm", "mistral", "openai"):
        body = chat(env, f, "fake/reasoning").body
        assert stream_text(f, body) == "Bonjour ! Voici la réponse.", (f, body)
        chs = chunks_of(body)
        if f in where:
            thought = "".join(delta_text(c, where[f]) for c in chs)
            assert thought == "The user greets me; a short answer is enough.", (f, thought)
        if f == "mistral":
            parts = [p for c in chs for p in (c["choices"][0]["delta"].get("content") or [])
                     if isinstance(p, dict)]
            assert parts and all(p["type"] == "thinking" for p in parts), parts
        u = [c["usage"] for c in chs if c.get("usage")]
        if u:
            assert u[-1]["completion_tokens"] == 11, (f, u)


def test_http_error_counting_and_retry_after(env):
    model = "fake/http-error?status=429&times=2&retry_after=3"
    for i in range(2):
        r = chat(env, "openrouter", model)
        assert r.status == 429 and r.headers["retry-after"] == "3", (i, r.status, r.headers)
        assert r.headers["content-type"] == "application/json"
        err = r.json()["error"]
        assert err["code"] == 429 and err["message"], err
    r = chat(env, "openrouter", model)
    assert r.status == 200 and stream_text("openrouter", r.body) == HELLO
    # Counted per flavour and per exact model string.
    assert chat(env, "openai", model).status == 429
    assert chat(env, "openrouter", model + "&x=1").status == 429
    for _ in range(3):
        assert chat(env, "openrouter", "fake/http-error?times=-1&status=503").status == 503
    # Each flavour's own body.
    r = chat(env, "openai", "fake/http-error?status=500")
    assert r.text().startswith('{\n    "error": {\n        "message": '), r.body
    assert r.json()["error"]["type"] == "server_error"
    r = chat(env, "anthropic", "fake/http-error?status=529")
    assert r.status == 529
    d = r.json()
    assert d["type"] == "error" and d["error"]["type"] == "overloaded_error", d
    assert d["request_id"].startswith("req_")
    assert chat(env, "anthropic", "fake/http-error?status=429").json()["error"]["type"] == \
        "rate_limit_error"
    d = chat(env, "mistral", "fake/http-error?status=422").json()
    assert d["object"] == "error" and isinstance(d["message"], dict), d
    assert set(d) == {"object", "message", "type", "param", "code"}
    d = chat(env, "mistral", "fake/http-error?status=429").json()
    assert isinstance(d["message"], str) and d["code"] == "1300", d
    r = chat(env, "openrouter", "fake/http-error?status=502&body=html")
    assert r.headers["content-type"] == "text/html" and b"<center>nginx</center>" in r.body
    assert b"<title>502 Bad Gateway</title>" in r.body
    r = chat(env, "openrouter", "fake/http-error?status=503&body=none&retry_after=1")
    assert r.status == 503 and r.body == b"" and r.headers["retry-after"] == "1"
    r = chat(env, "vllm", "fake/http-error?status=500&body=text")
    assert r.headers["content-type"].startswith("text/plain") and r.text().endswith("\n")


def test_auth_failures(env):
    missing = {
        "openrouter": {"error": {"code": 401, "message": "No auth credentials found"}},
        "vllm": {"error": "Unauthorized"},
    }
    for f in ("openrouter", "openai", "mistral", "scaleway", "vllm", "anthropic"):
        h = {"Content-Type": "application/json"}
        if f == "anthropic":
            h["anthropic-version"] = "2023-06-01"
        r = chat(env, f, "fake/hello", headers=h)
        assert r.status == 401, (f, r.status)
        d = r.json()
        if f in missing:
            assert d == missing[f], (f, d)
        elif f == "anthropic":
            assert d["error"] == {"type": "authentication_error",
                                  "message": "x-api-key header is required"}, d
        elif f == "mistral":
            assert d["object"] == "error" and d["message"] == "Unauthorized", d
        else:
            assert d["error"]["type"] == "invalid_request_error" and d["error"]["code"] is None
            assert d["error"]["message"].startswith("You didn't provide an API key."), d
        r = chat(env, f, "fake/hello", headers=auth(f, "bad-key"))
        assert r.status == 401, (f, r.status)
        assert b"bad-key" not in r.body, (f, r.body)
    assert chat(env, "openai", "fake/hello", headers=auth("openai", "bad-key")).json()[
        "error"]["code"] == "invalid_api_key"
    # Anthropic also wants anthropic-version.
    h = auth("anthropic")
    del h["anthropic-version"]
    r = chat(env, "anthropic", "fake/hello", headers=h)
    assert r.status == 400 and r.json()["error"]["type"] == "invalid_request_error", r.body
    # Keyless local servers; llama.cpp still refuses the bad key, Ollama ignores keys.
    for f in ("ollama", "llamacpp"):
        r = chat(env, f, "fake/hello", headers={"Content-Type": "application/json"})
        assert r.status == 200 and stream_text(f, r.body) == HELLO, f
    assert chat(env, "llamacpp", "fake/hello", headers=auth("llamacpp", "bad-key")).json() == \
        {"error": {"code": 401, "message": "Invalid API Key", "type": "authentication_error"}}
    assert chat(env, "ollama", "fake/hello", headers=auth("ollama", "bad-key")).status == 200
    # A careless provider echoes the whole key: ami must redact it, not us.
    secret = "sk-or-v1-0123456789abcdef0123456789abcdef"
    for f in FLAVOURS:
        r = chat(env, f, "fake/key-echo", headers=auth(f, secret))
        assert r.status == 401 and secret.encode() in r.body, (f, r.body)
    # Unknown routes: 404 with the flavour's JSON body.
    c = Conn(env.fake.port)
    r = c.request("GET", "/openrouter/v1/nope", headers=auth("openrouter"))
    assert r.status == 404 and r.json()["error"]["code"] == 404
    r = c.request("POST", "/anthropic/v1/chat/completions", {}, auth("anthropic"))
    assert r.status == 404 and r.json()["error"]["type"] == "not_found_error"
    r = c.request("GET", "/nowhere", headers={})
    assert r.status == 404 and "error" in r.json()
    c.close()


def test_chunk_one_splits_inside_characters_and_crlf(env):
    r = chat(env, "openrouter", "fake/hello?chunk=1&eol=crlf")
    assert r.complete and all(len(c) == 1 for c in r.chunks), [c for c in r.chunks if len(c) != 1]
    assert len(r.chunks) == len(r.body) > 500
    i = r.body.index("👋".encode())
    assert r.chunks[i:i + 4] == [b"\xf0", b"\x9f", b"\x91", b"\x8b"]
    j = r.body.index(b"\r\n")
    assert r.chunks[j:j + 2] == [b"\r", b"\n"]
    assert b"\n\n" not in r.body.replace(b"\r\n", b"")
    assert stream_text("openrouter", r.body) == HELLO
    # Lone CR line endings, data split over several lines, no space, a BOM: same events.
    for q in ("eol=cr", "multiline=1", "space=0", "bom=1", "ascii=1", "chunk=7&eol=crlf"):
        body = chat(env, "anthropic", "fake/hello?" + q).body
        assert stream_text("anthropic", body) == HELLO, (q, body[:300])
        body = chat(env, "openai", "fake/hello?" + q).body
        assert stream_text("openai", body) == HELLO, (q, body[:300])
    assert b"\\ud83d\\udc4b" in chat(env, "openai", "fake/hello?ascii=1").body
    body = chat(env, "vllm", "fake/hello?multiline=1").body
    assert b'\ndata: "object":' in body, body[:300]


def test_done_at_eof_bytes(env):
    for f, tail in (("openrouter", b"\n\ndata: [DONE]"), ("llamacpp", b"\n\ndata: [DONE]"),
                    ("anthropic", b'\n\nevent: message_stop\ndata: {"type":"message_stop"}')):
        c = Conn(env.fake.port)
        r = c.request("POST", path_of(f), body_of(f, "fake/done-at-eof"), auth(f))
        assert r.complete and r.body.endswith(tail), (f, r.body[-60:])
        assert r.headers["connection"] == "close"
        assert c.s.recv(10) == b"", "the server closes after [DONE]"
        c.close()
        assert stream_text(f, r.body) == HELLO


def wait_disconnect(env, path, model, since):
    def find():
        return [r for r in env.fake.requests()
                if r.get("event") == "disconnect" and r["model"] == model and
                r["path"] == path]
    rec = harness.wait_for(find, timeout=5)[0]
    assert rec["path"].endswith(("/chat/completions", "/messages")), rec
    assert rec["sent_bytes"] > 0
    assert rec["t"] - since < 0.5, rec["t"] - since
    return rec


def read_until(c, needle):
    while needle not in c.buf:
        c._fill()


def test_disconnect_logged_for_silence_and_endless(env):
    for f, model in (("openrouter", "fake/silence?after=2&secs=60"),
                     ("anthropic", "fake/silence?after=2&secs=60"),
                     ("openai", "fake/endless?gap_ms=5"),
                     ("ollama", "fake/endless?gap_ms=0")):
        c = Conn(env.fake.port)
        c.send("POST", path_of(f), body_of(f, model), auth(f))
        read_until(c, b"2 " if "silence" in model else b'"3 "')
        if "silence" in model:
            time.sleep(0.2)  # the server is now silent, not writing
        since = time.time()
        c.close()
        wait_disconnect(env, path_of(f), model, since)
    # Even during delay_ms, before any byte was sent.
    c = Conn(env.fake.port)
    c.send("POST", path_of("openrouter"), body_of("openrouter", "fake/hello?delay_ms=30000"),
           auth("openrouter"))
    harness.wait_for(lambda: [r for r in env.fake.requests()
                              if (r.get("body") or {}).get("model") == "fake/hello?delay_ms=30000"])
    since = time.time()
    c.close()
    recs = harness.wait_for(lambda: [r for r in env.fake.requests()
                                     if r.get("event") == "disconnect" and
                                     r["model"] == "fake/hello?delay_ms=30000"])
    assert recs[0]["sent_bytes"] == 0 and recs[0]["t"] - since < 0.5


def test_tls_refuses_unverified_client(env):
    tmp = env.path("tls")
    os.makedirs(tmp)
    cert = os.path.join(tmp, "cert.pem")
    fake = harness.FakeProvider(tmp, "--tls", "--tls-cert", cert)
    try:
        try:
            Conn(fake.port, tls=ssl.create_default_context())
            raise AssertionError("an unverified certificate was accepted")
        except ssl.SSLCertVerificationError as e:
            assert "CERTIFICATE_VERIFY_FAILED" in str(e), e
        # The same server, trusted explicitly, answers normally over HTTPS.
        ctx = ssl.create_default_context(cafile=cert)
        c = Conn(fake.port, tls=ctx)
        r = c.request("POST", path_of("openrouter"), body_of("openrouter", "fake/hello"),
                      auth("openrouter"))
        assert r.status == 200 and stream_text("openrouter", r.body) == HELLO
        c.close()
        # Closing a TLS stream is noticed too.
        c = Conn(fake.port, tls=ctx)
        c.send("POST", path_of("openrouter"), body_of("openrouter", "fake/silence?secs=30"),
               auth("openrouter"))
        read_until(c, b'"3 "')
        since = time.time()
        c.close()

        def gone():
            with open(fake.log) as fh:
                return [json.loads(x) for x in fh if '"disconnect"' in x]
        assert harness.wait_for(gone, timeout=5)[0]["t"] - since < 0.5
    finally:
        fake.stop()


def test_flood_completes(env):
    r = chat(env, "openrouter", "fake/flood?n=20000&size=4")
    chs = chunks_of(r.body)
    text = "".join(delta_text(c) for c in chs)
    alpha = "abcdefghijklmnopqrstuvwxyz0123456789"
    assert text == (alpha * 3000)[:80000], text[:100]
    assert sum(1 for c in chs if delta_text(c)) == 20000
    assert chs[-1]["usage"]["completion_tokens"] == 20000
    assert len(r.chunks) < 200, "a flood is written in large blocks"


def test_request_log_and_keepalive(env):
    c = Conn(env.fake.port)
    r1 = c.request("POST", path_of("openai"), body_of("openai", "fake/count?n=2"),
                   auth("openai") | {"X-Custom-Thing": "yes"})
    r2 = c.request("POST", path_of("openai"), "not json at all", auth("openai"))
    r3 = c.request("GET", "/openrouter/v1/models")
    assert (r1.status, r2.status, r3.status) == (200, 400, 200)
    assert r1.headers["connection"] == "keep-alive"
    c.close()
    reqs = env.fake.requests()
    assert [r["method"] for r in reqs] == ["POST", "POST", "GET"], reqs
    a, b, g = reqs
    assert isinstance(a["t"], float) and a["path"] == "/openai/v1/chat/completions"
    assert a["headers"]["x-custom-thing"] == "yes"
    assert a["headers"]["authorization"] == "Bearer test-key"
    assert a["body"]["model"] == "fake/count?n=2" and a["body"]["messages"] == MESSAGES
    assert b["body"] == "not json at all"
    assert g["body"] is None and g["path"] == "/openrouter/v1/models"
    # Logged before the response starts.
    c = Conn(env.fake.port)
    c.send("POST", path_of("openrouter"), body_of("openrouter", "fake/hello?delay_ms=1500"),
           auth("openrouter"))
    harness.wait_for(lambda: len(env.fake.requests()) == 4, timeout=1.0)
    assert c.response().status == 200
    c.close()


def test_scenarios_content(env):
    r = chat(env, "openrouter", "fake/echo", messages=[
        {"role": "user", "content": "premier"}, {"role": "assistant", "content": "non"},
        {"role": "user", "content": "Écho : ça marche 👍 ?"}])
    chs = [c for c in chunks_of(r.body) if delta_text(c)]
    assert [delta_text(c) for c in chs] == ["Écho ", ": ça ", "march", "e 👍 ?"], chs
    r = chat(env, "anthropic", "fake/echo", messages=[
        {"role": "user", "content": [{"type": "text", "text": "blocs"}]}])
    assert stream_text("anthropic", r.body) == "blocs"
    chs = chunks_of(chat(env, "vllm", "fake/text?text=Hello%20big+world%20!").body)
    assert [delta_text(c) for c in chs if delta_text(c)] == ["Hello", " big", " world", " !"]
    chs = chunks_of(chat(env, "mistral", "fake/count?n=5").body)
    assert [delta_text(c) for c in chs if delta_text(c)] == ["1 ", "2 ", "3 ", "4 ", "5 "]
    # Raw bytes of a split code point inside the JSON strings.
    body = chat(env, "openrouter", "fake/split-codepoint").body
    assert b'"content":"Un caf\xc3"' in body and b'"content":"\xa9 noir' in body
    assert b'croissant \xf0\x9f"' in body and b'"content":"\xa5\x90 pour' in body
    text = "".join(delta_text(c) for c in chunks_of(body)).encode("utf-8", "surrogateescape")
    assert text.decode() == "Un café noir, s'il vous plaît ! Et un croissant 🥐 pour 3 €."
    body = chat(env, "anthropic", "fake/split-codepoint").body
    assert stream_text("anthropic", body).encode("utf-8", "surrogateescape").decode() == \
        "Un café noir, s'il vous plaît ! Et un croissant 🥐 pour 3 €."
    body = chat(env, "openai", "fake/invalid-utf8").body
    for bad in (b"\xff", b"lone \x80", b"\xc0\xaf", b"\xed\xa0\x80"):
        assert bad in body, bad
    # essay: deterministic Markdown, n deltas, paced by tps.
    b1 = chat(env, "openrouter", "fake/essay?n=400&tps=0").body
    b2 = chat(env, "openrouter", "fake/essay?n=400&tps=0").body
    t1 = "".join(delta_text(c) for c in chunks_of(b1))
    assert t1 == "".join(delta_text(c) for c in chunks_of(b2))
    assert t1.startswith("# Essai") and "\n## " in t1 and "\n- " in t1 and "```c\n" in t1
    assert "é" in t1 and sum(1 for c in chunks_of(b1) if delta_text(c)) == 400
    start = time.monotonic()
    chat(env, "openai", "fake/essay?n=20&tps=50")
    assert time.monotonic() - start >= 0.3
    # bigline, nested, huge.
    body = chat(env, "openrouter", "fake/bigline?size=1048576").body
    assert max(len(x) for x in body.split(b"\n")) > 1048576
    assert len("".join(delta_text(c) for c in chunks_of(body))) == 1048576 + len("Big: end.")
    body = chat(env, "openrouter", "fake/nested?depth=100000").body
    line = [x for x in body.split(b"\n") if b"x_extra" in x][0]
    assert line.count(b"[") >= 50000 and line.endswith(b"]" + b"}]" * 49999 + b"}"), line[-20:]
    body = chat(env, "openai", "fake/huge?mb=2").body
    assert max(len(x) for x in body.split(b"\n")) > 2 * 1048576 - 10
    assert stream_text("openai", body) == "Before after."
    # ttft
    start = time.monotonic()
    c = Conn(env.fake.port)
    c.send("POST", path_of("openrouter"), body_of("openrouter", "fake/hello?ttft_ms=400"),
           auth("openrouter"))
    c.head()
    assert b"content" not in c.next_chunk()
    first = c.next_chunk()
    assert b'"content":"Hello"' in first and time.monotonic() - start >= 0.35
    c.close()


def test_demo_is_a_french_critique(env):
    body = chat(env, "openrouter", "fake/demo?tps=0").body
    text = "".join(delta_text(c) for c in chunks_of(body))
    assert text.startswith("[démo hors ligne — réponse préenregistrée, "
                           "aucun modèle n'a été appelé]\n")
    assert "« ça »" in text and "?" in text and len(text.split()) > 150
    with open(os.path.join(harness.ROOT, "examples", "sample-note.md"), encoding="utf-8") as fh:
        note = " ".join(fh.read().split())
    quotes = re.findall(r"« ([^»]+) »", text)
    assert len(quotes) > 10
    for quote in quotes:  # it points at the note's own words
        assert quote in note, quote
    start = time.monotonic()
    c = Conn(env.fake.port)
    c.send("POST", path_of("openrouter"), body_of("openrouter", "fake/demo"),
           auth("openrouter"))
    c.head()
    for _ in range(12):
        c.next_chunk()
    assert time.monotonic() - start > 0.15, "paced at about 40 deltas/s"
    c.close()


def test_midstream_errors(env):
    def last(f, model):
        r = chat(env, f, model)
        assert r.status == 200 and r.complete and r.headers["connection"] == "close"
        return r.body

    b = last("openrouter", "fake/midstream-error?after=3")
    ch = chunks_of(b)[-1]
    assert ch["error"]["code"] == 429 and ch["error"]["message"] == "Rate limit exceeded"
    assert ch["choices"][0]["finish_reason"] == "error" and b"[DONE]" not in b
    assert stream_text("openrouter", b) == "1 2 3 "
    ch = chunks_of(last("openrouter", "fake/midstream-error?code=server_error"))[-1]
    assert ch["error"]["code"] == "server_error"
    for f in ("openai", "ollama", "mistral"):
        ch = chunks_of(last(f, "fake/midstream-error"))[-1]
        assert set(ch) == {"error"} and ch["error"]["message"], (f, ch)
    evs = sse(last("anthropic", "fake/midstream-error?after=2"))[0]
    assert evs[-1] == ("error", '{"type":"error","error":{"type":"overloaded_error",'
                                '"message":"Overloaded"}}'), evs[-1]
    assert "message_stop" not in [t for t, _ in evs]
    b = last("llamacpp", "fake/midstream-error")
    assert re.search(rb'\n\nerror: \{"code":500,"message":"[^"]+","type":"server_error"\}\n\n$',
                     b), b[-100:]
    b = last("llamacpp", "fake/midstream-error?style=data")
    assert chunks_of(b)[-1]["error"]["code"] == 500
    b = last("vllm", "fake/midstream-error")
    err = [c for c in chunks_of(b) if "error" in c][0]["error"]
    assert err["object"] == "error" and err["code"] == 400 and err["type"], err


def test_drop_and_no_finish(env):
    r = chat(env, "openrouter", "fake/drop?after=3")
    assert r.status == 200 and not r.complete
    assert stream_text("openrouter", r.body) == "1 2 3 "
    assert r.partial.startswith(b'data: {"id":"gen-') and b"4 " not in r.partial, r.partial
    c = Conn(env.fake.port)
    c.send("POST", path_of("openai"), body_of("openai", "fake/drop?rst=1"), auth("openai"))
    try:
        c.response()
        raise AssertionError("rst=1 must reset the connection")
    except ConnectionResetError:
        pass
    c.close()
    # An HTTP/1.0 client gets a body delimited by the connection's end, never chunked.
    s = socket.create_connection(("127.0.0.1", env.fake.port), timeout=10)
    body = json.dumps(body_of("openrouter", "fake/count?n=2")).encode()
    s.sendall(b"POST /openrouter/v1/chat/completions HTTP/1.0\r\nAuthorization: Bearer k\r\n"
              b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    raw = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        raw += d
    s.close()
    head, _, payload = raw.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding" not in head and b"Connection: close" in head, head
    assert stream_text("openrouter", payload) == "1 2 " and payload.endswith(b"[DONE]\n\n")
    r = chat(env, "anthropic", "fake/no-finish?after=4")
    assert r.complete and r.headers["connection"] == "close"
    names = [t for t, _ in sse(r.body)[0]]
    assert "message_stop" not in names and "message_delta" not in names
    assert stream_text("anthropic", r.body) == "1 2 3 4 "
    r = chat(env, "openai", "fake/no-finish", stream_options={"include_usage": True})
    chs = chunks_of(r.body)
    assert r.complete and b"[DONE]" not in r.body
    assert all(c["choices"][0]["finish_reason"] is None for c in chs)
    assert not any(c.get("usage") for c in chs)


def test_not_sse_and_non_streaming(env):
    r = chat(env, "openrouter", "fake/not-sse")
    assert r.status == 200 and r.headers["content-type"] == "application/json"
    assert not r.body.endswith(b"\n") and r.json()["choices"][0]["message"]["content"] == HELLO
    assert sse(r.body)[0] == []
    r = chat(env, "anthropic", "fake/not-sse")
    assert r.json()["content"][0]["text"] == HELLO
    r = chat(env, "openai", "fake/count?n=3", stream=False)
    d = r.json()
    assert d["object"] == "chat.completion" and d["choices"][0]["message"]["content"] == "1 2 3 "
    assert d["usage"]["completion_tokens"] == 3


def test_models_key_generation(env):
    c = Conn(env.fake.port)
    d = c.request("GET", "/openrouter/v1/models").json()
    by = {m["id"]: m for m in d["data"]}
    for mid in ("fake/hello", "fake/echo", "fake/priced", "fake/free", "fake/small-context",
                "anthropic/claude-sonnet-4", "openai/gpt-4o", "mistralai/mistral-medium-3"):
        assert mid in by, mid
    assert by["fake/priced"]["pricing"]["prompt"] == "0.000003"
    assert by["fake/priced"]["pricing"]["completion"] == "0.000015"
    assert by["fake/free"]["pricing"]["prompt"] == by["fake/free"]["pricing"]["completion"] == "0"
    assert by["fake/small-context"]["context_length"] == 2000
    d = c.request("GET", "/openai/v1/models", headers=auth("openai")).json()
    assert d["object"] == "list" and d["data"][0]["object"] == "model"
    assert "owned_by" in d["data"][0]
    assert c.request("GET", "/openai/v1/models").status == 401
    d = c.request("GET", "/anthropic/v1/models", headers=auth("anthropic")).json()
    assert d["has_more"] is False and d["data"][0]["type"] == "model"
    assert d["data"][0]["display_name"]
    d = c.request("GET", "/openrouter/v1/key", headers=auth("openrouter")).json()
    assert d == {"data": {"label": "sk-or-v1-abc...xyz", "limit": 10, "limit_remaining": 7.5,
                          "usage": 2.5, "usage_daily": 0.1, "usage_weekly": 0.6,
                          "usage_monthly": 2.5, "is_free_tier": False}}, d
    assert c.request("GET", "/openrouter/v1/key").status == 401
    r = c.request("POST", path_of("openrouter"), body_of("openrouter", "fake/count?n=7"),
                  auth("openrouter"))
    gen = r.headers["x-generation-id"]
    d = c.request("GET", "/openrouter/v1/generation?id=" + gen, headers=auth("openrouter")).json()
    assert d["data"]["id"] == gen and d["data"]["tokens_completion"] == 7
    assert d["data"]["tokens_prompt"] == PROMPT_TOKENS and d["data"]["cancelled"] is False
    assert abs(d["data"]["total_cost"] - (PROMPT_TOKENS * 3e-6 + 7 * 15e-6)) < 1e-12
    assert c.request("GET", "/openrouter/v1/generation?id=gen-nope",
                     headers=auth("openrouter")).status == 404
    chs = chunks_of(c.request("POST", path_of("openrouter"), body_of("openrouter", "fake/free"),
                              auth("openrouter")).body)
    assert chs[-1]["usage"]["cost"] == 0.0
    chs = chunks_of(c.request("POST", path_of("openrouter"),
                              body_of("openrouter", "fake/hello?cost=null"),
                              auth("openrouter")).body)
    assert chs[-1]["usage"]["cost"] is None
    c.close()


def test_activity(env):
    c = Conn(env.fake.port)
    assert c.request("GET", "/openrouter/v1/activity").status == 401
    r = c.request("GET", "/openrouter/v1/activity", headers=auth("openrouter"))
    assert r.status == 403, r.body
    assert r.json() == {"error": {"code": 403, "message": "Only management keys can fetch "
                                  "activity", "metadata": None}, "user_id": None}
    mgmt = {"Authorization": "Bearer mgmt-0123456789"}
    rows = c.request("GET", "/openrouter/v1/activity", headers=mgmt).json()["data"]
    today = int(time.time()) // 86400
    window = [time.strftime("%Y-%m-%d", time.gmtime((today - i) * 86400)) for i in range(1, 31)]
    days = [r["date"] for r in rows]
    assert set(days) <= set(window) and len(set(days)) >= 20, days  # most days have some use
    assert days == sorted(days, reverse=True)  # newest first
    keys = {"date", "model", "model_permaslug", "endpoint_id", "provider_name", "usage",
            "byok_usage_inference", "requests", "prompt_tokens", "completion_tokens",
            "reasoning_tokens"}
    prices = {"anthropic/claude-sonnet-4": (3e-6, 15e-6), "openai/gpt-4o": (2.5e-6, 10e-6),
              "mistralai/mistral-medium-3": (0.4e-6, 2e-6)}
    for r in rows:
        assert set(r) == keys, r
        assert r["requests"] > 0 and r["prompt_tokens"] >= 1500 * r["requests"], r
        pin, pout = prices[r["model"]]
        assert abs(r["usage"] - (r["prompt_tokens"] * pin + r["completion_tokens"] * pout)) < 1e-8
    # The same answer again (the numbers depend on the date only); one day; a bad day.
    assert c.request("GET", "/openrouter/v1/activity", headers=mgmt).json()["data"] == rows
    one = c.request("GET", "/openrouter/v1/activity?date=" + days[0], headers=mgmt).json()
    assert one["data"] == [r for r in rows if r["date"] == days[0]]
    today_s = time.strftime("%Y-%m-%d", time.gmtime(today * 86400))
    for bad in (today_s, "2020-01-01", "01-02-2026", "nope"):
        r = c.request("GET", "/openrouter/v1/activity?date=" + bad, headers=mgmt)
        assert r.status == 400 and r.json()["error"]["message"] == \
            "Invalid date format or date range", (bad, r.body)
    # Today's own answers are not reported yet (only completed days are).
    c.request("POST", path_of("openrouter"), body_of("openrouter", "fake/count?n=3"),
              auth("openrouter"))
    assert c.request("GET", "/openrouter/v1/activity", headers=mgmt).json()["data"] == rows
    c.close()


def test_sixty_four_concurrent_streams(env):
    port = env.fake.port
    results = [None] * 64

    def one(i):
        c = Conn(port)
        try:
            r = c.request("POST", path_of("openrouter"),
                          body_of("openrouter", "fake/count?n=10&gap_ms=50&i=%d" % i),
                          auth("openrouter"))
            results[i] = stream_text("openrouter", r.body)
        finally:
            c.close()
    start = time.monotonic()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == ["1 2 3 4 5 6 7 8 9 10 "] * 64, results
    assert time.monotonic() - start < 64 * 0.45, "the streams ran at the same time"


def test_sigterm_exits_promptly_with_open_connections(env):
    tmp = env.path("sig")
    os.makedirs(tmp)
    fake = harness.FakeProvider(tmp)
    try:
        c = Conn(fake.port)
        c.send("POST", path_of("openrouter"), body_of("openrouter", "fake/silence?secs=60"),
               auth("openrouter"))
        read_until(c, b'"3 "')
        idle = Conn(fake.port)
        start = time.monotonic()
        fake.proc.send_signal(signal.SIGTERM)
        assert fake.proc.wait(5) == 0
        assert time.monotonic() - start < 1.0
        c.close()
        idle.close()
    finally:
        fake.stop()
