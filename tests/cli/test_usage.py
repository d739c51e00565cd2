"""`ami usage`: the ledger's totals as tables and JSON, the month filter, and the ledgers it
must report rather than read (missing, empty, corrupt).

Rows are written with Python's sqlite3 module using only the column names that doc/LEDGER.md
documents, into a ledger whose schema ami itself created (by running `ami usage` on an empty
file), so these tests also check that the documented schema is enough to write a ledger.
"""
import calendar
import json
import os
import sqlite3

# Central European time, with summer time, spelled so that no tzdata is needed.
CET = "CET-1CEST,M3.5.0,M10.5.0/3"

COLUMNS = ("started_at", "started_unix", "client", "command", "provider", "model_requested",
           "model_answered", "document", "thread", "prompt_tokens", "completion_tokens",
           "cost_usd", "cost_source", "co2e_g", "status")


def utc(y, mo, d, h=12, mi=0):
    return calendar.timegm((y, mo, d, h, mi, 0))


def row(when, model, thread, tin, tout, usd, source, co2, status="ok", document=None):
    return {"started_at": "(set by test)", "started_unix": when, "client": "cli",
            "command": "ask", "provider": "openrouter", "model_requested": model,
            "model_answered": model, "document": document, "thread": thread,
            "prompt_tokens": tin, "completion_tokens": tout, "cost_usd": usd,
            "cost_source": source, "co2e_g": co2, "status": status}


# March 2025 in CET: four sent requests (two threads, one of unknown cost), one refused.
# 2025-02-28 23:30 UTC is 2025-03-01 00:30 CET: March here, February in UTC.
ROWS = [
    row(utc(2025, 2, 28, 23, 30), "anthropic/claude-sonnet-4", "t1", 1000, 200, 0.5,
        "reported", 1.0),
    row(utc(2025, 3, 10), "anthropic/claude-sonnet-4", "t1", 2000, 300, 0.25, "estimated", 0.5),
    row(utc(2025, 3, 20), "mistral/mistral-large", "t2", 500, 50, None, "unknown", 0.3,
        status="interrupted"),
    row(utc(2025, 3, 25), "mistral/mistral-large", None, 100, 0, 0.12, "reported", None,
        status="error"),
    row(utc(2025, 3, 15), "anthropic/claude-sonnet-4", "t3", 9999, 0, 9.0, "estimated", 9.0,
        status="refused"),
    row(utc(2025, 2, 10), "openai/gpt-4o", "t0", 12345, 678, 2.0, "reported", 3.5),
    row(utc(2024, 12, 5), "openai/gpt-4o", "t9", 7, 3, 0.07, "reported", 0.1,
        status="cancelled"),
]


def ledger_path(env):
    return os.path.join(env.env["XDG_STATE_HOME"], "ami", "ledger.sqlite3")


def usage(env, *args, tz=CET):
    return env.run(["usage", *args], env={"TZ": tz})


def make_ledger(env, rows):
    """An ami-made ledger holding rows."""
    path = ledger_path(env)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "wb").close()
    r = usage(env, "--month", "2025-03", "--json")  # an empty file: ami creates the schema
    assert r.code == 0, r
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA user_version").fetchone()[0] >= 1
        for rw in rows:
            db.execute("INSERT INTO requests (%s) VALUES (%s)" % (
                ", ".join(COLUMNS), ", ".join("?" * len(COLUMNS))), [rw[c] for c in COLUMNS])
        db.commit()
    finally:
        db.close()
    return path


def tables(stdout):
    """The text from the "By month" table on (the charts come before it)."""
    at = stdout.find("\nBy month")
    assert at >= 0, stdout
    return stdout[at:]


def table_line(stdout, first):
    """The words of the table line whose first cell is `first`, in the tables."""
    for line in tables(stdout).splitlines():
        words = line.split()
        if words and words[0] == first:
            return words
    raise AssertionError("no line for %r in:\n%s" % (first, stdout))


