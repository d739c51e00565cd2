/* Tests for the export readers (src/import*.c) on the fixtures in tests/fixtures/import/.
 *
 * Each file is read through transcript(), which renders every record, warning and the result
 * as text; the same file fed whole, byte by byte and in random pieces must give the same
 * transcript.  A conversation reads:
 *
 *   C<index> id=… title=… c=<created> u=<updated> f=<first> l=<last> n=<user>/<assistant>/<other>
 *     tok=<in>/<out>(<messages with tokens>) usd=<cost> models=<model>:<answers>[=in/out/$],…
 *     msgs=<id>|<role>|<model or ->|<time, * when estimated>[|in/out][|$cost] …
 *
 * with -1 for unknown values.  The SQL tests store the records with the statements the header
 * documents, in an in-memory SQLite, and ask the per-month questions in three time zones.
 */
#include "ami/buf.h"
#include "ami/import.h"
#include "check.h"

#include <math.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- fixtures ----------------------------------------------------------------------------- */

static char *load(const char *name, size_t *len) {
    const char *root = getenv("AMI_ROOT");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/import/%s", root ? root : ".", name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "  cannot open %s (run from the repository root or set AMI_ROOT)\n", path);
        *len = 0;
        return NULL;
    }
    buf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(&b, chunk, n);
    fclose(f);
    *len = b.len;
    if (!b.data)
        buf_append(&b, "", 0);
    return buf_steal(&b);
}

/* ---- transcripts -------------------------------------------------------------------------- */

typedef struct rec {
    buf out;
    int offsets; /* print item offsets (they differ between two layouts of one export) */
    size_t stop_after;
    size_t seen;
    int reenter;
    int reenter_rc;
    import_reader *r;
} rec;

static void put_usd(buf *b, double v) {
    if (v < 0)
        buf_append_str(b, "-1");
    else
        buf_printf(b, "%.7g", v);
}

static int on_conv(void *ud, const import_conversation *c) {
    rec *t = ud;
    buf *b = &t->out;
    buf_printf(b, "C%zu", c->index);
    if (t->offsets)
        buf_printf(b, " @%zu", c->offset);
    buf_printf(b, " %s id=%s title=%s c=%lld u=%lld f=%lld l=%lld n=%lld/%lld/%lld",
               import_format_name(c->source), c->id, c->title ? c->title : "(null)", c->created,
               c->updated, c->first_message, c->last_message, c->user_messages,
               c->assistant_messages, c->other_messages);
    buf_printf(b, " tok=%lld/%lld(%lld) usd=", c->tokens_in, c->tokens_out,
               c->messages_with_tokens);
    put_usd(b, c->cost_usd);
    buf_append_str(b, " models=");
    for (size_t i = 0; i < c->n_models; i++) {
        const import_model_use *u = &c->models[i];
        buf_printf(b, "%s%s:%lld", i ? "," : "", u->model, u->messages);
        if (u->tokens_in != IMPORT_UNKNOWN || u->tokens_out != IMPORT_UNKNOWN || u->cost_usd >= 0) {
            buf_printf(b, "=%lld/%lld/", u->tokens_in, u->tokens_out);
            put_usd(b, u->cost_usd);
        }
    }
    buf_append_str(b, " msgs=");
    for (size_t i = 0; i < c->n_messages; i++) {
        const import_message *m = &c->messages[i];
        buf_printf(b, "%s%s|%s|%s|%lld%s", i ? " " : "", m->id, import_role_name(m->role),
                   m->model ? m->model : "-", m->time, m->time_estimated ? "*" : "");
        if (m->tokens_in != IMPORT_UNKNOWN || m->tokens_out != IMPORT_UNKNOWN)
            buf_printf(b, "|%lld/%lld", m->tokens_in, m->tokens_out);
        if (m->cost_usd >= 0) {
            buf_append_str(b, "|$");
            put_usd(b, m->cost_usd);
        }
    }
    buf_append_str(b, "\n");
    t->seen++;
    if (t->reenter) {
        t->reenter_rc = import_reader_feed(t->r, "[", 1);
        if (import_reader_finish(t->r) != IMPORT_EBUSY)
            t->reenter_rc = 99;
    }
    return t->stop_after && t->seen == t->stop_after;
}

static int on_activity(void *ud, const import_activity *a) {
    rec *t = ud;
    buf *b = &t->out;
    buf_printf(b, "A%zu %s day=%lld model=%s slug=%s endpoint=%s provider=%s ws=%s usd=", a->index,
               a->date, a->day, a->model, a->permaslug, a->endpoint_id, a->provider,
               a->workspace_id);
    put_usd(b, a->usd);
    buf_append_str(b, " byok=");
    put_usd(b, a->byok_usd);
    buf_printf(b, " req=%lld tok=%lld/%lld/%lld\n", a->requests, a->prompt_tokens,
               a->completion_tokens, a->reasoning_tokens);
    t->seen++;
    return t->stop_after && t->seen == t->stop_after;
}

static void on_warning(void *ud, const import_warning *w) {
    rec *t = ud;
    buf_printf(&t->out, "W[%ld] %s\n", w->index, w->message);
}

static const import_callbacks callbacks = {on_conv, on_activity, on_warning};

/* Feeds data in the pieces cuts[] delimit and returns the transcript (caller frees). */
static char *transcript_cuts(import_format f, const char *data, size_t len, const size_t *cuts,
                             size_t ncuts, int offsets, import_stats *st) {
    rec t;
    memset(&t, 0, sizeof t);
    t.offsets = offsets;
    import_reader *r = import_reader_new(f, &callbacks, &t);
    t.r = r;
    int rc = IMPORT_OK;
    size_t at = 0;
    for (size_t i = 0; i <= ncuts && rc == IMPORT_OK; i++) {
        size_t to = i < ncuts ? cuts[i] : len;
        rc = import_reader_feed(r, data + at, to - at);
        at = to;
    }
    if (rc == IMPORT_OK)
        rc = import_reader_finish(r);
    buf_printf(&t.out, "=%d", rc);
    if (rc < 0)
        buf_printf(&t.out, " [%ld@%zu] %s", import_reader_error_index(r),
                   import_reader_error_offset(r), import_reader_error(r));
    if (st)
        *st = *import_reader_stats(r);
    import_reader_free(r);
    return buf_steal(&t.out);
}

static char *transcript(import_format f, const char *data, size_t len) {
    return transcript_cuts(f, data, len, NULL, 0, 1, NULL);
}

