"""`ami usage import`: exports and OpenRouter's activity into the ledger, idempotently, in one
transaction each, with clear messages for bad files; the sources `ami usage` then shows, and
OpenRouter's activity net of ami's own requests (never counted twice).

The exports are the fixtures of tests/fixtures/import (written from the documented shapes,
nobody's data) or small ones written here; OpenRouter is tests/fake_provider.py's
GET /activity, with rows of our own (--activity) on days where the ledger has ami's requests.
"""
import calendar
import json
import os
import sqlite3
import time
import urllib.request

import harness

FIX = os.path.join(harness.ROOT, "tests", "fixtures", "import")
MGMT = "mgmt-" + "5a1t" * 12  # a management key, as the fake provider knows them
CET = "CET-1CEST,M3.5.0,M10.5.0/3"
NEW_YORK = "EST5EDT,M3.2.0,M11.1.0"


def fixture(name):
    return os.path.join(FIX, name)


def ledger_path(env):
    return os.path.join(env.env["XDG_STATE_HOME"], "ami", "ledger.sqlite3")


def query(env, sql, *args):
    db = sqlite3.connect(ledger_path(env))
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def counts(env):
    """What the imported tables hold: conversations, messages, activity rows."""
    return tuple(query(env, "SELECT COUNT(*) FROM %s" % t)[0][0]
                 for t in ("imported_conversations", "imported_messages", "imported_activity"))


def imp(env, source, *args, extra_env=None, tz="UTC0"):
    e = {"TZ": tz}
    e.update(extra_env or {})
    return env.run(["usage", "import", source, *args], env=e, timeout=300)


def imp_json(env, source, *args, **kw):
    r = imp(env, source, *args, "--json", **kw)
    assert r.code == 0, r
    return json.loads(r.stdout)


def report(env, month, tz="UTC0"):
    r = env.run(["usage", "--month", month, "--json"], env={"TZ": tz})
    assert r.code == 0, r
    return json.loads(r.stdout)


def month_of(j, month):
    return next(m for m in j["months"] if m["month"] == month)


# ---- the exports -------------------------------------------------------------------------------


def test_import_chatgpt_twice_adds_nothing(env):
    j = imp_json(env, "chatgpt", fixture("chatgpt_basic.json"))
    assert (j["items"], j["added"], j["updated"], j["unchanged"]) == (3, 3, 0, 0), j
    assert j["messages"] == 13
    before = counts(env)
    assert before == (3, 13, 0)
    ids_before = query(env, "SELECT id, external_id FROM imported_conversations ORDER BY id")
    j = imp_json(env, "chatgpt", fixture("chatgpt_basic.json"))
    assert (j["added"], j["updated"], j["unchanged"], j["messages"]) == (0, 0, 3, 0), j
    assert counts(env) == before
    assert query(env, "SELECT id, external_id FROM imported_conversations ORDER BY id") == \
        ids_before
    # Each run is logged; no text is ever stored (there is no column for it).
    assert query(env, "SELECT source, items, added, unchanged FROM imports ORDER BY id") == [
        ("chatgpt", 3, 3, 0), ("chatgpt", 3, 0, 3)]
    cols = [c[1] for c in query(env, "PRAGMA table_info(imported_messages)")]
    assert not any("text" in c or "content" in c for c in cols), cols
    # The text report says it in words.
    r = imp(env, "chatgpt", fixture("chatgpt_basic.json"))
    assert r.code == 0, r
    assert "3 conversations read: 0 new, 0 updated, 3 unchanged; 0 messages stored" in r.stdout


