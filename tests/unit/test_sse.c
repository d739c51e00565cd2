/* Tests for the SSE parser (src/sse.c).
 *
 * Every stream is checked through check_stream(), which parses it whole, byte by byte, cut
 * in two at every position, and in many random splits, and requires the same transcript
 * each time: the events, the unknown fields, the feed results, what sse_parser_finish()
 * gives back and the retry value.  A transcript is a readable string; lengths come before
 * bytes so that embedded NULs and LFs cannot make two different transcripts look alike.
 */
#include "ami/buf.h"
#include "ami/sse.h"
#include "check.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- recording ------------------------------------------------------------------------ */

typedef struct rec {
    buf out;
    sse_parser *p;
    size_t stop_at;  /* return non-zero from the event callback for this event (1-based) */
    size_t seen;     /* events received */
    int reenter;     /* the event callback tries to feed and finish the parser */
    int reenter_rc;  /* what that feed returned */
    int terminated;  /* every string handed to a callback was NUL-terminated at its length */
    int field_stops; /* the field callback returns non-zero */
} rec;

static void put(buf *b, const char *s, size_t n) {
    buf_printf(b, "%zu:", n);
    buf_append(b, s, n);
}

static int on_event(void *ud, const sse_event *ev) {
    rec *r = ud;
    r->seen++;
    if (ev->type[ev->type_len] || ev->data[ev->data_len] || ev->id[ev->id_len])
        r->terminated = 0;
    buf_append_str(&r->out, "E(");
    put(&r->out, ev->type, ev->type_len);
    buf_append_str(&r->out, ",");
    put(&r->out, ev->data, ev->data_len);
    buf_append_str(&r->out, ",");
    put(&r->out, ev->id, ev->id_len);
    buf_append_str(&r->out, ")");
    if (r->reenter) {
        const char *pd = "x";
        size_t pl = 9;
        r->reenter_rc = sse_parser_feed(r->p, "data: z\n\n", 9);
        sse_parser_finish(r->p, &pd, &pl);
        if (pd || pl)
            r->reenter_rc = 99;
    }
    return r->stop_at && r->seen == r->stop_at;
}

static int on_field(void *ud, const char *name, size_t nlen, const char *value, size_t vlen) {
    rec *r = ud;
    if (name[nlen] || value[vlen])
        r->terminated = 0;
    buf_append_str(&r->out, "F(");
    put(&r->out, name, nlen);
    buf_append_str(&r->out, ",");
    put(&r->out, value, vlen);
    buf_append_str(&r->out, ")");
    return r->field_stops;
}

static void rec_init(rec *r) {
    memset(r, 0, sizeof *r);
    r->terminated = 1;
    r->p = sse_parser_new(on_event, r);
    sse_parser_set_field_fn(r->p, on_field);
}

/* Feeds in[0..len) in the pieces that cuts[] delimit (ascending positions), then finishes,
 * and returns the transcript (caller frees). */
static char *transcript(const char *in, size_t len, const size_t *cuts, size_t ncuts,
                        size_t limit) {
    rec r;
    rec_init(&r);
    if (limit)
        sse_parser_set_limit(r.p, limit);
    size_t at = 0;
    int last = SSE_OK;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t to = i < ncuts ? cuts[i] : len;
        int rc = sse_parser_feed(r.p, in + at, to - at);
        /* Final codes repeat on every later feed: record changes only, so the transcript
         * does not depend on the number of feeds. */
        if (rc != last)
            buf_printf(&r.out, "R%d", rc);
        last = rc;
        at = to;
    }
    const char *pd;
    size_t pl;
    sse_parser_finish(r.p, &pd, &pl);
    if (pd) {
        buf_append_str(&r.out, "P(");
        put(&r.out, pd, pl);
        buf_append_str(&r.out, ")");
        if (pd[pl])
            r.terminated = 0;
    } else if (pl) {
        buf_append_str(&r.out, "P-with-length");
    }
    buf_printf(&r.out, "T%ld", sse_parser_retry(r.p));
    if (sse_parser_events(r.p) != r.seen)
        buf_append_str(&r.out, "!count");
    if (!r.terminated)
        buf_append_str(&r.out, "!nul");
    sse_parser_free(r.p);
    return buf_steal(&r.out);
}

