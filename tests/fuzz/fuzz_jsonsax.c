/* libFuzzer target for the streaming JSON reader (src/jsonsax.c).
 *
 * Input layout:
 *   byte 0        bits 0-3: number of cuts n; bit 4: a small string cap follows; bit 5: a
 *                 small depth limit follows; bit 6: skip rule on (see below)
 *   n bytes       the gaps between successive cuts (0 = an empty feed)
 *   [1 byte]      string_cap = 16 + byte          (when bit 4)
 *   [1 byte]      max_depth = 1 + byte % 32        (when bit 5)
 *   the rest      the document
 *
 * Properties checked (the target aborts when one breaks):
 *   - the transcript (every event with its text, flags, offset and depth; the result; the
 *     error's text, offset, line and column) is the same whole, in the chosen pieces and byte
 *     by byte;
 *   - every key and string is well-formed UTF-8, NUL-terminated, at most string_cap bytes,
 *     and truncated exactly when its full length is larger; every offset is inside the input;
 *     no depth passes max_depth; jsonsax_depth() agrees with the event;
 *   - skipping (the rule: skip after keys of odd length, and after BEGIN events at odd
 *     offsets) never changes the result nor the error, and only removes events.
 *
 * Build and run (from the repository root): make build/fuzz/fuzz_jsonsax, then
 *   cp -r tests/fuzz/corpus/jsonsax /tmp/corpus_jsonsax &&
 *   build/fuzz/fuzz_jsonsax -max_total_time=120 /tmp/corpus_jsonsax
 */
#include "ami/buf.h"
#include "ami/jsonsax.h"
#include "ami/utf8.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct run {
    buf out;
    size_t len; /* of the document */
    size_t cap;
    size_t max_depth;
    int skip;
    size_t events;
} run;

static void put(buf *b, const char *s, size_t n) {
    buf_printf(b, "%zu:", n);
    buf_append(b, s, n);
}

static int on_event(void *ud, jsonsax *p, const jsonsax_event *ev) {
    run *r = ud;
    r->events++;
    if (ev->offset >= r->len || ev->depth > r->max_depth || jsonsax_depth(p) != ev->depth)
        abort();
    buf_printf(&r->out, "%d@%zu/%zu", (int)ev->kind, ev->offset, ev->depth);
    if (ev->kind == JSONSAX_KEY || ev->kind == JSONSAX_STRING || ev->kind == JSONSAX_NUMBER) {
        if (!ev->str || ev->str[ev->len] != '\0')
            abort();
        if (ev->kind != JSONSAX_NUMBER) {
            if (!utf8_valid(ev->str, ev->len) || ev->len > r->cap || ev->full_len < ev->len ||
                (ev->truncated != 0) != (ev->full_len > ev->len))
                abort();
        } else if (ev->len > JSONSAX_MAX_NUMBER || ev->truncated) {
            abort();
        }
        buf_printf(&r->out, "%s", ev->truncated ? "~" : "");
        put(&r->out, ev->str, ev->len);
        buf_printf(&r->out, "/%zu", ev->full_len);
    } else if (ev->str) {
        abort();
    }
    buf_append_byte(&r->out, ' ');
    if (r->skip) {
        if (ev->kind == JSONSAX_KEY && ev->len % 2 == 1)
            jsonsax_skip(p);
        if ((ev->kind == JSONSAX_BEGIN_OBJECT || ev->kind == JSONSAX_BEGIN_ARRAY) &&
            ev->offset % 2 == 1)
            jsonsax_skip(p);
    }
    return 0;
}

/* Feeds doc cut at cuts[0..n) (ascending), finishes; returns the transcript and sets *result
 * to the result and error alone. */
