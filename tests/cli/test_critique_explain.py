"""`ami critique FILE [--lines A-B] [QUESTION]` and `ami explain NAME [--file FILE]`: the exact
words sent (checked in the fake provider's request log, and echoed back by fake/echo), the
defaults, standard input, the errors that stop before sending (exit 2), --json and the exit
codes, the ledger's command and document columns, and a document larger than the context."""
import json
import os
import sqlite3

KEY = "sk-or-v1-" + "c417" * 16
KEYS = {"OPENROUTER_API_KEY": KEY}
ECHO = "fake/echo?size=1000"
DEFAULT_QUESTION = ("Is this passage clear and explicit? What could a reader misunderstand, and "
                    "how could its wording improve? Point at the specific words.")
NOTE = ("# Notes de lecture\n"
        "\n"
        "Le chapitre deux est plus clair que le premier.\n"
        "Mais le projet Zorglub y est cité sans être présenté.\n"
        "\n"
        "Il faudra relire la fin.\n")


def run(env, *args, model=ECHO, input=""):
    return env.run([*args, "--base-url", env.fake.base(), "--model", model], input=input,
                   env=KEYS)


def chats(env):
    return [q for q in env.fake.requests() if q.get("method") == "POST"]


def sent(env):
    """The last request's messages: (system, user)."""
    msgs = chats(env)[-1]["body"]["messages"]
    assert [m["role"] for m in msgs] == ["system", "user"], msgs
    return msgs[0]["content"], msgs[1]["content"]


def ledger_rows(env):
    path = os.path.join(env.env["XDG_STATE_HOME"], "ami", "ledger.sqlite3")
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute("SELECT * FROM requests ORDER BY id")]
    finally:
        db.close()


def critique_text(path, nlines, document, label, passage, question=DEFAULT_QUESTION):
    return ('Here is my whole document, for context ("%s", %d line%s):\n\n<document>\n%s\n'
            "</document>\n\nI am asking about this passage (%s):\n\n<passage>\n%s\n</passage>\n\n"
            "My question: %s" % (path, nlines, "" if nlines == 1 else "s", document, label,
                                 passage, question))


# ---------------------------------------------------------------------------- critique

def test_critique_lines_and_question(env):
    path = env.write("note.md", NOTE)
    r = run(env, "critique", path, "--lines", "3-4", "Est-ce", "clair ?")
    assert r.code == 0, r
    want = critique_text(path, 6, NOTE.rstrip("\n"), "lines 3–4",
                         "Le chapitre deux est plus clair que le premier.\n"
                         "Mais le projet Zorglub y est cité sans être présenté.",
                         "Est-ce clair ?")
    system, user = sent(env)
    assert user == want
    assert r.stdout == want + "\n"  # fake/echo says it back verbatim
    assert system.startswith("You are the writer's expert friend")
    assert system.endswith("\n\nAnswer in French.")  # the document's language
    assert "When the writer asks about a name" not in system
    assert r.stderr.startswith("ami: fake/echo-20250101 via openrouter · "), r
    (row,) = ledger_rows(env)
    assert (row["command"], row["document"], row["status"]) == (
        "critique", os.path.realpath(path), "ok")


def test_critique_whole_file_by_default(env):
    path = env.write("note.md", NOTE)
    r = run(env, "critique", path)
    assert r.code == 0, r
    assert sent(env)[1] == critique_text(path, 6, NOTE.rstrip("\n"), "lines 1–6",
                                         NOTE.rstrip("\n"))
    # The flags may come before the file, and one line is "line N".
    r = run(env, "critique", "--lines", "6", path)
    assert r.code == 0, r
    assert sent(env)[1] == critique_text(path, 6, NOTE.rstrip("\n"), "line 6",
                                         "Il faudra relire la fin.")


def test_critique_reads_standard_input(env):
    r = run(env, "critique", "-", "--lines", "2", "Why?", input="one\ntwo\nthree")
    assert r.code == 0, r
    assert sent(env)[1] == critique_text("standard input", 3, "one\ntwo\nthree", "line 2", "two",
                                         "Why?")
    (row,) = ledger_rows(env)
    assert row["document"] is None