/* A cheap deterministic generator (splitmix64) so that failures reproduce. */
static uint64_t rng_state = 0x5eed5eedULL;
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

/* Checks that every way of splitting in gives the transcript want. */
static int check_stream_limit(const char *in, size_t len, const char *want, size_t limit) {
    int ok = 1;
    char *t = transcript(in, len, NULL, 0, limit);
    ok &= same("whole", 0, t, want);
    free(t);

    /* Room for a cut after every byte plus an empty feed after each of them. */
    size_t *cuts = malloc((2 * len + 2) * sizeof *cuts);
    for (size_t i = 0; i < len; i++)
        cuts[i] = i + 1;
    t = transcript(in, len, cuts, len ? len - 1 : 0, limit);
    ok &= same("byte by byte", 0, t, want);
    free(t);

    for (size_t i = 0; i <= len && ok; i++) {
        t = transcript(in, len, &i, 1, limit);
        ok &= same("two feeds cut at", i, t, want);
        free(t);
    }

    for (size_t iter = 0; iter < 300 && ok; iter++) {
        size_t n = 0, at = 0;
        size_t span = 1 + (size_t)(rng() % 24);
        while (at < len) {
            at += 1 + (size_t)(rng() % span);
            if (at < len)
                cuts[n++] = at;
            if (at < len && rng() % 8 == 0)
                cuts[n++] = at; /* an empty feed now and then */
        }
        t = transcript(in, len, cuts, n, limit);
        ok &= same("random splits, iteration", iter, t, want);
        free(t);
    }
    free(cuts);
    return ok;
}

static int check_stream(const char *in, size_t len, const char *want) {
    return check_stream_limit(in, len, want, 0);
}

#define S(lit) lit, sizeof(lit) - 1

/* ---- PROTOCOLS.md test vectors -------------------------------------------------------- */

static void test_vector_empty_and_bare_data(void) {
    CHECK(check_stream(S("data:\n\ndata\ndata\n\ndata:test\n\n"),
                       "E(7:message,0:,0:)E(7:message,1:\n,0:)E(7:message,4:test,0:)T-1"));
}

static void test_vector_dog_bark_cr(void) {
    CHECK(check_stream(S("data: dog\rdata: bark\r\r"), "E(7:message,8:dog\nbark,0:)T-1"));
    /* The same in the two feeds the vector names. */
    rec r;
    rec_init(&r);
    CHECK_INT(sse_parser_feed(r.p, S("data: dog\r")), SSE_OK);
    CHECK_INT(r.seen, 0);
    CHECK_INT(sse_parser_feed(r.p, S("data: bark\r\r")), SSE_OK);
    CHECK_INT(r.seen, 1);
    CHECK_STR(r.out.data, "E(7:message,8:dog\nbark,0:)");
    sse_parser_free(r.p);
    buf_free(&r.out);
}

static void test_vector_crlf_split_across_feeds(void) {
    static const char *const feeds[] = {"data: A\r\n", "data: B\r", "\n", "data: C\r\n", "\n"};
    rec r;
    rec_init(&r);
    for (size_t i = 0; i < 5; i++)
        CHECK_INT(sse_parser_feed(r.p, feeds[i], strlen(feeds[i])), SSE_OK);
    CHECK_INT(r.seen, 1);
    CHECK_STR(r.out.data, "E(7:message,5:A\nB\nC,0:)");
    sse_parser_free(r.p);
    buf_free(&r.out);
    CHECK(check_stream(S("data: A\r\ndata: B\r\ndata: C\r\n\n"), "E(7:message,5:A\nB\nC,0:)T-1"));
}

