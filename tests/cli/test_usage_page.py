"""`ami usage --html FILE` and `--csv`: the page's numbers are the ledger's, it loads nothing
from anywhere, renders in headless Chromium (not blank, no console error), and the CSV reads
back to the ledger's rows exactly.

The page is rendered by Debian's `chromium` (scripts/deps.sh installs it at the test level):
one line says when it is missing, and with CI=true that is a failure.
"""
import csv
import html.parser
import io
import json
import os
import re
import shutil
import sqlite3
import struct
import subprocess
import time
import zlib

import harness

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-quic", "--enable-logging=stderr", "--v=0"]

COLUMNS = ("started_at", "started_unix", "ended_at", "ended_unix", "client", "command",
           "provider", "model_requested", "model_answered", "document", "thread",
           "prompt_tokens", "completion_tokens", "cost_usd", "cost_source", "co2e_g", "status",
           "error", "finish_reason", "ttft_ms", "duration_ms", "uid")


def run_bytes(env, *args):
    """ami's stdout as bytes (the harness reads text, which turns CRLF into LF)."""
    p = subprocess.run([harness.AMI, *args], capture_output=True, timeout=60,
                       env=dict(env.env, TZ="UTC0"))
    return p.returncode, p.stdout


def ledger_path(env):
    return os.path.join(env.env["XDG_STATE_HOME"], "ami", "ledger.sqlite3")


def months_back(n):
    """Noon UTC on the 10th, n months before this month."""
    t = time.gmtime()
    y, m = t.tm_year, t.tm_mon - n
    while m <= 0:
        y, m = y - 1, m + 12
    return y, m, int(time.mktime((y, m, 10, 12, 0, 0, 0, 0, 0)) - time.timezone)


def make_ledger(env, rows):
    path = ledger_path(env)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "wb").close()
    assert env.run(["usage", "--json"], env={"TZ": "UTC0"}).code == 0  # ami makes the schema
    db = sqlite3.connect(path)
    try:
        for r in rows:
            full = {c: None for c in COLUMNS}
            full.update({"started_at": "x", "client": "nvim", "command": "critique",
                         "provider": "openrouter", "cost_source": "reported", "status": "ok"})
            full.update(r)
            db.execute("INSERT INTO requests (%s) VALUES (%s)" % (
                ", ".join(COLUMNS), ", ".join("?" * len(COLUMNS))), [full[c] for c in COLUMNS])
        db.commit()
    finally:
        db.close()
    return path


def sample_rows():
    rows = []
    docs = ["/home/writer/notes/llm.md", "/home/writer/notes/<img src=x onerror=alert(1)>.md",
            "/home/writer/drafts/lettre, \"version 2\".md"]
    for k in range(8):
        _, _, t = months_back(k % 6)
        rows.append({"started_unix": t + k * 60, "model_requested": "anthropic/claude-sonnet-4",
                     "model_answered": "anthropic/claude-sonnet-4" if k % 3 else
                     "mistralai/mistral-medium-3 & co",
                     "document": docs[k % 3], "thread": "t%d" % (k // 2),
                     "prompt_tokens": 1000 + k * 250, "completion_tokens": 100 + k * 30,
                     "cost_usd": 0.0125 * (k + 1), "co2e_g": 0.5 + k / 10})
    _, _, t = months_back(0)
    rows.append({"started_unix": t, "model_requested": "fake/local", "prompt_tokens": 10,
                 "completion_tokens": 5, "cost_usd": 0.001, "cost_source": "estimated",
                 "co2e_g": 0.01, "document": docs[0]})
    rows.append({"started_unix": t + 5, "model_requested": "fake/unknown", "cost_usd": None,
                 "cost_source": "unknown", "status": "interrupted", "document": docs[1],
                 "error": "cut off, \"mid-word\"\nsecond line"})
    rows.append({"started_unix": t + 9, "model_requested": "fake/priced", "cost_usd": 0.5,
                 "cost_source": "estimated", "status": "refused"})
    return rows


def add_imports(env):
    """A Claude export (two threads this month) and one day of OpenRouter activity."""
    _, _, t = months_back(0)
    iso = lambda s: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(s))  # noqa: E731
    export = [{"uuid": "p-%d" % i, "name": "Chat %d" % i, "created_at": iso(t + i),
               "updated_at": iso(t + i + 60), "chat_messages": [
                   {"uuid": "h%d" % i, "sender": "human", "created_at": iso(t + i), "text": "?"},
                   {"uuid": "a%d" % i, "sender": "assistant", "created_at": iso(t + i + 9),
                    "text": "!"}]} for i in range(2)]
    r = env.run(["usage", "import", "claude", env.write("claude.json", json.dumps(export))],
                env={"TZ": "UTC0"})
    assert r.code == 0, r
    day = time.strftime("%Y-%m-%d", time.gmtime(t - 86400))
    activity = {"data": [{"date": day, "model": "openai/gpt-4o",
                          "model_permaslug": "openai/gpt-4o-2024-08-06", "endpoint_id": "e1",
                          "provider_name": "OpenAI", "usage": 0.25, "byok_usage_inference": 0,
                          "requests": 7, "prompt_tokens": 7000, "completion_tokens": 700,
                          "reasoning_tokens": 0}]}
    r = env.run(["usage", "import", "openrouter", env.write("act.json", json.dumps(activity))],
                env={"TZ": "UTC0"})
    assert r.code == 0, r
    return 0.25, 7