def test_import_a_newer_export_adds_only_what_is_new(env):
    imp_json(env, "chatgpt", fixture("chatgpt_basic.json"))
    a1 = "67243f00-aaaa-8000-9000-0000000000a1"
    (row_id, n_before), = query(env, "SELECT id, assistant_messages FROM imported_conversations"
                                     " WHERE external_id = ?", a1)
    j = imp_json(env, "chatgpt", fixture("chatgpt_newer.json"))
    assert (j["added"], j["updated"], j["unchanged"]) == (0, 1, 0), j
    (row_id2, n_after), = query(env, "SELECT id, assistant_messages FROM imported_conversations"
                                     " WHERE external_id = ?", a1)
    assert row_id2 == row_id  # updated in place, never a new row behind its messages
    assert n_after >= n_before
    msgs = query(env, "SELECT COUNT(*) FROM imported_messages WHERE conversation = ?", row_id)
    assert msgs[0][0] == j["messages"]
    assert counts(env)[0] == 3
    # The older export again: the newer copy is kept.
    j = imp_json(env, "chatgpt", fixture("chatgpt_basic.json"))
    assert (j["added"], j["updated"], j["older"], j["unchanged"]) == (0, 0, 1, 2), j
    assert query(env, "SELECT assistant_messages FROM imported_conversations"
                      " WHERE external_id = ?", a1)[0][0] == n_after


def test_import_duplicated_conversations(env):
    r = imp(env, "chatgpt", fixture("chatgpt_duplicates.json"))
    assert r.code == 0, r
    assert counts(env)[0] == 3  # three distinct conversations, each once
    assert r.stderr.count("warning:") == 2 and "was already used by conversation" in r.stderr, r


def test_import_claude_and_openwebui(env):
    j = imp_json(env, "claude", fixture("claude_basic.json"))
    assert (j["added"], j["items"]) == (3, 3), j
    j = imp_json(env, "openwebui", fixture("openwebui_both_layouts.json"))
    assert j["added"] == 1, j
    rep = report(env, "2024-12")
    june, nov = month_of(rep, "2024-06"), month_of(rep, "2024-11")
    claude = june["sources"]["claude"]
    assert claude["threads"] >= 1 and claude["answers"] >= 1, june
    # Claude's export has no tokens nor cost: unknown, never zero.
    assert claude["tokens_unknown"] == claude["answers"], claude
    assert claude["cost_unknown"] == claude["answers"], claude
    owui = nov["sources"]["openwebui"]
    assert owui["threads"] == 1, nov
    stored = query(env, "SELECT COUNT(*), SUM(prompt_tokens IS NOT NULL) FROM imported_messages"
                        " WHERE source = 'openwebui' AND role = 'assistant'")[0]
    assert owui["answers"] == stored[0]
    assert owui["tokens_unknown"] == stored[0] - stored[1]
    # The text report shows each source and the total apart.
    r = env.run(["usage", "--month", "2024-11"], env={"TZ": "UTC0"})
    assert r.code == 0, r
    assert "\nBy source, 2024-11\n" in r.stdout
    lines = r.stdout.split("\nBy source, 2024-11\n")[1].split("\n\n")[0].splitlines()
    names = [ln.split()[0] for ln in lines[1:]]
    assert names[0] == "ami" and names[-1] == "total" and "Open" in names, lines
    assert "Imported\n" in r.stdout and "Claude: 3 conversations" in r.stdout


def test_import_bad_files_import_nothing(env):
    imp_json(env, "claude", fixture("claude_basic.json"))
    before = counts(env)
    runs = query(env, "SELECT COUNT(*) FROM imports")[0][0]
    cases = [
        ("chatgpt", "chatgpt_truncated.json", "the file ends at byte"),
        ("claude", "claude_truncated.json", "was it cut short?"),
        ("chatgpt", "chatgpt_trailing_comma.json", "invalid JSON"),
        ("chatgpt", "foreign_html.html", "this is not a ChatGPT export"),
        ("claude", "foreign_zip.bin", "this is not a Claude export"),
        ("openwebui", "foreign_package.json", "this is not an Open WebUI export"),
        ("chatgpt", "foreign_numbers.json", "this is not a ChatGPT export"),
        ("chatgpt", "claude_basic.json", "Claude"),  # the wrong format is named
        ("claude", "empty.json", "the file is empty"),
        ("openrouter", "chatgpt_basic.json", "OpenRouter"),
    ]
    for source, name, words in cases:
        r = imp(env, source, fixture(name))
        assert r.code == 1, (name, r)
        assert r.stdout == "", (name, r)
        line = r.stderr.strip().splitlines()[-1]
        assert line.startswith("ami usage import %s: %s: " % (source, fixture(name))), (name, r)
        assert words in line, (name, words, line)
        assert line.endswith("(nothing was imported)"), line
        assert counts(env) == before, name
        assert query(env, "SELECT COUNT(*) FROM imports")[0][0] == runs, name
    # A missing file, a directory, an unknown source, no file.
    r = imp(env, "chatgpt", env.path("nowhere.json"))
    assert r.code == 1 and "cannot read %s: No such file" % env.path("nowhere.json") in r.stderr, r
    r = imp(env, "chatgpt", FIX)
    assert r.code == 1 and "it is a directory" in r.stderr, r
    r = imp(env, "gemini", fixture("chatgpt_basic.json"))
    assert r.code == 2 and "'gemini' is not a source ami imports" in r.stderr, r
    r = imp(env, "claude")
    assert r.code == 2 and "which file?" in r.stderr, r
    assert counts(env) == before