static void test_vector_cr_cr_lf(void) {
    rec r;
    rec_init(&r);
    CHECK_INT(sse_parser_feed(r.p, S("data: one\r")), SSE_OK);
    CHECK_INT(sse_parser_feed(r.p, S("\r")), SSE_OK);
    CHECK_INT(r.seen, 1);
    CHECK_INT(sse_parser_feed(r.p, S("\n")), SSE_OK);
    /* The LF completes the CR before it: no second blank line, nothing pending. */
    CHECK_INT(sse_parser_feed(r.p, S("data: two\n")), SSE_OK);
    const char *pd;
    size_t pl;
    sse_parser_finish(r.p, &pd, &pl);
    CHECK_STR(pd, "two");
    CHECK_INT(r.seen, 1);
    CHECK_STR(r.out.data, "E(7:message,3:one,0:)");
    sse_parser_free(r.p);
    buf_free(&r.out);
    CHECK(check_stream(S("data: one\r\r\n"), "E(7:message,3:one,0:)T-1"));
}

static void test_vector_long_comment_lines(void) {
    buf in = {0};
    for (int k = 0; k < 3; k++) {
        buf_append_str(&in, ":");
        for (int i = 0; i < 2049; i++)
            buf_append_byte(&in, 'x');
        buf_printf(&in, "\ndata: e%d\n\n", k);
    }
    CHECK(check_stream(in.data, in.len,
                       "E(7:message,2:e0,0:)E(7:message,2:e1,0:)E(7:message,2:e2,0:)T-1"));
    buf_free(&in);
}

static void test_vector_id_with_nul(void) {
    CHECK(
        check_stream(S("id: 123\nid: bad\0id\ndata: hello\n\n"), "E(7:message,5:hello,3:123)T-1"));
}

static void test_vector_retry_not_digits(void) {
    CHECK(check_stream(S("retry:2000x\ndata: a\n\n"), "E(7:message,1:a,0:)T-1"));
    CHECK(check_stream(S("retry:2000\ndata: a\n\n"), "E(7:message,1:a,0:)T2000"));
}

static void test_vector_non_sse_body(void) {
    /* A provider's error body: plain JSON, no newline.  At the end it is read as a field
     * named `{"error"` (the text before the first colon), which is not data: no event and
     * nothing pending. */
    CHECK(check_stream(S("{\"error\":{\"code\":400,\"message\":\"Invalid model specified\"}}"),
                       "F(8:{\"error\",49:{\"code\":400,\"message\":\"Invalid model "
                       "specified\"}})T-1"));
    /* Pretty-printed over several lines: still no event. */
    CHECK(
        check_stream(S("{\n  \"error\": {\n    \"message\": \"bad\"\n  }\n}\n"),
                     "F(1:{,0:)F(9:  \"error\",1:{)F(13:    \"message\",5:\"bad\")F(3:  },0:)F(1:},"
                     "0:)T-1"));
}

static void test_vector_multiline_json(void) {
    CHECK(check_stream(S("data: {\"a\":\ndata: [1,\ndata: 2]}\n\n"),
                       "E(7:message,13:{\"a\":\n[1,\n2]},0:)T-1"));
}

/* ---- the rules, one by one ------------------------------------------------------------ */

static void test_line_ends_mixed(void) {
    CHECK(check_stream(S("data: a\ndata: b\r\ndata: c\rdata: d\n\r\n"
                         "data: e\r\n\n"
                         "data: f\r\r"
                         "data: g\n\n"),
                       "E(7:message,7:a\nb\nc\nd,0:)E(7:message,1:e,0:)E(7:message,1:f,0:)"
                       "E(7:message,1:g,0:)T-1"));
    /* CR LF LF: the LF after the CR is part of it, the second LF is a blank line. */
    CHECK(check_stream(S("data: x\r\n\n"), "E(7:message,1:x,0:)T-1"));
    /* LF CR: two line ends (the CR is not joined to an LF before it). */
    CHECK(check_stream(S("data: x\n\r"), "E(7:message,1:x,0:)T-1"));
}