class Page(html.parser.HTMLParser):
    """Tags, attributes, the rows of each table (cells as (text, data-value))."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.tables = {}
        self.table = None
        self.row = None
        self.cell = None
        self.summary = []
        self.in_summary = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "table":
            self.table = self.tables.setdefault(a.get("id"), [])
        elif tag == "tr" and self.table is not None:
            self.row = {"attrs": a, "cells": []}
            self.table.append(self.row)
        elif tag in ("td", "th") and self.row is not None:
            self.cell = ["", a.get("data-value")]
        elif tag == "p" and a.get("id") == "summary":
            self.in_summary = True
        elif tag == "b" and self.in_summary:
            self.summary.append(a.get("data-value"))

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.row["cells"].append(tuple(self.cell))
            self.cell = None
        elif tag == "table":
            self.table = None
        elif tag == "p":
            self.in_summary = False

    def handle_data(self, data):
        if self.cell is not None:
            self.cell[0] += data


def parse_page(path):
    p = Page()
    with open(path, encoding="utf-8") as f:
        text = f.read()
    p.feed(text)
    return p, text


def rows_of(page, table):
    return [r for r in page.tables[table] if r["cells"] and r["cells"][0][1] is None and
            any(c[1] is not None for c in r["cells"])]


# ---- PNG, to look at the screenshot's pixels (the standard library has no image module) --------


def png_pixels(path):
    """(width, height, rows of (r, g, b)) of an 8-bit RGB or RGBA, non-interlaced PNG."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    assert depth == 8 and ctype in (2, 6) and interlace == 0, (depth, ctype, interlace)
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    prev = bytearray(stride)
    out = []
    for y in range(h):
        ft = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ft == 1:
                line[i] = (line[i] + a) & 255
            elif ft == 2:
                line[i] = (line[i] + b) & 255
            elif ft == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ft == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 255
        out.append([tuple(line[i:i + 3]) for i in range(0, stride, bpp)])
        prev = line
    return w, h, out


def chromium():
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe:
        return exe
    msg = "chromium is not installed (scripts/deps.sh test installs it): the page is not rendered"
    if os.environ.get("CI") == "true":
        raise AssertionError(msg + " (CI=true: it must be)")
    print("  " + msg)
    harness.skip(msg)


def run_chromium(env, exe, *args):
    profile = env.path("chromium-profile-%d" % len(os.listdir(env.tmp)))
    p = subprocess.run([exe, *CHROMIUM_FLAGS, "--user-data-dir=" + profile, *args],
                       capture_output=True, text=True, timeout=120, cwd=env.tmp)
    console = [ln for ln in p.stderr.splitlines() if ":CONSOLE" in ln]
    return p, console


# ---- the tests ---------------------------------------------------------------------------------


