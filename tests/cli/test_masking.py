"""Secrets never leave, from the shell: every text of a request (the document, the question,
a --system prompt) is masked in the engine before anything is built; the provider receives
placeholders, consistently; the ledger keeps the masked text only; stderr says what and where;
allow patterns and mask = false; a bad allow pattern is named."""
import json
import os
import sqlite3

KEYS = {"OPENROUTER_API_KEY": "sk-or-v1-" + "7d3f" * 16}
TOKEN = "ghp_" + "Zq8xk2Lm9pVbR4tW7yN1cF6hJ3dS0gA5eQuI"
PASSWORD = "Zq8xk2Lm9pVb"
AWS = "AKIA" + "Q3ZRT7LKX2MN5PW8"
DOC = ("Notes de débogage\n\nexport GITHUB_TOKEN=%s\npassword = \"%s\"\n"
       "postgres://admin:%s@db.example.test/app\nPourquoi ça échoue ?\n" % (TOKEN, PASSWORD,
                                                                          PASSWORD))


def critique(env, *extra, system=None):
    path = env.write("debug.md", DOC)
    args = ["critique", path, "--base-url", env.fake.base(), "--model", "fake/echo?size=100000",
            *extra]
    if system:
        args += ["--system", system]
    return env.run(args + ["Et", TOKEN, "?"], env=KEYS), path


def sent(env):
    return "\n".join(json.dumps(q["body"], ensure_ascii=False) for q in env.fake.requests()
                     if q.get("method") == "POST")


def test_nothing_secret_reaches_the_provider_or_the_ledger(env):
    r, path = critique(env, system="Be brief. My key is " + AWS + ".")
    assert r.code == 0, r
    body = sent(env)
    for secret in (TOKEN, PASSWORD, AWS):
        assert secret not in body, secret
        assert secret not in r.stdout and secret not in r.stderr
    assert "export GITHUB_TOKEN=[secret: GitHub token]" in body
    assert "My question: Et [secret: GitHub token] ?" in body, "the same secret, the same placeholder"
    assert "postgres://admin:[secret: password]@db.example.test/app" in body
    assert 'password = \\"[secret: password]\\"' in body
    assert "[secret: AWS access key id]" in body
    assert ("ami: 5 secrets masked before sending (%s: line 3, GitHub token; line 4, password; "
            "line 5, password in URL), and 2 in the question or earlier turns" % path) in r.stderr, r.stderr
    db = sqlite3.connect(os.path.join(env.env["XDG_STATE_HOME"], "ami", "ledger.sqlite3"))
    stored = " ".join(str(x) for row in db.execute("SELECT * FROM requests") for x in row)
    db.close()
    for secret in (TOKEN, PASSWORD, AWS):
        assert secret not in stored, secret


def test_allow_patterns_and_mask_false(env):
    env.config({"secrets": {"allow": ["^Zq8xk2Lm9pVb$"]}})
    r, _ = critique(env)
    assert r.code == 0, r
    body = sent(env)
    assert PASSWORD in body and TOKEN not in body
    env.config({"secrets": {"mask": False}})
    r, _ = critique(env)
    assert r.code == 0 and "masked" not in r.stderr, r
    assert TOKEN in sent(env).split("\n")[-1]


def test_a_bad_allow_pattern_is_named_and_nothing_is_sent(env):
    env.config({"secrets": {"allow": ["ok", "("]}})
    r, _ = critique(env)
    assert r.code == 2, r
    assert "secrets.allow[2]" in r.stderr and "nothing was sent" not in r.stdout, r.stderr
    assert sent(env) == ""


def test_prose_is_left_alone(env):
    path = os.path.join(os.environ.get("AMI_ROOT", "."), "examples", "sample-note.md")
    r = env.run(["critique", path, "--base-url", env.fake.base(), "--model", "fake/hello"],
                env=KEYS)
    assert r.code == 0 and "masked" not in r.stderr, r
