/* Tests for the streaming notes parser (src/notes.c, src/notes_syntax.c).
 *
 * Each answer goes through check_answer(): it is parsed whole, byte by byte, cut in two at
 * every position and in random splits, and every way must give the same full transcript
 * (events with all their fields, offsets and flags).  The test then compares a short,
 * readable transcript with what it expects:
 *
 *   Q<seq>:<kind>:<quote>           a QUOTE event
 *   N<seq>:<kind>:<quote>:<text>    a NOTE event
 *   G<seq>:<text>                   a GENERAL event; G<seq>!<kind>:<title>:<text> from a note
 *   O                               OVER_CAP
 * separated by " | ".
 */
#include "ami/buf.h"
#include "ami/notes.h"
#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

/* ---- recording --------------------------------------------------------------------------- */

typedef struct rec {
    buf full;  /* every field */
    buf brief; /* the readable form */
    notes_parser *p;
    size_t events;
    size_t stop_at; /* return non-zero from this event (1-based) */
    int reenter;    /* the callback tries to feed and finish */
    int reenter_rc;
    int terminated; /* every string NUL-terminated at its length */
    int sane;       /* offsets ordered, quote before note, … */
    size_t last_quote_seq;
    int quote_open;
} rec;

static void put(buf *b, const char *s, size_t n) {
    buf_printf(b, "%zu:", n);
    buf_append(b, s, n);
}

static int on_event(void *ud, const notes_event *ev) {
    rec *r = ud;
    r->events++;
    if (ev->kind_text[ev->kind_text_len] || ev->title[ev->title_len] || ev->quote[ev->quote_len] ||
        ev->text[ev->text_len])
        r->terminated = 0;
    buf_printf(&r->full, "[%d s%zu k%d ", ev->type, ev->seq, ev->kind);
    put(&r->full, ev->kind_text, ev->kind_text_len);
    put(&r->full, ev->title, ev->title_len);
    put(&r->full, ev->quote, ev->quote_len);
    put(&r->full, ev->text, ev->text_len);
    buf_printf(&r->full, " %zu-%zu q%zu-%zu f%u]", ev->start, ev->end, ev->quote_start,
               ev->quote_end, ev->flags);
    if (r->brief.len)
        buf_append_str(&r->brief, " | ");
    switch (ev->type) {
    case NOTES_QUOTE:
        buf_printf(&r->brief, "Q%zu:%s:%s", ev->seq, notes_kind_name(ev->kind), ev->quote);
        if (r->quote_open)
            r->sane = 0;
        r->quote_open = 1;
        r->last_quote_seq = ev->seq;
        break;
    case NOTES_NOTE:
        buf_printf(&r->brief, "N%zu:%s:%s:%s", ev->seq, notes_kind_name(ev->kind), ev->quote,
                   ev->text);
        if (!r->quote_open || r->last_quote_seq != ev->seq)
            r->sane = 0;
        r->quote_open = 0;
        break;
    case NOTES_GENERAL:
        if (ev->flags & NOTES_F_FROM_NOTE)
            buf_printf(&r->brief, "G%zu!%s:%s:%s", ev->seq, notes_kind_name(ev->kind), ev->title,
                       ev->text);
        else
            buf_printf(&r->brief, "G%zu:%s", ev->seq, ev->text);
        if (r->quote_open)
            r->sane = 0;
        break;
    case NOTES_OVER_CAP:
        buf_append_str(&r->brief, "O");
        break;
    }
    if (ev->start > ev->end && ev->type != NOTES_OVER_CAP)
        r->sane = 0;
    if (r->reenter) {
        r->reenter_rc = notes_parser_feed(r->p, "x", 1);
        if (notes_parser_finish(r->p) != NOTES_EBUSY)
            r->reenter_rc = 99;
    }
    return r->stop_at && r->events == r->stop_at;
}

static void rec_init(rec *r) {
    memset(r, 0, sizeof *r);
    r->terminated = 1;
    r->sane = 1;
    r->p = notes_parser_new(on_event, r);
}

static void rec_free(rec *r) {
    notes_parser_free(r->p);
    buf_free(&r->full);
    buf_free(&r->brief);
}

/* Feeds in[0..len) cut at cuts[] and finishes; returns the full transcript and, in *brief,
 * the readable one (both to free). */
static char *transcript(const char *in, size_t len, const size_t *cuts, size_t ncuts,
                        char **brief) {
    rec r;
    rec_init(&r);
    size_t at = 0;
    int last = NOTES_OK;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t to = i < ncuts ? cuts[i] : len;
        int rc = notes_parser_feed(r.p, in + at, to - at);
        if (rc != last)
            buf_printf(&r.full, "R%d", rc);
        last = rc;
        at = to;
    }
    buf_printf(&r.full, "F%d", notes_parser_finish(r.p));
    notes_stats st;
    notes_parser_stats(r.p, &st);
    buf_printf(&r.full, " n%zu g%zu h%zu d%zu b%zu t%zu", st.notes, st.general, st.headings,
               st.dropped, st.bytes, st.truncated);
    if (!r.terminated)
        buf_append_str(&r.full, "!nul");
    if (!r.sane)
        buf_append_str(&r.full, "!order");
    if (brief)
        *brief = buf_steal(&r.brief);
    char *out = buf_steal(&r.full);
    rec_free(&r);
    return out;
}