def test_usage_html_page_holds_the_ledgers_numbers(env):
    rows = sample_rows()
    path = make_ledger(env, rows)
    or_usd, or_requests = add_imports(env)
    out = env.path("usage.html")
    r = env.run(["usage", "--html", out], env={"TZ": "UTC0"})
    assert r.code == 0, r
    assert r.stdout.startswith("ami usage: wrote %s (" % out), r
    page, text = parse_page(out)

    # Self-contained: no script, nothing fetched, a policy that says so.
    assert not any(t == "script" for t, _ in page.tags)
    for tag, a in page.tags:
        for k in ("src", "href", "xlink:href"):
            assert k not in a or a[k].startswith("data:"), (tag, a)
    csp = [a for t, a in page.tags if t == "meta" and a.get("http-equiv") ==
           "Content-Security-Policy"]
    assert csp and "default-src 'none'" in csp[0]["content"], csp
    assert text.count("<svg") >= 3 and "url(" not in text and "@import" not in text
    # What came from the ledger is escaped; documents are named by their file name only.
    assert "<img src=x" not in text
    assert "&lt;img src=x onerror=alert(1)&gt;.md" in text
    assert "/home/writer" not in text
    assert "mistralai/mistral-medium-3 &amp; co" in text

    db = sqlite3.connect(path)
    sent = "status <> 'refused'"
    n_ami, usd_ami = db.execute("SELECT COUNT(*), TOTAL(CASE WHEN cost_source <> 'unknown' THEN"
                                " cost_usd END) FROM requests WHERE " + sent).fetchone()
    by_doc = {os.path.basename(d): (n, c) for d, n, c in db.execute(
        "SELECT document, COUNT(*), TOTAL(CASE WHEN cost_source <> 'unknown' THEN cost_usd END)"
        " FROM requests WHERE document IS NOT NULL AND " + sent + " GROUP BY document")}
    threads = db.execute("SELECT COUNT(DISTINCT conversation) FROM imported_messages").fetchone()
    db.close()

    # By source: ami's row is the ledger's, OpenRouter's the activity, Claude's the export.
    src = {r["attrs"].get("data-source"): r["cells"] for r in page.tables["by-source"]
           if r["attrs"].get("data-source")}
    assert float(src["ami"][2][1]) == n_ami
    assert abs(float(src["ami"][5][1]) - usd_ami) < 1e-9
    assert float(src["openrouter"][2][1]) == or_requests
    assert abs(float(src["openrouter"][5][1]) - or_usd) < 1e-9
    assert float(src["claude"][1][1]) == threads[0]
    assert src["claude"][5][1] == "unknown"  # no cost in a Claude export, never $0
    # The summary and the totals: every source, counted once.
    assert abs(float(page.summary[0]) - (usd_ami + or_usd)) < 1e-9, page.summary
    assert float(page.summary[2]) == n_ami + or_requests + 2
    total = page.tables["by-month"][-1]["cells"]
    assert total[0][0] == "total" and float(total[2][1]) == n_ami + or_requests + 2
    # Each document's requests and cost.
    docs = {r["cells"][0][0]: r["cells"] for r in page.tables["by-document"][1:]}
    assert set(docs) == set(by_doc), (docs.keys(), by_doc.keys())
    for name, (n, usd) in by_doc.items():
        assert float(docs[name][1][1]) == n, name
        assert abs(float(docs[name][4][1]) - usd) < 1e-9, name
    # The carbon estimate is there, as an estimate.
    assert "carbon-table" in page.tables and "~" in page.tables["carbon-table"][-1]["cells"][1][0]

    # In Chromium: not blank, the bars drawn, no console message, the numbers in the DOM.
    exe = chromium()
    shot = env.path("usage.png")
    p, console = run_chromium(env, exe, "--window-size=900,2600", "--screenshot=" + shot,
                              "file://" + out)
    assert p.returncode == 0 and os.path.exists(shot), p.stderr[-2000:]
    assert console == [], console
    w, h, px = png_pixels(shot)
    assert (w, h) == (900, 2600), (w, h)
    colours = {}
    for row in px[::4]:
        for c in row[::4]:
            colours[c] = colours.get(c, 0) + 1
    background = max(colours, key=colours.get)
    ink = sum(n for c, n in colours.items() if c != background)
    assert ink > 0.02 * sum(colours.values()), "the screenshot is (nearly) blank"
    fills = {(0x4e, 0x79, 0xa7), (0xf2, 0x8e, 0x2b), (0xe1, 0x57, 0x59), (0x76, 0xb7, 0xb2)}
    drawn = {c for c in colours if c in fills}
    assert len(drawn) >= 2, "the charts' bars are not on the screenshot: %r" % (
        sorted(colours.items(), key=lambda kv: -kv[1])[:12],)
    p, console = run_chromium(env, exe, "--dump-dom", "file://" + out)
    assert p.returncode == 0 and console == [], (console, p.stderr[-2000:])
    dom = Page()
    dom.feed(p.stdout)
    assert dom.summary == page.summary
    assert [r["cells"] for r in dom.tables["by-source"]] == \
        [r["cells"] for r in page.tables["by-source"]]