def test_usage_json_totals(env):
    make_ledger(env, ROWS)
    r = usage(env, "--month", "2025-03", "--json")
    assert r.code == 0, r
    lines = r.stdout.splitlines()
    assert len(lines) == 1, r  # one object, one line
    j = json.loads(lines[0])
    assert j["month"] == "2025-03"
    assert j["requests"] == 4
    assert j["refused"] == 1
    assert j["threads"] == 2
    assert j["prompt_tokens"] == 3600
    assert j["completion_tokens"] == 550
    assert j["cost_usd"] == 0.87  # 0.5 + 0.25 + 0.12; the unknown one adds nothing
    assert j["estimated_cost_usd"] == 0.25
    assert j["unknown_cost_requests"] == 1
    assert j["co2e_g"] == 1.8
    models = {m["model"]: m for m in j["by_model"]}
    assert [m["model"] for m in j["by_model"]] == ["anthropic/claude-sonnet-4",
                                                     "mistral/mistral-large"]
    a = models["anthropic/claude-sonnet-4"]
    assert (a["requests"], a["prompt_tokens"], a["completion_tokens"]) == (2, 3000, 500)
    assert (a["cost_usd"], a["estimated_cost_usd"], a["co2e_g"]) == (0.75, 0.25, 1.5)
    m = models["mistral/mistral-large"]
    assert (m["requests"], m["cost_usd"], m["unknown_cost_requests"]) == (2, 0.12, 1)


def test_usage_text_tables(env):
    path = make_ledger(env, ROWS)
    r = usage(env, "--month", "2025-03")
    assert r.code == 0, r
    assert path in r.stdout
    # month, requests, threads, tokens in, tokens out, cost, estimated, unknown, carbon
    assert table_line(r.stdout, "2025-03") == ["2025-03", "4", "2", "3,600", "550", "~$0.87+?",
                                               "~$0.25", "1", "~1.8", "gCO₂e"]
    assert table_line(r.stdout, "2025-02") == ["2025-02", "1", "1", "12,345", "678", "$2.00",
                                               "-", "-", "~3.5", "gCO₂e"]
    assert table_line(r.stdout, "2024-12") == ["2024-12", "1", "1", "7", "3", "$0.070", "-",
                                               "-", "~0.1", "gCO₂e"]
    assert table_line(r.stdout, "anthropic/claude-sonnet-4") == [
        "anthropic/claude-sonnet-4", "2", "3,000", "500", "~$0.75", "~$0.25", "-", "~1.5",
        "gCO₂e"]
    assert table_line(r.stdout, "mistral/mistral-large") == [
        "mistral/mistral-large", "2", "600", "50", "$0.12+?", "-", "1", "~0.3", "gCO₂e"]
    assert "1 request was refused by the budget in 2025-03" in r.stdout
    # Newest month first, and the columns line up under their headers.
    out = tables(r.stdout)
    assert out.index("2025-03  ") < out.index("2025-02  ") < out.index("2024-12  ")
    header = next(ln for ln in out.splitlines() if ln.split()[:1] == ["month"])
    march = next(ln for ln in out.splitlines() if ln.split()[:1] == ["2025-03"])
    assert len(header.rstrip()) == len(march.rstrip().replace("₂", "2")), (header, march)
    assert header.index("tokens in") + len("tokens in") == march.index("3,600") + len("3,600")


def test_usage_month_filter(env):
    make_ledger(env, ROWS)
    r = usage(env, "--month=2025-02", "--json")
    assert r.code == 0, r
    j = json.loads(r.stdout)
    assert (j["month"], j["requests"], j["cost_usd"], j["prompt_tokens"]) == (
        "2025-02", 1, 2.0, 12345)
    assert [m["model"] for m in j["by_model"]] == ["openai/gpt-4o"]
    r = usage(env, "--month", "2025-02")
    assert r.code == 0, r
    words = [ln.split()[0] for ln in tables(r.stdout).splitlines() if ln.split()]
    assert "2025-02" in words and "2024-12" in words
    assert "2025-03" not in words  # later months are not shown
    # A month without rows: zeros, listed as such, exit 0.
    r = usage(env, "--month", "2025-01", "--json")
    assert r.code == 0, r
    j = json.loads(r.stdout)
    assert (j["requests"], j["cost_usd"], j["by_model"]) == (0, 0, [])
    r = usage(env, "--month", "2025-01")
    assert table_line(r.stdout, "2025-01")[1] == "0"
    assert "no requests this month" in r.stdout


def test_usage_month_is_local_time(env):
    make_ledger(env, ROWS)
    # The same instant is in March in Paris and in February in UTC.
    j = json.loads(usage(env, "--month", "2025-03", "--json", tz=CET).stdout)
    assert j["requests"] == 4
    j = json.loads(usage(env, "--month", "2025-03", "--json", tz="UTC0").stdout)
    assert j["requests"] == 3
    j = json.loads(usage(env, "--month", "2025-02", "--json", tz="UTC0").stdout)
    assert j["requests"] == 2