static uint64_t rng_state = 0x5eed5eedULL;
static uint64_t rng(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Every byte of the answer is in a NOTE or GENERAL range, unless it is white space or part of
 * a thematic break.  Checked on the whole feed. */
typedef struct cover {
    unsigned char *mark;
    size_t len, over_from;
} cover;

static int on_cover(void *ud, const notes_event *ev) {
    cover *c = ud;
    if (ev->type == NOTES_OVER_CAP && ev->start < c->over_from)
        c->over_from = ev->start;
    if (ev->type != NOTES_NOTE && ev->type != NOTES_GENERAL)
        return 0;
    for (size_t i = ev->start; i < ev->end && i < c->len; i++)
        c->mark[i]++;
    return 0;
}

static int nothing_lost(const char *in, size_t len) {
    cover c = {calloc(len + 1, 1), len, (size_t)-1};
    notes_parser *p = notes_parser_new(on_cover, &c);
    notes_parser_feed(p, in, len);
    notes_parser_finish(p);
    notes_parser_free(p);
    int ok = 1;
    for (size_t i = 0; i < len && i < c.over_from; i++) {
        if (c.mark[i] > 1)
            ok = 0;
        if (!c.mark[i] && !strchr(" \t\r\n-*_", in[i])) {
            fprintf(stderr, "  byte %zu (%c) is in no event\n", i, in[i]);
            ok = 0;
        }
    }
    free(c.mark);
    return ok;
}

static int same(const char *mode, size_t arg, const char *got, const char *want) {
    if (strcmp(got, want) == 0)
        return 1;
    fprintf(stderr, "  mode %s (%zu):\n    got  %s\n    want %s\n", mode, arg, got, want);
    return 0;
}

/* Parses in every way; the transcripts must agree, and the readable one must be want. */
static int check_answer(const char *in, size_t len, const char *want) {
    char *brief;
    char *whole = transcript(in, len, NULL, 0, &brief);
    int ok = same("brief", 0, brief, want);
    ok &= strstr(whole, "!nul") == NULL && strstr(whole, "!order") == NULL;
    if (!ok)
        fprintf(stderr, "  full: %s\n", whole);
    free(brief);
    size_t *cuts = malloc((2 * len + 2) * sizeof *cuts);
    for (size_t i = 0; i < len; i++)
        cuts[i] = i + 1;
    char *t = transcript(in, len, cuts, len ? len - 1 : 0, NULL);
    ok &= same("byte by byte", 0, t, whole);
    free(t);
    for (size_t i = 0; i <= len && ok; i++) {
        t = transcript(in, len, &i, 1, NULL);
        ok &= same("two feeds cut at", i, t, whole);
        free(t);
    }
    for (size_t iter = 0; iter < 100 && ok; iter++) {
        size_t n = 0, at = 0, span = 1 + (size_t)(rng() % 24);
        while (at < len) {
            at += 1 + (size_t)(rng() % span);
            if (at < len)
                cuts[n++] = at;
            if (at < len && rng() % 8 == 0)
                cuts[n++] = at; /* an empty feed */
        }
        t = transcript(in, len, cuts, n, NULL);
        ok &= same("random splits", iter, t, whole);
        free(t);
    }
    free(cuts);
    free(whole);
    ok &= nothing_lost(in, len);
    return ok;
}

#define S(lit) lit, sizeof(lit) - 1
#define NBSP   "\xC2\xA0"
#define NNBSP  "\xE2\x80\xAF"

/* ---- the contract ------------------------------------------------------------------------ */

static void test_basic(void) {
    CHECK(check_answer(S("Le passage tient, mais deux points.\n"
                         "\n"
                         "## Note: clarity\n"
                         "> ça finit par faire\n"
                         "Ce « ça » renvoie à quoi ?\n"
                         "\n"
                         "## Note: praise\n"
                         "> les mots justes\n"
                         "Bien vu.\n"),
                       "G0:Le passage tient, mais deux points. | Q0:clarity:ça finit par faire | "
                       "N0:clarity:ça finit par faire:Ce « ça » renvoie à quoi ? | "
                       "Q1:praise:les mots justes | N1:praise:les mots justes:Bien vu."));
    /* Markdown in the comment is kept; its lines keep their breaks. */
    CHECK(check_answer(S("## Note: style\n> un mot\n\nPremier *point*.\n\n- a\n- b\n"),
                       "Q0:style:un mot | N0:style:un mot:Premier *point*.\n\n- a\n- b"));
    /* Nothing at all, and only white space. */
    CHECK(check_answer(S(""), ""));
    CHECK(check_answer(S("  \n\n\t\n"), ""));
    CHECK(check_answer(S("Juste une remarque générale."), "G0:Juste une remarque générale."));
}

static void test_offsets(void) {
    const char *in = "Intro\n## Note: style\n> mots\nTexte\n## Note: style\n> autres\nFin";
    rec r;
    rec_init(&r);
    notes_parser_feed(r.p, in, strlen(in));
    notes_parser_finish(r.p);
    /* G0 [0,6) Q0 N0 [6,34) Q1 N1 [34,end) */
    const char *want = "[3 s0 k0 0:0:0:5:Intro 0-6 q0-0 f0]"
                       "[1 s0 k6 5:style0:4:mots0: 6-27 q21-27 f0]"
                       "[2 s0 k6 5:style0:4:mots5:Texte 6-34 q21-27 f0]"
                       "[1 s1 k6 5:style0:6:autres0: 34-57 q49-57 f0]"
                       "[2 s1 k6 5:style0:6:autres3:Fin 34-61 q49-57 f0]";
    CHECK_STR(r.full.data, want);
    CHECK_INT(strlen(in), 61);
    rec_free(&r);
}

static void test_quote_before_comment(void) {
    rec r;
    rec_init(&r);
    CHECK_INT(notes_parser_feed(r.p, S("## Note: clarity\n> ça finit\n")), NOTES_OK);
    CHECK_INT(r.events, 0); /* the blockquote may go on */
    CHECK_INT(notes_parser_feed(r.p, S("  ")), NOTES_OK);
    CHECK_INT(r.events, 0); /* up to 3 spaces: still maybe a `>` line */
    CHECK_INT(notes_parser_feed(r.p, S(">")), NOTES_OK);
    CHECK_INT(r.events, 0);
    CHECK_INT(notes_parser_feed(r.p, S(" par faire\n")), NOTES_OK);
    CHECK_INT(r.events, 0);
    CHECK_INT(notes_parser_feed(r.p, S("C")), NOTES_OK);
    CHECK_INT(r.events, 1); /* one byte of the comment: the quote is complete */
    CHECK_STR(r.brief.data, "Q0:clarity:ça finit par faire");
    CHECK_INT(notes_parser_feed(r.p, S("e renvoi est flou.\n\nEt ceci.\n")), NOTES_OK);
    CHECK_INT(r.events, 1); /* the comment may go on */
    CHECK_INT(notes_parser_feed(r.p, S("## Note: style\n")), NOTES_OK);
    CHECK_INT(r.events, 2);
    CHECK_STR(r.brief.data, "Q0:clarity:ça finit par faire | N0:clarity:ça finit par faire:Ce "
                            "renvoi est flou.\n\nEt ceci.");
    CHECK_INT(notes_parser_feed(r.p, S("> x y z\n")), NOTES_OK);
    CHECK_INT(r.events, 2);
    CHECK_INT(notes_parser_feed(r.p, S("\n")), NOTES_OK); /* a blank line ends it too */
    CHECK_INT(r.events, 3);
    CHECK_INT(notes_parser_finish(r.p), NOTES_OK);
    CHECK_INT(r.events, 4);
    rec_free(&r);

    /* Four spaces: not a blockquote line, the quote is complete at once. */
    rec_init(&r);
    notes_parser_feed(r.p, S("## Note\n> a b c\n    "));
    CHECK_INT(r.events, 1);
    rec_free(&r);
    /* A CR at the start of the next line (CRLF blank line). */
    rec_init(&r);
    notes_parser_feed(r.p, S("## Note\r\n> a b c\r\n\r"));
    CHECK_INT(r.events, 1);
    rec_free(&r);
}

/* ---- what models write -------------------------------------------------------------------- */

static void test_heading_forms(void) {
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"# Note: clarity\n> m\nc", "Q0:clarity:m | N0:clarity:m:c"},
        {"###### Note: clarity\n> m\nc", "Q0:clarity:m | N0:clarity:m:c"},
        {"   ## Note: clarity\n> m\nc", "Q0:clarity:m | N0:clarity:m:c"},
        {"## Note: clarity ##\n> m\nc", "Q0:clarity:m | N0:clarity:m:c"},
        {"### Note 4: question\n> m\nc", "Q0:question:m | N0:question:m:c"},
        {"## Note #4 — question\n> m\nc", "Q0:question:m | N0:question:m:c"},
        {"## 4. Note : clarté\n> m\nc", "Q0:clarity:m | N0:clarity:m:c"},
        {"## 4) Note" NBSP ": clarté\n> m\nc", "Q0:clarity:m | N0:clarity:m:c"},
        {"## Note" NNBSP ": ambiguïté\n> m\nc", "Q0:ambiguity:m | N0:ambiguity:m:c"},
        {"**Note: argument**\n> m\nc", "Q0:argument:m | N0:argument:m:c"},
        {"**Note 2 — style**\n> m\nc", "Q0:style:m | N0:style:m:c"},
        {"**Note:** argument\n> m\nc", "Q0:argument:m | N0:argument:m:c"},
        {"__Note 3 – structure__\n> m\nc", "Q0:structure:m | N0:structure:m:c"},
        {"## **Note : style**\n> m\nc", "Q0:style:m | N0:style:m:c"},
        {"## Note (style)\n> m\nc", "Q0:style:m | N0:style:m:c"},
        {"## Note [clarity]: x\n> m\nc", "Q0:clarity:m | N0:clarity:m:c"},
        {"## Note: *clarity*\n> m\nc", "Q0:clarity:m | N0:clarity:m:c"},
        {"## NOTE: CLARITY\n> m\nc", "Q0:clarity:m | N0:clarity:m:c"},
        {"## Remarque : style\n> m\nc", "Q0:style:m | N0:style:m:c"},
        {"## Commentaire : éloge\n> m\nc", "Q0:praise:m | N0:praise:m:c"},
        {"## Nota: estilo\n> m\nc", "Q0:style:m | N0:style:m:c"},
        {"## Anmerkung: Klarheit\n> m\nc", "Q0:clarity:m | N0:clarity:m:c"},
        {"## Observación: pregunta\n> m\nc", "Q0:question:m | N0:question:m:c"},
        {"## Osservazione: chiarezza\n> m\nc", "Q0:clarity:m | N0:clarity:m:c"},
        {"## Remarque 2 : point fort\n> m\nc", "Q0:praise:m | N0:praise:m:c"},
        {"## Remarque : points" NBSP "forts\n> m\nc", "Q0:praise:m | N0:praise:m:c"},
        {"## Note : argumentation\n> m\nc", "Q0:argument:m | N0:argument:m:c"},
        {"## Note : clarte\n> m\nc", "Q0:clarity:m | N0:clarity:m:c"},
        /* No kind, or an unknown one (kept as the title). */
        {"## Note\n> m\nc", "Q0:note:m | N0:note:m:c"},
        {"## Note 3\n> m\nc", "Q0:note:m | N0:note:m:c"},
        {"## Note: rythme\n> m\nc", "Q0:note:m | N0:note:m:c"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        if (!check_answer(cases[i].in, strlen(cases[i].in), cases[i].want)) {
            fprintf(stderr, "  case %zu: %s\n", i, cases[i].in);
            CHECK(0);
        }
    }
    /* Kind text and title as written. */
    rec r;
    rec_init(&r);
    notes_parser_feed(r.p, S("## Note 2 : Clarté — le référent\n> m\nc"));
    notes_parser_finish(r.p);
    CHECK(strstr(r.full.data, "7:Clarté13:le référent") != NULL);
    rec_free(&r);
    rec_init(&r);
    notes_parser_feed(r.p, S("## Note: The metaphor is unclear\n> m\nc"));
    notes_parser_finish(r.p);
    CHECK(strstr(r.full.data, "k0 0:23:The metaphor is unclear") != NULL);
    rec_free(&r);
}

