"""`ami explore` (an idea from standard input or lines of a file: does it make sense, what
does it evoke) and `ami critique --preset NAME` (the config's question presets)."""
import harness

KEYS = {"OPENROUTER_API_KEY": "sk-or-v1-" + "5e7e" * 16}
ECHO = "fake/echo?size=1000"


def run(env, *args, input=""):
    return env.run([*args, "--base-url", env.fake.base(), "--model", ECHO], input=input, env=KEYS)


def last(env):
    msgs = [q for q in env.fake.requests() if q.get("method") == "POST"][-1]["body"]["messages"]
    return msgs[0]["content"], msgs[-1]["content"]


def test_explore_reads_the_idea_from_standard_input(env):
    r = run(env, "explore", input="La sérendipité dirigée.\n")
    assert r.code == 0, r
    system, user = last(env)
    assert "never invent a title, a quotation, a date or a reference" in system
    assert user == ("Here is an idea I am exploring, in my own words:\n\n<idea>\nLa sérendipité "
                    "dirigée.\n</idea>\n\nMy question: Does this idea make sense to you? What does "
                    "it evoke: which concepts, authors or works does it bring to mind, and why?")
    assert r.stdout.strip() == user  # fake/echo echoes the question


def test_explore_lines_of_a_file_with_a_question(env):
    path = env.write("idee.md", "Titre\n\nUne idée\nsur deux lignes.\n\nFin.\n")
    r = run(env, "explore", "--file", path, "--lines", "3-4", "Qui", "en", "a", "parlé ?")
    assert r.code == 0, r
    _, user = last(env)
    assert "<idea>\nUne idée\nsur deux lignes.\n</idea>\n\nMy question: Qui en a parlé ?" in user


def test_explore_without_an_idea_is_refused_before_sending(env):
    r = run(env, "explore", input="   \n")
    assert r.code == 2 and "there is no idea to explore" in r.stderr, r
    assert not [q for q in env.fake.requests() if q.get("method") == "POST"]


def test_critique_preset(env):
    path = env.write("note.md", "Une phrase.\n")
    r = run(env, "critique", path, "--preset", "reader")
    assert r.code == 0, r
    _, user = last(env)
    assert user.endswith("My question: How would a reader who does not know the subject read "
                         "this passage? Where would they get lost, and what would they need to "
                         "know first?")
    env.config({"questions": {"titre": "Le titre est-il juste ?"}})
    r = run(env, "critique", path, "--preset", "titre", "Et", "le", "sous-titre ?")
    assert r.code == 0, r
    assert last(env)[1].endswith("My question: Le titre est-il juste ? Et le sous-titre ?")


def test_unknown_preset_names_the_presets(env):
    path = env.write("note.md", "Une phrase.\n")
    r = run(env, "critique", path, "--preset", "nope")
    assert r.code == 2, r
    assert ('no question preset "nope" (the presets: clarity, reader, concision, argument, tone;'
            in r.stderr), r.stderr


def test_bad_presets_in_the_config_are_named(env):
    env.config({"questions": {"two words": "x"}})
    r = env.run(["config", "--check", env.env["AMI_CONFIG"]])
    assert r.code == 2 and "questions.two words: a preset's name is one word" in r.stderr, r
    env.config({"questions": {"clarity": 3}})
    r = env.run(["config", "--check", env.env["AMI_CONFIG"]])
    assert "questions.clarity must be a question (a string), not a number" in r.stderr, r