def test_import_creates_no_ledger_for_a_missing_file(env):
    r = imp(env, "chatgpt", env.path("nowhere.json"))
    assert r.code == 1, r
    assert not os.path.exists(ledger_path(env))


def test_import_is_refused_when_the_ledger_is_off(env):
    env.config({"ledger": {"enabled": False}})
    r = imp(env, "claude", fixture("claude_basic.json"))
    assert r.code == 2 and "ledger.enabled = false" in r.stderr, r


def test_import_times_are_utc_and_months_local(env):
    # 2024-12-31 23:30 UTC: January in Paris, December in UTC and New York.
    at = calendar.timegm((2024, 12, 31, 23, 30, 0))
    export = [{"uuid": "tz-1", "name": "Réveillon", "created_at": "2024-12-31T23:30:00Z",
               "updated_at": "2024-12-31T23:31:00Z", "chat_messages": [
                   {"uuid": "u", "sender": "human", "created_at": "2025-01-01T00:30:00+01:00",
                    "text": "Bonne année"},
                   {"uuid": "a", "sender": "assistant", "created_at": "2024-12-31T23:31:00Z",
                    "text": "À vous aussi"}]}]
    path = env.write("tz.json", json.dumps(export))
    imp_json(env, "claude", path, tz=CET)
    assert query(env, "SELECT MIN(at_unix), MAX(at_unix) FROM imported_messages") == \
        [(at, at + 60)]
    paris = report(env, "2025-01", tz=CET)
    assert month_of(paris, "2025-01")["sources"]["claude"]["threads"] == 1
    assert month_of(paris, "2024-12")["sources"]["claude"]["threads"] == 0
    for tz in ("UTC0", NEW_YORK):
        other = report(env, "2025-01", tz=tz)
        assert month_of(other, "2024-12")["sources"]["claude"]["threads"] == 1, tz
        assert month_of(other, "2025-01")["sources"]["claude"]["threads"] == 0, tz


# ---- OpenRouter --------------------------------------------------------------------------------


def day(offset):
    """The UTC day `offset` days before today, and noon of it."""
    t = (int(time.time()) // 86400 - offset) * 86400
    return time.strftime("%Y-%m-%d", time.gmtime(t)), t + 12 * 3600


AMI_COLUMNS = ("started_at", "started_unix", "client", "command", "provider", "model_requested",
               "model_answered", "thread", "prompt_tokens", "completion_tokens", "cost_usd",
               "cost_source", "status")


def add_ami_rows(env, rows):
    """ami's own requests (the ledger must exist)."""
    db = sqlite3.connect(ledger_path(env))
    try:
        for r in rows:
            full = {"started_at": "x", "client": "cli", "command": "ask",
                    "provider": "openrouter", "thread": None, "prompt_tokens": 100,
                    "completion_tokens": 10, "cost_source": "reported", "status": "ok"}
            full.update(r)
            db.execute("INSERT INTO requests (%s) VALUES (%s)" % (
                ", ".join(AMI_COLUMNS), ", ".join("?" * len(AMI_COLUMNS))),
                [full[c] for c in AMI_COLUMNS])
        db.commit()
    finally:
        db.close()


def activity_of(fake):
    req = urllib.request.Request(fake.base() + "/activity",
                                 headers={"Authorization": "Bearer " + MGMT})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)["data"]