static void test_not_headings(void) {
    /* Words that look like a note word, a bold aside, a hashtag: text. */
    CHECK(check_answer(S("## Notes\nLes notes suivent.\n"), "G0:## Notes\nLes notes suivent."));
    CHECK(check_answer(S("## Noté\nx\n"), "G0:## Noté\nx"));
    CHECK(check_answer(S("## Note: style\n> m\nc\n**Note:** this matters because of x.\nd\n"),
                       "Q0:style:m | N0:style:m:c\n**Note:** this matters because of x.\nd"));
    CHECK(check_answer(S("#Note: style\n> m\n"), "G0:#Note: style\n> m"));
    CHECK(check_answer(S("    ## Note: style\n> m\n"), "G0:## Note: style\n> m"));
    CHECK(check_answer(S("Note: style\n> m\n"), "G0:Note: style\n> m"));
}

static void test_quote_forms(void) {
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"## Note\n> \"les mots\"\nc", "Q0:note:les mots | N0:note:les mots:c"},
        {"## Note\n> “les mots”\nc", "Q0:note:les mots | N0:note:les mots:c"},
        {"## Note\n> « les mots »\nc", "Q0:note:les mots | N0:note:les mots:c"},
        {"## Note\n> «" NBSP "les mots" NBSP "»\nc", "Q0:note:les mots | N0:note:les mots:c"},
        {"## Note\n> «" NNBSP "les mots" NNBSP "»\nc", "Q0:note:les mots | N0:note:les mots:c"},
        {"## Note\n> „die Wörter“\nc", "Q0:note:die Wörter | N0:note:die Wörter:c"},
        {"## Note\n> »die Wörter«\nc", "Q0:note:die Wörter | N0:note:die Wörter:c"},
        {"## Note\n> ‘the words’\nc", "Q0:note:the words | N0:note:the words:c"},
        {"## Note\n> 'the words'\nc", "Q0:note:the words | N0:note:the words:c"},
        {"## Note\n> *« les mots »*\nc", "Q0:note:les mots | N0:note:les mots:c"},
        {"## Note\n> **\"les mots\"**\nc", "Q0:note:les mots | N0:note:les mots:c"},
        {"## Note\n>les mots\nc", "Q0:note:les mots | N0:note:les mots:c"},
        {"## Note\n   > les mots\nc", "Q0:note:les mots | N0:note:les mots:c"},
        {"## Note\n> > les mots\nc", "Q0:note:les mots | N0:note:les mots:c"},
        /* Over several lines: joined with one space; an empty `>` line adds nothing. */
        {"## Note\n> ça finit\n>   par faire\n>\n> du bruit\nc",
         "Q0:note:ça finit par faire du bruit | N0:note:ça finit par faire du bruit:c"},
        /* Blank lines between the heading and the quote. */
        {"## Note\n\n\n> m\n\nc", "Q0:note:m | N0:note:m:c"},
        /* Quotation marks that do not wrap the whole: kept. */
        {"## Note\n> \"a\" et \"b\"\nc", "Q0:note:\"a\" et \"b\" | N0:note:\"a\" et \"b\":c"},
        {"## Note\n> « a » et « b »\nc", "Q0:note:« a » et « b » | N0:note:« a » et « b »:c"},
        /* A quote and no comment. */
        {"## Note: style\n> m", "Q0:style:m | N0:style:m:"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        if (!check_answer(cases[i].in, strlen(cases[i].in), cases[i].want)) {
            fprintf(stderr, "  case %zu: %s\n", i, cases[i].in);
            CHECK(0);
        }
    }
}

