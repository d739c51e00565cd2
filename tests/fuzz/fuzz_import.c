/* libFuzzer target for the export readers (src/import*.c).
 *
 * Input layout:
 *   byte 0        bits 0-1: the format (ChatGPT, Claude, Open WebUI, OpenRouter);
 *                 bits 2-5: number of cuts n
 *   n bytes       the gaps between successive cuts, times 16 (0 = an empty feed)
 *   the rest      the export
 *
 * Properties checked (the target aborts when one breaks):
 *   - the transcript (every record, every warning, the result and the error's sentence,
 *     offset and index) is the same whole, in the chosen pieces, and in 7-byte pieces;
 *   - every string handed out is NUL-terminated, well-formed UTF-8 and within its limit;
 *     ids are never empty; user + assistant + other messages = the messages delivered; the
 *     per-model counts add up to at most the assistant messages; every time is unknown or
 *     plausible, an estimated one is the conversation's created time; tokens and costs are
 *     unknown or non-negative; an error has a sentence, a success has none;
 *   - import_detect() reads any bytes without trouble.
 *
 * Seeds: tests/fuzz/corpus/import/ holds the fixtures with their format byte in front.
 */
#include "ami/buf.h"
#include "ami/import.h"
#include "ami/utf8.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str(const char *s, size_t max, int may_be_null) {
    if (!s) {
        if (!may_be_null)
            abort();
        return;
    }
    size_t n = strlen(s);
    if (n > max || !utf8_valid(s, n))
        abort();
}

static void check_time(long long t) {
    if (t != IMPORT_UNKNOWN && (t < IMPORT_TIME_MIN || t >= IMPORT_TIME_MAX))
        abort();
}

static void check_count(long long v) {
    if (v != IMPORT_UNKNOWN && v < 0)
        abort();
}

static void check_usd(double v) {
    if (!(v == IMPORT_UNKNOWN_USD || v >= 0))
        abort();
}

static int on_conv(void *ud, const import_conversation *c) {
    buf *b = ud;
    check_str(c->id, IMPORT_MAX_ID, 0);
    if (!c->id[0])
        abort();
    check_str(c->title, IMPORT_MAX_TITLE, 1);
    check_time(c->created);
    check_time(c->updated);
    check_time(c->first_message);
    check_time(c->last_message);
    check_count(c->tokens_in);
    check_count(c->tokens_out);
    check_usd(c->cost_usd);
    if ((long long)c->n_messages != c->user_messages + c->assistant_messages + c->other_messages)
        abort();
    long long answers = 0;
    for (size_t i = 0; i < c->n_models; i++) {
        check_str(c->models[i].model, IMPORT_MAX_MODEL, 0);
        if (c->models[i].messages <= 0)
            abort();
        answers += c->models[i].messages;
    }
    if (answers > c->assistant_messages)
        abort();
    buf_printf(b, "C%zu@%zu %s %s %lld %lld %lld %lld %lld/%lld/%lld %lld %lld [", c->index,
               c->offset, c->id, c->title ? c->title : "-", c->created, c->updated,
               c->first_message, c->last_message, c->user_messages, c->assistant_messages,
               c->other_messages, c->tokens_in, c->tokens_out);
    for (size_t i = 0; i < c->n_messages; i++) {
        const import_message *m = &c->messages[i];
        check_str(m->id, IMPORT_MAX_ID + 32, 0);
        if (!m->id[0])
            abort();
        check_str(m->model, IMPORT_MAX_MODEL, 1);
        check_time(m->time);
        if (m->time_estimated && m->time != c->created)
            abort();
        check_count(m->tokens_in);
        check_count(m->tokens_out);
        check_usd(m->cost_usd);
        buf_printf(b, "%s|%d|%s|%lld|%lld|%lld ", m->id, (int)m->role, m->model ? m->model : "-",
                   m->time, m->tokens_in, m->tokens_out);
    }
    buf_append_str(b, "]\n");
    return 0;
}

