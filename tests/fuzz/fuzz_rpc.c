/* libFuzzer target for the msgpack-RPC reader (src/rpc.c): any bytes, in any split.
 *
 * Input layout: byte 0 = number of cuts n (mod 16), then n gap bytes, then the stream.  The
 * stream is fed whole and in the chosen pieces; the messages delivered (kind, msgid, method,
 * params size) and whether the stream failed must be the same, or the target aborts.  A
 * crash, a leak or a sanitizer report is a finding too.
 *
 * Run with `make fuzz` (FUZZ_TIME seconds per target).
 */
#include "ami/rpc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct transcript {
    char text[4096];
    size_t len;
    int count;
} transcript;

static void on_msg(void *ud, const rpc_message *m) {
    transcript *t = ud;
    t->count++;
    int n = snprintf(t->text + t->len, sizeof t->text - t->len, "%d/%u/%.*s/%u;", (int)m->kind,
                     m->msgid, (int)m->method_len, m->method ? m->method : "",
                     m->params ? m->params->via.array.size : 0u);
    if (n > 0 && t->len + (size_t)n < sizeof t->text)
        t->len += (size_t)n;
}

/* Feeds the stream in pieces; returns 0 when it parsed, 1 when it failed. */
static int run(const uint8_t *s, size_t n, const uint8_t *gaps, size_t ngaps, transcript *t) {
    char err[256];
    rpc_reader *r = rpc_reader_new(on_msg, t);
    if (!r)
        abort();
    size_t off = 0;
    int failed = 0;
    for (size_t i = 0; i <= ngaps && !failed; i++) {
        size_t take = i < ngaps ? gaps[i] : n - off;
        if (take > n - off)
            take = n - off;
        if (rpc_reader_feed(r, (const char *)s + off, take, err, sizeof err) != RPC_OK) {
            failed = 1;
            if (!err[0])
                abort(); /* an error always comes with its sentence */
        }
        off += take;
    }
    rpc_reader_free(r);
    return failed;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    size_t ngaps = data[0] % 16;
    if (size < 1 + ngaps)
        return 0;
    const uint8_t *gaps = data + 1;
    const uint8_t *s = data + 1 + ngaps;
    size_t n = size - 1 - ngaps;
    transcript whole, split;
    memset(&whole, 0, sizeof whole);
    memset(&split, 0, sizeof split);
    int f1 = run(s, n, NULL, 0, &whole);
    int f2 = run(s, n, gaps, ngaps, &split);
    if (f1 != f2 || whole.count != split.count || whole.len != split.len ||
        memcmp(whole.text, split.text, whole.len) != 0)
        abort();
    return 0;
}