static void test_crlf(void) {
    CHECK(check_answer(S("Intro\r\n\r\n## Note: clarity\r\n> ça finit\r\n> par faire\r\nLe "
                         "renvoi.\r\nDeux.\r\n\r\n## Note: style\r\n> x\r\n"),
                       "G0:Intro | Q0:clarity:ça finit par faire | "
                       "N0:clarity:ça finit par faire:Le renvoi.\nDeux. | Q1:style:x | "
                       "N1:style:x:"));
    /* A lone CR is a byte of the line. */
    CHECK(check_answer(S("## Note\n> a\rb\nc"), "Q0:note:a\rb | N0:note:a\rb:c"));
}

/* ---- decided cases ------------------------------------------------------------------------ */

static void test_quoted_string_line(void) {
    CHECK(check_answer(S("## Note: clarity\n« ça finit par faire »\nLe renvoi.\n"),
                       "Q0:clarity:ça finit par faire | N0:clarity:ça finit par faire:Le renvoi."));
    CHECK(check_answer(S("## Note: clarity\n*\"ça finit\"*\nLe renvoi.\n"),
                       "Q0:clarity:ça finit | N0:clarity:ça finit:Le renvoi."));
    /* More than the quoted string: a comment, and the note has no words. */
    CHECK(check_answer(S("## Note: clarity\n« ça finit » est flou.\n"),
                       "G0!clarity::« ça finit » est flou."));
    rec r;
    rec_init(&r);
    notes_parser_feed(r.p, S("## Note\n\"m\"\nc"));
    notes_parser_finish(r.p);
    CHECK(strstr(r.full.data, "f1]") != NULL); /* NOTES_F_QUOTE_LINE */
    rec_free(&r);
}