def openrouter_env(env, extra_rows):
    path = env.write("activity.json", json.dumps(extra_rows))
    fake = harness.FakeProvider(env.tmp, "--activity", path)
    env._procs.append(fake.proc)
    env.config({"providers": {"openrouter": {"base_url": fake.base()}}})
    return fake


def test_import_openrouter_counts_ami_once(env):
    a, ta = day(3)
    b, tb = day(4)
    c, tc = day(5)
    today, tt = day(0)
    row = {"model": "fake/priced", "model_permaslug": "fake/priced-20250101",
           "endpoint_id": "ep-fake-priced", "provider_name": "Fake", "byok_usage_inference": 0,
           "reasoning_tokens": 0}
    extra = [dict(row, date=a, usage=0.05, requests=5, prompt_tokens=500, completion_tokens=50),
             dict(row, date=b, usage=0.03, requests=3, prompt_tokens=300, completion_tokens=30)]
    fake = openrouter_env(env, extra)
    # The ledger first (an empty import of nothing makes it), then ami's own requests.
    assert imp(env, "openrouter", fixture("openrouter_empty.json")).code == 0
    add_ami_rows(env, [
        # day a: 2 of the 5 were ami's (answered by the permaslug)
        {"started_unix": ta, "model_requested": "fake/priced",
         "model_answered": "fake/priced-20250101", "cost_usd": 0.01},
        {"started_unix": ta + 60, "model_requested": "fake/priced",
         "model_answered": "fake/priced-20250101", "cost_usd": 0.01},
        # day b: ami recorded 4, OpenRouter reports 3
        *[{"started_unix": tb + i, "model_requested": "fake/priced",
           "model_answered": "fake/priced-20250101", "cost_usd": 0.01} for i in range(4)],
        # day c: a model OpenRouter reports nothing of
        {"started_unix": tc, "model_requested": "fake/echo", "model_answered": "fake/echo-x",
         "cost_usd": 0.002},
        # today: OpenRouter has not reported it yet (no mismatch)
        {"started_unix": tt, "model_requested": "fake/priced",
         "model_answered": "fake/priced-20250101", "cost_usd": 0.01},
        # an error that came back without usage: billed nothing, compared with nothing
        {"started_unix": ta + 120, "model_requested": "fake/priced", "status": "error",
         "model_answered": None, "cost_usd": None, "prompt_tokens": None,
         "completion_tokens": None, "cost_source": "unknown"},
    ])
    r = imp(env, "openrouter", extra_env={"OPENROUTER_MANAGEMENT_KEY": MGMT})
    assert r.code == 0, r
    data = activity_of(fake)
    assert r.stdout.startswith("ami usage import openrouter: OpenRouter's activity: %d activity"
                               " rows read: %d new" % (len(data), len(data))), r
    assert "! %s fake/priced: ami recorded 4 requests ($0.04), OpenRouter reports 3 ($0.03)" % b \
        in r.stdout, r
    assert "! %s fake/echo-x: ami recorded 1 request" % c in r.stdout, r
    assert MGMT not in r.stdout + r.stderr
    # Through OpenRouter outside ami: everything OpenRouter reports, minus ami's own.
    expect_requests = sum(x["requests"] for x in data) - 2 - 3
    expect_usd = sum(x["usage"] for x in data) - 0.02 - 0.03
    months = sorted({x["date"][:7] for x in data} | {today[:7]})
    rep = report(env, months[-1])
    got = [month_of(rep, m)["sources"]["openrouter"] for m in months if m >= rep["months"][0]["month"]]
    assert sum(g["answers"] for g in got) == expect_requests, (got, expect_requests)
    assert abs(sum(g["cost_usd"] for g in got) - expect_usd) < 1e-6, (got, expect_usd)
    assert all(g["threads"] is None for g in got)  # OpenRouter has no threads
    # ami's own figures are untouched, and the total counts each request once.
    for m in months:
        mm = month_of(rep, m)
        s, t = mm["sources"], mm["total"]
        assert t["answers"] == sum(s[k]["answers"] for k in s), mm
        assert abs(t["cost_usd"] - sum(s[k]["cost_usd"] for k in s)) < 1e-9, mm
    ami_rows = query(env, "SELECT COUNT(*) FROM requests WHERE status <> 'refused'")[0][0]
    assert sum(month_of(rep, m)["sources"]["ami"]["answers"] for m in months) == ami_rows
    miss = {(x["day"], x["model"]): x for x in rep["mismatches"]}
    assert (miss[(b, "fake/priced")]["ami_requests"], miss[(b, "fake/priced")]
            ["openrouter_requests"]) == (4, 3)
    assert miss[(c, "fake/echo-x")]["openrouter_requests"] == 0
    assert not any(d == today for d, _ in miss), miss
    assert not any(d == a for d, _ in miss), miss
    assert rep["imports"]["openrouter"]["last_day"] == day(1)[0]
    assert rep["imports"]["openrouter"]["first_day"] <= day(30)[0]

    # Again: nothing new, nothing counted twice.
    before = counts(env)
    j = imp_json(env, "openrouter", extra_env={"OPENROUTER_MANAGEMENT_KEY": MGMT})
    assert (j["added"], j["updated"], j["unchanged"]) == (0, 0, len(data)), j
    assert counts(env) == before
    assert report(env, months[-1])["months"] == rep["months"]
    # The key is nowhere in the ledger.
    with open(ledger_path(env), "rb") as f:
        assert MGMT.encode() not in f.read()
    # The fake provider saw it as a bearer key, on GET /activity only.
    seen = [q for q in fake.requests() if MGMT in json.dumps(q["headers"])]
    assert seen and all(q["path"] == "/openrouter/v1/activity" for q in seen)
    fake.stop()


