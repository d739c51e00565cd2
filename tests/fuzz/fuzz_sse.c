/* libFuzzer target for the SSE parser (src/sse.c): splitting must never change the result.
 *
 * Input layout:
 *   byte 0        bits 0-3: number of cuts n; bit 4: a small limit follows; bit 5: a
 *                 "stop at event k" byte follows
 *   n bytes       the gaps between successive cuts (0 = an empty feed)
 *   [1 byte]      limit = 4 * byte + 1            (when bit 4)
 *   [1 byte]      stop at event 1 + byte % 8      (when bit 5)
 *   the rest      the stream
 *
 * The stream is parsed whole, in the chosen pieces, and byte by byte; the three transcripts
 * (events, unknown fields, feed results, what finish gives back, retry, last id, count) must
 * be identical, or the target aborts.
 *
 * Build and run (from the repository root):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 -D_DEFAULT_SOURCE \
 *     -D_POSIX_C_SOURCE=200809L -Iinclude tests/fuzz/fuzz_sse.c src/sse.c src/buf.c \
 *     src/log.c -o /tmp/fuzz_sse
 *   cp -r tests/fuzz/corpus/sse /tmp/corpus_sse && /tmp/fuzz_sse -max_total_time=60 \
 *     /tmp/corpus_sse
 */
#include "ami/buf.h"
#include "ami/sse.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct run {
    buf out;
    size_t seen;
    size_t stop_at;
} run;

static void put(buf *b, const char *s, size_t n) {
    buf_printf(b, "%zu:", n);
    buf_append(b, s, n);
}

static int on_event(void *ud, const sse_event *ev) {
    run *r = ud;
    if (ev->type[ev->type_len] || ev->data[ev->data_len] || ev->id[ev->id_len] ||
        ev->type_len == 0 || memchr(ev->id, '\0', ev->id_len))
        abort();
    buf_append_str(&r->out, "E");
    put(&r->out, ev->type, ev->type_len);
    put(&r->out, ev->data, ev->data_len);
    put(&r->out, ev->id, ev->id_len);
    return ++r->seen == r->stop_at;
}

static int on_field(void *ud, const char *name, size_t nlen, const char *value, size_t vlen) {
    run *r = ud;
    if (name[nlen] || value[vlen] || memchr(name, ':', nlen))
        abort();
    buf_append_str(&r->out, "F");
    put(&r->out, name, nlen);
    put(&r->out, value, vlen);
    return 0;
}

/* Feeds s[0..len) cut at cuts[0..ncuts) (ascending), finishes, returns the transcript. */
static buf transcript(const char *s, size_t len, const size_t *cuts, size_t ncuts, size_t limit,
                      size_t stop_at) {
    run r = {{0}, 0, stop_at};
    sse_parser *p = sse_parser_new(on_event, &r);
    if (!p)
        abort();
    sse_parser_set_field_fn(p, on_field);
    if (limit)
        sse_parser_set_limit(p, limit);
    size_t at = 0;
    int last = SSE_OK;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t to = i < ncuts ? cuts[i] : len;
        int rc = sse_parser_feed(p, s + at, to - at);
        if (rc != last)
            buf_printf(&r.out, "R%d", rc);
        last = rc;
        at = to;
    }
    const char *pd;
    size_t pl;
    sse_parser_finish(p, &pd, &pl);
    if (pd) {
        if (pd[pl])
            abort();
        buf_append_str(&r.out, "P");
        put(&r.out, pd, pl);
    } else if (pl) {
        abort();
    }
    size_t idl;
    const char *id = sse_parser_last_id(p, &idl);
    buf_printf(&r.out, "T%ld", sse_parser_retry(p));
    put(&r.out, id, idl);
    if (sse_parser_events(p) != r.seen)
        abort();
    sse_parser_free(p);
    if (!r.out.data)
        buf_append(&r.out, "", 0);
    return r.out;
}

static void same(const buf *a, const buf *b, const char *what) {
    if (a->len != b->len || memcmp(a->data, b->data, a->len) != 0) {
        fprintf(stderr, "fuzz_sse: %s differs from whole\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0)
        return 0;
    size_t ncuts = data[0] & 15, pos = 1;
    size_t gaps[15], limit = 0, stop_at = 0;
    if (size < pos + ncuts)
        return 0;
    for (size_t i = 0; i < ncuts; i++)
        gaps[i] = data[pos + i];
    pos += ncuts;
    if (data[0] & 16) {
        if (pos >= size)
            return 0;
        limit = 4 * (size_t)data[pos++] + 1;
    }
    if (data[0] & 32) {
        if (pos >= size)
            return 0;
        stop_at = 1 + data[pos++] % 8;
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

    buf whole = transcript(s, len, NULL, 0, limit, stop_at);
    buf split = transcript(s, len, cuts, n, limit, stop_at);
    same(&whole, &split, "split");
    buf_free(&split);

    size_t *each = malloc((len ? len : 1) * sizeof *each);
    if (!each)
        abort();
    for (size_t i = 0; i + 1 < len; i++)
        each[i] = i + 1;
    buf bytes = transcript(s, len, each, len ? len - 1 : 0, limit, stop_at);
    same(&whole, &bytes, "byte by byte");
    buf_free(&bytes);
    free(each);
    buf_free(&whole);
    return 0;
}