static void test_quote_on_heading(void) {
    CHECK(check_answer(S("## Note: clarity — « les mots »\nLe renvoi.\n"),
                       "Q0:clarity:les mots | N0:clarity:les mots:Le renvoi."));
    CHECK(check_answer(S("**Note 1 (ambiguïté) : \"ce truc\"**\nQuoi ?\n"),
                       "Q0:ambiguity:ce truc | N0:ambiguity:ce truc:Quoi ?"));
    CHECK(check_answer(S("**Note:** « ce truc »\nQuoi ?\n"),
                       "Q0:note:ce truc | N0:note:ce truc:Quoi ?"));
    /* A blockquote after it is part of the comment. */
    CHECK(check_answer(S("## Note: style « a b »\n> a b c\nTrop long.\n"),
                       "Q0:style:a b | N0:style:a b:> a b c\nTrop long."));
    /* The QUOTE event comes at the end of the heading line. */
    rec r;
    rec_init(&r);
    notes_parser_feed(r.p, S("## Note: clarity — « les mots »"));
    CHECK_INT(r.events, 0);
    notes_parser_feed(r.p, S("\n"));
    CHECK_INT(r.events, 1);
    CHECK(strstr(r.full.data, "f2]") != NULL); /* NOTES_F_QUOTE_HEADING */
    rec_free(&r);
}

static void test_thematic_breaks(void) {
    CHECK(check_answer(S("## Note: style\n> a\nUn.\n\n---\n\n## Note: style\n> b\nDeux.\n"),
                       "Q0:style:a | N0:style:a:Un. | Q1:style:b | N1:style:b:Deux."));
    /* After the last note: a general remark, not the note's comment. */
    CHECK(check_answer(S("## Note: style\n> a\nUn.\n\n***\n\nEn somme, c'est clair.\n"),
                       "Q0:style:a | N0:style:a:Un. | G0:En somme, c'est clair."));
    CHECK(check_answer(S("Avant.\n- - -\nAprès.\n## Note\n> a\n___\n"),
                       "G0:Avant. | G1:Après. | Q0:note:a | N0:note:a:"));
    /* Not breaks: two dashes, a list item, text after. */
    CHECK(check_answer(S("## Note\n> a\n--\n- item\n--- et plus\n"),
                       "Q0:note:a | N0:note:a:--\n- item\n--- et plus"));
}

