/* libFuzzer target for the notes parser (src/notes.c, src/notes_syntax.c).
 *
 * Input: byte 0 = number of extra cuts (low 4 bits) and flags (0x10: stop at an event given
 * by the next byte); then the cut gaps, one byte each; the rest is the answer.
 *
 * Properties checked (abort on failure):
 *   - split invariance: fed whole, cut at the given places, and byte by byte, the parser
 *     gives the same events with the same fields, offsets and flags, and the same counts;
 *   - every string handed out is NUL-terminated at its length and within its limit, and is
 *     valid UTF-8 whenever the answer is (the parser never cuts a code point);
 *   - offsets lie inside the answer; NOTE and GENERAL ranges come in order and never overlap;
 *     a NOTE follows the QUOTE of the same seq; seqs count up from 0;
 *   - nothing is lost: a byte outside every NOTE and GENERAL range is white space or part of
 *     a thematic break, unless it comes after the OVER_CAP event's start;
 *   - the counts agree with the events.
 */
#include "ami/buf.h"
#include "ami/notes.h"
#include "ami/utf8.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct run {
    buf out;
    const char *in;
    size_t len;
    int valid; /* the answer is valid UTF-8 */
    size_t events, stop_at;
    size_t notes, general, quote_seq, prev_end;
    int quote_open;
    unsigned char *mark; /* coverage, when not NULL */
    size_t over_from;
} run;

static void fail(const char *what) {
    fprintf(stderr, "fuzz_notes: %s\n", what);
    abort();
}

static void put(buf *b, const char *s, size_t n) {
    buf_printf(b, "%zu:", n);
    buf_append(b, s, n);
}

static void check_str(const run *r, const char *s, size_t n, size_t max) {
    if (s[n] != '\0')
        fail("string not NUL-terminated at its length");
    if (n > max)
        fail("string over its limit");
    if (r->valid && !utf8_valid(s, n))
        fail("a code point was cut");
}

static int on_event(void *ud, const notes_event *ev) {
    run *r = ud;
    r->events++;
    check_str(r, ev->kind_text, ev->kind_text_len, NOTES_KIND_TEXT_MAX);
    check_str(r, ev->title, ev->title_len, NOTES_TITLE_MAX);
    check_str(r, ev->quote, ev->quote_len, NOTES_QUOTE_MAX);
    check_str(r, ev->text, ev->text_len, NOTES_TEXT_MAX);
    if (ev->start > r->len || ev->end > r->len || ev->quote_start > r->len ||
        ev->quote_end > r->len)
        fail("offset past the answer");
    switch (ev->type) {
    case NOTES_QUOTE:
        if (r->quote_open || ev->seq != r->notes || ev->quote_len == 0)
            fail("QUOTE out of order");
        if (ev->start < r->prev_end || ev->quote_start < ev->start || ev->quote_end > ev->end ||
            ev->quote_start > ev->quote_end)
            fail("QUOTE offsets");
        r->quote_open = 1;
        r->quote_seq = ev->seq;
        r->notes++;
        break;
    case NOTES_NOTE:
    case NOTES_GENERAL:
        if (ev->type == NOTES_NOTE && (!r->quote_open || ev->seq != r->quote_seq))
            fail("NOTE without its QUOTE");
        if (ev->type == NOTES_GENERAL && (r->quote_open || ev->seq != r->general++))
            fail("GENERAL out of order");
        if (ev->start > ev->end || ev->start < r->prev_end)
            fail("sections overlap or go back");
        r->prev_end = ev->end;
        r->quote_open = 0;
        if (r->mark)
            for (size_t i = ev->start; i < ev->end; i++)
                r->mark[i] = 1;
        break;
    case NOTES_OVER_CAP:
        if (ev->seq != NOTES_MAX_NOTES || r->notes > NOTES_MAX_NOTES || r->quote_open)
            fail("OVER_CAP");
        if (ev->start < r->over_from)
            r->over_from = ev->start;
        break;
    default:
        fail("unknown event");
    }
    buf_printf(&r->out, "[%d %zu %d ", ev->type, ev->seq, ev->kind);
    put(&r->out, ev->kind_text, ev->kind_text_len);
    put(&r->out, ev->title, ev->title_len);
    put(&r->out, ev->quote, ev->quote_len);
    put(&r->out, ev->text, ev->text_len);
    buf_printf(&r->out, " %zu %zu %zu %zu %u]", ev->start, ev->end, ev->quote_start, ev->quote_end,
               ev->flags);
    return r->stop_at && r->events == r->stop_at;
}