static void test_bom(void) {
    CHECK(check_stream(S("\xEF\xBB\xBF"
                         "data: x\n\n"),
                       "E(7:message,1:x,0:)T-1"));
    /* Only one: a second BOM is part of the field name. */
    CHECK(check_stream(S("\xEF\xBB\xBF\xEF\xBB\xBF"
                         "data: x\n\n"),
                       "F(7:\xEF\xBB\xBF"
                       "data,1:x)T-1"));
    /* Only at the very start. */
    CHECK(check_stream(S("data: a\n\n\xEF\xBB\xBF"
                         "data: b\n\n"),
                       "E(7:message,1:a,0:)F(7:\xEF\xBB\xBF"
                       "data,1:b)T-1"));
    /* A broken BOM: the bytes that matched belong to the first line. */
    CHECK(check_stream(S("\xEF\xBB"
                         "data: x\n\n"),
                       "F(6:\xEF\xBB"
                       "data,1:x)T-1"));
    CHECK(check_stream(S("\xEF\n"
                         "data: x\n\n"),
                       "F(1:\xEF,0:)E(7:message,1:x,0:)T-1"));
    CHECK(check_stream(S("\xEF\xBB\xBF\n"
                         "data: x\n\n"),
                       "E(7:message,1:x,0:)T-1"));
    /* A stream of only part of a BOM: finish reads it as a (nameless-value) field. */
    CHECK(check_stream(S("\xEF\xBB"), "F(2:\xEF\xBB,0:)T-1"));
    CHECK(check_stream(S("\xEF\xBB\xBF"), "T-1"));
    /* Three bytes fed one at a time, then the data: no field, one event. */
    rec r;
    rec_init(&r);
    CHECK_INT(sse_parser_feed(r.p, "\xEF", 1), SSE_OK);
    CHECK_INT(sse_parser_feed(r.p, "\xBB", 1), SSE_OK);
    CHECK_INT(sse_parser_feed(r.p, "\xBF", 1), SSE_OK);
    CHECK_INT(sse_parser_feed(r.p, S("data: y\n\n")), SSE_OK);
    CHECK_STR(r.out.data, "E(7:message,1:y,0:)");
    sse_parser_free(r.p);
    buf_free(&r.out);
}

static void test_comments(void) {
    CHECK(check_stream(S(": OPENROUTER PROCESSING\n\n: OPENROUTER PROCESSING\n\n"
                         ":\n"
                         "data: a\n"
                         ": inside an event\n"
                         "data: b\n\n"),
                       "E(7:message,3:a\nb,0:)T-1"));
    /* A comment carries no data: the blank line after it dispatches nothing. */
    CHECK(check_stream(S(":data: x\n\n"), "T-1"));
}

static void test_fields(void) {
    /* No colon: the whole line is the name, the value is empty. */
    CHECK(check_stream(S("data\n\n"), "E(7:message,0:,0:)T-1"));
    CHECK(check_stream(S("event\ndata: x\n\n"), "E(7:message,1:x,0:)T-1"));
    CHECK(check_stream(S("foo\n"), "F(3:foo,0:)T-1"));
    /* One leading space removed, no more; none needed. */
    CHECK(check_stream(S("data:  two\n\ndata:none\n\ndata: \n\n"),
                       "E(7:message,4: two,0:)E(7:message,4:none,0:)E(7:message,0:,0:)T-1"));
    /* The name ends at the first colon; later colons belong to the value. */
    CHECK(check_stream(S("data: a:b: c\n\n"), "E(7:message,6:a:b: c,0:)T-1"));
    /* Tabs are not spaces. */
    CHECK(check_stream(S("data:\tx\n\n"), "E(7:message,2:\tx,0:)T-1"));
    /* Names are case-sensitive, and must match whole. */
    CHECK(check_stream(S("Data: x\nEVENT: y\ndata : z\ndatas: w\n\n"),
                       "F(4:Data,1:x)F(5:EVENT,1:y)F(5:data ,1:z)F(5:datas,1:w)T-1"));
    /* llama.cpp's old error line reaches the field callback. */
    CHECK(check_stream(S("error: {\"message\":\"boom\"}\n\n"),
                       "F(5:error,18:{\"message\":\"boom\"})T-1"));
    /* NUL bytes in data pass through. */
    CHECK(check_stream(S("data: a\0b\n\n"), "E(7:message,3:a\0b,0:)T-1"));
}

