"""`ami log` lists the requests the ledger recorded and `ami log show ID` prints exactly what
one of them sent: the URL, the header names with auth values <redacted> (the key never), the
JSON body as the fake provider received it, secrets already masked.  Older rows and rows
whose texts were not kept say why they have no body; the file is never created by a look."""
import json
import os
import sqlite3

KEY = "sk-or-v1-" + "5e2a" * 16
KEYS = {"OPENROUTER_API_KEY": KEY}
TOKEN = "ghp_" + "Lm9pVbR4tW7yN1cF6hJ3dS0gA5eQuIZq8xk2"
DOC = "Notes\n\nexport GITHUB_TOKEN=%s\nEst-ce explicite ?\n" % TOKEN


def ledger_path(env):
    return os.path.join(env.env["XDG_STATE_HOME"], "ami", "ledger.sqlite3")


def critique(env, question="Est-ce clair ?"):
    path = env.write("notes.md", DOC)
    r = env.run(["critique", path, "--base-url", env.fake.base(), "--model", "fake/hello",
                 question], env=KEYS)
    assert r.code == 0, r
    return path


def test_a_missing_ledger_is_not_created(env):
    r = env.run(["log"])
    assert r.code == 0, r
    assert "no request recorded" in r.stdout
    r = env.run(["log", "--json"])
    assert r.code == 0 and json.loads(r.stdout) == []
    r = env.run(["log", "show", "1"])
    assert r.code == 1 and "nothing was recorded yet" in r.stderr, r
    assert not os.path.exists(ledger_path(env))


def test_log_lists_the_newest_first_and_show_prints_what_was_sent(env):
    path = critique(env, "Première question ?")
    critique(env, "Deuxième question ?")
    r = env.run(["ask", "--base-url", env.fake.base(), "--model", "fake/hello", "Bonjour ?"],
                env=KEYS)
    assert r.code == 0, r
    r = env.run(["log"])
    assert r.code == 0, r
    lines = r.stdout.splitlines()
    assert lines[0].split()[:4] == ["ID", "WHEN", "COMMAND", "MODEL"], lines[0]
    assert [ln.split()[3] for ln in lines[1:]] == ["ask", "critique", "critique"], r.stdout
    assert [ln.split()[0] for ln in lines[1:]] == ["3", "2", "1"]
    assert "ok" in lines[1] and "$" in lines[1]
    rows = json.loads(env.run(["log", "--json", "-n", "2"]).stdout)
    assert [x["id"] for x in rows] == [3, 2] and rows[1]["command"] == "critique"
    assert rows[1]["document"] == os.path.realpath(path) and rows[1]["sent_kept"] is True
    only = json.loads(env.run(["log", "--json", "--document", path]).stdout)
    assert [x["id"] for x in only] == [2, 1]

    posts = [q for q in env.fake.requests() if q.get("method") == "POST"]
    r = env.run(["log", "show", "1"])
    assert r.code == 0, r
    out = r.stdout
    assert KEY not in out and TOKEN not in out
    assert "POST " + env.fake.base() in out, out
    assert "Authorization: <redacted>" in out
    assert "[secret: GitHub token]" in out
    body = out[out.index("\n{") + 1:]
    assert json.loads(body) == posts[0]["body"], "exactly the body the provider received"
    shown = json.loads(env.run(["log", "show", "2", "--json"]).stdout)
    assert shown["body"] == posts[1]["body"]
    assert "Authorization: <redacted>" in shown["headers"]
    assert shown["url"].startswith(env.fake.base())
    by_uid = json.loads(env.run(["log", "show", shown["uid"], "--json"]).stdout)
    assert by_uid["id"] == 2
    for r in (env.run(["log", "show", "99"]), env.run(["log", "show", "nope"])):
        assert r.code == 1 and "no request" in r.stderr and "ami log" in r.stderr, r
    db = sqlite3.connect(ledger_path(env))
    for (stored,) in db.execute("SELECT sent_headers || sent_body FROM requests"):
        assert KEY not in stored and TOKEN not in stored
    db.close()


def test_without_texts_the_body_is_not_kept_and_old_rows_say_why(env):
    env.config({"ledger": {"store_text": False}})
    critique(env)
    shown = json.loads(env.run(["log", "show", "1", "--json"]).stdout)
    assert shown["body"] is None and "store_text" in shown["missing"]
    assert shown["url"].startswith(env.fake.base())
    r = env.run(["log", "show", "1"])
    assert r.code == 0 and "(no body: the body is not kept: ledger.store_text is false" in r.stdout
    # A row written by an ami older than schema 6 has nothing of what was sent.
    db = sqlite3.connect(ledger_path(env))
    db.execute("UPDATE requests SET sent_url = NULL, sent_headers = NULL")
    db.commit()
    db.close()
    r = env.run(["log", "show", "1"])
    assert r.code == 0 and "recorded before ami kept what it sent" in r.stdout, r.stdout
    assert json.loads(env.run(["log", "--json"]).stdout)[0]["sent_kept"] is False


def test_bad_arguments(env):
    for args in (["log", "-n", "0"], ["log", "-n", "x"], ["log", "show"], ["log", "--nope"],
                 ["log", "show", "1", "2"]):
        r = env.run(args)
        assert r.code == 2, (args, r)
        assert r.stderr.startswith("ami log: "), r.stderr
