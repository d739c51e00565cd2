"""`ami models`: OpenRouter's list with context lengths and prices per million tokens, --json,
the day-long cache (no network the second time), --refresh, other providers' lists, and
failures (which must end with a message and exit 3, never a crash)."""
import json
import os
import time

KEY = "sk-or-v1-" + "0dd5" * 16

# The fake provider's OpenRouter list: id, context length, USD per token in and out.
MODELS = [
    ("fake/hello", "Fake: Hello", 200000, "0.000003", "0.000015"),
    ("fake/echo", "Fake: Echo", 200000, "0.000003", "0.000015"),
    ("fake/priced", "Fake: Priced", 200000, "0.000003", "0.000015"),
    ("fake/free", "Fake: Free", 200000, "0", "0"),
    ("fake/small-context", "Fake: Small context", 2000, "0.000003", "0.000015"),
    ("fake/demo", "Fake: Demo", 200000, "0.000003", "0.000015"),
    ("fake/essay", "Fake: Essay", 200000, "0.000003", "0.000015"),
    ("anthropic/claude-sonnet-4", "Anthropic: Claude Sonnet 4", 200000, "0.000003",
     "0.000015"),
    ("openai/gpt-4o", "OpenAI: GPT-4o", 128000, "0.0000025", "0.00001"),
    ("mistralai/mistral-medium-3", "Mistral: Mistral Medium 3", 131072, "0.0000004",
     "0.000002"),
]
HEADER = "%-50s %9s %10s %10s" % ("model", "context", "$/M in", "$/M out")


def models(env, *args, flavour="openrouter", keys=None):
    return env.run(["models", "--base-url", env.fake.base(flavour), *args], input="",
                   env={"OPENROUTER_API_KEY": KEY} if keys is None else keys)


def gets(env):
    return [q for q in env.fake.requests() if q.get("method") == "GET"]


def cache_path(env, provider="openrouter"):
    return os.path.join(env.env["XDG_CACHE_HOME"], "ami", "models-%s.json" % provider)


def per_million(s):
    return round(float(s) * 1e6, 10)


def test_models_table_with_prices_per_million_and_context(env):
    r = models(env)
    assert r.code == 0 and r.stderr == "", r
    # A model that costs nothing (OpenRouter's :free variants) says so.
    want = [HEADER] + ["%-50s %9d %10.2f %10.2f%s" % (i, ctx, per_million(p), per_million(c),
                                                     "  free" if float(p) == float(c) == 0 else "")
                       for i, _, ctx, p, c in MODELS]
    assert r.stdout.splitlines() == want, r.stdout
    # Spot checks, so the table's meaning is plain: $3 and $15 per million, 2000 tokens.
    assert r.stdout.splitlines()[5].split() == ["fake/small-context", "2000", "3.00", "15.00"]
    assert r.stdout.splitlines()[10].split() == ["mistralai/mistral-medium-3", "131072",
                                                 "0.40", "2.00"]
    (q,) = gets(env)
    assert q["path"] == "/openrouter/v1/models"


def test_models_json(env):
    r = models(env, "--json")
    assert r.code == 0 and r.stderr == "", r
    assert len(r.stdout.splitlines()) == 1
    assert json.loads(r.stdout) == [
        {"id": i, "name": n, "context_length": ctx, "prompt_usd_per_mtok": per_million(p),
         "completion_usd_per_mtok": per_million(c), "free": float(p) == float(c) == 0}
        for i, n, ctx, p, c in MODELS]


def test_models_cached_for_a_day_and_refresh(env):
    first = models(env)
    assert first.code == 0, first
    assert len(gets(env)) == 1
    path = cache_path(env)
    assert os.path.isfile(path)
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    # The second time: the same table, from the cache, no request at all.
    for args in ((), ("--json",)):
        r = models(env, *args)
        assert r.code == 0, r
        assert len(gets(env)) == 1, gets(env)
    assert models(env).stdout == first.stdout
    # Even with the provider unreachable, the cached list answers.
    r = env.run(["models", "--base-url", "http://127.0.0.1:9/v1"], input="",
                env={"OPENROUTER_API_KEY": KEY})
    assert r.code == 0 and r.stdout == first.stdout, r
    # --refresh asks again, and rewrites the cache.
    before = os.stat(path).st_mtime_ns
    time.sleep(0.01)
    r = models(env, "--refresh")
    assert r.code == 0 and r.stdout == first.stdout, r
    assert len(gets(env)) == 2
    assert os.stat(path).st_mtime_ns > before
    # A cache older than a day is fetched again.
    old = time.time() - 25 * 3600
    os.utime(path, (old, old))
    r = models(env)
    assert r.code == 0 and r.stdout == first.stdout, r
    assert len(gets(env)) == 3