static void test_event_type(void) {
    CHECK(check_stream(S("event: add\ndata: 1\n\ndata: 2\n\n"),
                       "E(3:add,1:1,0:)E(7:message,1:2,0:)T-1"));
    /* The last event field wins; an empty one means "message". */
    CHECK(check_stream(S("event: a\nevent: b\ndata: 1\n\nevent: c\nevent:\ndata: 2\n\n"),
                       "E(1:b,1:1,0:)E(7:message,1:2,0:)T-1"));
    /* A blank line with no data resets the type and dispatches nothing. */
    CHECK(check_stream(S("event: foo\n\ndata: x\n\n"), "E(7:message,1:x,0:)T-1"));
}

static void test_ids(void) {
    /* The id sticks to later events; an empty id resets it; NUL makes it ignored. */
    CHECK(check_stream(S("id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\nid: 7\nid: x\0\ndata: d\n\n"),
                       "E(7:message,1:a,1:1)E(7:message,1:b,1:1)E(7:message,1:c,0:)"
                       "E(7:message,1:d,1:7)T-1"));
    /* An id without data still sets the last id. */
    rec r;
    rec_init(&r);
    CHECK_INT(sse_parser_feed(r.p, S("id: 42\n\n")), SSE_OK);
    size_t n = 0;
    CHECK_STR(sse_parser_last_id(r.p, &n), "42");
    CHECK_INT(n, 2);
    CHECK_INT(r.seen, 0);
    sse_parser_free(r.p);
    buf_free(&r.out);
}

static void test_retry(void) {
    CHECK(check_stream(S("retry: 1500\n"), "T1500"));
    CHECK(check_stream(S("retry: 1500\nretry: x\nretry:\nretry: -1\nretry: 1 2\nretry: +3\n"),
                       "T1500"));
    /* The bytes either side of '0'..'9' in ASCII are not digits. */
    CHECK(check_stream(S("retry: 12:\nretry: /12\n"), "T-1"));
    CHECK(check_stream(S("retry:0\n"), "T0"));
    /* Leading zeros are digits too. */
    CHECK(check_stream(S("retry: 007\n"), "T7"));
    /* Far too many digits: saturated, not wrapped. */
    char want[64];
    snprintf(want, sizeof want, "T%ld", LONG_MAX);
    CHECK(check_stream(S("retry: 99999999999999999999999999999\n"), want));
    /* Two spaces: the second is part of the value, so it is not all digits. */
    CHECK(check_stream(S("retry:  5\n"), "T-1"));
}

