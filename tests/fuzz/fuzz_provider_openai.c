/* libFuzzer target for the provider stream decoder (src/provider*.c): the fast scanner and
 * cJSON must always agree, and nothing may crash, leak or overflow.
 *
 * Input layout:
 *   byte 0      bit 0: the last record is given to provider_decoder_eof() as the data the
 *               SSE parser still held, instead of as an event
 *   the rest    records separated by 0x1E; each record is
 *                 "@TYPE\nDATA"  an event of type TYPE
 *                 "!VALUE"       a non-standard `error:` field
 *                 DATA           an event of type "message"
 *
 * The records are decoded twice, with the fast path on and off; the transcripts (every
 * event with its fields, the ignored count, whether the stream ended) must be identical,
 * or the target aborts.  The whole input also goes through the error-body, model-list and
 * key-info parsers, which must not crash.
 *
 * This file serves both dialects: fuzz_provider_anthropic.c defines FUZZ_DIALECT and
 * includes it.
 *
 * Build and run (from the repository root):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 -D_DEFAULT_SOURCE \
 *     -D_POSIX_C_SOURCE=200809L -Iinclude -I/usr/include/cjson \
 *     tests/fuzz/fuzz_provider_openai.c src/provider*.c src/buf.c src/log.c src/utf8.c \
 *     -lcjson -lm \
 *     -o /tmp/fuzz_provider_openai
 *   cp -r tests/fuzz/corpus/provider_openai /tmp/corpus_po && \
 *     /tmp/fuzz_provider_openai -max_total_time=60 /tmp/corpus_po
 */
#include "ami/buf.h"
#include "ami/provider.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FUZZ_DIALECT
#define FUZZ_DIALECT PROVIDER_OPENAI
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void put(buf *b, const char *s, size_t n) {
    buf_printf(b, "%zu:", n);
    buf_append(b, s, n);
}

static void on_event(void *ud, const provider_event *ev) {
    buf *out = ud;
    const provider_usage *u = &ev->usage;
    int none = u->prompt_tokens == -1 && u->completion_tokens == -1 && u->cached_tokens == -1 &&
               u->reasoning_tokens == -1 && !u->has_cost;
    if (ev->type != PEV_USAGE && !none)
        abort();
    buf_printf(out, "<%d ", (int)ev->type);
    switch (ev->type) {
    case PEV_TEXT:
    case PEV_MODEL:
    case PEV_FINISH:
        if (!ev->text || ev->len == 0)
            abort();
        put(out, ev->text, ev->len);
        break;
    case PEV_USAGE:
        buf_printf(out, "%ld %ld %d %.17g %ld %ld", u->prompt_tokens, u->completion_tokens,
                   u->has_cost, u->has_cost ? u->cost : 0.0, u->cached_tokens, u->reasoning_tokens);
        break;
    case PEV_ERROR:
        if (!ev->message)
            abort();
        put(out, ev->error_kind ? ev->error_kind : "-",
            ev->error_kind ? strlen(ev->error_kind) : 1);
        put(out, ev->message, strlen(ev->message));
        buf_printf(out, " %ld", ev->code);
        break;
    case PEV_END:
        break;
    }
    buf_append_byte(out, '>');
}

/* One record, copied so that its data ends with the NUL the decoder requires. */
static void feed(provider_decoder *d, const char *r, size_t n, int as_pending) {
    char *copy = malloc(n + 1);
    if (!copy)
        abort();
    memcpy(copy, r, n);
    copy[n] = 0;
    if (as_pending) {
        provider_decoder_eof(d, copy, n);
    } else if (n > 0 && r[0] == '!') {
        provider_decoder_field(d, "error", 5, copy + 1, n - 1);
    } else if (n > 0 && r[0] == '@') {
        const char *nl = memchr(copy, '\n', n);
        size_t tl = nl ? (size_t)(nl - copy - 1) : n - 1;
        const char *body = nl ? nl + 1 : copy + n;
        provider_decoder_event(d, copy + 1, tl, body, (size_t)(copy + n - body));
    } else {
        provider_decoder_event(d, "message", 7, copy, n);
    }
    free(copy);
}

static buf transcript(const char *s, size_t len, int last_pending, int fast) {
    buf out = {0};
    provider_decoder *d = provider_decoder_new(FUZZ_DIALECT, on_event, &out);
    if (!d)
        abort();
    provider_decoder_set_fast(d, fast);
    size_t at = 0;
    while (at <= len) {
        const char *sep = memchr(s + at, 0x1e, len - at);
        size_t end = sep ? (size_t)(sep - s) : len;
        feed(d, s + at, end - at, !sep && last_pending);
        at = end + 1;
    }
    if (!last_pending)
        provider_decoder_eof(d, NULL, 0);
    buf_printf(&out, "|%zu %d", provider_decoder_ignored(d), provider_decoder_ended(d));
    provider_decoder_free(d);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0)
        return 0;
    const char *s = (const char *)data + 1;
    size_t len = size - 1;
    buf fast = transcript(s, len, data[0] & 1, 1);
    buf slow = transcript(s, len, data[0] & 1, 0);
    if (fast.len != slow.len || memcmp(fast.data, slow.data, fast.len) != 0) {
        fprintf(stderr, "fuzz_provider: fast path and cJSON differ\n  fast:  %.*s\n  cJSON: %.*s\n",
                (int)fast.len, fast.data, (int)slow.len, slow.data);
        abort();
    }
    buf_free(&fast);
    buf_free(&slow);

    char *kind, *message;
    if (provider_parse_error(s, len, data[0] & 2 ? "text/html" : NULL, &kind, &message) == 0) {
        if (message && !*message)
            abort(); /* a message is NULL or says something */
        free(kind);
        free(message);
    }
    provider_model *m;
    size_t n;
    if (provider_parse_models(s, len, &m, &n) == 0)
        provider_models_free(m, n);
    provider_key_info k;
    provider_parse_key_info(s, len, &k);
    provider_key_info_free(&k);
    return 0;
}