def test_critique_range_running_past_the_end_stops_at_the_last_line(env):
    path = env.write("abc.md", "a\nb\nc\n")
    r = run(env, "critique", path, "--lines", "2-100")
    assert r.code == 0, r
    assert sent(env)[1] == critique_text(path, 3, "a\nb\nc", "lines 2–3", "b\nc")


def test_critique_lines_past_the_end_exit_2_before_sending(env):
    path = env.write("abc.md", "a\nb\nc\n")
    r = run(env, "critique", path, "--lines", "9-12")
    assert (r.code, r.stdout) == (2, ""), r
    assert r.stderr == "ami: the passage (lines 9-12) is past the end of the document (3 lines)\n"
    r = run(env, "critique", path, "--lines", "4", "--json")
    assert r.code == 2, r
    assert r.json_lines() == [{
        "type": "error", "kind": "input", "status": "error", "http_status": None,
        "message": "the passage (line 4) is past the end of the document (3 lines)",
        "partial": False}]
    for bad in ("x", "0", "5-3", "3-", "-2"):
        r = run(env, "critique", path, "--lines", bad)
        assert r.code == 2, (bad, r)
        assert r.stderr == "ami: --lines must be A-B with 1 <= A <= B (e.g. --lines 12-15)\n", \
            (bad, r)
    assert chats(env) == []


def test_critique_empty_or_missing_file_exit_2(env):
    msg = "ami: the document is empty: there is nothing to critique\n"
    for name, text in (("empty.md", ""), ("blank.md", "\n \n\t\n")):
        r = run(env, "critique", env.write(name, text))
        assert (r.code, r.stdout, r.stderr) == (2, "", msg), (name, r)
    r = run(env, "critique", "-", input="")
    assert (r.code, r.stderr) == (2, msg), r
    missing = env.path("nope.md")
    r = run(env, "critique", missing)
    assert (r.code, r.stderr) == (2, "ami: cannot read %s: No such file or directory\n"
                                  % missing), r
    r = run(env, "critique", env.tmp)  # a directory
    assert r.code == 2 and r.stderr.startswith("ami: cannot read %s" % env.tmp), r
    r = env.run(["critique"], input="")
    assert r.code == 2 and r.stderr.startswith("usage: ami critique FILE"), r
    assert chats(env) == []


def test_critique_json_and_exit_codes(env):
    path = env.write("note.md", NOTE)
    r = run(env, "critique", path, "--json", model="fake/hello")
    assert r.code == 0, r
    lines = r.json_lines()
    assert "".join(o["text"] for o in lines[:-1]) == "Hello, world! Ça va ? 👋"
    assert lines[-1]["type"] == "done" and lines[-1]["usage"]["completion_tokens"] == 6
    r = run(env, "critique", path, "--json", model="fake/http-error?status=404&times=-1")
    assert r.code == 3, r
    (err,) = r.json_lines()
    assert (err["kind"], err["http_status"], err["message"]) == (
        "http", 404, "openrouter refused the request (HTTP 404 Not Found): Not Found"), err
    r = run(env, "critique", path, model="fake/drop?after=2")
    assert (r.code, r.stdout) == (4, "1 2 \n"), r
    env.config({"budget": {"monthly_usd": 0}})
    r = run(env, "critique", path)
    assert r.code == 5 and r.stderr.startswith("ami: refused: this month's spending"), r
    assert [x["status"] for x in ledger_rows(env)] == ["ok", "error", "interrupted", "refused"]