static void test_real_streams(void) {
    static const char openrouter[] =
        ": OPENROUTER PROCESSING\n\n"
        ": OPENROUTER PROCESSING\n\n"
        "data: {\"id\":\"gen-1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
        "\"content\":\"Bon\"},\"finish_reason\":null}]}\n\n"
        "data: {\"id\":\"gen-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"jour\"},"
        "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":2,"
        "\"total_tokens\":12,\"cost\":0.000042}}\n\n"
        "data: [DONE]\n\n";
    buf want = {0};
    buf_printf(&want, "E(7:message,%zu:%s,0:)", (size_t)104,
               "{\"id\":\"gen-1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
               "\"content\":\"Bon\"},\"finish_reason\":null}]}");
    buf_printf(
        &want, "E(7:message,%zu:%s,0:)", (size_t)173,
        "{\"id\":\"gen-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"jour\"},"
        "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":2,"
        "\"total_tokens\":12,\"cost\":0.000042}}");
    buf_append_str(&want, "E(7:message,6:[DONE],0:)T-1");
    CHECK(check_stream(S(openrouter), want.data));
    buf_free(&want);

    static const char anthropic[] =
        "event: message_start\r\n"
        "data: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":25}}}\r\n\r\n"
        "event: ping\r\ndata: {\"type\": \"ping\"}\r\n\r\n"
        "event: content_block_delta\r\n"
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
        "\"text\":\"Caf\xC3\xA9 \xF0\x9F\x98\x80\"}}\r\n\r\n"
        "event: error\r\n"
        "data: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":"
        "\"Overloaded\"}}\r\n\r\n"
        "event: message_stop\r\ndata: {\"type\":\"message_stop\"}\r\n\r\n";
    CHECK(check_stream(
        S(anthropic),
        "E(13:message_start,64:{\"type\":\"message_start\",\"message\":{\"usage\":{\"input_"
        "tokens\":25}}},0:)"
        "E(4:ping,16:{\"type\": \"ping\"},0:)"
        "E(19:content_block_delta,90:{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{"
        "\"type\":\"text_delta\",\"text\":\"Caf\xC3\xA9 \xF0\x9F\x98\x80\"}},0:)"
        "E(5:error,75:{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":"
        "\"Overloaded\"}},0:)"
        "E(12:message_stop,23:{\"type\":\"message_stop\"},0:)T-1"));
}

/* ---- lengths and limits --------------------------------------------------------------- */

typedef struct big {
    size_t events;
    size_t len;
    int ok;
} big;

static int on_big(void *ud, const sse_event *ev) {
    big *b = ud;
    b->events++;
    b->len = ev->data_len;
    b->ok = ev->data[0] == '<' && ev->data[ev->data_len - 1] == '>' && ev->data[ev->data_len] == 0;
    for (size_t i = 1; i + 1 < ev->data_len && b->ok; i++)
        b->ok = ev->data[i] == (char)('a' + i % 26);
    return 0;
}

static void test_one_mib_line(void) {
    const size_t n = (size_t)1 << 20;
    buf in = {0};
    buf_append_str(&in, "data: <");
    for (size_t i = 1; i + 1 < n; i++)
        buf_append_byte(&in, (char)('a' + i % 26));
    buf_append_str(&in, ">\n\n");
    static const size_t chunks[] = {0, 1, 7, 4096, 65536};
    for (size_t c = 0; c < sizeof chunks / sizeof *chunks; c++) {
        big b = {0, 0, 0};
        sse_parser *p = sse_parser_new(on_big, &b);
        size_t step = chunks[c] ? chunks[c] : in.len;
        int rc = SSE_OK;
        for (size_t at = 0; at < in.len && rc == SSE_OK; at += step)
            rc = sse_parser_feed(p, in.data + at, in.len - at < step ? in.len - at : step);
        CHECK_INT(rc, SSE_OK);
        CHECK_INT(b.events, 1);
        CHECK_INT(b.len, n);
        CHECK(b.ok);
        sse_parser_free(p);
    }
    buf_free(&in);
}

