/* Unit tests for prompt: the expert-friend persona, what each command sends, the language,
 * threads, and shortening a document that does not fit. */
#include "ami/prompt.h"
#include "check.h"

#include <stdlib.h>

static const char fr_doc[] =
    "# Mes notes\n"
    "\n"
    "J'utilise les LLM comme des amis experts et jamais comme des écrivains fantômes.\n"
    "Je partage le texte pour le contexte, puis je pose une question ciblée sur un passage.\n"
    "C'est pour cela que je ne demande jamais au modèle de rédiger à ma place.\n";

static void test_critique_sends_document_passage_and_question(void) {
    prompt_turn t = {PROMPT_CRITIQUE,
                     fr_doc,
                     sizeof fr_doc - 1,
                     "notes/llm.md",
                     3,
                     4,
                     "Est-ce explicite ?",
                     NULL,
                     NULL,
                     NULL,
                     NULL,
                     NULL};
    prompt_options o = {"auto", NULL, 0, 2048, 0, NULL, 0};
    prompt_result r;
    char err[256];
    CHECK_INT(prompt_build(&t, 1, &o, &r, err, sizeof err), 0);
    CHECK_INT(r.n_messages, 1);
    CHECK_STR(r.messages[0].role, "user");
    const char *u = r.messages[0].content;
    CHECK(strstr(u, "(\"notes/llm.md\", 5 lines)") != NULL);
    CHECK(strstr(u, "<document>\n# Mes notes\n") != NULL);
    CHECK(strstr(u, "C'est pour cela que je ne demande jamais au modèle de rédiger à ma place.\n"
                    "</document>") != NULL);
    CHECK(strstr(u, "(lines 3–4):\n\n<passage>\nJ'utilise les LLM") != NULL);
    CHECK(strstr(u, "question ciblée sur un passage.\n</passage>") != NULL);
    CHECK(strstr(u, "My question: Est-ce explicite ?") != NULL);
    /* The persona: comment and question, never rewrite. */
    CHECK(strstr(r.system, "expert friend") != NULL);
    CHECK(strstr(r.system, "Never rewrite the passage") != NULL);
    CHECK(strstr(r.system, "Answer in French.") != NULL);
    CHECK_STR(r.language, "French");
    CHECK(r.note == NULL);
    CHECK(r.prompt_tokens > 50);
    prompt_result_free(&r);
}

static void test_default_question_and_single_line(void) {
    prompt_turn t = {
        PROMPT_CRITIQUE, "One line only.", 14, NULL, 1, 1, NULL, NULL, NULL, NULL, NULL, NULL};
    prompt_options o = {"auto", NULL, 0, 0, 0, NULL, 0};
    prompt_result r;
    char err[256];
    CHECK_INT(prompt_build(&t, 1, &o, &r, err, sizeof err), 0);
    CHECK(strstr(r.messages[0].content, "(line 1):") != NULL);
    CHECK(strstr(r.messages[0].content, prompt_default_question()) != NULL);
    CHECK(strstr(r.messages[0].content, "(\"untitled\", 1 line)") != NULL);
    /* Too little text to tell the language: the writer's language. */
    CHECK(strstr(r.system, "Answer in the language the writer uses.") != NULL);
    prompt_result_free(&r);
}

static void test_language_setting_wins(void) {
    prompt_turn t = {
        PROMPT_CRITIQUE, fr_doc, sizeof fr_doc - 1, NULL, 1, 1, NULL, NULL, NULL, NULL, NULL, NULL};
    prompt_options o = {"English", NULL, 0, 0, 0, NULL, 0};
    prompt_result r;
    char err[256];
    CHECK_INT(prompt_build(&t, 1, &o, &r, err, sizeof err), 0);
    CHECK(strstr(r.system, "Answer in English.") != NULL);
    prompt_result_free(&r);
}

static void test_detect_language(void) {
    const char *en = "The tool I used before froze the editor while the answer was streaming, "
                     "and this is why I want it to be fast and not in the way.";
    const char *de = "Ich schreibe die erste Fassung selbst und frage dann, ob der Text klar ist "
                     "und wie die Formulierung besser sein könnte, aber nicht mehr.";
    CHECK_STR(prompt_detect_language(fr_doc, sizeof fr_doc - 1), "French");
    CHECK_STR(prompt_detect_language(en, strlen(en)), "English");
    CHECK_STR(prompt_detect_language(de, strlen(de)), "German");
    CHECK(prompt_detect_language("Neovim ami", 10) == NULL);
    CHECK(prompt_detect_language("", 0) == NULL);
}