def test_critique_shortens_a_document_larger_than_the_context(env):
    lines = ["# Titre", ""] + ["Ligne %d de la note, avec assez de mots pour peser quelques "
                               "jetons." % i for i in range(1, 700)]
    lines[300] = "## Milieu"
    path = env.write("long.md", "\n".join(lines) + "\n")  # 48 kB: the context length matters
    r = run(env, "critique", path, "--lines", "400-401", model="fake/small-context")
    assert r.code == 0, r
    assert [q["path"] for q in env.fake.requests()] == ["/openrouter/v1/models",
                                                        "/openrouter/v1/chat/completions"]
    assert r.stderr.startswith(
        "ami: The document is larger than the model's context (2000 tokens), so ami sent its "
        "headings and the text around the passage (about "), r
    user = sent(env)[1]
    # The headings, the passage whole, the lines around it, and markers where text was left.
    assert user.startswith('Here is my whole document, for context ("%s", 701 lines):\n\n'
                           "<document>\n# Titre\n[… lines 2–300 omitted …]\n## Milieu\n[… lines "
                           % path), user[:400]
    assert "\n%s\n%s\n" % (lines[399], lines[400]) in user.split("</document>")[0]
    assert "omitted …]\n</document>\n\nI am asking about this passage (lines 400–401):\n\n" \
           "<passage>\n%s\n%s\n</passage>" % (lines[399], lines[400]) in user
    assert len(user) < 4000, len(user)


# ---------------------------------------------------------------------------- explain

def test_explain_sends_the_paragraph_holding_the_name(env):
    path = env.write("note.md", NOTE)
    r = run(env, "explain", "Zorglub", "--file", path)
    assert r.code == 0, r
    want = ('What does the name "Zorglub" refer to, and where does it come from?\n\n'
            "I came across it here:\n\n<context>\n"
            "Le chapitre deux est plus clair que le premier.\n"
            "Mais le projet Zorglub y est cité sans être présenté.\n</context>")
    system, user = sent(env)
    assert user == want
    assert r.stdout == want + "\n"
    assert "When the writer asks about a name (a project, product, company, tool or person)" \
        in system
    (row,) = ledger_rows(env)
    assert (row["command"], row["status"]) == ("explain", "ok")


def test_explain_without_context(env):
    r = run(env, "explain", "Zorglub")
    assert r.code == 0, r
    plain = 'What does the name "Zorglub" refer to, and where does it come from?'
    assert sent(env)[1] == plain
    # A name the file does not hold: nothing from the file goes along.
    path = env.write("note.md", NOTE)
    r = run(env, "explain", "Marsupilami", "--file", path)
    assert r.code == 0, r
    assert sent(env)[1] == plain.replace("Zorglub", "Marsupilami")


def test_explain_errors_and_exit_codes(env):
    r = env.run(["explain"], input="")
    assert r.code == 2 and r.stderr.startswith("usage: ami explain NAME"), r
    missing = env.path("nope.md")
    r = run(env, "explain", "Zorglub", "--file", missing)
    assert (r.code, r.stderr) == (2, "ami: cannot read %s: No such file or directory\n"
                                  % missing), r
    r = env.run(["explain", "Zorglub", "--file"], input="")
    assert (r.code, r.stderr.splitlines()[0]) == (2, "ami: --file needs a value"), r
    assert chats(env) == []
    r = run(env, "explain", "Zorglub", "--json", model="fake/midstream-error?after=1")
    assert r.code == 3, r
    lines = r.json_lines()
    assert lines[0] == {"type": "delta", "text": "1 "}
    assert (lines[-1]["type"], lines[-1]["kind"], lines[-1]["partial"]) == (
        "error", "provider", True), lines
    r = run(env, "explain", "Zorglub", model="fake/no-finish?after=1")
    assert (r.code, r.stdout) == (4, "1 \n"), r
    r = run(env, "explain", "Zorglub", "--json", model="fake/text?text=Un%20h%C3%A9ros")
    assert r.code == 0, r
    lines = r.json_lines()
    assert "".join(o["text"] for o in lines[:-1]) == "Un héros"
    assert lines[-1]["type"] == "done" and lines[-1]["usage"]["completion_tokens"] == 2
    assert json.loads(r.stdout.splitlines()[-1])["model"] == "fake/text-20250101"
