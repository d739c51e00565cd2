"""What leaves the machine, from the shell: OpenRouter is told what providers may keep
(privacy.data_collection, privacy.zdr) and other providers are not; its refusal comes with a
hint; a free model needs --allow-training when data collection is allowed; and the tokens and
cost of an error that arrives beside the usage are counted."""
import os
import sqlite3

KEYS = {"OPENROUTER_API_KEY": "sk-or-v1-" + "9b1c" * 16, "OPENAI_API_KEY": "sk-" + "x" * 40}


def ask(env, model, *extra, flavour="openrouter", provider=None, input=None):
    args = ["ask", "--base-url", env.fake.base(flavour), "--model", model, *extra, "Bonjour ?"]
    if provider:
        args[1:1] = ["--provider", provider]
    return env.run(args, env=KEYS, input=input)


def bodies(env):
    return [q["body"] for q in env.fake.requests() if q.get("method") == "POST"]


def test_openrouter_is_told_to_deny_data_collection_by_default(env):
    r = ask(env, "fake/hello")
    assert r.code == 0, r
    assert bodies(env)[-1]["provider"] == {"data_collection": "deny"}


def test_zdr_and_allow(env):
    env.config({"privacy": {"data_collection": "allow", "zdr": True}})
    assert ask(env, "fake/hello").code == 0
    assert bodies(env)[-1]["provider"] == {"zdr": True}
    env.config({"privacy": {"data_collection": "deny", "zdr": True}})
    assert ask(env, "fake/hello").code == 0
    assert bodies(env)[-1]["provider"] == {"data_collection": "deny", "zdr": True}
    env.config({"privacy": {"data_collection": "allow"}})
    assert ask(env, "fake/hello").code == 0
    assert "provider" not in bodies(env)[-1]


def test_other_providers_get_no_routing_field(env):
    r = ask(env, "fake/hello", flavour="openai", provider="openai")
    assert r.code == 0, r
    assert "provider" not in bodies(env)[-1]


def test_openrouter_refusal_under_the_policy_names_the_setting(env):
    r = ask(env, "fake/hello:free")
    assert r.code == 3, r
    assert "No endpoints found matching your data policy (Free model training)" in r.stderr
    assert 'privacy.data_collection = "deny"' in r.stderr and ":AmiModel" in r.stderr, r.stderr


def test_a_free_model_needs_allow_training_when_collection_is_allowed(env):
    env.config({"privacy": {"data_collection": "allow"}})
    r = ask(env, "fake/hello:free", input="")  # standard input is not a terminal
    assert r.code == 2, r
    assert "is a free model: its providers may keep and train on what you send" in r.stderr
    assert "--allow-training" in r.stderr
    assert bodies(env) == [], "nothing was sent"
    r = ask(env, "fake/hello:free", "--allow-training", input="")
    assert r.code == 0, r
    assert bodies(env)[-1]["model"] == "fake/hello:free"


def test_an_error_beside_the_usage_is_still_counted(env):
    r = env.run(["ask", "--json", "--base-url", env.fake.base(), "--model",
                 "fake/midstream-error?after=4&usage=1&code=400&message=Token%20limit%20reached",
                 "x"], env=KEYS)
    assert r.code == 3, r
    end = r.json_lines()[-1]
    assert end["type"] == "error" and "Token limit reached" in end["message"], end
    u = end["usage"]
    assert u["estimated"] is False and u["completion_tokens"] == 4, u
    assert u["cost_source"] == "reported" and u["cost_usd"] > 0, u
    db = sqlite3.connect(os.path.join(env.env["XDG_STATE_HOME"], "ami", "ledger.sqlite3"))
    row = db.execute("SELECT status, completion_tokens, cost_usd, cost_source FROM requests"
                     ).fetchone()
    db.close()
    assert row[0] == "error" and row[1] == 4 and abs(row[2] - u["cost_usd"]) < 1e-12, (row, u)
    assert row[3] == "reported", row
    assert " · 4 out · $" in r.stderr, r.stderr