static void test_limit(void) {
    /* The limit counts the current line plus the data already pending.  A 100-byte line
     * fits a limit of 100; the next line then meets 95 pending bytes. */
    buf in = {0};
    buf_append_str(&in, "data: ");
    for (int i = 0; i < 94; i++)
        buf_append_byte(&in, 'x');
    buf_append_str(&in, "\n\n");
    buf want = {0};
    buf_append_str(&want, "E(7:message,94:");
    buf_append(&want, in.data + 6, 94);
    buf_append_str(&want, ",0:)T-1");
    CHECK(check_stream_limit(in.data, in.len, want.data, 100));
    CHECK(check_stream_limit(in.data, in.len, "R-2T-1", 99));

    /* Data that piles up over many short lines hits it too, however it is split. */
    buf_clear(&in);
    for (int i = 0; i < 30; i++)
        buf_append_str(&in, "data: 0123456789\n");
    buf_append_str(&in, "\n");
    CHECK(check_stream_limit(in.data, in.len, "R-2T-1", 100));

    /* A line that never ends is refused once it is too long, before any line end. */
    rec r;
    rec_init(&r);
    sse_parser_set_limit(r.p, 10);
    CHECK_INT(sse_parser_feed(r.p, S("data: 1234")), SSE_OK);
    CHECK_INT(sse_parser_feed(r.p, S("5")), SSE_ETOOBIG);
    /* Final: later feeds refuse too, and finish gives nothing back. */
    CHECK_INT(sse_parser_feed(r.p, S("\n\n")), SSE_ETOOBIG);
    const char *pd = "x";
    size_t pl = 5;
    sse_parser_finish(r.p, &pd, &pl);
    CHECK(pd == NULL);
    CHECK_INT(pl, 0);
    CHECK_INT(r.seen, 0);
    sse_parser_free(r.p);
    buf_free(&r.out);
    buf_free(&in);
    buf_free(&want);
}

/* ---- callbacks ------------------------------------------------------------------------ */

static void test_stop_from_callback(void) {
    rec r;
    rec_init(&r);
    r.stop_at = 2;
    CHECK_INT(sse_parser_feed(r.p, S("data: 1\n\ndata: 2\n\ndata: 3\n\n")), SSE_STOPPED);
    CHECK_INT(r.seen, 2);
    CHECK_INT(sse_parser_events(r.p), 2);
    CHECK_INT(sse_parser_feed(r.p, S("data: 4\n\n")), SSE_STOPPED);
    CHECK_INT(r.seen, 2);
    const char *pd = "x";
    sse_parser_finish(r.p, &pd, NULL);
    CHECK(pd == NULL);
    sse_parser_free(r.p);
    buf_free(&r.out);

    /* Stopping from the field callback too. */
    rec_init(&r);
    r.field_stops = 1;
    CHECK_INT(sse_parser_feed(r.p, S("error: x\ndata: 1\n\n")), SSE_STOPPED);
    CHECK_INT(r.seen, 0);
    sse_parser_free(r.p);
    buf_free(&r.out);
}

static void test_reentry_refused(void) {
    rec r;
    rec_init(&r);
    r.reenter = 1;
    CHECK_INT(sse_parser_feed(r.p, S("data: 1\n\ndata: 2\n\n")), SSE_OK);
    CHECK_INT(r.reenter_rc, SSE_EBUSY);
    CHECK_STR(r.out.data, "E(7:message,1:1,0:)E(7:message,1:2,0:)");
    sse_parser_free(r.p);
    buf_free(&r.out);
}

/* ---- finish --------------------------------------------------------------------------- */

static void finish_case(const char *in, size_t len, const char *want) {
    const char *pd = "x";
    size_t pl = 99;
    rec r;
    rec_init(&r);
    CHECK_INT(sse_parser_feed(r.p, in, len), SSE_OK);
    sse_parser_finish(r.p, &pd, &pl);
    if (want) {
        CHECK_STR(pd, want);
        CHECK_INT(pl, strlen(want));
    } else {
        CHECK(pd == NULL);
        CHECK_INT(pl, 0);
    }
    CHECK_INT(r.seen, 0);
    sse_parser_free(r.p);
    buf_free(&r.out);
}