def test_usage_missing_ledger(env):
    path = ledger_path(env)
    r = usage(env)
    assert r.code == 0, r
    assert "No requests recorded yet" in r.stdout
    assert path in r.stdout
    r = usage(env, "--month", "2025-03", "--json")
    assert r.code == 0, r
    j = json.loads(r.stdout)
    report = {k: j.pop(k) for k in ("sources", "total", "months", "mismatches", "imports")}
    assert j == {"month": "2025-03", "requests": 0, "refused": 0, "threads": 0,
                 "prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0,
                 "estimated_cost_usd": 0, "unknown_cost_requests": 0, "co2e_g": 0,
                 "by_model": []}
    # The report's figures are there too, all zero: twelve months ending with March.
    assert [m["month"] for m in report["months"]][-1] == "2025-03"
    assert len(report["months"]) == 12
    assert report["total"]["answers"] == 0 and report["total"]["cost_usd"] == 0
    assert report["sources"]["openrouter"]["threads"] is None  # OpenRouter has no threads
    assert report["mismatches"] == []
    assert not os.path.exists(path)  # a report leaves no trace
    assert not os.path.exists(os.path.dirname(path))


def test_usage_empty_ledger(env):
    path = make_ledger(env, [])
    r = usage(env, "--month", "2025-03")
    assert r.code == 0, r
    assert table_line(r.stdout, "2025-03")[1:5] == ["0", "0", "0", "0"]
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"


def test_usage_corrupt_ledger(env):
    path = ledger_path(env)
    os.makedirs(os.path.dirname(path))
    junk = b"these are my notes, not a database\n" * 200
    with open(path, "wb") as f:
        f.write(junk)
    for args in ([], ["--json"]):
        r = usage(env, *args)
        assert r.code == 1, r
        assert r.stdout == ""
        assert "ami usage: ledger %s: file is not a database; move it aside" % path in r.stderr
    with open(path, "rb") as f:
        assert f.read() == junk  # untouched


def test_usage_ledger_is_a_directory(env):
    os.makedirs(ledger_path(env))
    r = usage(env)
    assert r.code == 1, r
    assert "is a directory" in r.stderr


def test_usage_ledger_path_from_config(env):
    custom = env.path("elsewhere", "my-ledger.db")
    env.config({"ledger": {"path": custom}})
    r = usage(env, "--month", "2025-03")
    assert r.code == 0 and custom in r.stdout and "No requests recorded yet" in r.stdout, r
    env.config({"ledger": {"path": custom, "enabled": False}})
    r = usage(env, "--month", "2025-03")
    assert r.code == 0, r
    assert "Recording is off" in r.stdout


def test_usage_bad_arguments(env):
    cases = [["--month", "2025-13"], ["--month", "March"], ["--month"], ["--bogus"],
             ["--month=25-03"]]
    for args in cases:
        r = usage(env, *args)
        assert r.code == 2, (args, r)
        assert r.stdout == "", (args, r)
        assert r.stderr.startswith("ami usage: "), (args, r)
    assert "YYYY-MM" in usage(env, "--month", "2025-13").stderr
    assert "unknown argument '--bogus'" in usage(env, "--bogus").stderr
    r = usage(env, "--help")
    assert r.code == 0 and "--month YYYY-MM" in r.stdout, r
    # A broken config file is a configuration error, named.
    env.config({"ledger": {"enabled": "yes"}})
    r = usage(env)
    assert r.code == 2 and "ledger.enabled" in r.stderr, r


def test_usage_shows_no_key(env):
    key = "sk-or-v1-" + "0123456789abcdef" * 4
    env.config({"providers": {"openrouter": {"api_key": key}}})
    make_ledger(env, ROWS)
    for args in (["--month", "2025-03"], ["--month", "2025-03", "--json"], []):
        r = env.run(["usage", *args], env={"TZ": CET, "OPENROUTER_API_KEY": key})
        assert r.code == 0, r
        for out in (r.stdout, r.stderr):
            assert key not in out
            assert "sk-or-" not in out
    with open(ledger_path(env), "rb") as f:
        assert key.encode() not in f.read()
