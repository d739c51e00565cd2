/* Tests for the streaming JSON reader (src/jsonsax.c).
 *
 * Every document goes through check_doc(), which parses it whole, byte by byte, cut in two
 * at every position, and in many random splits, and requires the same transcript each time:
 * the events (kind, text, truncation, offset, depth), the result, and the error's offset.
 * A transcript is a readable string; strings come with their length first so that NULs and
 * quotes cannot make two different transcripts look alike.
 *
 *   {@0d0 ... }@9d0      begin / end object at offset 0, depth 0     [ ] arrays the same
 *   K1:a@1d1             a key "a" (1 byte) at offset 1, depth 1
 *   S3:abc@5d1           a string;  S~2/10:ab  a string cut to 2 of its 10 bytes
 *   N2:-1@3d1            a number's text     T F Z   true, false, null
 *   =0                   the result of finish (0 = OK), or =-2@17 a failure at byte 17
 */
#include "ami/buf.h"
#include "ami/jsonsax.h"
#include "check.h"

#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- recording ------------------------------------------------------------------------ */

typedef struct rec {
    buf out;
    const char *skip_key;  /* jsonsax_skip() after a KEY event with this text */
    long skip_begin_depth; /* jsonsax_skip() after BEGIN events at this depth (-1: never) */
    size_t stop_after;     /* return non-zero from the n-th event (1-based; 0: never) */
    size_t seen;
    int reenter; /* try feed/finish from the callback */
    int reenter_rc;
    int bad;       /* an invariant broke (NUL termination, UTF-8, path depth) */
    int with_path; /* append the formatted path to each scalar event */
} rec;

static void put(buf *b, const char *s, size_t n) {
    buf_printf(b, "%zu:", n);
    buf_append(b, s, n);
}

static int on_event(void *ud, jsonsax *p, const jsonsax_event *ev) {
    rec *r = ud;
    r->seen++;
    if (jsonsax_depth(p) != ev->depth)
        r->bad = 1;
    switch (ev->kind) {
    case JSONSAX_BEGIN_OBJECT:
        buf_append_str(&r->out, "{");
        break;
    case JSONSAX_END_OBJECT:
        buf_append_str(&r->out, "}");
        break;
    case JSONSAX_BEGIN_ARRAY:
        buf_append_str(&r->out, "[");
        break;
    case JSONSAX_END_ARRAY:
        buf_append_str(&r->out, "]");
        break;
    case JSONSAX_KEY:
    case JSONSAX_STRING:
    case JSONSAX_NUMBER:
        buf_append_str(&r->out, ev->kind == JSONSAX_KEY      ? "K"
                                : ev->kind == JSONSAX_STRING ? "S"
                                                             : "N");
        if (ev->truncated)
            buf_printf(&r->out, "~%zu/%zu:", ev->len, ev->full_len);
        else if (ev->full_len != ev->len)
            r->bad = 1;
        put(&r->out, ev->str, ev->len);
        if (ev->str[ev->len] != '\0')
            r->bad = 1;
        break;
    case JSONSAX_TRUE:
        buf_append_str(&r->out, "T");
        break;
    case JSONSAX_FALSE:
        buf_append_str(&r->out, "F");
        break;
    case JSONSAX_NULL:
        buf_append_str(&r->out, "Z");
        break;
    }
    buf_printf(&r->out, "@%zud%zu", ev->offset, ev->depth);
    if (r->with_path && ev->kind != JSONSAX_BEGIN_OBJECT && ev->kind != JSONSAX_BEGIN_ARRAY &&
        ev->kind != JSONSAX_END_OBJECT && ev->kind != JSONSAX_END_ARRAY) {
        buf_append_str(&r->out, "<");
        jsonsax_path_format(p, &r->out);
        buf_append_str(&r->out, ">");
    }
    buf_append_str(&r->out, " ");
    if (r->skip_key && ev->kind == JSONSAX_KEY && strcmp(ev->str, r->skip_key) == 0)
        jsonsax_skip(p);
    if (r->skip_begin_depth >= 0 && (size_t)r->skip_begin_depth == ev->depth &&
        (ev->kind == JSONSAX_BEGIN_OBJECT || ev->kind == JSONSAX_BEGIN_ARRAY))
        jsonsax_skip(p);
    if (r->reenter) {
        r->reenter_rc = jsonsax_feed(p, "1", 1);
        if (jsonsax_finish(p) != JSONSAX_EBUSY)
            r->reenter_rc = 99;
    }
    return r->stop_after && r->seen == r->stop_after;
}

typedef struct opts {
    size_t max_depth, string_cap;
    const char *skip_key;
    long skip_begin_depth;
    int with_path;
} opts;

static const opts defaults = {0, 0, NULL, -1, 0};