static int on_activity(void *ud, const import_activity *a) {
    buf *b = ud;
    check_str(a->date, 10, 0);
    check_str(a->model, IMPORT_MAX_MODEL, 0);
    check_str(a->permaslug, IMPORT_MAX_MODEL, 0);
    check_str(a->endpoint_id, IMPORT_MAX_ID, 0);
    check_str(a->provider, IMPORT_MAX_MODEL, 0);
    check_str(a->workspace_id, IMPORT_MAX_ID, 0);
    check_time(a->day);
    check_usd(a->usd);
    check_usd(a->byok_usd);
    check_count(a->requests);
    check_count(a->prompt_tokens);
    check_count(a->completion_tokens);
    check_count(a->reasoning_tokens);
    buf_printf(b, "A%zu@%zu %s %s %lld %lld\n", a->index, a->offset, a->date, a->permaslug,
               a->requests, a->prompt_tokens);
    return 0;
}

static void on_warning(void *ud, const import_warning *w) {
    buf *b = ud;
    check_str(w->message, 1024, 0);
    buf_printf(b, "W%ld %s\n", w->index, w->message);
}

static buf transcript(import_format f, const char *s, size_t len, const size_t *cuts, size_t n) {
    buf b = {0};
    import_callbacks cb = {on_conv, on_activity, on_warning};
    import_reader *r = import_reader_new(f, &cb, &b);
    if (!r)
        abort();
    int rc = IMPORT_OK;
    size_t at = 0;
    for (size_t i = 0; i <= n && rc == IMPORT_OK; i++) {
        size_t to = i < n ? cuts[i] : len;
        rc = import_reader_feed(r, s + at, to - at);
        at = to;
    }
    if (rc == IMPORT_OK)
        rc = import_reader_finish(r);
    const char *err = import_reader_error(r);
    if (rc == IMPORT_EBUSY || rc == IMPORT_STOPPED || (rc < 0) != (err[0] != '\0'))
        abort();
    check_str(err, 1024, 0);
    buf_printf(&b, "=%d %ld@%zu %s", rc, import_reader_error_index(r),
               import_reader_error_offset(r), err);
    if (import_reader_stats(r)->bytes > len)
        abort();
    import_reader_free(r);
    return b;
}

static void same(const buf *a, const buf *b, const char *what) {
    if (a->len != b->len || memcmp(a->data, b->data, a->len) != 0) {
        fprintf(stderr, "fuzz_import: %s differs\n%.*s\n---\n%.*s\n", what, (int)a->len, a->data,
                (int)b->len, b->data);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0)
        return 0;
    import_format f = (import_format)(IMPORT_CHATGPT + (data[0] & 3));
    size_t ncuts = (data[0] >> 2) & 15, pos = 1;
    if (size < pos + ncuts)
        return 0;
    size_t gaps[15];
    for (size_t i = 0; i < ncuts; i++)
        gaps[i] = 16 * (size_t)data[pos + i];
    pos += ncuts;
    const char *s = (const char *)data + pos;
    size_t len = size - pos;
    size_t cuts[15], n = 0, at = 0;
    for (size_t i = 0; i < ncuts; i++) {
        at += gaps[i];
        if (at > len)
            at = len;
        cuts[n++] = at;
    }
    (void)import_detect(s, len);
    buf whole = transcript(f, s, len, NULL, 0);
    buf split = transcript(f, s, len, cuts, n);
    same(&whole, &split, "split");
    size_t m = len / 7;
    size_t *sevens = malloc((m ? m : 1) * sizeof *sevens);
    if (!sevens)
        abort();
    for (size_t i = 0; i < m; i++)
        sevens[i] = 7 * (i + 1);
    buf pieces = transcript(f, s, len, sevens, m);
    same(&whole, &pieces, "7-byte pieces");
    free(sevens);
    buf_free(&whole);
    buf_free(&split);
    buf_free(&pieces);
    return 0;
}