/* Feeds the answer cut at cuts[0..n) (ascending), finishes, returns the transcript. */
static buf transcript(const char *in, size_t len, const size_t *cuts, size_t ncuts, size_t stop_at,
                      unsigned char *mark, size_t *over_from) {
    run r;
    memset(&r, 0, sizeof r);
    r.in = in;
    r.len = len;
    r.valid = utf8_valid(in, len);
    r.stop_at = stop_at;
    r.mark = mark;
    r.over_from = (size_t)-1;
    notes_parser *p = notes_parser_new(on_event, &r);
    if (!p)
        abort();
    size_t at = 0;
    int last = NOTES_OK;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t to = i < ncuts ? cuts[i] : len;
        int rc = notes_parser_feed(p, in + at, to - at);
        if (rc != last)
            buf_printf(&r.out, "R%d", rc);
        last = rc;
        at = to;
    }
    int rc = notes_parser_finish(p);
    buf_printf(&r.out, "F%d", rc);
    notes_stats st;
    notes_parser_stats(p, &st);
    if ((rc != NOTES_STOPPED ? st.bytes != len : st.bytes > len) || st.notes != r.notes ||
        st.general != r.general || st.dropped > st.headings || st.notes > st.headings ||
        st.notes > NOTES_MAX_NOTES)
        fail("counts");
    if (rc == NOTES_OK && r.quote_open)
        fail("a QUOTE without its NOTE at the end");
    buf_printf(&r.out, " %zu %zu %zu %zu %zu", st.notes, st.general, st.headings, st.dropped,
               st.truncated);
    notes_parser_free(p);
    if (over_from)
        *over_from = r.over_from;
    if (!r.out.data)
        buf_append(&r.out, "", 0);
    return r.out;
}

static void same(const buf *a, const buf *b, const char *what) {
    if (a->len != b->len || memcmp(a->data, b->data, a->len) != 0) {
        fprintf(stderr, "fuzz_notes: %s differs from whole\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0)
        return 0;
    size_t ncuts = data[0] & 15, pos = 1, stop_at = 0;
    if (size < pos + ncuts)
        return 0;
    size_t gaps[15];
    for (size_t i = 0; i < ncuts; i++)
        gaps[i] = data[pos + i];
    pos += ncuts;
    if (data[0] & 16) {
        if (pos >= size)
            return 0;
        stop_at = 1 + data[pos++] % 16;
    }
    const char *s = (const char *)data + pos;
    size_t len = size - pos;
    size_t cuts[15], n = 0, at = 0;
    for (size_t i = 0; i < ncuts; i++) {
        at += gaps[i];
        if (at > len)
            at = len;
        cuts[n++] = at;
    }

    unsigned char *mark = calloc(len + 1, 1);
    size_t over_from;
    buf whole = transcript(s, len, NULL, 0, stop_at, mark, &over_from);
    if (!stop_at) {
        for (size_t i = 0; i < len && i < over_from; i++)
            if (!mark[i] && !strchr(" \t\r\n-*_", s[i]))
                fail("a byte is in no event");
    }
    free(mark);

    buf split = transcript(s, len, cuts, n, stop_at, NULL, NULL);
    same(&whole, &split, "split");
    buf_free(&split);

    size_t *each = malloc((len ? len : 1) * sizeof *each);
    if (!each)
        abort();
    for (size_t i = 0; i + 1 < len; i++)
        each[i] = i + 1;
    buf bytes = transcript(s, len, each, len ? len - 1 : 0, stop_at, NULL, NULL);
    same(&whole, &bytes, "byte by byte");
    buf_free(&bytes);
    free(each);
    buf_free(&whole);
    return 0;
}
