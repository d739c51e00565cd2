"""ami against a real llama.cpp server (llama-server from Debian sid, a tiny generated model):
the OpenAI-compatible path meeting a real server's HTTP and SSE code, not our fake.

Run by `tests/run.sh llama` (tests/cli/run.py --dir tests/llama), after tests/llama/prepare.sh.
"""
import json
import os
import signal
import sqlite3
import time

import harness
import llama

QUESTION = "Est-ce que cette phrase est claire ?"


def server(env, **kw):
    why = llama.configured()
    if why:
        harness.skip(why)
    s = llama.LlamaServer(env.tmp, **kw)
    env._procs.append(s.proc)
    return s


def configure(env, base, **extra):
    cfg = {"provider": "openai-compatible", "model": "tiny",
           "providers": {"openai-compatible": {"base_url": base}}, "temperature": 0}
    cfg.update(extra)
    env.config(cfg)


def ledger_rows(env):
    path = os.path.join(env.env["XDG_STATE_HOME"], "ami", "ledger.sqlite3")
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute("SELECT * FROM requests ORDER BY id")]
    finally:
        db.close()


def test_ask_streams_exactly_what_the_server_sent_with_its_token_counts(env):
    s = server(env)
    proxy = llama.RecordingProxy(s.port)
    try:
        configure(env, proxy.base)
        r = env.run(["ask", "--json", "--max-tokens", "60", QUESTION])
        assert r.code == 0, r
        events = r.json_lines()
        text = "".join(e["text"] for e in events if e["type"] == "delta")
        done = events[-1]
        chats = [x for x in proxy.exchanges if x["path"].endswith("/chat/completions")]
        assert len(chats) == 1, proxy.exchanges
        sent = json.loads(chats[0]["request"])
        raw_text, usage, finish = llama.stream_text(chats[0]["response"])
    finally:
        proxy.stop()
    # What the server streamed, decoded by the wire format's rules, is exactly what ami gave.
    assert text == raw_text and text, (text, raw_text)
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert sent["max_tokens"] == 60 and sent["temperature"] == 0
    assert done["type"] == "done" and done["finish_reason"] == finish == "length", done
    # The server's own token counts, not an estimate.
    assert usage, "the server sent no usage chunk"
    assert done["usage"]["prompt_tokens"] == usage["prompt_tokens"]
    assert done["usage"]["completion_tokens"] == usage["completion_tokens"] == 60
    # At temperature 0 the same request without streaming gives the same text.
    whole = llama.chat(s.port, sent)
    assert whole["choices"][0]["message"]["content"] == text
    rows = ledger_rows(env)
    assert rows[-1]["status"] == "ok" and rows[-1]["prompt_tokens"] == usage["prompt_tokens"]
    assert rows[-1]["answer_text"] == text


def test_critique_of_a_file_against_the_real_server(env):
    s = server(env)
    configure(env, s.base)
    doc = env.write("note.md", "# Une note\n\nÇa finit par faire une phrase longue.\n\nFin.\n")
    r = env.run(["critique", doc, "--lines", "3-3", "--max-tokens", "40"])
    assert r.code == 0, r
    assert r.stdout.strip(), r
    summary = [line for line in r.stderr.splitlines() if " in · " in line]
    assert summary, r.stderr
    # "ami: MODEL via openai-compatible · 123 in · 40 out · …": "~123" would be an estimate.
    counts = summary[0].split(" out")[0]
    assert "~" not in counts, "token counts come from the server: " + summary[0]


def test_cancel_closes_the_connection_and_frees_the_slot(env):
    s = server(env)
    configure(env, s.base)
    p = env.spawn(["ask", "--json", "--max-tokens", "3500", QUESTION])
    first = p.stdout.readline()
    assert json.loads(first)["type"] == "delta", first
    assert s.busy_slots(), "the server is generating"
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=10)
    assert p.returncode == 130, (p.returncode, err)
    # The server notices the closed connection and stops generating for it.
    harness.wait_for(lambda: not s.busy_slots(), timeout=5)
    assert "cancel task" in s.log_text() or "stop processing" in s.log_text()
    rows = ledger_rows(env)
    assert rows[-1]["status"] == "cancelled", rows[-1]


def test_four_answers_at_once_share_the_server(env):
    s = server(env, parallel=4)
    configure(env, s.base)
    procs = [env.spawn(["ask", "--json", "--max-tokens", "400", "%s (%d)" % (QUESTION, i)])
             for i in range(4)]
    seen_busy = 0
    while any(p.poll() is None for p in procs):
        try:
            seen_busy = max(seen_busy, len(s.busy_slots()))
        except OSError:
            pass
        time.sleep(0.01)
    texts = []
    for p in procs:
        out, err = p.communicate(timeout=30)
        assert p.returncode == 0, err
        events = [json.loads(line) for line in out.splitlines()]
        texts.append("".join(e["text"] for e in events if e["type"] == "delta"))
        end = events[-1]
        n = end["usage"]["completion_tokens"]
        assert (end["finish_reason"], n == 400) in (("length", True), ("stop", False)), end
    assert all(texts), texts
    assert seen_busy >= 2, "the answers ran at the same time (%d slots busy at most)" % seen_busy
    assert len(ledger_rows(env)) == 4


def test_the_server_stopped_mid_answer_keeps_the_partial_text(env):
    s = server(env)
    configure(env, s.base)
    p = env.spawn(["ask", "--json", "--max-tokens", "3500", QUESTION])
    first = json.loads(p.stdout.readline())
    assert first["type"] == "delta"
    s.kill()
    out, err = p.communicate(timeout=20)
    assert p.returncode == 4, (p.returncode, err)
    events = [first] + [json.loads(line) for line in out.decode().splitlines()]
    text = "".join(e["text"] for e in events if e["type"] == "delta")
    end = events[-1]
    assert end["type"] == "error" and end["status"] == "interrupted" and end["partial"], end
    rows = ledger_rows(env)
    assert rows[-1]["status"] == "interrupted" and rows[-1]["answer_text"] == text, rows[-1]