static uint64_t rng_state = 0x1e5500aULL;
static uint64_t rng(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* The transcript of the file, after checking that every way of feeding it gives the same. */
static char *file_transcript(import_format f, const char *name, import_stats *st) {
    size_t len;
    char *data = load(name, &len);
    if (!data)
        return NULL;
    char *whole = transcript_cuts(f, data, len, NULL, 0, 1, st);
    size_t *cuts = malloc((len + 1) * sizeof *cuts);
    for (size_t i = 0; i + 1 < len; i++)
        cuts[i] = i + 1;
    char *bytes = transcript_cuts(f, data, len, cuts, len ? len - 1 : 0, 1, NULL);
    if (strcmp(whole, bytes) != 0) {
        fprintf(stderr, "  %s: byte by byte differs:\n%s\n---\n%s\n", name, bytes, whole);
        check_test_failed = 1;
    }
    free(bytes);
    for (int iter = 0; iter < 20; iter++) {
        size_t n = 0, at = 0, span = 1 + (size_t)(rng() % 4096);
        while (at < len) {
            at += 1 + (size_t)(rng() % span);
            if (at < len)
                cuts[n++] = at;
        }
        char *t = transcript_cuts(f, data, len, cuts, n, 1, NULL);
        if (strcmp(whole, t) != 0) {
            fprintf(stderr, "  %s: random split %d differs:\n%s\n---\n%s\n", name, iter, t, whole);
            check_test_failed = 1;
        }
        free(t);
    }
    free(cuts);
    free(data);
    return whole;
}

static int same_text(const char *got, const char *want) {
    if (got && strcmp(got, want) == 0)
        return 1;
    fprintf(stderr, "  got:\n%s\n  want:\n%s\n", got ? got : "(null)", want);
    return 0;
}

/* 1 when the transcript ends with "=<rc>..." holding want_text. */
static int ends_with_error(const char *t, int rc, const char *want_text) {
    char head[16];
    snprintf(head, sizeof head, "=%d", rc);
    const char *eq = t ? strrchr(t, '=') : NULL;
    while (eq && eq > t && eq[-1] != '\n')
        eq = NULL;
    const char *last = t ? strstr(t, head) : NULL;
    (void)eq;
    if (last && strstr(last, want_text))
        return 1;
    fprintf(stderr, "  transcript:\n%s\n  expected =%d with: %s\n", t ? t : "(null)", rc,
            want_text);
    return 0;
}

/* ---- ChatGPT -------------------------------------------------------------------------------- */

static const char chatgpt_basic_want[] =
    "C0 @1 chatgpt id=67243f00-aaaa-8000-9000-0000000000a1 title=Plan d'un essai \xE2\x80\x94 "
    "caf\xC3\xA9 \xE2\x98\x95 c=1730419200 u=1730505600 f=1730419260 l=1730419400 n=2/3/1 "
    "tok=-1/-1(0) usd=-1 models=gpt-4o:2,o1-preview:1 msgs=u1|user|-|1730419260 "
    "a1|assistant|gpt-4o|1730419275 a1b|assistant|o1-preview|1730419300 u2|user|-|1730419400 "
    "t2|other|o1-preview|1730419350 a2|assistant|gpt-4o|1730419200*\n"
    "C1 @4615 chatgpt id=conv-b-0000-0000-0000-0000000000b2 title=(null) c=1733011200 "
    "u=1733011230 f=1733011200 l=1733011230 n=1/1/2 tok=-1/-1(0) usd=-1 models=gpt-4:1 "
    "msgs=bu1|user|-|1733011200 ba1|other|gpt-4|1733011205 bt1|tool|-|1733011210 "
    "ba2|assistant|gpt-4|1733011230\n"
    "C2 @6625 chatgpt id=c-c-0000 title=Fin d'ann\xC3\xA9"
    "e c=1735689599 u=1735689601 f=1735689599 l=1735689601 n=1/1/1 tok=-1/-1(0) usd=-1 "
    "models=gpt-4o-mini:1 msgs=sysv|system|-|1735689599 cu1|user|-|1735689599 "
    "ca1|assistant|gpt-4o-mini|1735689601\n"
    "=0";

static void test_chatgpt_basic(void) {
    import_stats st;
    char *t = file_transcript(IMPORT_CHATGPT, "chatgpt_basic.json", &st);
    CHECK(same_text(t, chatgpt_basic_want));
    CHECK_INT(st.conversations, 3);
    CHECK_INT(st.items, 3);
    CHECK_INT(st.messages, 13);
    CHECK_INT(st.hidden_messages, 2); /* the hidden system prompt and the custom instructions */
    CHECK_INT(st.duplicates, 0);
    CHECK_INT(st.warnings, 0);
    free(t);
}

/* Without offsets: the record lines alone. */
static char *records_only(import_format f, const char *name) {
    size_t len;
    char *data = load(name, &len);
    if (!data)
        return NULL;
    char *t = transcript_cuts(f, data, len, NULL, 0, 0, NULL);
    free(data);
    return t;
}

static void test_chatgpt_any_layout(void) {
    /* Pretty-printed, CRLF line ends, a BOM, every non-ASCII character escaped and a lone
     * surrogate in a message: the same records. */
    char *a = records_only(IMPORT_CHATGPT, "chatgpt_basic.json");
    char *b = records_only(IMPORT_CHATGPT, "chatgpt_bom_crlf.json");
    CHECK(a && b && same_text(b, a));
    free(a);
    free(b);
    import_stats st;
    char *t = file_transcript(IMPORT_CHATGPT, "chatgpt_bom_crlf.json", &st);
    CHECK(t && strstr(t, "=0"));
    CHECK_INT(st.conversations, 3);
    free(t);
}

static void test_chatgpt_duplicates(void) {
    import_stats st;
    char *t = file_transcript(IMPORT_CHATGPT, "chatgpt_duplicates.json", &st);
    CHECK_INT(st.items, 6);
    CHECK_INT(st.conversations, 3);
    CHECK_INT(st.duplicates, 3);
    CHECK_INT(st.messages, 13);
    /* Reported once per repeated id, not once per copy. */
    CHECK(t && strstr(t, "W[2] conversation 2 (byte 6651): the id "
                         "\"conv-b-0000-0000-0000-0000000000b2\" was already used by conversation "
                         "1: this copy and any later one are skipped\n"));
    CHECK(t && strstr(t, "W[3] conversation 3 (byte 8661): the id "
                         "\"67243f00-aaaa-8000-9000-0000000000a1\" was already used by "
                         "conversation 0: this copy and any later one are skipped\n"));
    CHECK(t && !strstr(t, "W[5]"));
    CHECK(t && strstr(t, "\nC4 @") && !strstr(t, "\nC5 @"));
    free(t);
}

static void test_chatgpt_times(void) {
    import_stats st;
    char *t = file_transcript(IMPORT_CHATGPT, "chatgpt_absurd_times.json", &st);
    CHECK(same_text(
        t, "W[0] conversation 0 (byte 1): \"create_time\" (byte 38) is 0, not a plausible time "
           "(outside "
           "2010-2099): ignored\n"
           "W[0] conversation 0 (byte 1): \"update_time\" (byte 56) is 1e+20, not a plausible time "
           "(outside "
           "2010-2099): ignored\n"
           "W[0] conversation 0 (byte 1): \"create_time\" (byte 262) is -5, not a plausible time "
           "(outside "
           "2010-2099): ignored\n"
           "W[0] conversation 0 (byte 1): \"create_time\" (byte 619) is \"hier\", not a time: "
           "ignored\n"
           "W[0] conversation 0 (byte 1): \"create_time\" (byte 2113) is 4102444800, not a "
           "plausible time "
           "(outside 2010-2099): ignored\n"
           "C0 @1 chatgpt id=odd-1 title=Horloges c=1730419260 u=1730419260 f=1730419260 "
           "l=1730419260 n=5/1/0 tok=-1/-1(0) usd=-1 models=gpt-4o:1 "
           "msgs=o1|user|-|1730419260* o2|assistant|gpt-4o|1730419260* o3|user|-|1730419260 "
           "o4|user|-|1730419260 o5|user|-|1730419260 o6|user|-|1730419260*\n"
           "=0"));
    CHECK_INT(st.warnings, 5);
    free(t);
}

static void test_chatgpt_no_id(void) {
    import_stats st;
    char *t = file_transcript(IMPORT_CHATGPT, "chatgpt_no_id.json", &st);
    CHECK(t && strstr(t, "W[0] conversation 0 (byte 1): no id (\"id\" or \"conversation_id\"): "
                         "skipped\n"));
    CHECK(t && strstr(t, "C1 @") && strstr(t, "id=c-c-0000"));
    CHECK_INT(st.skipped, 1);
    CHECK_INT(st.conversations, 1);
    free(t);
}

static void test_chatgpt_empty(void) {
    import_stats st;
    char *t = file_transcript(IMPORT_CHATGPT, "chatgpt_empty.json", &st);
    CHECK(same_text(t, "=0"));
    CHECK_INT(st.conversations, 0);
    free(t);
}

/* ---- Claude --------------------------------------------------------------------------------- */

static void test_claude_basic(void) {
    import_stats st;
    char *t = file_transcript(IMPORT_CLAUDE, "claude_basic.json", &st);
    CHECK(same_text(
        t, "C0 @3 claude id=1b2c3d4e-0000-4000-8000-000000000001 title=Relecture du chapitre 3 "
           "c=1717233330 u=1717236000 f=1717233330 l=1717233605 n=2/2/0 tok=-1/-1(0) usd=-1 "
           "models= msgs=m-001|user|-|1717233330 m-002|assistant|-|1717233362 "
           "m-003|user|-|1717233600 m-004|assistant|-|1717233605\n"
           "C1 @4398 claude id=1b2c3d4e-0000-4000-8000-000000000002 title=(null) c=1719786600 "
           "u=1719787500 f=1719786660 l=1719786669 n=1/1/0 tok=-1/-1(0) usd=-1 models= "
           "msgs=m-101|user|-|1719786660 m-102|assistant|-|1719786669\n"
           "C2 @6645 claude id=1b2c3d4e-0000-4000-8000-000000000003 title=Vide c=1722513600 "
           "u=1722513600 f=-1 l=-1 n=0/0/0 tok=-1/-1(0) usd=-1 models= msgs=\n"
           "=0"));
    CHECK_INT(st.messages, 6);
    free(t);
}

static void test_claude_time_zones(void) {
    /* Paris's spring change (1:30 +01:00 and 3:30 +02:00 are one hour apart) and New York's
     * autumn one (1:30 happens twice, -04:00 then -05:00); nanoseconds; a space and +hhmm. */
    char *t = file_transcript(IMPORT_CLAUDE, "claude_dst.json", NULL);
    CHECK(same_text(t, "C0 @1 claude id=dst-1 title=DST c=1711845000 u=1730615400 f=1711845000 "
                       "l=1730615400 n=3/3/0 tok=-1/-1(0) usd=-1 models= "
                       "msgs=d1|user|-|1711845000 d2|assistant|-|1711848600 "
                       "d3|user|-|1730611800 d4|assistant|-|1730615400 d5|user|-|1730615400 "
                       "d6|assistant|-|1730615400\n"
                       "=0"));
    free(t);
}

/* ---- Open WebUI ----------------------------------------------------------------------------- */

static void test_openwebui_both_layouts(void) {
    /* The current branch in chat.messages and every branch in chat.history: 5 messages, not 9;
     * three usage spellings (Ollama's counts, OpenAI's, Anthropic-like) and a cost. */
    import_stats st;
    char *t = file_transcript(IMPORT_OPENWEBUI, "openwebui_both_layouts.json", &st);
    CHECK(same_text(t, "C0 @1 openwebui id=ow-chat-1 title=Titres c=1730419199 u=1730419305 "
                       "f=1730419200 l=1730419305 n=2/3/0 tok=112/47(3) usd=1.44e-05 "
                       "models=llama3.1:8b:2=52/38/-1,gpt-4o-mini:1=60/9/1.44e-05 "
                       "msgs=ow-u1|user|-|1730419200 ow-a1|assistant|llama3.1:8b|1730419203|26/18 "
                       "ow-a1b|assistant|llama3.1:8b|1730419260|26/20 ow-u2|user|-|1730419300 "
                       "ow-a2|assistant|gpt-4o-mini|1730419305|60/9|$1.44e-05\n"
                       "=0"));
    CHECK_INT(st.messages, 5);
    free(t);
}

static void test_openwebui_history_only(void) {
    /* Newer exports: no top-level id (chat.id), an empty title (chat.title), milliseconds. */
    char *t = file_transcript(IMPORT_OPENWEBUI, "openwebui_history_only.json", NULL);
    CHECK(same_text(t, "C0 @1 openwebui id=ow-chat-2 title=Salutations c=1733011199 "
                       "u=1733011202 f=1733011200 l=1733011201 n=1/1/0 tok=-1/-1(0) usd=-1 "
                       "models=qwen2.5:7b:1 msgs=h-u1|user|-|1733011200 "
                       "h-a1|assistant|qwen2.5:7b|1733011201\n"
                       "=0"));
    free(t);
}

static void test_openwebui_messages_only(void) {
    /* No message ids: "#<position>".  Two models side by side: an answer without its own
     * model stays unknown (not counted under either). */
    char *t = file_transcript(IMPORT_OPENWEBUI, "openwebui_messages_only.json", NULL);
    CHECK(same_text(t, "C0 @1 openwebui id=ow-chat-3 title=Comparaison c=1735689599 "
                       "u=1735689601 f=1735689599 l=1735689601 n=1/3/0 tok=-1/-1(0) usd=-1 "
                       "models=mistral:7b:1,gemma2:9b:1 msgs=#0|user|-|1735689599 "
                       "#1|assistant|mistral:7b|1735689600 #2|assistant|gemma2:9b|1735689600 "
                       "#3|assistant|-|1735689601\n"
                       "C1 @559 openwebui id=ow-chat-4 title=Vide c=1735689700 u=1735689700 f=-1 "
                       "l=-1 n=0/0/0 tok=-1/-1(0) usd=-1 models= msgs=\n"
                       "=0"));
    free(t);
}

/* ---- OpenRouter ----------------------------------------------------------------------------- */

static void test_openrouter_activity(void) {
    import_stats st;
    char *t = file_transcript(IMPORT_OPENROUTER, "openrouter_activity.json", &st);
    CHECK(same_text(
        t, "A0 2026-11-29 day=1795910400 model=openai/gpt-4.1 slug=openai/gpt-4.1-2025-04-14 "
           "endpoint=550e8400-e29b-41d4-a716-446655440000 provider=OpenAI ws= usd=0.015 byok=0 "
           "req=5 tok=50/125/25\n"
           "A1 2026-11-30 day=1795996800 model=anthropic/claude-sonnet-4 "
           "slug=anthropic/claude-4-sonnet-20250522 endpoint=6f1c0d7a-0000-4000-8000-000000000002 "
           "provider=Anthropic ws= usd=0.1234 byok=0.5 req=12 tok=34567/4321/0\n"
           "A2 2026-11-30 day=1795996800 model=mistralai/mistral-small-3.2-24b-instruct "
           "slug=mistralai/mistral-small-3.2-24b-instruct-2506 "
           "endpoint=7a7a7a7a-0000-4000-8000-000000000003 provider=Mistral ws= usd=0 byok=0 "
           "req=3 tok=900/300/0\n"
           "W[3] row 3 (byte 1253): the same day and endpoint as row 1 (2026-11-30, "
           "anthropic/claude-4-sonnet-20250522): this copy and any later one are skipped\n"
           "W[4] row 4 (byte 1540): \"usage\" (byte 1773) is -1, not an amount in USD: ignored\n"
           "W[4] row 4 (byte 1540): \"requests\" (byte 1795) is 2.5, not a count: ignored\n"
           "A4 2026-12-01 day=1796083200 model=google/gemini-2.5-flash "
           "slug=google/gemini-2.5-flash endpoint=8b8b8b8b-0000-4000-8000-000000000004 "
           "provider=Google ws=ws-1 usd=-1 byok=-1 req=-1 tok=-1/-1/-1\n"
           "W[5] row 5 (byte 1869): \"date\" \"30/11/2026\" is not a plausible YYYY-MM-DD: "
           "skipped\n"
           "=0"));
    CHECK_INT(st.activity_rows, 4);
    CHECK_INT(st.duplicates, 1);
    CHECK_INT(st.skipped, 1);
    free(t);

    t = file_transcript(IMPORT_OPENROUTER, "openrouter_empty.json", &st);
    CHECK(same_text(t, "=0"));
    free(t);
    t = file_transcript(IMPORT_OPENROUTER, "openrouter_error.json", NULL);
    CHECK(same_text(t, "=-3 [-1@0] OpenRouter answered with an error instead of activity: "
                       "Invalid management key"));
    free(t);
}

/* ---- broken files --------------------------------------------------------------------------- */

static void test_truncated(void) {
    char *t = file_transcript(IMPORT_CHATGPT, "chatgpt_truncated.json", NULL);
    CHECK(t && strstr(t, "C0 @1 chatgpt id=67243f00"));
    CHECK(ends_with_error(t, IMPORT_ETRUNCATE,
                          "[1@5594] the file ends at byte 5594 in the middle of the export, in "
                          "conversation 1 (which begins at byte 4641): the input ends inside a "
                          "string that began at byte 5591; was it cut short?"));
    free(t);
    t = file_transcript(IMPORT_CLAUDE, "claude_truncated.json", NULL);
    CHECK(ends_with_error(t, IMPORT_ETRUNCATE, "in conversation 1 (which begins at byte"));
    free(t);

    /* Every prefix of an export is truncated (never a crash, never accepted), and what it
     * delivered is a prefix of the whole file's records. */
    size_t len;
    char *data = load("chatgpt_basic.json", &len);
    char *whole = data ? transcript(IMPORT_CHATGPT, data, len) : NULL;
    for (size_t cut = 1; data && cut < len; cut += 1 + cut / 50) {
        char *p = transcript(IMPORT_CHATGPT, data, cut);
        char *eq = strstr(p, "=-5 ");
        if (!eq || strncmp(p, whole, (size_t)(eq - p)) != 0) {
            fprintf(stderr, "  prefix of %zu bytes: %s\n", cut, p);
            check_test_failed = 1;
            free(p);
            break;
        }
        free(p);
    }
    free(whole);
    free(data);
}

static void test_invalid_json(void) {
    char *t = file_transcript(IMPORT_CHATGPT, "chatgpt_trailing_comma.json", NULL);
    CHECK(same_text(t, "C0 @1 chatgpt id=c-c-0000 title=Fin d'ann\xC3\xA9"
                       "e c=1735689599 u=1735689601 f=1735689599 l=1735689601 n=1/1/1 "
                       "tok=-1/-1(0) usd=-1 models=gpt-4o-mini:1 msgs=sysv|system|-|1735689599 "
                       "cu1|user|-|1735689599 ca1|assistant|gpt-4o-mini|1735689601\n"
                       "=-2 [-1@1741] invalid JSON at byte 1741 (line 1, column 1742): trailing "
                       "comma before ']'"));
    free(t);

    /* Inside a conversation, the error names it. */
    const char *doc = "[{\"id\":\"a\",\"mapping\":{}},\n {\"id\":\"b\",\"mapping\":{\"x\" 1}}]";
    t = transcript(IMPORT_CHATGPT, doc, strlen(doc));
    CHECK(ends_with_error(t, IMPORT_EJSON,
                          "[1@52] invalid JSON at byte 52 (line 2, column 27), in conversation 1 "
                          "(which begins at byte 27): expected ':' after an object key, found "
                          "'1'"));
    free(t);
    /* Bad UTF-8 inside a message text that is skipped is still reported. */
    const char *bad =
        "[{\"id\":\"a\",\"mapping\":{\"n\":{\"message\":{\"content\":{\"x\":\"\xFF\"}}}}}]";
    t = transcript(IMPORT_CHATGPT, bad, strlen(bad));
    CHECK(ends_with_error(t, IMPORT_EJSON, "invalid UTF-8: byte 0xFF cannot start a character"));
    free(t);
}

static void test_foreign(void) {
    static const struct {
        import_format f;
        const char *file;
        const char *want;
    } cases[] = {
        {IMPORT_CHATGPT, "foreign_package.json",
         "=-3 [-1@0] this is not a ChatGPT export: expected an array of conversations with a "
         "\"mapping\" (conversations.json from a ChatGPT data export); the file holds an object"},
        {IMPORT_CLAUDE, "foreign_numbers.json",
         "=-3 [-1@1] this is not a Claude export: expected an array of conversations with "
         "\"chat_messages\" (conversations.json from a Claude data export); element 0 (byte 1) "
         "is 1"},
        {IMPORT_CHATGPT, "foreign_zip.bin",
         "=-3 [-1@0] this is not a ChatGPT export: expected an array of conversations with a "
         "\"mapping\" (conversations.json from a ChatGPT data export); the file is not JSON (it "
         "looks like a .zip archive: unzip it and give the conversations.json inside): at byte "
         "0, expected a JSON value, found 'P'"},
        {IMPORT_OPENWEBUI, "foreign_html.html",
         "=-3 [-1@0] this is not an Open WebUI export: expected an array of chats with a "
         "\"chat\" object (Open WebUI's chat export); the file is not JSON (it looks like HTML "
         "or XML): at byte 0, expected a JSON value, found '<'"},
        {IMPORT_CLAUDE, "empty.json",
         "=-3 [-1@0] this is not a Claude export: expected an array of conversations with "
         "\"chat_messages\" (conversations.json from a Claude data export); the file is empty"},
        /* The wrong format named: the right one suggested. */
        {IMPORT_CHATGPT, "claude_basic.json",
         "=-3 [0@3] this is not a ChatGPT export: expected an array of conversations with a "
         "\"mapping\" (conversations.json from a ChatGPT data export); conversation 0 (byte 3) "
         "has no \"mapping\"; it looks like a Claude export (format \"claude\")"},
        {IMPORT_CLAUDE, "openwebui_both_layouts.json",
         "=-3 [0@1] this is not a Claude export: expected an array of conversations with "
         "\"chat_messages\" (conversations.json from a Claude data export); conversation 0 (byte "
         "1) has no \"chat_messages\"; it looks like an Open WebUI export (format "
         "\"openwebui\")"},
        {IMPORT_OPENWEBUI, "chatgpt_basic.json",
         "=-3 [0@1] this is not an Open WebUI export: expected an array of chats with a \"chat\" "
         "object (Open WebUI's chat export); chat 0 (byte 1) has no \"chat\"; it looks like a "
         "ChatGPT export (format \"chatgpt\")"},
        {IMPORT_CHATGPT, "openrouter_activity.json",
         "=-3 [-1@0] this is not a ChatGPT export: expected an array of conversations with a "
         "\"mapping\" (conversations.json from a ChatGPT data export); the file holds an object; "
         "it looks like an OpenRouter activity response (format \"openrouter\")"},
        {IMPORT_OPENROUTER, "chatgpt_basic.json",
         "=-3 [-1@0] this is not an OpenRouter activity response: expected an object with a "
         "\"data\" array (the body of OpenRouter's GET /api/v1/activity); the file holds an "
         "array; it looks like a ChatGPT export (format \"chatgpt\")"},
        {IMPORT_OPENROUTER, "foreign_package.json",
         "=-3 [-1@0] this is not an OpenRouter activity response: expected an object with a "
         "\"data\" array (the body of OpenRouter's GET /api/v1/activity); the object has no "
         "\"data\""},
        {IMPORT_CHATGPT, "chatgpt_not_array.json",
         "=-3 [-1@0] this is not a ChatGPT export: expected an array of conversations with a "
         "\"mapping\" (conversations.json from a ChatGPT data export); the file holds an object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *t = file_transcript(cases[i].f, cases[i].file, NULL);
        if (!same_text(t, cases[i].want)) {
            fprintf(stderr, "  case %zu: %s read as %s\n", i, cases[i].file,
                    import_format_name(cases[i].f));
            check_test_failed = 1;
        }
        free(t);
    }
    /* "data" that is not an array. */
    const char *doc = "{\"data\": {\"date\": \"2026-11-30\"}}";
    char *t = transcript(IMPORT_OPENROUTER, doc, strlen(doc));
    CHECK(ends_with_error(t, IMPORT_EFORMAT, "; \"data\" is an object"));
    free(t);
}

/* A file of another shape larger than the detection prefix: the error comes with the feed
 * that completes IMPORT_DETECT_BYTES, not before, and nothing is delivered meanwhile. */
static void test_foreign_large(void) {
    buf b = {0};
    buf_append_str(&b, "{\"data\": [");
    for (int i = 0; b.len < 3 * IMPORT_DETECT_BYTES; i++)
        buf_printf(&b,
                   "%s{\"date\": \"2026-11-30\", \"model\": \"m%d\", \"model_permaslug\": "
                   "\"m%d\", \"endpoint_id\": \"e%d\", \"requests\": 1}",
                   i ? ", " : "", i, i, i);
    buf_append_str(&b, "]}");
    rec t;
    memset(&t, 0, sizeof t);
    import_reader *r = import_reader_new(IMPORT_CHATGPT, &callbacks, &t);
    size_t at = 0, piece = 4096;
    int rc = IMPORT_OK;
    while (rc == IMPORT_OK && at < b.len) {
        size_t n = b.len - at < piece ? b.len - at : piece;
        rc = import_reader_feed(r, b.data + at, n);
        at += n;
    }
    CHECK_INT(rc, IMPORT_EFORMAT);
    CHECK_INT(at, IMPORT_DETECT_BYTES); /* 16 pieces of 4 KiB */
    CHECK_STR(import_reader_error(r),
              "this is not a ChatGPT export: expected an array of conversations with a "
              "\"mapping\" (conversations.json from a ChatGPT data export); the file holds an "
              "object; it looks like an OpenRouter activity response (format \"openrouter\")");
    CHECK_INT(import_reader_finish(r), IMPORT_EFORMAT);
    CHECK(t.out.data == NULL); /* no record, no warning */
    import_reader_free(r);
    /* Read as what it is, it is fine. */
    char *tr = transcript(IMPORT_OPENROUTER, b.data, b.len);
    CHECK(tr && strstr(tr, "\n=0"));
    free(tr);
    buf_free(&b);
}

static void test_detect(void) {
    static const struct {
        const char *file;
        import_format f;
    } cases[] = {
        {"chatgpt_basic.json", IMPORT_CHATGPT},
        {"chatgpt_bom_crlf.json", IMPORT_CHATGPT},
        {"chatgpt_duplicates.json", IMPORT_CHATGPT},
        {"claude_basic.json", IMPORT_CLAUDE},
        {"claude_dst.json", IMPORT_CLAUDE},
        {"openwebui_both_layouts.json", IMPORT_OPENWEBUI},
        {"openwebui_history_only.json", IMPORT_OPENWEBUI},
        {"openwebui_messages_only.json", IMPORT_OPENWEBUI},
        {"openrouter_activity.json", IMPORT_OPENROUTER},
        {"openrouter_empty.json", IMPORT_OPENROUTER},
        {"openrouter_error.json", IMPORT_FORMAT_UNKNOWN},
        {"chatgpt_empty.json", IMPORT_FORMAT_UNKNOWN},
        {"chatgpt_not_array.json", IMPORT_FORMAT_UNKNOWN},
        {"foreign_package.json", IMPORT_FORMAT_UNKNOWN},
        {"foreign_numbers.json", IMPORT_FORMAT_UNKNOWN},
        {"foreign_zip.bin", IMPORT_FORMAT_UNKNOWN},
        {"foreign_html.html", IMPORT_FORMAT_UNKNOWN},
        {"empty.json", IMPORT_FORMAT_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len;
        char *data = load(cases[i].file, &len);
        import_format got = import_detect(data, len);
        if (got != cases[i].f) {
            fprintf(stderr, "  %s: detected %s, expected %s\n", cases[i].file,
                    import_format_name(got), import_format_name(cases[i].f));
            check_test_failed = 1;
        }
        /* The first bytes are enough: the marks come early. */
        if (cases[i].f != IMPORT_FORMAT_UNKNOWN && len > 400)
            CHECK_INT(import_detect(data, 400), cases[i].f);
        free(data);
    }
    CHECK_INT(import_detect(NULL, 0), IMPORT_FORMAT_UNKNOWN);
    CHECK_INT(import_detect("[{\"ma", 5), IMPORT_FORMAT_UNKNOWN); /* not enough yet */
    CHECK_INT(import_detect("[{\"mapping\"", 11), IMPORT_CHATGPT);
    CHECK_INT(import_detect("[1,2,3,4,5,{\"mapping\":{}}]", 27), IMPORT_FORMAT_UNKNOWN);
}

/* ---- limits, callbacks, API ---------------------------------------------------------------- */

static void test_limits(void) {
    /* More than IMPORT_MAX_MESSAGES messages in one conversation. */
    buf b = {0};
    buf_append_str(&b, "[{\"uuid\":\"big\",\"chat_messages\":[");
    for (int i = 0; i <= IMPORT_MAX_MESSAGES; i++)
        buf_printf(&b, "%s{\"uuid\":\"m%d\",\"sender\":\"human\"}", i ? "," : "", i);
    buf_append_str(&b, "]}]");
    char *t = transcript(IMPORT_CLAUDE, b.data, b.len);
    CHECK(ends_with_error(t, IMPORT_ELIMIT, "more than 100000 messages in one conversation"));
    free(t);

    /* Too deep, even inside a skipped value. */
    buf_clear(&b);
    buf_append_str(&b, "[{\"uuid\":\"deep\",\"extra\":");
    for (int i = 0; i < IMPORT_MAX_DEPTH; i++)
        buf_append_byte(&b, '[');
    t = transcript(IMPORT_CLAUDE, b.data, b.len);
    CHECK(ends_with_error(t, IMPORT_ELIMIT, "the JSON nests more than 128 levels at byte"));
    free(t);

    /* An id too long is skipped; a long title is cut on a code point boundary. */
    buf_clear(&b);
    buf_append_str(&b, "[{\"uuid\":\"");
    for (int i = 0; i < IMPORT_MAX_ID + 1; i++)
        buf_append_byte(&b, 'x');
    buf_append_str(&b, "\",\"chat_messages\":[]},{\"uuid\":\"ok\",\"name\":\"");
    for (int i = 0; i < 127; i++)
        buf_append_str(&b, "\xC3\xA9");                          /* 254 bytes */
    buf_append_str(&b, "\xE2\x82\xAC\",\"chat_messages\":[]}]"); /* + 3 = 257 */
    t = transcript(IMPORT_CLAUDE, b.data, b.len);
    CHECK(t && strstr(t, "W[0] conversation 0 (byte 1): an id longer than 256 bytes: skipped\n"));
    char *title = t ? strstr(t, "title=") : NULL;
    CHECK(title && strncmp(title + 6 + 254, " c=", 3) == 0); /* the euro sign did not fit */
    free(t);

    /* More warnings than are delivered: the rest are counted and summed up once. */
    buf_clear(&b);
    buf_append_str(&b, "[{\"uuid\":\"w\",\"chat_messages\":[");
    for (int i = 0; i < 150; i++)
        buf_printf(&b, "%s{\"uuid\":\"m%d\",\"created_at\":\"soon\"}", i ? "," : "", i);
    buf_append_str(&b, "]}]");
    import_stats st;
    t = transcript_cuts(IMPORT_CLAUDE, b.data, b.len, NULL, 0, 1, &st);
    CHECK_INT(st.warnings, 150);
    size_t shown = 0;
    for (const char *s = t; s && (s = strstr(s, "\nW[")) != NULL; s++)
        shown++;
    CHECK_INT(shown, IMPORT_MAX_WARNINGS); /* the first one has no newline before it */
    CHECK(t && strstr(t, "W[-1] and 50 more warnings not shown\n"));
    free(t);
    buf_free(&b);
}

static void test_stop_and_reentry(void) {
    size_t len;
    char *data = load("chatgpt_basic.json", &len);
    rec t;
    memset(&t, 0, sizeof t);
    t.stop_after = 1;
    import_reader *r = import_reader_new(IMPORT_CHATGPT, &callbacks, &t);
    CHECK_INT(import_reader_feed(r, data, len), IMPORT_STOPPED);
    CHECK_INT(t.seen, 1);
    CHECK_INT(import_reader_feed(r, "x", 1), IMPORT_STOPPED);
    CHECK_INT(import_reader_finish(r), IMPORT_STOPPED);
    CHECK_STR(import_reader_error(r), "");
    import_reader_free(r);
    buf_free(&t.out);

    memset(&t, 0, sizeof t);
    t.reenter = 1;
    r = import_reader_new(IMPORT_CHATGPT, &callbacks, &t);
    t.r = r;
    CHECK_INT(import_reader_feed(r, data, len), IMPORT_OK);
    CHECK_INT(import_reader_finish(r), IMPORT_OK);
    CHECK_INT(t.reenter_rc, IMPORT_EBUSY);
    CHECK_INT(t.seen, 3);
    import_reader_free(r);
    buf_free(&t.out);
    free(data);

    /* No callbacks at all: counting only. */
    import_callbacks none = {NULL, NULL, NULL};
    data = load("openwebui_both_layouts.json", &len);
    r = import_reader_new(IMPORT_OPENWEBUI, &none, NULL);
    CHECK_INT(import_reader_feed(r, data, len), IMPORT_OK);
    CHECK_INT(import_reader_finish(r), IMPORT_OK);
    CHECK_INT(import_reader_stats(r)->messages, 5);
    CHECK_INT(import_reader_stats(r)->bytes, len);
    import_reader_free(r);
    free(data);
}

static void test_api_edges(void) {
    CHECK(import_reader_new(IMPORT_FORMAT_UNKNOWN, &callbacks, NULL) == NULL);
    CHECK(import_reader_new((import_format)99, &callbacks, NULL) == NULL);
    CHECK(import_reader_new(IMPORT_CHATGPT, NULL, NULL) == NULL);
    import_reader_free(NULL);
    CHECK_INT(import_format_from_name("ChatGPT"), IMPORT_CHATGPT);
    CHECK_INT(import_format_from_name("claude"), IMPORT_CLAUDE);
    CHECK_INT(import_format_from_name("open-webui"), IMPORT_OPENWEBUI);
    CHECK_INT(import_format_from_name("openwebui"), IMPORT_OPENWEBUI);
    CHECK_INT(import_format_from_name("openrouter"), IMPORT_OPENROUTER);
    CHECK_INT(import_format_from_name("gemini"), IMPORT_FORMAT_UNKNOWN);
    CHECK_INT(import_format_from_name(NULL), IMPORT_FORMAT_UNKNOWN);
    for (int f = IMPORT_CHATGPT; f <= IMPORT_OPENROUTER; f++)
        CHECK_INT(import_format_from_name(import_format_name((import_format)f)), f);
    CHECK_STR(import_format_label(IMPORT_OPENWEBUI), "Open WebUI");
    CHECK_STR(import_role_name(IMPORT_ROLE_TOOL), "tool");
    import_reader *r = import_reader_new(IMPORT_CLAUDE, &callbacks, NULL);
    CHECK_INT(import_reader_feed(r, NULL, 0), IMPORT_OK);
    CHECK_INT(import_reader_error_index(r), -1);
    import_reader_free(r);
}

/* ---- times ---------------------------------------------------------------------------------- */

static void test_time_parsing(void) {
    static const struct {
        const char *s;
        long long want; /* -1: rejected */
    } iso[] = {
        {"2024-11-01", 1730419200},
        {"2024-11-01T00:00:00Z", 1730419200},
        {"2024-11-01t00:00:00z", 1730419200},
        {"2024-11-01T01:00:00+01:00", 1730419200},
        {"2024-10-31T19:00:00-05:00", 1730419200},
        {"2024-11-01T05:30:00+0530", 1730419200},
        {"2024-11-01T02:00:00+02", 1730419200},
        {"2024-11-01 00:00:00.999999Z", 1730419200},
        {"2024-11-01T00:00:00,5Z", 1730419200},
        {"2024-11-01T00:00", 1730419200},
        {"2024-02-29T12:00:00Z", 1709208000},
        {"2000-02-29", 951782400},
        {"1970-01-01T00:00:00Z", 0},
        {"1969-12-31T23:59:59Z", -1 - 0}, /* -1 is also "rejected": checked apart below */
        {"2023-02-29", -1},
        {"1900-02-29", -1},
        {"2024-13-01", -1},
        {"2024-00-10", -1},
        {"2024-11-31", -1},
        {"2024-11-01T24:00:00Z", -1},
        {"2024-11-01T12:60:00Z", -1},
        {"2024-11-01T12:00:00+24:00", -1},
        {"2024-11-01T12:00:00Zjunk", -1},
        {"2024-11-01T12:00:00.Z", -1},
        {"2024-11-01T12", -1},
        {"2024-1-01", -1},
        {"24-11-01", -1},
        {"hier", -1},
        {"", -1},
    };
    for (size_t i = 0; i < sizeof iso / sizeof iso[0]; i++) {
        long long v = 12345;
        int rc = import_time_iso8601(iso[i].s, strlen(iso[i].s), &v);
        if (iso[i].want == -1 && strcmp(iso[i].s, "1969-12-31T23:59:59Z") != 0) {
            if (rc != -1 || v != 12345) {
                fprintf(stderr, "  \"%s\" accepted as %lld\n", iso[i].s, v);
                check_test_failed = 1;
            }
        } else if (rc != 0 || v != iso[i].want) {
            fprintf(stderr, "  \"%s\": rc %d, %lld, expected %lld\n", iso[i].s, rc, v, iso[i].want);
            check_test_failed = 1;
        }
    }
    long long v;
    CHECK_INT(import_time_epoch(1730419200.9, &v), 0);
    CHECK_INT(v, 1730419200);
    CHECK_INT(import_time_epoch(1730419200123.0, &v), 0); /* ms */
    CHECK_INT(v, 1730419200);
    CHECK_INT(import_time_epoch(1730419200123456.0, &v), 0); /* µs */
    CHECK_INT(v, 1730419200);
    CHECK_INT(import_time_epoch(1730419200123456789.0, &v), 0); /* ns */
    CHECK_INT(v, 1730419200);
    CHECK_INT(import_time_epoch(99999999999.0, &v), 0); /* just under 1e11: still seconds */
    CHECK_INT(v, 99999999999LL);
    CHECK_INT(import_time_epoch(-1.5, &v), 0);
    CHECK_INT(v, -2);
    CHECK_INT(import_time_epoch(NAN, &v), -1);
    CHECK_INT(import_time_epoch(INFINITY, &v), -1);
    CHECK_INT(import_time_epoch(1e300, &v), -1);
}

/* ---- the SQL shape -------------------------------------------------------------------------- */

typedef struct store {
    sqlite3 *db;
    sqlite3_stmt *up, *del, *ins, *act;
    long long now;
    int failed;
    int skipped_older;
} store;

static void bind_ll(sqlite3_stmt *s, int i, long long v) {
    if (v == IMPORT_UNKNOWN)
        sqlite3_bind_null(s, i);
    else
        sqlite3_bind_int64(s, i, v);
}

static void bind_usd(sqlite3_stmt *s, int i, double v) {
    if (v < 0)
        sqlite3_bind_null(s, i);
    else
        sqlite3_bind_double(s, i, v);
}

static void bind_text(sqlite3_stmt *s, int i, const char *v) {
    if (v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, i);
}

static int store_conv(void *ud, const import_conversation *c) {
    store *s = ud;
    sqlite3_stmt *up = s->up;
    sqlite3_reset(up);
    bind_text(up, 1, import_format_name(c->source));
    bind_text(up, 2, c->id);
    bind_text(up, 3, c->title);
    bind_ll(up, 4, c->created);
    bind_ll(up, 5, c->updated);
    bind_ll(up, 6, c->first_message);
    bind_ll(up, 7, c->last_message);
    bind_ll(up, 8, c->user_messages);
    bind_ll(up, 9, c->assistant_messages);
    bind_ll(up, 10, c->other_messages);
    bind_ll(up, 11, c->tokens_in);
    bind_ll(up, 12, c->tokens_out);
    bind_usd(up, 13, c->cost_usd);
    bind_ll(up, 14, s->now);
    int rc = sqlite3_step(up);
    if (rc == SQLITE_DONE) {
        s->skipped_older++;
        return 0;
    }
    if (rc != SQLITE_ROW) {
        s->failed = 1;
        return 1;
    }
    long long id = sqlite3_column_int64(up, 0);
    while ((rc = sqlite3_step(up)) == SQLITE_ROW)
        ;
    sqlite3_reset(up);
    sqlite3_reset(s->del);
    sqlite3_bind_int64(s->del, 1, id);
    if (sqlite3_step(s->del) != SQLITE_DONE)
        s->failed = 1;
    for (size_t i = 0; i < c->n_messages; i++) {
        const import_message *m = &c->messages[i];
        sqlite3_stmt *ins = s->ins;
        sqlite3_reset(ins);
        sqlite3_bind_int64(ins, 1, id);
        bind_text(ins, 2, import_format_name(c->source));
        bind_text(ins, 3, m->id);
        bind_text(ins, 4, import_role_name(m->role));
        bind_text(ins, 5, m->model);
        bind_ll(ins, 6, m->time);
        sqlite3_bind_int(ins, 7, m->time_estimated);
        bind_ll(ins, 8, m->tokens_in);
        bind_ll(ins, 9, m->tokens_out);
        bind_usd(ins, 10, m->cost_usd);
        if (sqlite3_step(ins) != SQLITE_DONE) {
            fprintf(stderr, "  insert: %s\n", sqlite3_errmsg(s->db));
            s->failed = 1;
            return 1;
        }
    }
    return 0;
}

static int store_activity(void *ud, const import_activity *a) {
    store *s = ud;
    sqlite3_stmt *st = s->act;
    sqlite3_reset(st);
    bind_text(st, 1, "openrouter");
    bind_text(st, 2, a->date);
    bind_ll(st, 3, a->day);
    bind_text(st, 4, a->model);
    bind_text(st, 5, a->permaslug);
    bind_text(st, 6, a->endpoint_id);
    bind_text(st, 7, a->provider);
    bind_text(st, 8, a->workspace_id);
    bind_usd(st, 9, a->usd);
    bind_usd(st, 10, a->byok_usd);
    bind_ll(st, 11, a->requests);
    bind_ll(st, 12, a->prompt_tokens);
    bind_ll(st, 13, a->completion_tokens);
    bind_ll(st, 14, a->reasoning_tokens);
    bind_ll(st, 15, s->now);
    if (sqlite3_step(st) != SQLITE_DONE) {
        s->failed = 1;
        return 1;
    }
    return 0;
}

/* Imports a fixture in one transaction; returns the reader's result. */
static int store_file(store *s, import_format f, const char *name) {
    size_t len;
    char *data = load(name, &len);
    import_callbacks cb = {store_conv, store_activity, NULL};
    import_reader *r = import_reader_new(f, &cb, s);
    sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL);
    int rc = data ? import_reader_feed(r, data, len) : -99;
    if (rc == IMPORT_OK)
        rc = import_reader_finish(r);
    sqlite3_exec(s->db, rc == IMPORT_OK ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
    import_reader_free(r);
    free(data);
    return rc;
}

/* The rows of a query as "a|b|c\n" text. */
static char *query(sqlite3 *db, const char *sql) {
    buf b = {0};
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        buf_printf(&b, "error: %s", sqlite3_errmsg(db));
        return buf_steal(&b);
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        for (int i = 0; i < sqlite3_column_count(st); i++) {
            const unsigned char *v = sqlite3_column_text(st, i);
            buf_printf(&b, "%s%s", i ? "|" : "", v ? (const char *)v : "NULL");
        }
        buf_append_byte(&b, '\n');
    }
    sqlite3_finalize(st);
    if (!b.data)
        buf_append(&b, "", 0);
    return buf_steal(&b);
}

static int store_open(store *s) {
    memset(s, 0, sizeof *s);
    s->now = 1796083200;
    if (sqlite3_open(":memory:", &s->db) != SQLITE_OK)
        return -1;
    char *err = NULL;
    if (sqlite3_exec(s->db, import_schema_sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "  schema: %s\n", err);
        sqlite3_free(err);
        return -1;
    }
    if (sqlite3_prepare_v2(s->db, import_sql_upsert_conversation, -1, &s->up, NULL) ||
        sqlite3_prepare_v2(s->db, import_sql_delete_messages, -1, &s->del, NULL) ||
        sqlite3_prepare_v2(s->db, import_sql_insert_message, -1, &s->ins, NULL) ||
        sqlite3_prepare_v2(s->db, import_sql_upsert_activity, -1, &s->act, NULL)) {
        fprintf(stderr, "  prepare: %s\n", sqlite3_errmsg(s->db));
        return -1;
    }
    return 0;
}

static void store_close(store *s) {
    sqlite3_finalize(s->up);
    sqlite3_finalize(s->del);
    sqlite3_finalize(s->ins);
    sqlite3_finalize(s->act);
    sqlite3_close(s->db);
}

#define Q(sql, want)                                                                               \
    do {                                                                                           \
        char *got_ = query(s.db, sql);                                                             \
        CHECK(same_text(got_, want));                                                              \
        free(got_);                                                                                \
    } while (0)

static void test_sql_idempotent(void) {
    store s;
    if (store_open(&s) != 0) {
        CHECK(0);
        return;
    }
    CHECK_INT(store_file(&s, IMPORT_CHATGPT, "chatgpt_basic.json"), IMPORT_OK);
    CHECK_INT(store_file(&s, IMPORT_CHATGPT, "chatgpt_basic.json"), IMPORT_OK);
    CHECK_INT(store_file(&s, IMPORT_CHATGPT, "chatgpt_bom_crlf.json"), IMPORT_OK);
    CHECK(!s.failed);
    Q("SELECT COUNT(*) FROM imported_conversations", "3\n");
    Q("SELECT COUNT(*) FROM imported_messages", "13\n");
    /* A newer export of conversation A updates it (title, one more message)... */
    CHECK_INT(store_file(&s, IMPORT_CHATGPT, "chatgpt_newer.json"), IMPORT_OK);
    Q("SELECT title, updated_unix, user_messages FROM imported_conversations "
      "WHERE external_id LIKE '67243f00%'",
      "Plan d'un essai (v2)|1730592000|3\n");
    Q("SELECT COUNT(*) FROM imported_messages", "14\n");
    /* ...and an older one does not take it back. */
    CHECK_INT(store_file(&s, IMPORT_CHATGPT, "chatgpt_basic.json"), IMPORT_OK);
    CHECK_INT(s.skipped_older, 1);
    Q("SELECT title FROM imported_conversations WHERE external_id LIKE '67243f00%'",
      "Plan d'un essai (v2)\n");
    Q("SELECT COUNT(*) FROM imported_messages", "14\n");
    /* Unknown stays unknown: NULL, never 0. */
    Q("SELECT COUNT(*) FROM imported_conversations WHERE prompt_tokens IS NULL AND cost_usd IS "
      "NULL AND title IS NULL",
      "1\n");
    Q("SELECT COUNT(*) FROM imported_messages WHERE model IS NULL AND role = 'user'", "5\n");
    /* A truncated export imports nothing (rolled back). */
    CHECK_INT(store_file(&s, IMPORT_CLAUDE, "claude_truncated.json"), IMPORT_ETRUNCATE);
    Q("SELECT COUNT(*) FROM imported_conversations WHERE source = 'claude'", "0\n");
    /* Sources side by side. */
    CHECK_INT(store_file(&s, IMPORT_CLAUDE, "claude_basic.json"), IMPORT_OK);
    CHECK_INT(store_file(&s, IMPORT_OPENWEBUI, "openwebui_both_layouts.json"), IMPORT_OK);
    CHECK_INT(store_file(&s, IMPORT_OPENWEBUI, "openwebui_both_layouts.json"), IMPORT_OK);
    Q("SELECT source, COUNT(*) FROM imported_conversations GROUP BY source ORDER BY source",
      "chatgpt|3\nclaude|3\nopenwebui|1\n");
    Q("SELECT SUM(prompt_tokens), SUM(completion_tokens), printf('%.7f', SUM(cost_usd)) "
      "FROM imported_messages WHERE source = 'openwebui'",
      "112|47|0.0000144\n");
    /* OpenRouter: the last fetch of a day wins, never a second row. */
    CHECK_INT(store_file(&s, IMPORT_OPENROUTER, "openrouter_activity.json"), IMPORT_OK);
    CHECK_INT(store_file(&s, IMPORT_OPENROUTER, "openrouter_activity.json"), IMPORT_OK);
    Q("SELECT COUNT(*), SUM(requests), SUM(prompt_tokens) FROM imported_activity", "4|20|35517\n");
    Q("SELECT substr(day, 1, 7) AS month, COUNT(DISTINCT model), SUM(requests), "
      "ROUND(SUM(usd), 4) FROM imported_activity GROUP BY month ORDER BY month",
      "2026-11|3|20|0.1384\n2026-12|1|NULL|NULL\n");
    CHECK(!s.failed);
    store_close(&s);
}

static void set_tz(const char *tz) {
    if (tz)
        setenv("TZ", tz, 1);
    else
        unsetenv("TZ");
    tzset();
}

static void test_sql_months_by_zone(void) {
    store s;
    if (store_open(&s) != 0) {
        CHECK(0);
        return;
    }
    CHECK_INT(store_file(&s, IMPORT_CHATGPT, "chatgpt_basic.json"), IMPORT_OK);
    CHECK_INT(store_file(&s, IMPORT_CLAUDE, "claude_basic.json"), IMPORT_OK);
    const char *threads = "SELECT strftime('%Y-%m', at_unix, 'unixepoch', 'localtime') AS month, "
                          "source, COUNT(DISTINCT conversation), SUM(role = 'user'), "
                          "SUM(role = 'assistant') FROM imported_messages GROUP BY month, source "
                          "ORDER BY month, source";
    const char *models = "SELECT strftime('%Y-%m', at_unix, 'unixepoch', 'localtime') AS month, "
                         "COALESCE(model, '(unknown)'), COUNT(*) FROM imported_messages WHERE "
                         "role = 'assistant' GROUP BY 1, 2 ORDER BY 1, 2";
    /* UTC: conversation C straddles the new year (23:59:59 and 00:00:01); Claude's second
     * conversation is on 30 June. */
    set_tz("UTC0");
    Q(threads, "2024-06|claude|2|3|3\n2024-11|chatgpt|1|2|3\n2024-12|chatgpt|2|2|1\n"
               "2025-01|chatgpt|1|0|1\n");
    Q(models, "2024-06|(unknown)|3\n2024-11|gpt-4o|2\n2024-11|o1-preview|1\n2024-12|gpt-4|1\n"
              "2025-01|gpt-4o-mini|1\n");
    /* The zones below need tzdata; without it TZ would silently mean UTC. */
    FILE *zi = fopen("/usr/share/zoneinfo/Europe/Paris", "rb");
    FILE *zn = fopen("/usr/share/zoneinfo/America/New_York", "rb");
    int have_zones = zi && zn;
    if (zi)
        fclose(zi);
    if (zn)
        fclose(zn);
    if (!have_zones) {
        fprintf(stderr, "  (no tzdata here: the Paris and New York months are not checked)\n");
        set_tz(NULL);
        store_close(&s);
        return;
    }
    /* Paris (UTC+1 in winter, +2 in summer): all of C is on 1 January; Claude's 22:31 UTC
     * on 30 June is 00:31 on 1 July. */
    set_tz("Europe/Paris");
    Q(threads, "2024-06|claude|1|2|2\n2024-07|claude|1|1|1\n2024-11|chatgpt|1|2|3\n"
               "2024-12|chatgpt|1|1|1\n2025-01|chatgpt|1|1|1\n");
    /* New York (UTC-5 in winter): all of C is on 31 December; A's first minutes of 1
     * November UTC are still 31 October. */
    set_tz("America/New_York");
    Q(threads, "2024-06|claude|2|3|3\n2024-10|chatgpt|1|2|3\n2024-11|chatgpt|1|1|1\n"
               "2024-12|chatgpt|1|1|1\n");
    set_tz(NULL);
    store_close(&s);
}

int main(void) {
    RUN(test_chatgpt_basic);
    RUN(test_chatgpt_any_layout);
    RUN(test_chatgpt_duplicates);
    RUN(test_chatgpt_times);
    RUN(test_chatgpt_no_id);
    RUN(test_chatgpt_empty);
    RUN(test_claude_basic);
    RUN(test_claude_time_zones);
    RUN(test_openwebui_both_layouts);
    RUN(test_openwebui_history_only);
    RUN(test_openwebui_messages_only);
    RUN(test_openrouter_activity);
    RUN(test_truncated);
    RUN(test_invalid_json);
    RUN(test_foreign);
    RUN(test_foreign_large);
    RUN(test_detect);
    RUN(test_limits);
    RUN(test_stop_and_reentry);
    RUN(test_api_edges);
    RUN(test_time_parsing);
    RUN(test_sql_idempotent);
    RUN(test_sql_months_by_zone);
    return check_report("import");
}