def test_chromium_reports_console_errors(env):
    """The check above would see a page that logs: a control, so that silence means something."""
    exe = chromium()
    bad = env.write("bad.html", "<!DOCTYPE html><html><head><meta http-equiv=\""
                    "Content-Security-Policy\" content=\"default-src 'none'\"></head><body>"
                    "<img src=\"http://127.0.0.1:9/x.png\"></body></html>")
    p, console = run_chromium(env, exe, "--dump-dom", "file://" + bad)
    assert p.returncode == 0, p.stderr[-2000:]
    assert console and "Content Security Policy" in console[0], p.stderr[-2000:]


def test_usage_html_in_french_and_without_a_ledger(env):
    env.config({"usage": {"locale": "fr"}, "budget": {"monthly_usd": 10}})
    out = env.path("vide.html")
    r = env.run(["usage", "--html", out], env={"TZ": "UTC0"})
    assert r.code == 0, r
    assert not os.path.exists(ledger_path(env))  # a page leaves no ledger behind
    page, text = parse_page(out)
    assert '<html lang="fr">' in text and "Mon usage des LLM" in text
    assert "0,00\u00a0$" in text
    make_ledger(env, sample_rows())
    r = env.run(["usage", "--html", out], env={"TZ": "UTC0"})
    assert r.code == 0, r
    page, text = parse_page(out)
    assert "Dépenses par mois" in text and "\u202f%" in text  # the gauge: "12 % de 10,00 $"
    # The text tables too: carbon with a decimal comma, like every other number.
    r = env.run(["usage"], env={"TZ": "UTC0"})
    assert r.code == 0, r
    assert re.search(r"~\d+,\d gCO₂e", r.stdout), r.stdout
    assert not re.search(r"\d\.\d+ k?gCO₂e", r.stdout), r.stdout
    # Bad arguments.
    for args in (["--html"], ["--html", ""], ["--json", "--csv"], ["--html", out, "--json"]):
        r = env.run(["usage", *args])
        assert r.code == 2 and r.stderr.startswith("ami usage: "), (args, r)
    r = env.run(["usage", "--html", env.path("no", "such", "dir", "u.html")])
    assert r.code == 1 and "cannot write" in r.stderr and "No such file" in r.stderr, r


def test_usage_csv_round_trip(env):
    rows = sample_rows()
    path = make_ledger(env, rows)
    code, out = run_bytes(env, "usage", "--csv")
    assert code == 0, out
    text = out.decode("utf-8")
    assert text.count("\r\n") == len(rows) + 1  # RFC 4180 line ends, one per record
    got = list(csv.reader(io.StringIO(text, newline="")))
    db = sqlite3.connect(path)
    want = db.execute("SELECT id, %s FROM requests ORDER BY id" % ", ".join(COLUMNS)).fetchall()
    db.close()
    assert got[0] == ["id", *COLUMNS]
    assert len(got) - 1 == len(want) == len(rows)
    for line, row in zip(got[1:], want):
        for field, value in zip(line, row):
            if value is None:
                assert field == "", (line, row)
            elif isinstance(value, float):
                assert float(field) == value, (field, value)  # exact, not rounded
            else:
                assert field == str(value), (field, value)
    # The quotes, commas and the newline came through as they are.
    assert any(ln[18] == "cut off, \"mid-word\"\nsecond line" for ln in got[1:])
    assert '"cut off, ""mid-word""\nsecond line"' in text
    # --month keeps that month's requests.
    y, m, _ = months_back(0)
    month = "%04d-%02d" % (y, m)
    code, out = run_bytes(env, "usage", "--csv", "--month", month)
    assert code == 0, out
    some = list(csv.reader(io.StringIO(out.decode("utf-8"), newline="")))
    expect = [w for w in want if time.strftime("%Y-%m", time.gmtime(w[2])) == month]
    assert [int(x[0]) for x in some[1:]] == [w[0] for w in expect]
    # Texts are never in the CSV.
    assert "prompt_text" not in got[0] and "answer_text" not in got[0]


def test_usage_csv_without_a_ledger(env):
    code, out = run_bytes(env, "usage", "--csv")
    assert code == 0, out
    assert out.startswith(b"id,started_at,") and out.endswith(b",uid\r\n") and \
        out.count(b"\r\n") == 1
    assert not os.path.exists(ledger_path(env))
