"""The personal arena from the shell: `ami compare` (two models at once, --json events tagged by
side, the vote asked on a terminal), `ami vote`, and `ami arena` (the leaderboard, fitted to
the votes: known strengths recovered within their intervals, a one-sided record, filters)."""
import json
import math
import os
import pty
import random
import select
import sqlite3
import subprocess
import time

import harness

KEYS = {"OPENROUTER_API_KEY": "sk-or-v1-" + "a7e4" * 16}
SAMPLE = os.path.join(harness.ROOT, "examples", "sample-note.md")
MODELS = "fake/notes?tps=80,fake/essay?n=30&tps=300"


def ledger(env):
    return os.path.join(env.env["XDG_STATE_HOME"], "ami", "ledger.sqlite3")


def rows(env, sql):
    db = sqlite3.connect(ledger(env))
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def compare(env, *extra, extra_env=None):
    e = dict(KEYS)
    e.update(extra_env or {})
    return env.run(["compare", SAMPLE, "--lines", "21-23", "--models", MODELS, "--base-url",
                    env.fake.base(), *extra], env=e)


def test_compare_json_streams_both_sides_at_once(env):
    r = compare(env, "--json")
    assert r.code == 0, r
    events = r.json_lines()
    sides = [e["side"] for e in events if e["type"] == "delta"]
    assert set(sides) == {"a", "b"}
    # Interleaved: the two answers streamed at the same time, not one after the other.
    first_b = sides.index("b")
    assert "a" in sides[first_b:] or "b" in sides[:sides.index("a")], sides
    pair = events[-1]
    assert pair["type"] == "pair" and pair["pair"].startswith("p-") and pair["blind"] is True
    done = {e["side"]: e for e in events if e["type"] == "done"}
    assert set(done) == {"a", "b"} and done["a"]["usage"]["completion_tokens"] > 0
    assert [e for e in events if e["type"] == "note"], "the notes model's notes are events too"
    got = rows(env, "SELECT pair, model_a, model_b, result, swapped, command FROM votes")
    assert len(got) == 1 and got[0][0] == pair["pair"] and got[0][3] is None, got
    a, b = MODELS.split(",")
    assert (got[0][1], got[0][2]) == ((b, a) if got[0][4] else (a, b)), got
    assert (pair["a"]["model"], pair["b"]["model"]) == (got[0][1], got[0][2])
    # Both requests' rows are in the ledger; a pair never voted on counts for nothing.
    assert rows(env, "SELECT count(*) FROM requests") == [(2,)]
    r = env.run(["arena"])
    assert r.code == 0 and "no votes yet" in r.stdout, r


def test_the_order_of_the_sides_is_recorded(env):
    a, b = MODELS.split(",")
    for swap, want in (("0", (a, b)), ("1", (b, a))):
        r = compare(env, "--json", extra_env={"AMI_COMPARE_SWAP": swap})
        assert r.code == 0, r
        pair = r.json_lines()[-1]
        assert (pair["a"]["model"], pair["b"]["model"]) == want and pair["swapped"] == (swap == "1")
    assert rows(env, "SELECT swapped FROM votes ORDER BY id") == [(0,), (1,)]


def test_compare_asks_for_the_vote_on_a_terminal(env):
    full = dict(env.env)
    full.update(KEYS)
    master, slave = pty.openpty()
    p = subprocess.Popen([harness.AMI, "compare", SAMPLE, "--lines", "21-23", "--models", MODELS,
                          "--base-url", env.fake.base()], stdin=slave, stdout=slave, stderr=slave,
                         env=full, close_fds=True)
    os.close(slave)
    out = b""
    end = time.monotonic() + 30
    while b"Which answer helps you more?" not in out and time.monotonic() < end:
        r, _, _ = select.select([master], [], [], 0.2)
        if r:
            try:
                out += os.read(master, 65536)
            except OSError:
                break
    assert b"Which answer helps you more?" in out, out[-2000:]
    text = out.decode("utf-8", "replace")
    assert "(the models are hidden until you vote)" in text
    assert "cost hidden" in text and "fake/" not in text.split("Which answer")[0], text[-3000:]
    os.write(master, b"b\n")
    while p.poll() is None and time.monotonic() < end:
        r, _, _ = select.select([master], [], [], 0.2)
        if r:
            try:
                out += os.read(master, 65536)
            except OSError:
                break
    p.wait(10)
    os.close(master)
    text = out.decode("utf-8", "replace")
    assert p.returncode == 0, text[-2000:]
    assert "vote recorded (b)" in text
    assert "A: fake/" in text and "B: fake/" in text, "the names after the vote"
    assert rows(env, "SELECT result, language FROM votes") == [("b", "French")]


def test_vote_later_and_change_it(env):
    r = compare(env, "--json")
    pair = r.json_lines()[-1]["pair"]
    assert env.run(["vote", pair, "a"]).code == 0
    assert rows(env, "SELECT result FROM votes") == [("a",)]
    r = env.run(["vote", pair, "tie"])
    assert r.code == 0 and "vote recorded" in r.stderr, r
    assert rows(env, "SELECT result FROM votes") == [("tie",)]
    r = env.run(["vote", pair, "maybe"])
    assert r.code == 2 and 'the vote is a, b, tie or bad, not "maybe"' in r.stderr, r
    r = env.run(["vote", "p-nope", "a"])
    assert r.code == 2 and "there is no such pair to vote on" in r.stderr, r