/* Feeds in[0..len) in the pieces cuts[] delimit, finishes, returns the transcript. */
static char *transcript(const char *in, size_t len, const size_t *cuts, size_t ncuts,
                        const opts *o) {
    rec r;
    memset(&r, 0, sizeof r);
    r.skip_key = o->skip_key;
    r.skip_begin_depth = o->skip_begin_depth;
    r.with_path = o->with_path;
    jsonsax_options jo = {o->max_depth, o->string_cap};
    jsonsax *p = jsonsax_new(&jo, on_event, &r);
    size_t at = 0;
    int rc = JSONSAX_OK;
    for (size_t i = 0; i <= ncuts && rc == JSONSAX_OK; i++) {
        size_t to = i < ncuts ? cuts[i] : len;
        rc = jsonsax_feed(p, in + at, to - at);
        at = to;
    }
    if (rc == JSONSAX_OK)
        rc = jsonsax_finish(p);
    /* Final codes stay. */
    if (rc != jsonsax_feed(p, "x", 1) && rc != JSONSAX_OK)
        r.bad = 1;
    if (rc < 0)
        buf_printf(&r.out, "=%d@%zu", rc, jsonsax_error_offset(p));
    else
        buf_printf(&r.out, "=%d", rc);
    if (rc < 0 && !jsonsax_error(p)[0])
        r.bad = 1;
    if (r.bad)
        buf_append_str(&r.out, " !bad");
    jsonsax_free(p);
    return buf_steal(&r.out);
}