static void test_errors(void) {
    prompt_options o = {"auto", NULL, 0, 0, 0, NULL, 0};
    prompt_result r;
    char err[256];
    prompt_turn empty = {PROMPT_CRITIQUE, "", 0, NULL, 1, 1, NULL, NULL, NULL, NULL, NULL, NULL};
    CHECK_INT(prompt_build(&empty, 1, &o, &r, err, sizeof err), -1);
    CHECK_STR(err, "the document is empty: there is nothing to critique");
    prompt_turn past = {
        PROMPT_CRITIQUE, "a\nb\n", 4, NULL, 5, 9, NULL, NULL, NULL, NULL, NULL, NULL};
    CHECK_INT(prompt_build(&past, 1, &o, &r, err, sizeof err), -1);
    CHECK_STR(err, "the passage (lines 5-9) is past the end of the document (2 lines)");
    prompt_turn backwards = {
        PROMPT_CRITIQUE, "a\nb\n", 4, NULL, 2, 1, NULL, NULL, NULL, NULL, NULL, NULL};
    CHECK_INT(prompt_build(&backwards, 1, &o, &r, err, sizeof err), -1);
    prompt_turn noname = {PROMPT_EXPLAIN, NULL, 0, NULL, 0, 0, NULL, "", NULL, NULL, NULL, NULL};
    CHECK_INT(prompt_build(&noname, 1, &o, &r, err, sizeof err), -1);
    CHECK_STR(err, "no name to explain");
    prompt_turn noq = {PROMPT_ASK, NULL, 0, NULL, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL};
    CHECK_INT(prompt_build(&noq, 1, &o, &r, err, sizeof err), -1);
    CHECK_INT(prompt_build(NULL, 0, &o, &r, err, sizeof err), -1);
}

static void test_passage_past_end_is_clamped(void) {
    /* A selection that runs past the last line keeps what exists. */
    prompt_turn t = {
        PROMPT_CRITIQUE, "a\nb\nc\n", 6, NULL, 2, 40, NULL, NULL, NULL, NULL, NULL, NULL};
    prompt_options o = {"auto", NULL, 0, 0, 0, NULL, 0};
    prompt_result r;
    char err[256];
    CHECK_INT(prompt_build(&t, 1, &o, &r, err, sizeof err), 0);
    CHECK(strstr(r.messages[0].content, "<passage>\nb\nc\n</passage>") != NULL);
    prompt_result_free(&r);
}

static void test_explain(void) {
    const char *para = "I switched from avante.nvim to something lighter.";
    prompt_turn t = {PROMPT_EXPLAIN, para,          strlen(para), NULL, 0,    0,
                     NULL,           "avante.nvim", NULL,         NULL, NULL, NULL};
    prompt_options o = {"auto", NULL, 0, 0, 0, NULL, 0};
    prompt_result r;
    char err[256];
    CHECK_INT(prompt_build(&t, 1, &o, &r, err, sizeof err), 0);
    CHECK(strstr(r.messages[0].content,
                 "What does the name \"avante.nvim\" refer to, and where does it come from?") !=
          NULL);
    CHECK(strstr(r.messages[0].content, "<context>\nI switched from avante.nvim") != NULL);
    CHECK(strstr(r.system, "etymology") != NULL);
    CHECK(strstr(r.system, "say plainly when you are not sure") != NULL);
    prompt_result_free(&r);
}

static void test_thread_carries_earlier_turns(void) {
    prompt_turn turns[3] = {
        {PROMPT_CRITIQUE, fr_doc, sizeof fr_doc - 1, "n.md", 3, 3, NULL, NULL,
         "Le mot « fantômes » est clair.", NULL, NULL, NULL},
        {PROMPT_ASK, NULL, 0, NULL, 0, 0, "Et la deuxième phrase ?", NULL, "Elle est longue.", NULL,
         NULL, NULL},
        {PROMPT_CRITIQUE, fr_doc, sizeof fr_doc - 1, "n.md", 5, 5, NULL, NULL, NULL, NULL, NULL,
         NULL},
    };
    prompt_options o = {"auto", NULL, 0, 0, 0, NULL, 0};
    prompt_result r;
    char err[256];
    CHECK_INT(prompt_build(turns, 3, &o, &r, err, sizeof err), 0);
    CHECK_INT(r.n_messages, 5);
    CHECK_STR(r.messages[0].role, "user");
    CHECK_STR(r.messages[1].role, "assistant");
    CHECK_STR(r.messages[1].content, "Le mot « fantômes » est clair.");
    CHECK_STR(r.messages[2].content, "Et la deuxième phrase ?");
    CHECK_STR(r.messages[3].content, "Elle est longue.");
    /* The same document is not sent twice. */
    CHECK(strstr(r.messages[4].content, "<document>") == NULL);
    CHECK(strstr(r.messages[4].content, "is unchanged since I last sent it") != NULL);
    CHECK(strstr(r.messages[4].content, "(line 5):") != NULL);
    prompt_result_free(&r);
}