static void test_code_fence(void) {
    CHECK(check_answer(S("## Note: style\n> a\nPar exemple :\n```md\n## Note: clarity\n> b\n---\n"
                         "```\nFin.\n## Note: style\n> c\n"),
                       "Q0:style:a | N0:style:a:Par exemple :\n```md\n## Note: clarity\n> b\n---\n"
                       "```\nFin. | Q1:style:c | N1:style:c:"));
    CHECK(check_answer(S("## Note\n> a\n~~~~\n## Note\n~~~\nstill in\n~~~~\nout\n"),
                       "Q0:note:a | N0:note:a:~~~~\n## Note\n~~~\nstill in\n~~~~\nout"));
    /* Never closed: to the end, flagged. */
    rec r;
    rec_init(&r);
    notes_parser_feed(r.p, S("## Note\n> a\n```\n## Note: style\n> b\n"));
    notes_parser_finish(r.p);
    CHECK_STR(r.brief.data, "Q0:note:a | N0:note:a:```\n## Note: style\n> b");
    CHECK(strstr(r.full.data, "f32]") != NULL); /* NOTES_F_UNCLOSED_FENCE */
    rec_free(&r);
    /* A fence in the general text before the notes. */
    CHECK(check_answer(S("```\n## Note\n```\n## Note\n> a\n"),
                       "G0:```\n## Note\n``` | Q0:note:a | N0:note:a:"));
    /* A fence right after the heading: no words. */
    CHECK(check_answer(S("## Note: style\n```\n> a\n```\n"), "G0!style::```\n> a\n```"));
}

static void test_no_words(void) {
    /* The first line is not a quote. */
    CHECK(check_answer(S("## Note: structure\nLe plan manque.\n\n## Note: style\n> m\nc\n"),
                       "G0!structure::Le plan manque. | Q0:style:m | N0:style:m:c"));
    /* A heading and nothing else, twice. */
    CHECK(check_answer(S("## Note: style\n## Note: clarity\n"), "G0!style:: | G1!clarity::"));
    /* An empty quote, once cleaned. */
    CHECK(check_answer(S("## Note\n>\n> « »\nc\n"), "G0!note::>\n> « »\nc"));
    /* A quote too long: the body keeps its lines. */
    buf b = {0};
    buf_append_str(&b, "## Note: style\n> ");
    for (int i = 0; i < 300; i++)
        buf_append_str(&b, "mot mot ");
    buf_append_str(&b, "\nTrop long.\n");
    rec r;
    rec_init(&r);
    notes_parser_feed(r.p, b.data, b.len);
    notes_parser_finish(r.p);
    CHECK(strncmp(r.brief.data, "G0!style::> mot mot", 19) == 0);
    CHECK(strstr(r.brief.data, "\nTrop long.") != NULL);
    CHECK(strstr(r.full.data, "f12]") != NULL); /* FROM_NOTE | QUOTE_TOO_LONG */
    rec_free(&r);
    CHECK(nothing_lost(b.data, b.len));
    buf_free(&b);
}

static void test_other_headings(void) {
    CHECK(check_answer(S("## Note: style\n> m\nc\n## En résumé\nTout va bien.\n"),
                       "Q0:style:m | N0:style:m:c | G0:## En résumé\nTout va bien."));
    /* A general remark with headings of its own stays one remark. */
    CHECK(check_answer(S("# Critique\n\nIntro.\n\n## Détails\n\nSuite.\n\n## Note\n> m\n"),
                       "G0:# Critique\n\nIntro.\n\n## Détails\n\nSuite. | Q0:note:m | "
                       "N0:note:m:"));
}

/* ---- limits ------------------------------------------------------------------------------ */