static buf transcript(const char *doc, size_t len, const size_t *cuts, size_t n, size_t cap,
                      size_t depth, int skip, buf *result) {
    run r = {{0},
             len,
             cap ? cap : JSONSAX_DEFAULT_STRING_CAP,
             depth ? depth : JSONSAX_DEFAULT_MAX_DEPTH,
             skip,
             0};
    jsonsax_options o = {depth, cap};
    jsonsax *p = jsonsax_new(&o, on_event, &r);
    if (!p)
        abort();
    size_t at = 0;
    int rc = JSONSAX_OK;
    for (size_t i = 0; i <= n && rc == JSONSAX_OK; i++) {
        size_t to = i < n ? cuts[i] : len;
        rc = jsonsax_feed(p, doc + at, to - at);
        at = to;
    }
    if (rc == JSONSAX_OK)
        rc = jsonsax_finish(p);
    if (rc == JSONSAX_EBUSY || rc == JSONSAX_STOPPED || rc == JSONSAX_ENOMEM)
        abort();
    if (rc < 0) {
        if (!jsonsax_error(p)[0] || jsonsax_error_offset(p) > len || jsonsax_error_line(p) < 1 ||
            jsonsax_error_column(p) < 1 || jsonsax_error_column(p) > jsonsax_error_offset(p) + 1)
            abort();
        buf_printf(result, "=%d@%zu:%zu:%zu %s", rc, jsonsax_error_offset(p), jsonsax_error_line(p),
                   jsonsax_error_column(p), jsonsax_error(p));
    } else {
        buf_printf(result, "=%d", rc);
        if (jsonsax_depth(p) != 0)
            abort();
    }
    buf_append(&r.out, result->data, result->len);
    jsonsax_free(p);
    return r.out;
}

static void same(const buf *a, const buf *b, const char *what) {
    if (a->len != b->len || memcmp(a->data, b->data, a->len) != 0) {
        fprintf(stderr, "fuzz_jsonsax: %s differs\n  %.*s\n  %.*s\n", what, (int)a->len, a->data,
                (int)b->len, b->data);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0)
        return 0;
    size_t ncuts = data[0] & 15, pos = 1, cap = 0, depth = 0;
    int skip = (data[0] >> 6) & 1;
    size_t gaps[15];
    if (size < pos + ncuts)
        return 0;
    for (size_t i = 0; i < ncuts; i++)
        gaps[i] = data[pos + i];
    pos += ncuts;
    if (data[0] & 16) {
        if (pos >= size)
            return 0;
        cap = 16 + (size_t)data[pos++];
    }
    if (data[0] & 32) {
        if (pos >= size)
            return 0;
        depth = 1 + (size_t)data[pos++] % 32;
    }
    const char *doc = (const char *)data + pos;
    size_t len = size - pos;
    size_t cuts[15], n = 0, at = 0;
    for (size_t i = 0; i < ncuts; i++) {
        at += gaps[i];
        if (at > len)
            at = len;
        cuts[n++] = at;
    }

    buf r1 = {0}, r2 = {0}, r3 = {0}, r4 = {0};
    buf whole = transcript(doc, len, NULL, 0, cap, depth, skip, &r1);
    buf split = transcript(doc, len, cuts, n, cap, depth, skip, &r2);
    same(&whole, &split, "split");
    size_t *each = malloc((len ? len : 1) * sizeof *each);
    if (!each)
        abort();
    for (size_t i = 0; i + 1 < len; i++)
        each[i] = i + 1;
    buf bytes = transcript(doc, len, each, len ? len - 1 : 0, cap, depth, skip, &r3);
    same(&whole, &bytes, "byte by byte");
    free(each);
    /* Skipping changes neither the result nor the error, and only removes events. */
    buf other = transcript(doc, len, NULL, 0, cap, depth, !skip, &r4);
    same(&r1, &r4, "result with and without skipping");
    if ((skip ? whole.len > other.len : other.len > whole.len))
        abort();
    buf_free(&whole);
    buf_free(&split);
    buf_free(&bytes);
    buf_free(&other);
    buf_free(&r1);
    buf_free(&r2);
    buf_free(&r3);
    buf_free(&r4);
    return 0;
}