static void test_shortening_keeps_passage_headings_and_surroundings(void) {
    /* 2000 lines of ~60 bytes (~30k tokens estimated), headings every 100 lines. */
    char *doc = malloc(2000 * 80);
    size_t n = 0;
    for (int i = 1; i <= 2000; i++) {
        if (i % 100 == 1)
            n += (size_t)sprintf(doc + n, "## Section %d\n", i / 100 + 1);
        else
            n += (size_t)sprintf(doc + n, "Line %d of the body, with some words to weigh it.\n", i);
    }
    prompt_turn t = {
        PROMPT_CRITIQUE, doc, n, "big.md", 1000, 1002, NULL, NULL, NULL, NULL, NULL, NULL};
    prompt_options o = {"auto", NULL, 8000, 1000, 0, NULL, 0};
    prompt_result r;
    char err[256];
    CHECK_INT(prompt_build(&t, 1, &o, &r, err, sizeof err), 0);
    const char *u = r.messages[0].content;
    CHECK(r.note != NULL);
    CHECK(strstr(r.note, "larger than the model's context (8000 tokens)") != NULL);
    CHECK(r.prompt_tokens < 8000);
    CHECK(strstr(u, "Line 1000 of the body") != NULL);
    CHECK(strstr(u, "Line 1002 of the body") != NULL);
    CHECK(strstr(u, "Line 990 of the body") != NULL);  /* just before */
    CHECK(strstr(u, "Line 1010 of the body") != NULL); /* just after */
    CHECK(strstr(u, "## Section 1\n") != NULL);        /* headings kept */
    CHECK(strstr(u, "## Section 20\n") != NULL);
    CHECK(strstr(u, "Line 10 of the body") == NULL); /* far away: dropped */
    CHECK(strstr(u, "lines 2–100 omitted") != NULL);
    /* The passage itself is always whole. */
    CHECK(strstr(u, "<passage>\nLine 1000 of the body, with some words to weigh it.\n## Section "
                    "11\nLine 1002 of the body, with some words to weigh it.\n</passage>") != NULL);
    prompt_result_free(&r);
    /* Enough context: nothing dropped. */
    prompt_options big = {"auto", NULL, 200000, 1000, 0, NULL, 0};
    CHECK_INT(prompt_build(&t, 1, &big, &r, err, sizeof err), 0);
    CHECK(r.note == NULL);
    CHECK(strstr(r.messages[0].content, "Line 10 of the body") != NULL);
    prompt_result_free(&r);
    free(doc);
}

/* A line longer than the whole budget, right after the passage, gives what fits and is marked
 * as cut; the lines before the passage still come. */
static void test_shortening_cuts_a_line_too_long_for_the_budget(void) {
    size_t big = 400000;
    char *doc = malloc(big + 200);
    size_t n = (size_t)sprintf(doc, "intro line\nthe passage\n");
    memset(doc + n, 'w', big);
    n += big;
    n += (size_t)sprintf(doc + n, "\nafter the long line\n");
    prompt_turn t = {PROMPT_CRITIQUE, doc, n, NULL, 2, 2, NULL, NULL, NULL, NULL, NULL, NULL};
    prompt_options o = {"auto", NULL, 20000, 1000, 0, NULL, 0};
    prompt_result r;
    char err[256];
    CHECK_INT(prompt_build(&t, 1, &o, &r, err, sizeof err), 0);
    const char *u = r.messages[0].content;
    CHECK(r.note != NULL);
    CHECK(strstr(u, "intro line\nthe passage\nwwww") != NULL);
    CHECK(strstr(u, "w [… line 3 cut …]\n") != NULL);
    CHECK(strstr(u, "[… line 4 omitted …]") != NULL);
    CHECK(r.prompt_tokens <= 20000);
    CHECK(r.prompt_tokens > 15000); /* the budget was used, not wasted */
    prompt_result_free(&r);
    free(doc);
}

static void test_system_override_and_ask_context(void) {
    prompt_turn t = {PROMPT_ASK, "some context", 12,   NULL, 0,    0,
                     "Why?",     NULL,           NULL, NULL, NULL, NULL};
    prompt_options o = {"auto", "You are terse.", 0, 0, 0, NULL, 0};
    prompt_result r;
    char err[256];
    CHECK_INT(prompt_build(&t, 1, &o, &r, err, sizeof err), 0);
    CHECK_STR(r.system, "You are terse.");
    CHECK_STR(r.messages[0].content, "<context>\nsome context\n</context>\n\nWhy?");
    prompt_result_free(&r);
}

static void test_count_lines(void) {
    CHECK_INT(prompt_count_lines("", 0), 0);
    CHECK_INT(prompt_count_lines("a", 1), 1);
    CHECK_INT(prompt_count_lines("a\n", 2), 1);
    CHECK_INT(prompt_count_lines("a\nb", 3), 2);
    CHECK_INT(prompt_count_lines("\n\n", 2), 2);
}

int main(void) {
    RUN(test_critique_sends_document_passage_and_question);
    RUN(test_default_question_and_single_line);
    RUN(test_language_setting_wins);
    RUN(test_detect_language);
    RUN(test_errors);
    RUN(test_passage_past_end_is_clamped);
    RUN(test_explain);
    RUN(test_thread_carries_earlier_turns);
    RUN(test_shortening_keeps_passage_headings_and_surroundings);
    RUN(test_shortening_cuts_a_line_too_long_for_the_budget);
    RUN(test_system_override_and_ask_context);
    RUN(test_count_lines);
    return check_report("prompt");
}