def test_comparing_a_model_with_itself_is_refused(env):
    r = env.run(["compare", SAMPLE, "--models", "fake/hello,fake/hello", "--base-url",
                 env.fake.base()], env=KEYS)
    assert r.code == 2 and "says nothing: choose two different models" in r.stderr, r
    r = env.run(["compare", SAMPLE, "--models", "fake/hello", "--base-url", env.fake.base()],
                env=KEYS)
    assert r.code == 2 and "two model ids separated by a comma" in r.stderr, r


# ---- the leaderboard on votes written straight into the ledger ----------------------------------

def seed_votes(env, votes):
    """votes: [(model_a, model_b, result, command, language, created_unix)]."""
    assert env.run(["arena"]).code == 0  # creates the ledger
    db = sqlite3.connect(ledger(env))
    for i, (a, b, res, cmd, lang, t) in enumerate(votes):
        db.execute("INSERT INTO votes (pair, request_a, request_b, model_a, model_b, result, blind,"
                   " swapped, command, language, created_at, created_unix, voted_unix) VALUES"
                   " (?, ?, ?, ?, ?, ?, 1, 0, ?, ?, '', ?, ?)",
                   ("p-%d" % i, "ra-%d" % i, "rb-%d" % i, a, b, res, cmd, lang, t, t))
    db.commit()
    db.close()


def test_known_strengths_are_recovered_within_their_intervals(env):
    truth = {"m/strong": 1.0, "m/middle": 0.0, "m/weak": -1.0}
    rng = random.Random(20261201)
    names = sorted(truth)
    votes = []
    for _ in range(400):
        a, b = rng.sample(names, 2)
        p = 1 / (1 + math.exp(truth[b] - truth[a]))
        u = rng.random()
        res = "tie" if abs(u - p) < 0.05 else ("a" if u < p else "b")
        votes.append((a, b, res, "critique", "French", 1780000000))
    seed_votes(env, votes)
    r = env.run(["arena", "--json"])
    assert r.code == 0, r
    board = json.loads(r.stdout)
    assert board["votes"] == 400
    got = {m["model"]: m for m in board["models"]}
    assert [m["model"] for m in board["models"]] == ["m/strong", "m/middle", "m/weak"]
    for name, theta in truth.items():
        score = 1000 + 400 * theta / math.log(10)
        m = got[name]
        assert m["low"] <= score <= m["high"], (name, score, m)
        assert m["rank"] is not None and m["enough_votes"]
    r = env.run(["arena"])
    lines = r.stdout.splitlines()
    assert lines[0] == "ami arena: 400 votes on 3 models", lines[0]
    assert lines[3].split()[:2] == ["1", "m/strong"], lines


def test_a_model_that_always_wins_gets_a_finite_score_and_an_open_end(env):
    seed_votes(env, [("m/a", "m/b", "a", "critique", "English", 1780000000)] * 12)
    r = env.run(["arena", "--json"])
    assert r.code == 0, r
    board = json.loads(r.stdout)
    a = board["models"][0]
    assert a["model"] == "m/a" and math.isfinite(a["score"]) and a["score"] > 1000
    assert a["high"] is None and a["wins"] == 12 and a["losses"] == 0, a
    assert "∞)" in env.run(["arena"]).stdout


def test_filters_and_too_few_votes(env):
    seed_votes(env, [
        ("m/a", "m/b", "a", "critique", "French", 1767225600),  # 2026-01-01
        ("m/a", "m/b", "a", "critique", "French", 1767225600),
        ("m/a", "m/b", "b", "explain", "English", 1769904000),  # 2026-02-01
        ("m/a", "m/c", "bad", "critique", "English", 1772323200),  # 2026-03-01
    ])
    b = json.loads(env.run(["arena", "--json", "--command", "explain"]).stdout)
    assert b["votes"] == 1 and [m["model"] for m in b["models"]][0] == "m/b"
    b = json.loads(env.run(["arena", "--json", "--language", "fr"]).stdout)
    assert b["votes"] == 2
    b = json.loads(env.run(["arena", "--json", "--since", "2026-02"]).stdout)
    assert b["votes"] == 2
    c = [m for m in b["models"] if m["model"] == "m/c"][0]
    assert c["both_bad"] == 1 and c["enough_votes"] is False and c["rank"] is None
    text = env.run(["arena", "--since", "2026-02"]).stdout
    assert "(critique? no: since 2026-02)" not in text
    assert "ami arena: 2 votes on 3 models (since 2026-02)" in text, text
    assert "Not enough votes yet (fewer than 5), listed apart:" in text
    r = env.run(["arena", "--since", "2026"])
    assert r.code == 2 and "--since needs a month YYYY-MM" in r.stderr, r
    b = json.loads(env.run(["arena", "--json", "--min-votes", "1"]).stdout)
    assert all(m["enough_votes"] for m in b["models"])