def test_models_corrupt_cache_is_fetched_again(env):
    path = cache_path(env)
    os.makedirs(os.path.dirname(path))
    with open(path, "w") as f:
        f.write("{ this is not json")
    r = models(env, "--json")
    assert r.code == 0 and len(json.loads(r.stdout)) == len(MODELS), r
    assert len(gets(env)) == 1
    with open(path) as f:
        assert json.load(f)["data"][0]["id"] == "fake/hello"  # replaced by the good list


def test_models_without_a_key_for_openrouter(env):
    # OpenRouter lists its models to anyone: no key, no Authorization, same table.
    r = models(env, keys={})
    assert r.code == 0 and r.stdout.splitlines()[0] == HEADER, r
    (q,) = gets(env)
    assert "authorization" not in q["headers"]


def test_models_of_other_providers(env):
    r = env.run(["models", "--provider", "openai", "--base-url", env.fake.base("openai")],
                input="", env={"OPENAI_API_KEY": "sk-proj-models-0001"})
    assert r.code == 0, r
    lines = r.stdout.splitlines()
    assert lines[0] == HEADER
    # No context length or price in OpenAI's list: "?" rather than a made-up number.
    assert lines[1:] == ["%-50s %9s %10s %10s" % (m[0], "?", "?", "?") for m in MODELS]
    assert gets(env)[-1]["headers"]["authorization"] == "Bearer sk-proj-models-0001"
    r = env.run(["models", "--json", "--provider", "anthropic", "--base-url",
                 env.fake.base("anthropic")], input="",
                env={"ANTHROPIC_API_KEY": "sk-ant-models-0002"})
    assert r.code == 0, r
    listed = json.loads(r.stdout)
    assert [m["id"] for m in listed] == [m[0] for m in MODELS]
    assert listed[0]["context_length"] is None and listed[0]["prompt_usd_per_mtok"] is None
    h = gets(env)[-1]["headers"]
    assert h["x-api-key"] == "sk-ant-models-0002" and h["anthropic-version"] == "2023-06-01"


def test_models_failures_exit_3_with_a_message(env):
    # A 401 (no key for OpenAI): the provider's own message, exit 3, and no crash.
    r = env.run(["models", "--provider", "openai", "--base-url", env.fake.base("openai")],
                input="", env={})
    assert r.code == 3 and r.stdout == "", r
    assert r.stderr.startswith("ami: openai answered HTTP 401 to GET models: You didn't provide "
                               "an API key."), r
    assert r.stderr.count("\n") == 1, r  # one line: nothing after it (no assertion failure)
    r = env.run(["models", "--provider", "anthropic", "--base-url", env.fake.base("anthropic")],
                input="", env={})
    assert (r.code, r.stderr) == (
        3, "ami: anthropic answered HTTP 401 to GET models: x-api-key header is required\n"), r
    # A closed port.
    r = env.run(["models", "--base-url", "http://127.0.0.1:9/v1"], input="", env={})
    assert (r.code, r.stdout) == (3, ""), r
    assert r.stderr == ("ami: cannot GET models from openrouter: could not connect to 127.0.0.1 "
                        "port 9: connection refused\n"), r
    assert not os.path.exists(cache_path(env))  # a failure caches nothing


def test_models_bad_arguments(env):
    r = env.run(["models", "--provider", "nope"], input="")
    assert r.code == 2 and r.stderr.startswith('ami: unknown provider "nope"'), r
    r = env.run(["models", "stray"], input="")
    assert r.code == 2 and r.stderr.startswith("usage: ami models"), r
    r = env.run(["models", "--help"], input="")
    assert r.code == 0 and r.stdout.startswith("usage: ami models") and "--refresh" in r.stdout
    env.config({"providers": {"openrouter": {"base_url": 7}}})
    r = env.run(["models"], input="")
    assert r.code == 2 and "providers.openrouter.base_url" in r.stderr, r
