"""`ami critique FILE --notes` and `--json`: the remarks anchored on the words, one per line as
FILE:LINE:COL: kind: comment (1-based line and byte column), the unanchored ones and the general
remarks on stderr; note events in --json (0-based, end exclusive); the notes kept in the
ledger and in its index; dismissed notes sent with the next critique; store_text = false."""
import json
import os
import shutil
import sqlite3

import harness

KEYS = {"OPENROUTER_API_KEY": "sk-or-v1-" + "ab12" * 16}
SAMPLE = os.path.join(harness.ROOT, "examples", "sample-note.md")


def critique(env, *extra, model="fake/notes", file="note.md"):
    """Runs from the test's directory, so FILE is printed as given: note.md."""
    return env.run(["critique", file, "--lines", "21-23", *extra, "--base-url",
                    env.fake.base(), "--model", model], env=KEYS, cwd=env.tmp)


def prepare(env):
    path = env.path("note.md")
    shutil.copy(SAMPLE, path)
    return path


def ledger(env):
    return os.path.join(env.env["XDG_STATE_HOME"], "ami", "ledger.sqlite3")


def rows(env, sql):
    db = sqlite3.connect("file:%s?mode=ro" % ledger(env), uri=True)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def test_notes_print_file_line_col_kind_comment(env):
    prepare(env)
    r = critique(env, "--notes")
    assert r.code == 0, r
    assert r.stdout.splitlines() == [
        "note.md:21:56: clarity: À quoi renvoie « ça » ? L'outil, ou l'habitude ?",
        "note.md:22:10: ambiguity: Quoi, exactement ? Un savoir-faire, ta voix ?",
        "note.md:22:33: question: Que perd-on avec le GPS ? Sans cette moitié, la comparaison "
        "reste ouverte.",
        "note.md:23:53: structure: Tu retires aussitôt ce que tu affirmes : conviction ou "
        "intuition ? En résumé : le paragraphe tient en une phrase ; où le lecteur "
        "respire-t-il ?",
    ], r.stdout
    assert "ami: remark: Je me concentre sur le paragraphe « Pourquoi ce choix »." in r.stderr
    # The column is a byte column: "Le problème, c'est que quand on laisse faire l'outil, " is
    # 55 bytes (è is two), so the words start at byte 56.
    line21 = open(SAMPLE, encoding="utf-8").read().split("\n")[20].encode()
    assert line21.index("ça finit".encode()) == 55


def test_unanchored_notes_and_remarks_go_to_stderr(env):
    prepare(env)
    r = critique(env, "--notes", model="fake/notes?set=deviations")
    assert r.code == 0, r
    out = r.stdout.splitlines()
    assert len(out) == 6, out
    assert not any("ce mot n'existe" in line for line in out)
    assert ('ami: note.md: words not found: argument: "ce mot n\'existe nulle part dans la '
            'note": Inventé.') in r.stderr
    assert "ami: remark: Une remarque sans mots cités. Pour finir, une remarque générale." in r.stderr
    assert "note.md:21:25: question: Faire quoi ?" in out


def test_json_note_events(env):
    prepare(env)
    r = critique(env, "--json")
    assert r.code == 0, r
    events = r.json_lines()
    notes = [e for e in events if e["type"] == "note"]
    assert len(notes) == 4
    first = notes[0]
    assert first == {
        "type": "note", "kind": "clarity", "quote": "ça finit par faire le travail à notre place",
        "comment": "À quoi renvoie « ça » ? L'outil, ou l'habitude ?", "anchor": "exact",
        "range": {"start": {"line": 20, "col": 55}, "end": {"line": 21, "col": 5}}}, first
    # The deltas still carry the whole answer.
    text = "".join(e["text"] for e in events if e["type"] == "delta")
    assert "## Note: clarity" in text and events[-1]["type"] == "done"


def test_json_unanchored_note_has_no_range(env):
    prepare(env)
    r = critique(env, "--json", model="fake/notes?set=deviations")
    notes = [e for e in r.json_lines() if e["type"] == "note"]
    invented = [n for n in notes if n["quote"].startswith("ce mot")]
    assert invented and invented[0]["anchor"] == "unanchored" and "range" not in invented[0]


def test_notes_are_kept_in_the_ledger_with_an_index(env):
    path = prepare(env)
    r = critique(env, "--notes")
    assert r.code == 0, r
    got = rows(env, "SELECT n.kind, n.state, n.anchor, n.line_start, n.col_start, n.request_id ="
                    " r.id, n.document FROM notes n JOIN requests r ON r.uid = n.request_uid"
                    " ORDER BY n.seq")
    assert [g[:5] for g in got] == [("clarity", "anchored", "exact", 20, 55),
                                    ("ambiguity", "anchored", "exact", 21, 9),
                                    ("question", "anchored", "exact", 21, 32),
                                    ("structure", "anchored", "exact", 22, 52)], got
    assert all(g[5] == 1 and g[6] == os.path.realpath(path) for g in got), got
    index = open(ledger(env) + ".notes").read()
    assert index == os.path.realpath(path) + "\n"
    assert oct(os.stat(ledger(env) + ".notes").st_mode & 0o777) == "0o600"
    turn = json.loads(rows(env, "SELECT turn FROM requests")[0][0])
    assert turn["kind"] == "critique" and turn["line_start"] == 21 and turn["line_end"] == 23


def test_dismissed_notes_go_with_the_next_critique(env):
    prepare(env)
    critique(env, "--notes")
    db = sqlite3.connect(ledger(env))
    db.execute("UPDATE notes SET state = 'dismissed' WHERE kind = 'question'")
    db.commit()
    db.close()
    r = critique(env, "--notes")
    assert r.code == 0, r
    user = [q for q in env.fake.requests() if q.get("method") == "POST"][-1]["body"]["messages"]
    user = user[-1]["content"]
    assert "I have already seen and set aside these remarks" in user
    assert '(question) on "un peu comme avec le GPS": Que perd-on avec le GPS ?' in user
    assert '"on perd quelque chose"' not in user


def test_store_text_false_keeps_no_note(env):
    prepare(env)
    env.config({"ledger": {"store_text": False}})
    r = critique(env, "--notes")
    assert r.code == 0 and len(r.stdout.splitlines()) == 4, r
    assert rows(env, "SELECT count(*) FROM notes") == [(0,)]


def test_notes_flag_is_only_for_critique(env):
    r = env.run(["ask", "--notes", "x"], env=KEYS)
    assert r.code == 2 and "unknown option --notes" in r.stderr, r