static void test_cap(void) {
    buf b = {0};
    for (int i = 0; i < 1000; i++)
        buf_printf(&b, "## Note %d: style\n> mot %d\nRemarque %d.\n\n", i, i, i);
    rec r;
    rec_init(&r);
    CHECK_INT(notes_parser_feed(r.p, b.data, b.len), NOTES_OK);
    CHECK_INT(notes_parser_finish(r.p), NOTES_OK);
    CHECK_INT(r.events, 2 * NOTES_MAX_NOTES + 1);
    notes_stats st;
    notes_parser_stats(r.p, &st);
    CHECK_INT(st.notes, NOTES_MAX_NOTES);
    CHECK_INT(st.headings, 1000);
    CHECK_INT(st.dropped, 1000 - NOTES_MAX_NOTES);
    CHECK_INT(st.bytes, b.len);
    CHECK(strstr(r.brief.data, "N199:style:mot 199:Remarque 199. | O") != NULL);
    size_t at = (size_t)(strstr(b.data, "## Note 200:") - b.data);
    char want[64];
    snprintf(want, sizeof want, "[4 s200 k0 0:0:0:0: %zu-%zu", at, at);
    CHECK(strstr(r.full.data, want) != NULL);
    rec_free(&r);
    /* The same fed byte by byte. */
    char *whole = transcript(b.data, b.len, NULL, 0, NULL);
    size_t *cuts = malloc(b.len * sizeof *cuts);
    for (size_t i = 0; i + 1 < b.len; i++)
        cuts[i] = i + 1;
    char *bytes = transcript(b.data, b.len, cuts, b.len - 1, NULL);
    CHECK_STR(bytes, whole);
    free(cuts);
    free(bytes);
    free(whole);
    buf_free(&b);
}

static size_t heap_in_use(void) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd; /* small blocks and mmapped ones */
#else
    return 0;
#endif
}

static void test_long_line(void) {
    /* 10 MB without a newline, in 64 KiB pieces: memory stays bounded, the text is cut. */
    size_t piece = 64 * 1024;
    char *chunk = malloc(piece);
    memset(chunk, 'a', piece);
    for (size_t i = 100; i < piece; i += 100)
        chunk[i] = ' ';
    rec r;
    rec_init(&r);
    notes_parser_feed(r.p, S("## Note: style\n> m\n"));
    size_t before = heap_in_use(), most = 0;
    for (int i = 0; i < 160; i++) {
        CHECK_INT(notes_parser_feed(r.p, chunk, piece), NOTES_OK);
        size_t now = heap_in_use();
        if (now > most)
            most = now;
    }
    if (before)
        CHECK(most - before < 512 * 1024);
    CHECK_INT(notes_parser_finish(r.p), NOTES_OK);
    notes_stats st;
    notes_parser_stats(r.p, &st);
    CHECK_INT(st.truncated, 1);
    CHECK_INT(st.bytes, 160 * piece + 19);
    CHECK_INT(r.events, 2);
    CHECK(strstr(r.full.data, "f16]") != NULL); /* NOTES_F_TRUNCATED */
    char want[64];
    snprintf(want, sizeof want, " 0-%zu q", 160 * piece + 19);
    CHECK(strstr(r.full.data, want) != NULL);
    rec_free(&r);

    /* The worst case: a long heading, a long quote and a long comment at once. */
    rec_init(&r);
    before = heap_in_use();
    most = 0;
    static const char *const starts[] = {"## Note: ", "> ", ""};
    for (int k = 0; k < 3; k++) {
        notes_parser_feed(r.p, starts[k], strlen(starts[k]));
        for (int i = 0; i < 20; i++) {
            notes_parser_feed(r.p, chunk, piece);
            size_t now = heap_in_use();
            most = now > most ? now : most;
        }
        notes_parser_feed(r.p, "\n", 1);
    }
    for (int i = 0; i < 200; i++) {
        notes_parser_feed(r.p, chunk, 1000);
        notes_parser_feed(r.p, "\n", 1);
        size_t now = heap_in_use();
        most = now > most ? now : most;
    }
    if (before)
        CHECK(most - before < 300 * 1024);
    rec_free(&r);
    free(chunk);

    /* Past the line cap, the cut falls between code points. */
    buf b = {0};
    buf_append_str(&b, "## Note\n> m\n");
    for (size_t i = 0; i < NOTES_LINE_MAX; i += 2)
        buf_append_str(&b, "é");
    buf_append_str(&b, "x\n");
    rec_init(&r);
    notes_parser_feed(r.p, b.data, b.len);
    notes_parser_finish(r.p);
    const char *n = strstr(r.brief.data, "N0:note:m:");
    CHECK(n != NULL);
    if (n) {
        size_t tl = strlen(n + 10);
        CHECK_INT(tl, NOTES_LINE_MAX);
        CHECK((unsigned char)n[10 + tl - 1] == 0xA9);
    }
    rec_free(&r);
    /* The comment cap: many lines. */
    buf_clear(&b);
    buf_append_str(&b, "## Note\n> m\n");
    for (int i = 0; i < 20000; i++)
        buf_append_str(&b, "une ligne de commentaire\n");
    rec_init(&r);
    notes_parser_feed(r.p, b.data, b.len);
    notes_parser_finish(r.p);
    n = strstr(r.brief.data, "N0:note:m:");
    CHECK(n && strlen(n + 10) <= NOTES_TEXT_MAX);
    CHECK(strstr(r.full.data, "f16]") != NULL);
    rec_free(&r);
    buf_free(&b);
}

/* ---- API ---------------------------------------------------------------------------------- */