def test_import_openrouter_needs_a_management_key(env):
    fake = openrouter_env(env, [])
    r = imp(env, "openrouter")
    assert r.code == 2, r
    assert "needs a management key" in r.stderr and "OPENROUTER_MANAGEMENT_KEY" in r.stderr, r
    inference = "sk-or-v1-" + "ab" * 32
    r = imp(env, "openrouter", extra_env={"OPENROUTER_MANAGEMENT_KEY": inference})
    assert r.code == 3, r
    assert "HTTP 403" in r.stderr and "Only management keys can fetch activity" in r.stderr, r
    assert "a management key?" in r.stderr and inference not in r.stderr + r.stdout, r
    assert not os.path.exists(ledger_path(env))  # nothing fetched, nothing stored
    # A command that prints the key; one that fails.
    env.config({"providers": {"openrouter": {
        "base_url": fake.base(), "management_key_cmd": "printf '%s\\n' " + MGMT}}})
    j = imp_json(env, "openrouter")
    assert j["items"] > 0 and j["added"] == j["items"], j
    env.config({"providers": {"openrouter": {
        "base_url": fake.base(), "management_key_cmd": "echo 'the vault is locked' >&2; exit 4"}}})
    r = imp(env, "openrouter")
    assert r.code == 2, r
    assert "management_key_cmd for openrouter failed (exit status 4): the vault is locked" in \
        r.stderr, r
    fake.stop()


def test_import_openrouter_from_a_saved_answer(env):
    j = imp_json(env, "openrouter", fixture("openrouter_activity.json"))
    assert j["items"] >= 1 and j["file"].endswith("openrouter_activity.json"), j
    assert j["warnings"] >= 1 and j["warning_messages"], j  # the fixture's odd rows
    rows = query(env, "SELECT MIN(day), MAX(day) FROM imported_activity")[0]
    assert (j["first_day"], j["last_day"]) == rows
    j2 = imp_json(env, "openrouter", fixture("openrouter_activity.json"))
    assert j2["added"] == 0 and j2["unchanged"] == j2["items"], j2


# ---- a big export ------------------------------------------------------------------------------

BIG_MB = 200