static uint64_t rng_state = 0x0a11ce5eedULL;
static uint64_t rng(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int same(const char *mode, size_t arg, const char *got, const char *want) {
    if (strcmp(got, want) == 0)
        return 1;
    fprintf(stderr, "  mode %s (%zu):\n    got  %s\n    want %s\n", mode, arg, got, want);
    return 0;
}

static int check_doc_opts(const char *in, size_t len, const char *want, const opts *o) {
    int ok = 1;
    char *t = transcript(in, len, NULL, 0, o);
    ok &= same("whole", 0, t, want);
    free(t);
    size_t *cuts = malloc((2 * len + 2) * sizeof *cuts);
    for (size_t i = 0; i < len; i++)
        cuts[i] = i + 1;
    t = transcript(in, len, cuts, len ? len - 1 : 0, o);
    ok &= same("byte by byte", 0, t, want);
    free(t);
    for (size_t i = 0; i <= len && ok; i++) {
        t = transcript(in, len, &i, 1, o);
        ok &= same("two feeds cut at", i, t, want);
        free(t);
    }
    for (size_t iter = 0; iter < 100 && ok; iter++) {
        size_t n = 0, at = 0, span = 1 + (size_t)(rng() % 16);
        while (at < len) {
            at += 1 + (size_t)(rng() % span);
            if (at < len)
                cuts[n++] = at;
            if (at < len && rng() % 8 == 0)
                cuts[n++] = at;
        }
        t = transcript(in, len, cuts, n, o);
        ok &= same("random splits, iteration", iter, t, want);
        free(t);
    }
    free(cuts);
    return ok;
}

static int check_doc(const char *in, size_t len, const char *want) {
    return check_doc_opts(in, len, want, &defaults);
}

#define S(lit) lit, sizeof(lit) - 1

/* Only the result part of a transcript (for the long list of rejected documents). */
static char *result_of(const char *in, size_t len) {
    char *t = transcript(in, len, NULL, 0, &defaults);
    char *eq = strrchr(t, '=');
    memmove(t, eq, strlen(eq) + 1);
    return t;
}

/* ---- accepted documents ------------------------------------------------------------------ */

static void test_scalars(void) {
    CHECK(check_doc(S("1"), "N1:1@0d0 =0"));
    CHECK(check_doc(S("-0"), "N2:-0@0d0 =0"));
    CHECK(check_doc(S(" 1.5e+3 "), "N6:1.5e+3@1d0 =0"));
    CHECK(check_doc(S("0.25E-2"), "N7:0.25E-2@0d0 =0"));
    CHECK(check_doc(S("true"), "T@0d0 =0"));
    CHECK(check_doc(S("false"), "F@0d0 =0"));
    CHECK(check_doc(S("\n\t\r null \n"), "Z@4d0 =0"));
    CHECK(check_doc(S("\"\""), "S0:@0d0 =0"));
    CHECK(check_doc(S("\"abc\""), "S3:abc@0d0 =0"));
    /* A number ended by its container, by whitespace, by a comma. */
    CHECK(check_doc(S("[0,-1,2.5e3]"), "[@0d0 N1:0@1d1 N2:-1@3d1 N5:2.5e3@6d1 ]@11d0 =0"));
    CHECK(check_doc(S("{\"a\":10}"), "{@0d0 K1:a@1d1 N2:10@5d1 }@7d0 =0"));
    /* A number cut by the end of the input inside a container is not delivered. */
    CHECK(check_doc(S("[7, 12"), "[@0d0 N1:7@1d1 =-5@6"));
}

static void test_structures(void) {
    CHECK(check_doc(S("[]"), "[@0d0 ]@1d0 =0"));
    CHECK(check_doc(S("{}"), "{@0d0 }@1d0 =0"));
    CHECK(check_doc(S(" [ { } , [ ] ] "), "[@1d0 {@3d1 }@5d1 [@9d1 ]@11d1 ]@13d0 =0"));
    CHECK(check_doc(S("{\"a\":[true,false,null],\"b\":{\"c\":\"d\"}}"),
                    "{@0d0 K1:a@1d1 [@5d1 T@6d2 F@11d2 Z@17d2 ]@21d1 K1:b@23d1 {@27d1 "
                    "K1:c@28d2 S1:d@32d2 }@35d1 }@36d0 =0"));
    /* Duplicate keys are grammatical (RFC 8259 leaves their meaning open): both come. */
    CHECK(
        check_doc(S("{\"a\":1,\"a\":2}"), "{@0d0 K1:a@1d1 N1:1@5d1 K1:a@7d1 N1:2@11d1 }@12d0 =0"));
}

static void test_bom(void) {
    CHECK(check_doc(S("\xEF\xBB\xBF[1]"), "[@3d0 N1:1@4d1 ]@5d0 =0"));
    CHECK(check_doc(S("\xEF\xBB\xBF 7"), "N1:7@4d0 =0"));
    /* Only one, only at the start. */
    CHECK(check_doc(S("\xEF\xBB\xBF\xEF\xBB\xBF[]"), "=-2@3"));
    CHECK(check_doc(S(" \xEF\xBB\xBF[]"), "=-2@1"));
    CHECK(check_doc(S("\xEF\xBB[]"), "=-2@2"));
    CHECK(check_doc(S("\xEF\xBB"), "=-5@2"));
    CHECK(check_doc(S("\xEF\xBB\xBF"), "=-5@3"));
}

static void test_escapes(void) {
    CHECK(
        check_doc(S("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\""), "S15:\" \\ / \b \f \n \r \t@0d0 =0"));
    CHECK(check_doc(S("\"\\u00e9\\u00C9\\u20ac\""), "S7:\xC3\xA9\xC3\x89\xE2\x82\xAC@0d0 =0"));
    /* A surrogate pair: U+1F600. */
    CHECK(check_doc(S("\"\\ud83d\\ude00\""), "S4:\xF0\x9F\x98\x80@0d0 =0"));
    CHECK(check_doc(S("\"\\uD83D\\uDE00\""), "S4:\xF0\x9F\x98\x80@0d0 =0"));
    /* \u0000 is a NUL inside the string. */
    CHECK(check_doc(S("\"a\\u0000b\""), "S3:a\0b@0d0 =0"));
}

static void test_lone_surrogates(void) {
    /* Each lone surrogate becomes U+FFFD (EF BF BD); what follows is read normally. */
    CHECK(check_doc(S("\"\\ud800\""), "S3:\xEF\xBF\xBD@0d0 =0"));
    CHECK(check_doc(S("\"\\udc00\""), "S3:\xEF\xBF\xBD@0d0 =0"));
    CHECK(check_doc(S("\"\\ud800x\""), "S4:\xEF\xBF\xBDx@0d0 =0"));
    CHECK(check_doc(S("\"\\ud800\\n\""), "S4:\xEF\xBF\xBD\n@0d0 =0"));
    CHECK(check_doc(S("\"\\ud800\\u0041\""), "S4:\xEF\xBF\xBD"
                                             "A@0d0 =0"));
    /* A high one after a high one: the first is alone, the second pairs. */
    CHECK(check_doc(S("\"\\ud800\\ud83d\\ude00\""), "S7:\xEF\xBF\xBD\xF0\x9F\x98\x80@0d0 =0"));
    CHECK(check_doc(S("\"\\ude00\\ud83d\""), "S6:\xEF\xBF\xBD\xEF\xBF\xBD@0d0 =0"));
    /* A broken escape after a high surrogate is still an error. */
    CHECK(check_doc(S("\"\\ud800\\x\""), "=-2@8"));
    CHECK(check_doc(S("\"\\ud800\\u12\""), "=-2@11"));
}

static void test_raw_utf8(void) {
    CHECK(check_doc(S("\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\""),
                    "S14:caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80@0d0 =0"));
    CHECK(check_doc(S("[\"\xED\x9F\xBF\",\"\xEE\x80\x80\",\"\xF4\x8F\xBF\xBF\"]"),
                    "[@0d0 S3:\xED\x9F\xBF@1d1 S3:\xEE\x80\x80@7d1 S4:\xF4\x8F\xBF\xBF@13d1 ]@19d0 "
                    "=0"));
    /* Rejected, at the first byte that cannot be part of well-formed UTF-8. */
    CHECK(check_doc(S("\"\x80\""), "=-2@1"));         /* a lone continuation byte */
    CHECK(check_doc(S("\"\xC0\x80\""), "=-2@1"));     /* overlong NUL */
    CHECK(check_doc(S("\"\xC1\xBF\""), "=-2@1"));     /* overlong */
    CHECK(check_doc(S("\"\xE0\x9F\xBF\""), "=-2@2")); /* overlong 3-byte */
    CHECK(check_doc(S("\"\xED\xA0\x80\""), "=-2@2")); /* an encoded surrogate */
    CHECK(check_doc(S("\"\xF0\x8F\xBF\xBF\""), "=-2@2"));
    CHECK(check_doc(S("\"\xF4\x90\x80\x80\""), "=-2@2")); /* above U+10FFFF */
    CHECK(check_doc(S("\"\xF5\x80\x80\x80\""), "=-2@1"));
    CHECK(check_doc(S("\"\xFF\""), "=-2@1"));
    CHECK(check_doc(S("\"\xC3\""), "=-2@2"));      /* cut by the closing quote */
    CHECK(check_doc(S("\"\xE2\x82x\""), "=-2@3")); /* cut by an ASCII byte */
    /* Outside strings, any non-ASCII byte is a syntax error. */
    CHECK(check_doc(S("[\xC3\xA9]"), "[@0d0 =-2@1"));
}

/* ---- rejected documents (RFC 8259 grammar) ---------------------------------------------- */

typedef struct bad_case {
    const char *in;
    size_t len;
    const char *want; /* "=code@offset" */
} bad_case;

#define BAD(lit, want)                                                                             \
    { lit, sizeof(lit) - 1, want }

static const bad_case bad_cases[] = {
    BAD("", "=-5@0"),
    BAD("   ", "=-5@3"),
    BAD("[1,]", "=-2@3"),
    BAD("{\"a\":1,}", "=-2@7"),
    BAD("[,1]", "=-2@1"),
    BAD("[1,,2]", "=-2@3"),
    BAD("[1 2]", "=-2@3"),
    BAD("{\"a\" 1}", "=-2@5"),
    BAD("{\"a\":}", "=-2@5"),
    BAD("{\"a\"}", "=-2@4"),
    BAD("{1:2}", "=-2@1"),
    BAD("{'a':1}", "=-2@1"),
    BAD("{\"a\":1 \"b\":2}", "=-2@7"),
    BAD("[1}", "=-2@2"),
    BAD("{\"a\":1]", "=-2@6"),
    BAD("]", "=-2@0"),
    BAD("[1]]", "=-2@3"),
    BAD("[1] [2]", "=-2@4"),
    BAD("1 2", "=-2@2"),
    BAD("01", "=-2@1"),
    BAD("-01", "=-2@2"),
    BAD("+1", "=-2@0"),
    BAD(".5", "=-2@0"),
    BAD("1.", "=-5@2"),
    BAD("[1.]", "=-2@3"),
    BAD("1.e3", "=-2@2"),
    BAD("1e", "=-5@2"),
    BAD("[1e]", "=-2@3"),
    BAD("[1e+]", "=-2@4"),
    BAD("-", "=-5@1"),
    BAD("[-]", "=-2@2"),
    BAD("- 1", "=-2@1"),
    BAD("0x10", "=-2@1"),
    BAD("1x", "=-2@1"),
    BAD("[1.5.3]", "=-2@4"),
    BAD("NaN", "=-2@0"),
    BAD("Infinity", "=-2@0"),
    BAD("-Infinity", "=-2@1"),
    BAD("tru", "=-5@3"),
    BAD("trUe", "=-2@2"),
    BAD("nul", "=-5@3"),
    BAD("[12", "=-5@3"),
    BAD("{\"a\":-0.5e1", "=-5@11"),
    BAD("[truex]", "=-2@5"),
    BAD("True", "=-2@0"),
    BAD("\"abc", "=-5@4"),
    BAD("\"a\tb\"", "=-2@2"),
    BAD("\"a\nb\"", "=-2@2"),
    BAD("\"\\x\"", "=-2@2"),
    BAD("\"\\'\"", "=-2@2"),
    BAD("\"\\u12\"", "=-2@5"),
    BAD("\"\\u12g4\"", "=-2@5"),
    BAD("\"\\U0041\"", "=-2@2"),
    BAD("'a'", "=-2@0"),
    BAD("[", "=-5@1"),
    BAD("{", "=-5@1"),
    BAD("{\"a\"", "=-5@4"),
    BAD("{\"a\":", "=-5@5"),
    BAD("[[[]]", "=-5@5"),
    BAD("// comment\n1", "=-2@0"),
    BAD("/* c */ 1", "=-2@0"),
    BAD("[1] // c", "=-2@4"),
    BAD("\x0c[]", "=-2@0"),     /* form feed is not JSON whitespace */
    BAD("[\xC2\xA0]", "=-2@1"), /* nor is NBSP */
    BAD("[1,\x00]", "=-2@3"),
};

static void test_rejected(void) {
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *c = &bad_cases[i];
        char *got = result_of(c->in, c->len);
        if (strcmp(got, c->want) != 0) {
            fprintf(stderr, "  case %zu (\"%s\"): got %s, want %s\n", i, c->in, got, c->want);
            check_test_failed = 1;
        }
        free(got);
        /* And the same however it is split. */
        char *whole = transcript(c->in, c->len, NULL, 0, &defaults);
        CHECK(check_doc(c->in, c->len, whole));
        free(whole);
    }
}