static void test_stop_and_reentry(void) {
    const char *in = "A\n---\nB\n---\nC\n";
    rec r;
    rec_init(&r);
    r.stop_at = 2;
    CHECK_INT(notes_parser_feed(r.p, in, strlen(in)), NOTES_STOPPED);
    CHECK_INT(r.events, 2);
    CHECK_INT(notes_parser_feed(r.p, "x", 1), NOTES_STOPPED);
    CHECK_INT(notes_parser_finish(r.p), NOTES_STOPPED);
    CHECK_INT(r.events, 2);
    rec_free(&r);

    rec_init(&r);
    r.reenter = 1;
    CHECK_INT(notes_parser_feed(r.p, S("A\n---\n")), NOTES_OK);
    CHECK_INT(r.reenter_rc, NOTES_EBUSY);
    CHECK_INT(notes_parser_finish(r.p), NOTES_OK);
    CHECK_INT(notes_parser_feed(r.p, "x", 1), NOTES_EDONE);
    CHECK_INT(notes_parser_finish(r.p), NOTES_EDONE);
    rec_free(&r);

    CHECK(notes_parser_new(NULL, NULL) == NULL);
    notes_parser_free(NULL);
    rec_init(&r);
    CHECK_INT(notes_parser_feed(r.p, NULL, 0), NOTES_OK);
    rec_free(&r);
}

static void test_invalid_utf8(void) {
    CHECK(check_answer(S("## Note: \xFF\xFE\n> \xC3 mot \xE2\x82\n\xF0\x9F\x98 fin\n"),
                       "Q0:note:\xC3 mot \xE2\x82 | N0:note:\xC3 mot \xE2\x82:\xF0\x9F\x98 fin"));
    CHECK(check_answer(S("\x80\x80\n## Note\n> «\xC2\n"), "G0:\x80\x80 | Q0:note:«\xC2 | "
                                                          "N0:note:«\xC2:"));
}

static void test_kinds(void) {
    CHECK_INT(notes_kind_parse(S("clarity")), NOTES_KIND_CLARITY);
    CHECK_INT(notes_kind_parse(S("Clarté")), NOTES_KIND_CLARITY);
    CHECK_INT(notes_kind_parse(S("CLARTÉ")), NOTES_KIND_CLARITY);
    CHECK_INT(notes_kind_parse(S(" *ambiguïté* ")), NOTES_KIND_AMBIGUITY);
    CHECK_INT(notes_kind_parse(S("Ambigüedad")), NOTES_KIND_AMBIGUITY);
    CHECK_INT(notes_kind_parse(S("(question)")), NOTES_KIND_QUESTION);
    CHECK_INT(notes_kind_parse(S("argumentation:")), NOTES_KIND_ARGUMENT);
    CHECK_INT(notes_kind_parse(S("Struktur")), NOTES_KIND_STRUCTURE);
    CHECK_INT(notes_kind_parse(S("Stil")), NOTES_KIND_STYLE);
    CHECK_INT(notes_kind_parse(S("éloge")), NOTES_KIND_PRAISE);
    CHECK_INT(notes_kind_parse(S("Point" NBSP "fort")), NOTES_KIND_PRAISE);
    CHECK_INT(notes_kind_parse(S("Stärke")), NOTES_KIND_PRAISE);
    CHECK_INT(notes_kind_parse(S("clarity of the claim")), NOTES_KIND_NONE);
    CHECK_INT(notes_kind_parse(S("")), NOTES_KIND_NONE);
    CHECK_INT(notes_kind_parse(NULL, 0), NOTES_KIND_NONE);
    CHECK_STR(notes_kind_name(NOTES_KIND_PRAISE), "praise");
    CHECK_STR(notes_kind_name(NOTES_KIND_NONE), "note");
    const char *r = notes_prompt_rules();
    CHECK(strstr(r, "## Note: <kind>") != NULL);
    CHECK(strstr(r, "clarity, ambiguity, question, argument, structure, style, praise") != NULL);
    CHECK(strstr(r, "character for character") != NULL);
    CHECK(strstr(r, "ellipsis") != NULL);
    CHECK(strstr(r, "replacement") != NULL);
}

static void test_nothing_lost_messy(void) {
    const char *in = "Intro\n\n---\n# Titre\ntexte\n## Note: x\n\n> \n> « »\nbody\n***\n"
                     "## Note: style — « a »\n> b\n```\n## Note\n```\n## Autre\nfin\n\n---\n\n";
    CHECK(nothing_lost(in, strlen(in)));
}

int main(void) {
    RUN(test_basic);
    RUN(test_offsets);
    RUN(test_quote_before_comment);
    RUN(test_heading_forms);
    RUN(test_not_headings);
    RUN(test_quote_forms);
    RUN(test_crlf);
    RUN(test_quoted_string_line);
    RUN(test_quote_on_heading);
    RUN(test_thematic_breaks);
    RUN(test_code_fence);
    RUN(test_no_words);
    RUN(test_other_headings);
    RUN(test_cap);
    RUN(test_long_line);
    RUN(test_stop_and_reentry);
    RUN(test_invalid_utf8);
    RUN(test_kinds);
    RUN(test_nothing_lost_messy);
    return check_report("notes");
}