def write_big_chatgpt(path, mib, prefix="conv"):
    """A ChatGPT-shaped export of about mib MiB: conversations of 20 messages, streamed out."""
    words = ("le chapitre tient mais la fin arrive trop vite \u2019 \"oui\" caf\u00e9 "
             "the rhythm slows in the middle \u2014 voil\u00e0 sc\u00e8ne dialogue ").split(" ")
    text = " ".join(words[i % len(words)] for i in range(180))
    n = 0
    size = 0
    base = 1735689600
    with open(path, "w", encoding="utf-8") as f:
        f.write("[")
        while size < mib * 1024 * 1024:
            mapping = {"root": {"id": "root", "parent": None, "children": ["m0"],
                                "message": None}}
            for k in range(20):
                role = "user" if k % 2 == 0 else "assistant"
                mapping["m%d" % k] = {
                    "id": "m%d" % k, "parent": "root" if k == 0 else "m%d" % (k - 1),
                    "children": ["m%d" % (k + 1)] if k < 19 else [],
                    "message": {"id": "msg-%d-%d" % (n, k), "author": {"role": role},
                                "create_time": base + n * 60 + k,
                                "content": {"content_type": "text", "parts": [text * 2]},
                                "metadata": {"model_slug": "gpt-4o"} if role == "assistant"
                                else {}}}
            conv = {"id": "%s-%09d" % (prefix, n), "title": "Conversation %d" % n,
                    "create_time": base + n * 60, "update_time": base + n * 60 + 30,
                    "mapping": mapping}
            s = ("," if n else "") + json.dumps(conv, ensure_ascii=False)
            f.write(s)
            size += len(s.encode("utf-8"))
            n += 1
        f.write("]")
    return n


def vm_hwm_kib(pid):
    """The process's own peak RSS (VmHWM) so far, or None once it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def run_measured(env, *args):
    """Runs ami; returns its exit status, stdout, stderr and its own peak RSS in MiB.

    The peak is /proc/PID/status's VmHWM, read every 10 ms until the process exits: it is
    the high-water mark of ami's own memory since its exec.  Not wait4()'s ru_maxrss, which
    starts from the forking parent's RSS (the signal struct outlives exec, and this runner's
    Python may be 100 MB by then), nor RUSAGE_CHILDREN, which mixes in other tests'."""
    import subprocess
    import threading
    p = subprocess.Popen([harness.AMI, *args], env=dict(env.env, TZ="UTC0"),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = [], []
    readers = [threading.Thread(target=lambda: out.append(p.stdout.read())),
               threading.Thread(target=lambda: err.append(p.stderr.read()))]
    for t in readers:
        t.start()
    peak = 0
    # A zombie keeps its /proc entry but not its memory: stop at the first read without VmHWM.
    while True:
        kib = vm_hwm_kib(p.pid)
        if kib is None:
            break
        peak = max(peak, kib)
        if p.poll() is not None:
            break
        time.sleep(0.01)
    p.wait()
    for t in readers:
        t.join()
    p.stdout.close()
    p.stderr.close()
    return p.returncode, out[0].decode(), err[0].decode(), peak / 1024


def test_import_a_200_mb_export_in_bounded_memory(env):
    if harness.SANITIZED:
        harness.skip("the memory of a sanitized build is not the program's")
    peaks = {}
    for mib in (20, BIG_MB):
        path = env.path("export-%d.json" % mib)
        n = write_big_chatgpt(path, mib, "c%d" % mib)
        assert os.path.getsize(path) >= mib * 1024 * 1024
        code, out, err, peaks[mib] = run_measured(env, "usage", "import", "chatgpt", path,
                                                  "--json")
        assert code == 0, err
        j = json.loads(out)
        assert j["added"] == n and j["messages"] == n * 20, j
        os.unlink(path)
    print("  peak RSS: %.1f MiB for a 20 MiB export, %.1f MiB for a %d MiB one"
          % (peaks[20], peaks[BIG_MB], BIG_MB))
    # Streamed: ten times the file, the same memory (a few MB for the reader and SQLite's
    # page cache, the program itself), never the file's size.
    assert peaks[BIG_MB] < 32, peaks
    assert peaks[BIG_MB] - peaks[20] < 4, peaks