static void test_finish(void) {
    finish_case(S("data: [DONE]\n"), "[DONE]");
    finish_case(S("data: [DONE]"), "[DONE]");
    finish_case(S("data: [DONE]\r"), "[DONE]");
    finish_case(S("data: a\ndata: b"), "a\nb");
    finish_case(S(""), NULL);
    finish_case(S(": only a comment\n"), NULL);
    finish_case(S("event: x\n"), NULL);
    /* A finished stream's transcript also covers every split (check_stream ends with it). */
    CHECK(check_stream(S("data: hi\n\ndata: [DONE]"), "E(7:message,2:hi,0:)P(6:[DONE])T-1"));
    CHECK(check_stream(S("data: hi\n\n"), "E(7:message,2:hi,0:)T-1"));

    /* After finish the parser takes a new stream: BOM skipped again, half lines and type
     * forgotten, the last id and the count kept. */
    rec r;
    rec_init(&r);
    CHECK_INT(sse_parser_feed(r.p, S("id: 9\nevent: t\ndata: a\n\nevent: u\ndata: [DO")), SSE_OK);
    const char *pd;
    size_t pl;
    sse_parser_finish(r.p, &pd, &pl);
    CHECK_STR(pd, "[DO");
    CHECK_INT(sse_parser_feed(r.p, S("\xEF\xBB\xBF"
                                     "data: b\r")),
              SSE_OK);
    CHECK_INT(sse_parser_feed(r.p, S("\n\n")), SSE_OK);
    CHECK_STR(r.out.data, "E(1:t,1:a,1:9)E(7:message,1:b,1:9)");
    CHECK_INT(sse_parser_events(r.p), 2);
    sse_parser_finish(r.p, &pd, &pl);
    CHECK(pd == NULL);
    sse_parser_finish(r.p, &pd, &pl); /* twice in a row is harmless */
    CHECK(pd == NULL);
    sse_parser_free(r.p);
    buf_free(&r.out);

    /* An unknown last line reaches the field callback at finish. */
    rec_init(&r);
    CHECK_INT(sse_parser_feed(r.p, S("error: {\"code\":500}")), SSE_OK);
    CHECK(r.out.data == NULL);
    sse_parser_finish(r.p, &pd, &pl);
    CHECK_STR(r.out.data, "F(5:error,12:{\"code\":500})");
    CHECK(pd == NULL);
    sse_parser_free(r.p);
    buf_free(&r.out);
}

static int on_nothing(void *ud, const sse_event *ev) {
    (void)ud;
    (void)ev;
    return 0;
}

static void test_api_edges(void) {
    CHECK(sse_parser_new(NULL, NULL) == NULL);
    sse_parser_free(NULL);
    sse_parser *p = sse_parser_new(on_nothing, NULL);
    CHECK(p != NULL);
    CHECK_INT(sse_parser_feed(p, NULL, 0), SSE_OK);
    CHECK_INT(sse_parser_retry(p), -1);
    CHECK_STR(sse_parser_last_id(p, NULL), "");
    CHECK_INT(sse_parser_events(p), 0);
    /* No field callback: unknown fields are simply ignored. */
    CHECK_INT(sse_parser_feed(p, S("foo: bar\ndata: x\n\n")), SSE_OK);
    CHECK_INT(sse_parser_events(p), 1);
    sse_parser_free(p);
}

int main(void) {
    RUN(test_vector_empty_and_bare_data);
    RUN(test_vector_dog_bark_cr);
    RUN(test_vector_crlf_split_across_feeds);
    RUN(test_vector_cr_cr_lf);
    RUN(test_vector_long_comment_lines);
    RUN(test_vector_id_with_nul);
    RUN(test_vector_retry_not_digits);
    RUN(test_vector_non_sse_body);
    RUN(test_vector_multiline_json);
    RUN(test_line_ends_mixed);
    RUN(test_bom);
    RUN(test_comments);
    RUN(test_fields);
    RUN(test_event_type);
    RUN(test_ids);
    RUN(test_retry);
    RUN(test_real_streams);
    RUN(test_one_mib_line);
    RUN(test_limit);
    RUN(test_stop_from_callback);
    RUN(test_reentry_refused);
    RUN(test_finish);
    RUN(test_api_edges);
    return check_report("sse");
}