static void test_error_messages(void) {
    static const struct {
        const char *in;
        const char *msg;
        size_t line, col;
    } cases[] = {
        {"[1,]", "trailing comma before ']'", 1, 4},
        {"{\n  \"a\": 1,\n}", "trailing comma before '}'", 3, 1},
        {"[\n  1\n  2\n]", "expected ',' or ']' after an array element, found '2'", 3, 3},
        {"{\"a\":1]", "expected ',' or '}' after an object member, found ']'", 1, 7},
        {"01", "a number cannot start with 0 followed by a digit", 1, 2},
        {"\"\\q\"", "invalid escape: a backslash followed by 'q'", 1, 3},
        {"\"\xC3(\"", "invalid UTF-8: byte 0x28 cannot continue the sequence begun before it", 1,
         3},
        {"\"a\x01\"", "unescaped control character 0x01 in a string (write it as \\u0001)", 1, 3},
        {"[1] x", "unexpected 'x' after the end of the JSON value", 1, 5},
        {"", "the input holds no JSON value", 1, 1},
        {"[\n{\"a\": [1,", "the input ends inside the array that began at byte 8 (3 levels open)",
         2, 10},
        {"\"abc", "the input ends inside a string that began at byte 0", 1, 5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rec r;
        memset(&r, 0, sizeof r);
        r.skip_begin_depth = -1;
        jsonsax *p = jsonsax_new(NULL, on_event, &r);
        int rc = jsonsax_feed(p, cases[i].in, strlen(cases[i].in));
        if (rc == JSONSAX_OK)
            rc = jsonsax_finish(p);
        CHECK(rc < 0);
        CHECK_STR(jsonsax_error(p), cases[i].msg);
        CHECK_INT(jsonsax_error_line(p), cases[i].line);
        CHECK_INT(jsonsax_error_column(p), cases[i].col);
        jsonsax_free(p);
        buf_free(&r.out);
    }
}

/* ---- limits ------------------------------------------------------------------------------ */

static void test_depth_cap(void) {
    opts o = defaults;
    o.max_depth = 3;
    CHECK(check_doc_opts(S("[[[]]]"), "[@0d0 [@1d1 [@2d2 ]@3d2 ]@4d1 ]@5d0 =0", &o));
    CHECK(check_doc_opts(S("[[[[]]]]"), "[@0d0 [@1d1 [@2d2 =-3@3", &o));
    CHECK(check_doc_opts(S("{\"a\":{\"b\":{\"c\":{}}}}"),
                         "{@0d0 K1:a@1d1 {@5d1 K1:b@6d2 {@10d2 "
                         "K1:c@11d3 =-3@15",
                         &o));

    /* The default: 64 levels pass, 65 do not. */
    buf in = {0};
    for (int i = 0; i < 64; i++)
        buf_append_byte(&in, '[');
    for (int i = 0; i < 64; i++)
        buf_append_byte(&in, ']');
    char *t = transcript(in.data, in.len, NULL, 0, &defaults);
    CHECK(strstr(t, "=0") != NULL);
    free(t);
    buf_clear(&in);
    for (int i = 0; i < 65; i++)
        buf_append_byte(&in, '[');
    t = transcript(in.data, in.len, NULL, 0, &defaults);
    CHECK(strstr(t, "=-3@64") != NULL);
    free(t);

    /* A deep document of 100 000 '[' stops at the limit without using more memory. */
    buf_clear(&in);
    for (int i = 0; i < 100000; i++)
        buf_append_byte(&in, '[');
    t = transcript(in.data, in.len, NULL, 0, &defaults);
    CHECK(strstr(t, "=-3@64") != NULL);
    free(t);
    buf_free(&in);

    /* A huge max_depth is lowered to the hard limit. */
    jsonsax_options big = {1000000, 0};
    rec r;
    memset(&r, 0, sizeof r);
    r.skip_begin_depth = -1;
    jsonsax *p = jsonsax_new(&big, on_event, &r);
    buf deep = {0};
    for (int i = 0; i <= JSONSAX_MAX_DEPTH_LIMIT; i++)
        buf_append_byte(&deep, '[');
    CHECK_INT(jsonsax_feed(p, deep.data, deep.len), JSONSAX_EDEPTH);
    CHECK_INT(jsonsax_error_offset(p), JSONSAX_MAX_DEPTH_LIMIT);
    jsonsax_free(p);
    buf_free(&deep);
    buf_free(&r.out);
}

static void test_string_cap(void) {
    opts o = defaults;
    o.string_cap = 16;
    /* Exactly the cap: whole.  One more: cut, with the full length. */
    CHECK(check_doc_opts(S("\"0123456789abcdef\""), "S16:0123456789abcdef@0d0 =0", &o));
    CHECK(check_doc_opts(S("\"0123456789abcdefg\""), "S~16/17:16:0123456789abcdef@0d0 =0", &o));
    /* The cut never falls inside a code point: 15 ASCII + é (2 bytes) keeps 15. */
    CHECK(check_doc_opts(S("\"0123456789abcde\xC3\xA9xyz\""), "S~15/20:15:0123456789abcde@0d0 =0",
                         &o));
    /* Nor inside an escaped one: 14 + € (3 bytes from \u20ac). */
    CHECK(check_doc_opts(S("\"0123456789abcd\\u20ac\""), "S~14/17:14:0123456789abcd@0d0 =0", &o));
    /* Nor inside a surrogate pair's 4 bytes. */
    CHECK(check_doc_opts(S("\"0123456789abc\\ud83d\\ude00\""), "S~13/17:13:0123456789abc@0d0 =0",
                         &o));
    /* Keys too; the rest of the document is unaffected. */
    CHECK(check_doc_opts(S("{\"a very long key, longer than 16\":\"v\"}"),
                         "{@0d0 K~16/31:16:a very long key,@1d1 S1:v@35d1 }@38d0 =0", &o));
    /* A string far larger than the cap costs no memory: 1 MiB. */
    buf in = {0};
    buf_append_byte(&in, '"');
    for (int i = 0; i < (1 << 20); i++)
        buf_append_byte(&in, (char)('a' + i % 26));
    buf_append_byte(&in, '"');
    char *t = transcript(in.data, in.len, NULL, 0, &o);
    CHECK_STR(t, "S~16/1048576:16:abcdefghijklmnop@0d0 =0");
    free(t);
    buf_free(&in);
}

static void test_number_cap(void) {
    buf in = {0};
    for (int i = 0; i < JSONSAX_MAX_NUMBER; i++)
        buf_append_byte(&in, '7');
    char *t = transcript(in.data, in.len, NULL, 0, &defaults);
    CHECK(strncmp(t, "N128:777", 8) == 0);
    CHECK(strstr(t, "=0") != NULL);
    free(t);
    buf_append_byte(&in, '7');
    t = transcript(in.data, in.len, NULL, 0, &defaults);
    CHECK_STR(t, "=-4@128");
    free(t);
    buf_free(&in);
}

/* ---- skipping ---------------------------------------------------------------------------- */

static void test_skip(void) {
    opts o = defaults;
    o.skip_key = "text";
    /* The value of "text" gives no event, whether a scalar or a container. */
    CHECK(check_doc_opts(S("{\"text\":\"long\",\"n\":1}"),
                         "{@0d0 K4:text@1d1 K1:n@15d1 N1:1@19d1 "
                         "}@20d0 =0",
                         &o));
    CHECK(check_doc_opts(S("{\"text\":{\"a\":[1,{\"text\":2}]},\"n\":true}"),
                         "{@0d0 K4:text@1d1 K1:n@29d1 T@33d1 }@37d0 =0", &o));
    CHECK(check_doc_opts(S("[{\"text\":null},{\"text\":[]},{\"text\":-1.5}]"),
                         "[@0d0 {@1d1 K4:text@2d2 }@13d1 {@15d1 K4:text@16d2 }@25d1 {@27d1 "
                         "K4:text@28d2 }@39d1 ]@40d0 =0",
                         &o));
    /* Skip at a BEGIN: the content is silent, the END comes. */
    o = defaults;
    o.skip_begin_depth = 1;
    CHECK(check_doc_opts(S("[[1,2,[3]],{\"a\":{\"b\":1}},4]"),
                         "[@0d0 [@1d1 ]@9d1 {@11d1 }@23d1 N1:4@25d1 ]@26d0 =0", &o));
    /* Skipped content is checked all the same: the same error as without skipping. */
    o = defaults;
    o.skip_key = "text";
    CHECK(check_doc_opts(S("{\"text\":\"bad \\x escape\"}"), "{@0d0 K4:text@1d1 =-2@14", &o));
    CHECK(check_doc_opts(S("{\"text\":[1,]}"), "{@0d0 K4:text@1d1 =-2@11", &o));
    CHECK(check_doc_opts(S("{\"text\":\"\xC3\"}"), "{@0d0 K4:text@1d1 =-2@10", &o));
    CHECK(check_doc_opts(S("{\"text\":[[[[[[]]]]]]}"), "{@0d0 K4:text@1d1 }@20d0 =0", &o));
    o.max_depth = 4;
    CHECK(check_doc_opts(S("{\"text\":[[[[[[]]]]]]}"), "{@0d0 K4:text@1d1 =-3@11", &o));
}

static void test_skip_outside_callback(void) {
    rec r;
    memset(&r, 0, sizeof r);
    r.skip_begin_depth = -1;
    jsonsax *p = jsonsax_new(NULL, on_event, &r);
    jsonsax_skip(p); /* nothing happens */
    jsonsax_skip(NULL);
    CHECK_INT(jsonsax_feed(p, S("[1]")), JSONSAX_OK);
    CHECK_INT(jsonsax_finish(p), JSONSAX_OK);
    CHECK_STR(r.out.data, "[@0d0 N1:1@1d1 ]@2d0 ");
    jsonsax_free(p);
    buf_free(&r.out);
}

/* ---- the path ---------------------------------------------------------------------------- */

static void test_path(void) {
    opts o = defaults;
    o.with_path = 1;
    CHECK(
        check_doc_opts(S("[1,{\"a\":[true],\"b c\":{\"d\\\"\":null}}]"),
                       "[@0d0 N1:1@1d1<$[0]> {@3d1 K1:a@4d2<$[1].a> [@8d2 T@9d3<$[1].a[0]> ]@13d2 "
                       "K3:b c@15d2<$[1][\"b c\"]> {@21d2 K2:d\"@22d3<$[1][\"b c\"][\"d\\\"\"]> "
                       "Z@28d3<$[1][\"b c\"][\"d\\\"\"]> }@32d2 }@33d1 ]@34d0 =0",
                       &o));
    /* A key longer than the path keeps is shown cut. */
    buf in = {0};
    buf_append_str(&in, "{\"");
    for (int i = 0; i < 70; i++)
        buf_append_byte(&in, 'k');
    buf_append_str(&in, "\":0}");
    char *t = transcript(in.data, in.len, NULL, 0, &o);
    CHECK(
        strstr(t, "<$[\"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...\"]>") !=
        NULL);
    free(t);
    buf_free(&in);
}

typedef struct path_probe {
    int ok;
    size_t events;
} path_probe;

static int on_probe(void *ud, jsonsax *p, const jsonsax_event *ev) {
    path_probe *pp = ud;
    pp->events++;
    jsonsax_level l;
    if (ev->kind == JSONSAX_NUMBER && strcmp(ev->str, "42") == 0) {
        /* $.list[2].x */
        pp->ok = jsonsax_path(p, 0, &l) == 0 && l.is_object && l.index == 1 &&
                 strcmp(l.key, "list") == 0 && l.offset == 0;
        pp->ok &= jsonsax_path(p, 1, &l) == 0 && !l.is_object && l.index == 2 && l.key == NULL &&
                  l.offset == 18;
        pp->ok &= jsonsax_path(p, 2, &l) == 0 && l.is_object && l.index == 0 &&
                  strcmp(l.key, "x") == 0 && l.key_len == 1 && !l.key_truncated;
        pp->ok &= jsonsax_path(p, 3, &l) == -1;
        pp->ok &= jsonsax_offset(p) == 30; /* a number's end is seen at the next byte */
    }
    return 0;
}

static void test_path_levels(void) {
    path_probe pp = {0, 0};
    jsonsax *p = jsonsax_new(NULL, on_probe, &pp);
    const char *doc = "{\"first\":0,\"list\":[0,1,{\"x\":42}]}";
    CHECK_INT(jsonsax_feed(p, doc, strlen(doc)), JSONSAX_OK);
    CHECK_INT(jsonsax_finish(p), JSONSAX_OK);
    CHECK(pp.ok);
    CHECK_INT(jsonsax_depth(p), 0);
    CHECK_INT(jsonsax_offset(p), strlen(doc));
    jsonsax_free(p);
}

/* ---- callbacks and the API --------------------------------------------------------------- */

static void test_stop_and_reentry(void) {
    rec r;
    memset(&r, 0, sizeof r);
    r.skip_begin_depth = -1;
    r.stop_after = 2;
    jsonsax *p = jsonsax_new(NULL, on_event, &r);
    CHECK_INT(jsonsax_feed(p, S("[1,2,3]")), JSONSAX_STOPPED);
    CHECK_INT(r.seen, 2);
    CHECK_INT(jsonsax_feed(p, S("4")), JSONSAX_STOPPED);
    CHECK_INT(jsonsax_finish(p), JSONSAX_STOPPED);
    CHECK_STR(jsonsax_error(p), "");
    jsonsax_free(p);
    buf_free(&r.out);

    /* Stopping at a BEGIN event (a regression: it once read as a syntax error), and at an
     * END. */
    static const char *const stops[] = {"[1]", "{\"a\":[]}", "[[]]"};
    for (size_t k = 0; k < 3; k++) {
        for (size_t at = 1; at <= 3; at++) {
            memset(&r, 0, sizeof r);
            r.skip_begin_depth = -1;
            r.stop_after = at;
            p = jsonsax_new(NULL, on_event, &r);
            CHECK_INT(jsonsax_feed(p, stops[k], strlen(stops[k])), JSONSAX_STOPPED);
            CHECK_INT(r.seen, at);
            CHECK_STR(jsonsax_error(p), "");
            jsonsax_free(p);
            buf_free(&r.out);
        }
    }

    memset(&r, 0, sizeof r);
    r.skip_begin_depth = -1;
    r.reenter = 1;
    p = jsonsax_new(NULL, on_event, &r);
    CHECK_INT(jsonsax_feed(p, S("[1]")), JSONSAX_OK);
    CHECK_INT(r.reenter_rc, JSONSAX_EBUSY);
    CHECK_INT(jsonsax_finish(p), JSONSAX_OK);
    CHECK_STR(r.out.data, "[@0d0 N1:1@1d1 ]@2d0 ");
    jsonsax_free(p);
    buf_free(&r.out);
}

static int on_nothing(void *ud, jsonsax *p, const jsonsax_event *ev) {
    (void)ud;
    (void)p;
    (void)ev;
    return 0;
}

static void test_api_edges(void) {
    CHECK(jsonsax_new(NULL, NULL, NULL) == NULL);
    jsonsax_free(NULL);
    jsonsax *p = jsonsax_new(NULL, on_nothing, NULL);
    CHECK_INT(jsonsax_feed(p, NULL, 0), JSONSAX_OK);
    CHECK_STR(jsonsax_error(p), "");
    CHECK_INT(jsonsax_feed(p, S("{}")), JSONSAX_OK);
    CHECK_INT(jsonsax_finish(p), JSONSAX_OK);
    CHECK_INT(jsonsax_finish(p), JSONSAX_OK); /* twice is harmless */
    CHECK_INT(jsonsax_feed(p, NULL, 0), JSONSAX_OK);
    CHECK_INT(jsonsax_feed(p, S(" ")), JSONSAX_ESYNTAX); /* nothing after the end */
    CHECK_STR(jsonsax_error(p), "data after the end of the input");
    CHECK_INT(jsonsax_error_offset(p), 2);
    jsonsax_free(p);

    /* A tiny string_cap is raised to the minimum. */
    jsonsax_options o = {0, 1};
    rec r;
    memset(&r, 0, sizeof r);
    r.skip_begin_depth = -1;
    p = jsonsax_new(&o, on_event, &r);
    CHECK_INT(jsonsax_feed(p, S("\"0123456789abcdefXYZ\"")), JSONSAX_OK);
    CHECK_STR(r.out.data, "S~16/19:16:0123456789abcdef@0d0 ");
    jsonsax_free(p);
    buf_free(&r.out);
}

static void test_number_helpers(void) {
    double d = 0;
    long long v = 0;
    CHECK_INT(jsonsax_number_double(S("1700000000.123456"), &d), 0);
    CHECK(d > 1700000000.12 && d < 1700000000.13);
    CHECK_INT(jsonsax_number_double(S("-2.5e-3"), &d), 0);
    CHECK(d == -0.0025);
    CHECK_INT(jsonsax_number_double(S("1e400"), &d), -1);
    CHECK_INT(jsonsax_number_double(S("1."), &d), -1);
    CHECK_INT(jsonsax_number_double(S(" 1"), &d), -1);
    CHECK_INT(jsonsax_number_double(S("0x10"), &d), -1);
    CHECK_INT(jsonsax_number_double(S(""), &d), -1);
    CHECK_INT(jsonsax_number_int(S("42"), &v), 0);
    CHECK_INT(v, 42);
    CHECK_INT(jsonsax_number_int(S("-7"), &v), 0);
    CHECK_INT(v, -7);
    CHECK_INT(jsonsax_number_int(S("4.2e1"), &v), 0);
    CHECK_INT(v, 42);
    CHECK_INT(jsonsax_number_int(S("12.0"), &v), 0);
    CHECK_INT(v, 12);
    CHECK_INT(jsonsax_number_int(S("9223372036854775807"), &v), 0);
    CHECK(v == 9223372036854775807LL);
    v = 5;
    CHECK_INT(jsonsax_number_int(S("9223372036854775808"), &v), -1);
    CHECK_INT(jsonsax_number_int(S("1e19"), &v), -1);
    CHECK_INT(jsonsax_number_int(S("1.5"), &v), -1);
    CHECK_INT(jsonsax_number_int(S("007"), &v), -1);
    CHECK_INT(v, 5); /* untouched on failure */

    /* The C locale's decimal point does not matter (when a comma locale exists here). */
    const char *locales[] = {"fr_FR.UTF-8", "de_DE.UTF-8", "fr_FR.utf8", "de_DE.utf8"};
    for (size_t i = 0; i < 4; i++) {
        if (setlocale(LC_NUMERIC, locales[i])) {
            CHECK_INT(jsonsax_number_double(S("0.015"), &d), 0);
            CHECK(d == 0.015);
            setlocale(LC_NUMERIC, "C");
            break;
        }
    }
}

/* ---- a realistic document, split every way ----------------------------------------------- */

static void test_realistic(void) {
    const char *doc = "[{\"title\":\"Caf\\u00e9 \xE2\x82\xAC\",\"create_time\":1700000000.5,"
                      "\"mapping\":{\"n1\":{\"id\":\"n1\",\"message\":null,\"parent\":null,"
                      "\"children\":[\"n2\"]}},\"default_model_slug\":\"gpt-4o\"}]\n";
    CHECK(check_doc(doc, strlen(doc),
                    "[@0d0 {@1d1 K5:title@2d2 S9:Caf\xC3\xA9 \xE2\x82\xAC@10d2 "
                    "K11:create_time@26d2 N12:1700000000.5@40d2 K7:mapping@53d2 {@63d2 "
                    "K2:n1@64d3 {@69d3 K2:id@70d4 S2:n1@75d4 K7:message@80d4 Z@90d4 "
                    "K6:parent@95d4 Z@104d4 K8:children@109d4 [@120d4 S2:n2@121d5 ]@125d4 "
                    "}@126d3 }@127d2 K18:default_model_slug@129d2 S6:gpt-4o@150d2 }@158d1 "
                    "]@159d0 =0"));
}

int main(void) {
    RUN(test_scalars);
    RUN(test_structures);
    RUN(test_bom);
    RUN(test_escapes);
    RUN(test_lone_surrogates);
    RUN(test_raw_utf8);
    RUN(test_rejected);
    RUN(test_error_messages);
    RUN(test_depth_cap);
    RUN(test_string_cap);
    RUN(test_number_cap);
    RUN(test_skip);
    RUN(test_skip_outside_callback);
    RUN(test_path);
    RUN(test_path_levels);
    RUN(test_stop_and_reentry);
    RUN(test_api_edges);
    RUN(test_number_helpers);
    RUN(test_realistic);
    return check_report("jsonsax");
}
