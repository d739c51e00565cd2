/* Tests for the provider module (src/provider*.c).
 *
 * Streams are written as SSE text, as the providers send them (PROTOCOLS.md), and fed
 * through a minimal SSE splitter below (test streams are well-formed, so it need not be the
 * real parser).  Every stream is decoded twice, with the fast scanner and with cJSON only,
 * and the two transcripts must be identical: that is how every test here also checks that
 * the fast path means exactly what cJSON means.  A transcript is one line of events:
 *
 *   M(model)  T(text)  F(reason)  U(prompt,completion,$cost|-,cached,reasoning)
 *   E(kind|-,code,message)  END
 *
 * with control bytes in text shown as \n or \xNN.
 */
#include "ami/buf.h"
#include "ami/log.h"
#include "ami/provider.h"
#include "check.h"

#include <cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- recording ------------------------------------------------------------------------ */

typedef struct rec {
    buf out;
    int bad; /* an event broke an invariant of provider.h */
    provider_decoder *d;
} rec;

static void put_text(buf *b, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n')
            buf_append_str(b, "\\n");
        else if (c < 0x20 || c == 0x7f)
            buf_printf(b, "\\x%02x", c);
        else
            buf_append_byte(b, (char)c);
    }
}

static int usage_is_none(const provider_usage *u) {
    return u->prompt_tokens == -1 && u->completion_tokens == -1 && u->cached_tokens == -1 &&
           u->reasoning_tokens == -1 && !u->has_cost;
}

static void on_event(void *ud, const provider_event *ev) {
    rec *r = ud;
    if (r->out.len)
        buf_append_byte(&r->out, ' ');
    if (ev->type != PEV_USAGE && !usage_is_none(&ev->usage))
        r->bad = 1;
    switch (ev->type) {
    case PEV_TEXT:
    case PEV_MODEL:
    case PEV_FINISH:
        if (!ev->text || ev->len == 0)
            r->bad = 1;
        buf_append_str(&r->out, ev->type == PEV_TEXT ? "T(" : ev->type == PEV_MODEL ? "M(" : "F(");
        put_text(&r->out, ev->text, ev->len);
        buf_append_byte(&r->out, ')');
        break;
    case PEV_USAGE: {
        const provider_usage *u = &ev->usage;
        buf_printf(&r->out, "U(%ld,%ld,", u->prompt_tokens, u->completion_tokens);
        if (u->has_cost)
            buf_printf(&r->out, "$%.10g", u->cost);
        else
            buf_append_byte(&r->out, '-');
        buf_printf(&r->out, ",%ld,%ld)", u->cached_tokens, u->reasoning_tokens);
        break;
    }
    case PEV_ERROR:
        if (!ev->message)
            r->bad = 1;
        buf_printf(&r->out, "E(%s,%ld,", ev->error_kind ? ev->error_kind : "-", ev->code);
        put_text(&r->out, ev->message ? ev->message : "", ev->message ? strlen(ev->message) : 0);
        buf_append_byte(&r->out, ')');
        break;
    case PEV_END:
        buf_append_str(&r->out, "END");
        break;
    }
}

/* Feeds an SSE text to d: LF line ends; `event:`, `data:`, comments; any other field goes
 * to provider_decoder_field(); a blank line dispatches; data left at the end goes to
 * provider_decoder_eof(), as the real SSE parser gives it back. */
static void feed_sse(provider_decoder *d, const char *s) {
    buf data = {0}, type = {0}, value = {0};
    int have = 0;
    while (*s) {
        const char *eol = strchr(s, '\n');
        size_t n = eol ? (size_t)(eol - s) : strlen(s);
        if (n == 0) {
            if (have) {
                data.data[--data.len] = 0; /* the real parser drops the last LF too */
                provider_decoder_event(d, type.len ? type.data : "message", type.len ? type.len : 7,
                                       data.data, data.len);
            }
            buf_clear(&data);
            buf_clear(&type);
            have = 0;
        } else if (s[0] != ':') {
            const char *colon = memchr(s, ':', n);
            size_t nl = colon ? (size_t)(colon - s) : n;
            const char *v = colon ? colon + 1 : s + n;
            if (colon && v < s + n && *v == ' ')
                v++;
            size_t vl = (size_t)(s + n - v);
            if (nl == 4 && memcmp(s, "data", 4) == 0) {
                buf_append(&data, v, vl);
                buf_append_byte(&data, '\n');
                have = 1;
            } else if (nl == 5 && memcmp(s, "event", 5) == 0) {
                buf_clear(&type);
                buf_append(&type, v, vl);
            } else {
                buf_clear(&value);
                buf_append(&value, v, vl);
                provider_decoder_field(d, s, nl, value.data ? value.data : "", vl);
            }
        }
        s += n + (eol ? 1 : 0);
    }
    if (have) {
        data.data[--data.len] = 0;
        provider_decoder_eof(d, data.data, data.len);
    } else {
        provider_decoder_eof(d, NULL, 0);
    }
    buf_free(&data);
    buf_free(&type);
    buf_free(&value);
}

/* What one decoder run saw. */
typedef struct run {
    buf out;
    size_t ignored, slow;
    int ended, bad;
} run;

static run run_sse(provider_dialect dialect, const char *sse, int fast) {
    rec r = {{0}, 0, NULL};
    provider_decoder *d = provider_decoder_new(dialect, on_event, &r);
    r.d = d;
    provider_decoder_set_fast(d, fast);
    feed_sse(d, sse);
    run x = {r.out, provider_decoder_ignored(d), provider_decoder_slow(d),
             provider_decoder_ended(d), r.bad};
    if (!x.out.data)
        buf_append(&x.out, "", 0);
    provider_decoder_free(d);
    return x;
}

static buf g_out; /* the transcript of the last decode() */
static size_t g_ignored, g_slow;
static int g_ended;

/* Decodes sse with both paths; checks they agree; returns the transcript (valid until the
 * next call). */
static const char *decode_at(provider_dialect dialect, const char *sse, int line) {
    run fast = run_sse(dialect, sse, 1);
    run slow = run_sse(dialect, sse, 0);
    if (strcmp(fast.out.data, slow.out.data) != 0 || fast.ignored != slow.ignored ||
        fast.ended != slow.ended) {
        fprintf(stderr,
                "  line %d: fast and cJSON paths differ:\n    fast: %s (ign %zu)\n"
                "    cJSON: %s (ign %zu)\n",
                line, fast.out.data, fast.ignored, slow.out.data, slow.ignored);
        check_test_failed = 1;
    }
    if (fast.bad || slow.bad) {
        fprintf(stderr, "  line %d: an event broke an invariant\n", line);
        check_test_failed = 1;
    }
    buf_free(&g_out);
    g_out = fast.out;
    g_ignored = fast.ignored;
    g_slow = fast.slow;
    g_ended = fast.ended;
    buf_free(&slow.out);
    return g_out.data;
}

#define decode(dialect, sse) decode_at(dialect, sse, __LINE__)

/* Feeds one event (data of any bytes) with both paths; same checks as decode(). */
static const char *decode_event_at(provider_dialect dialect, const char *type, const char *data,
                                   size_t len, int line) {
    char *copy = malloc(len + 1);
    memcpy(copy, data, len);
    copy[len] = 0;
    run runs[2];
    for (int fast = 0; fast < 2; fast++) {
        rec r = {{0}, 0, NULL};
        provider_decoder *d = provider_decoder_new(dialect, on_event, &r);
        provider_decoder_set_fast(d, fast);
        provider_decoder_event(d, type, strlen(type), copy, len);
        runs[fast] = (run){r.out, provider_decoder_ignored(d), provider_decoder_slow(d),
                           provider_decoder_ended(d), r.bad};
        if (!runs[fast].out.data)
            buf_append(&runs[fast].out, "", 0);
        provider_decoder_free(d);
    }
    if (strcmp(runs[0].out.data, runs[1].out.data) != 0 || runs[0].ignored != runs[1].ignored) {
        fprintf(stderr,
                "  line %d: fast and cJSON paths differ:\n    fast: %.300s\n"
                "    cJSON: %.300s\n",
                line, runs[1].out.data, runs[0].out.data);
        check_test_failed = 1;
    }
    if (runs[0].bad || runs[1].bad) {
        fprintf(stderr, "  line %d: an event broke an invariant\n", line);
        check_test_failed = 1;
    }
    free(copy);
    buf_free(&g_out);
    g_out = runs[1].out;
    g_ignored = runs[1].ignored;
    g_slow = runs[1].slow;
    g_ended = runs[1].ended;
    buf_free(&runs[0].out);
    return g_out.data;
}

#define decode_event(dialect, type, data, len) decode_event_at(dialect, type, data, len, __LINE__)
#define OA                                     PROVIDER_OPENAI
#define AN                                     PROVIDER_ANTHROPIC

/* ---- the registry, URLs, headers ------------------------------------------------------- */

static void test_registry(void) {
    size_t n = 0;
    const provider_def *all = provider_list(&n);
    CHECK_INT(n, 7);
    CHECK_STR(all[0].name, "openrouter");
    static const struct {
        const char *name, *base, *env;
        provider_dialect dialect;
        int key_required, include_usage, attribution;
    } want[] = {
        {"openrouter", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY", OA, 1, 0, 1},
        {"openai", "https://api.openai.com/v1", "OPENAI_API_KEY", OA, 1, 1, 0},
        {"mistral", "https://api.mistral.ai/v1", "MISTRAL_API_KEY", OA, 1, 0, 0},
        {"scaleway", "https://api.scaleway.ai/v1", "SCW_SECRET_KEY", OA, 1, 1, 0},
        {"ollama", "http://127.0.0.1:11434/v1", NULL, OA, 0, 1, 0},
        {"openai-compatible", NULL, NULL, OA, 0, 1, 0},
        {"anthropic", "https://api.anthropic.com/v1", "ANTHROPIC_API_KEY", AN, 1, 0, 0},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const provider_def *d = provider_find(want[i].name);
        CHECK(d == &all[i]);
        if (!d)
            continue;
        CHECK(want[i].base ? d->base_url && strcmp(d->base_url, want[i].base) == 0
                           : d->base_url == NULL);
        CHECK(want[i].env ? d->api_key_env && strcmp(d->api_key_env, want[i].env) == 0
                          : d->api_key_env == NULL);
        CHECK_INT(d->dialect, want[i].dialect);
        CHECK_INT(d->key_required, want[i].key_required);
        CHECK_INT(d->include_usage, want[i].include_usage);
        CHECK_INT(d->attribution, want[i].attribution);
    }
    CHECK(provider_find("OpenRouter") == NULL);
    CHECK(provider_find("nope") == NULL);
    CHECK(provider_find(NULL) == NULL);
    CHECK(provider_list(NULL) == all);
}

static void test_urls(void) {
    char *u = provider_url("https://openrouter.ai/api/v1", "models");
    CHECK_STR(u, "https://openrouter.ai/api/v1/models");
    free(u);
    u = provider_url("https://x.test/v1//", "/key");
    CHECK_STR(u, "https://x.test/v1/key");
    free(u);
    CHECK(provider_url(NULL, "models") == NULL);
    CHECK(provider_url("", "models") == NULL);
    CHECK(provider_url("https://x", NULL) == NULL);

    u = provider_endpoint(provider_find("openrouter"), NULL);
    CHECK_STR(u, "https://openrouter.ai/api/v1/chat/completions");
    free(u);
    u = provider_endpoint(provider_find("anthropic"), NULL);
    CHECK_STR(u, "https://api.anthropic.com/v1/messages");
    free(u);
    u = provider_endpoint(provider_find("ollama"), "http://gpu.lan:11434/v1/");
    CHECK_STR(u, "http://gpu.lan:11434/v1/chat/completions");
    free(u);
    CHECK(provider_endpoint(provider_find("openai-compatible"), NULL) == NULL);
    u = provider_endpoint(provider_find("openai-compatible"), "http://127.0.0.1:8080/v1");
    CHECK_STR(u, "http://127.0.0.1:8080/v1/chat/completions");
    free(u);
    CHECK(provider_endpoint(NULL, "http://x") == NULL);
}

/* The headers joined with " | ". */
static char *joined(char **h) {
    buf b = {0};
    for (char **p = h; p && *p; p++) {
        if (p != h)
            buf_append_str(&b, " | ");
        buf_append_str(&b, *p);
    }
    buf_append(&b, "", 0);
    return buf_steal(&b);
}

static void test_headers(void) {
    char **h = provider_headers(provider_find("openrouter"), "sk-or-KEY", NULL, NULL);
    char *j = joined(h);
    CHECK_STR(j, "Content-Type: application/json | Accept: text/event-stream | "
                 "Authorization: Bearer sk-or-KEY | X-OpenRouter-Title: ami | X-Title: ami");
    free(j);
    provider_headers_free(h);

    h = provider_headers(provider_find("openrouter"), "k", "https://example.org/me", "My App");
    j = joined(h);
    CHECK_STR(j, "Content-Type: application/json | Accept: text/event-stream | "
                 "Authorization: Bearer k | HTTP-Referer: https://example.org/me | "
                 "X-OpenRouter-Title: My App | X-Title: My App");
    free(j);
    provider_headers_free(h);

    /* Attribution is OpenRouter's alone. */
    h = provider_headers(provider_find("openai"), "sk-1", "https://example.org", "T");
    j = joined(h);
    CHECK_STR(j, "Content-Type: application/json | Accept: text/event-stream | "
                 "Authorization: Bearer sk-1");
    free(j);
    provider_headers_free(h);

    h = provider_headers(provider_find("anthropic"), "sk-ant-1", NULL, NULL);
    j = joined(h);
    CHECK_STR(j, "Content-Type: application/json | Accept: text/event-stream | "
                 "x-api-key: sk-ant-1 | anthropic-version: 2023-06-01");
    free(j);
    provider_headers_free(h);

    /* No key (or an empty one): no auth header at all. */
    h = provider_headers(provider_find("ollama"), NULL, NULL, NULL);
    j = joined(h);
    CHECK_STR(j, "Content-Type: application/json | Accept: text/event-stream");
    free(j);
    provider_headers_free(h);
    h = provider_headers(provider_find("anthropic"), "", NULL, NULL);
    j = joined(h);
    CHECK_STR(j, "Content-Type: application/json | Accept: text/event-stream | "
                 "anthropic-version: 2023-06-01");
    free(j);
    provider_headers_free(h);

    /* Header injection is refused (with a warning that must not show the value). */
    log_set_level(LOG_OFF);
    CHECK(provider_headers(provider_find("openai"), "sk\r\nX-Evil: 1", NULL, NULL) == NULL);
    CHECK(provider_headers(provider_find("openrouter"), "k", NULL, "a\nb") == NULL);
    CHECK(provider_headers(provider_find("openrouter"), "k", "http://x\r", NULL) == NULL);
    CHECK(provider_headers(NULL, "k", NULL, NULL) == NULL);
    log_set_level(LOG_WARN);

    h = provider_auth_headers(provider_find("openrouter"), "k");
    j = joined(h);
    CHECK_STR(j, "Authorization: Bearer k");
    free(j);
    provider_headers_free(h);
    h = provider_auth_headers(provider_find("anthropic"), "a");
    j = joined(h);
    CHECK_STR(j, "x-api-key: a | anthropic-version: 2023-06-01");
    free(j);
    provider_headers_free(h);
    h = provider_auth_headers(provider_find("ollama"), NULL);
    CHECK(h && h[0] == NULL);
    provider_headers_free(h);
    provider_headers_free(NULL);
}

/* ---- request bodies ------------------------------------------------------------------- */

static const chat_message convo[] = {
    {"user", "Is this clear?", PROVIDER_STRLEN},
    {"assistant", "Mostly.", 7},
    {"user", "Why?", PROVIDER_STRLEN},
};

static cJSON *body_json(const char *provider, const provider_request *req, char **raw) {
    size_t len = 0;
    char *body = provider_build_body(provider_find(provider), req, &len);
    CHECK(body != NULL);
    if (!body)
        return NULL;
    CHECK_INT(len, strlen(body));
    cJSON *j = cJSON_ParseWithLength(body, len);
    CHECK(cJSON_IsObject(j));
    if (raw)
        *raw = body;
    else
        free(body);
    return j;
}

static const char *jstr(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const cJSON *jget(const cJSON *o, const char *k) {
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

static void test_body_openai(void) {
    provider_request req = {
        "anthropic/claude-sonnet-4", "You are a careful editor.", convo, 3, 0, -1, 0, 0};
    cJSON *j = body_json("openrouter", &req, NULL);
    CHECK_STR(jstr(j, "model"), "anthropic/claude-sonnet-4");
    CHECK(cJSON_IsTrue(jget(j, "stream")));
    CHECK(jget(j, "stream_options") == NULL); /* deprecated on OpenRouter */
    CHECK(jget(j, "max_tokens") == NULL);
    CHECK(jget(j, "temperature") == NULL);
    const cJSON *msgs = jget(j, "messages");
    CHECK_INT(cJSON_GetArraySize(msgs), 4);
    static const char *const roles[] = {"system", "user", "assistant", "user"};
    static const char *const texts[] = {"You are a careful editor.", "Is this clear?", "Mostly.",
                                        "Why?"};
    for (int i = 0; i < 4; i++) {
        CHECK_STR(jstr(cJSON_GetArrayItem(msgs, i), "role"), roles[i]);
        CHECK_STR(jstr(cJSON_GetArrayItem(msgs, i), "content"), texts[i]);
    }
    cJSON_Delete(j);

    /* OpenAI: usage must be asked for, and the output cap has its new name. */
    req.max_tokens = 1000;
    req.temperature = 0.7;
    char *raw = NULL;
    j = body_json("openai", &req, &raw);
    CHECK(cJSON_IsTrue(jget(jget(j, "stream_options"), "include_usage")));
    CHECK_INT(jget(j, "max_completion_tokens")->valueint, 1000);
    CHECK(jget(j, "max_tokens") == NULL);
    CHECK(raw && strstr(raw, "\"temperature\":0.7}")); /* shortest form, '.' whatever the locale */
    free(raw);
    cJSON_Delete(j);

    static const char *const with_usage[] = {"ollama", "scaleway", "openai-compatible"};
    for (int i = 0; i < 3; i++) {
        j = body_json(with_usage[i], &req, NULL);
        CHECK(cJSON_IsTrue(jget(jget(j, "stream_options"), "include_usage")));
        CHECK_INT(jget(j, "max_tokens")->valueint, 1000);
        cJSON_Delete(j);
    }
    j = body_json("mistral", &req, NULL); /* usage by default; unknown fields are 422 */
    CHECK(jget(j, "stream_options") == NULL);
    CHECK_INT(jget(j, "max_tokens")->valueint, 1000);
    cJSON_Delete(j);

    /* No system prompt (NULL or empty): messages start with the user's. */
    req.system = "";
    req.temperature = 0;
    j = body_json("openrouter", &req, NULL);
    CHECK_STR(jstr(cJSON_GetArrayItem(jget(j, "messages"), 0), "role"), "user");
    CHECK(cJSON_IsNumber(jget(j, "temperature")) && jget(j, "temperature")->valuedouble == 0);
    cJSON_Delete(j);

    CHECK(provider_build_body(NULL, &req, NULL) == NULL);
    CHECK(provider_build_body(provider_find("openai"), NULL, NULL) == NULL);
    req.model = NULL;
    CHECK(provider_build_body(provider_find("openai"), &req, NULL) == NULL);
}

/* OpenRouter's provider routing: only for OpenRouter, only what was asked. */
static void test_body_privacy(void) {
    provider_request req = {"m", NULL, convo, 3, 0, -1, 1, 0};
    cJSON *j = body_json("openrouter", &req, NULL);
    CHECK_STR(jstr(jget(j, "provider"), "data_collection"), "deny");
    CHECK(jget(jget(j, "provider"), "zdr") == NULL);
    cJSON_Delete(j);
    req.zdr = 1;
    j = body_json("openrouter", &req, NULL);
    CHECK(cJSON_IsTrue(jget(jget(j, "provider"), "zdr")));
    cJSON_Delete(j);
    req.deny_data_collection = 0;
    j = body_json("openrouter", &req, NULL);
    char *printed = cJSON_PrintUnformatted(jget(j, "provider"));
    CHECK_STR(printed, "{\"zdr\":true}");
    free(printed);
    cJSON_Delete(j);
    req.deny_data_collection = 1;
    const char *others[] = {"openai", "mistral", "ollama", "openai-compatible", "anthropic"};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        j = body_json(others[i], &req, NULL);
        CHECK(jget(j, "provider") == NULL);
        cJSON_Delete(j);
    }
}

static void test_body_anthropic(void) {
    provider_request req = {"claude-sonnet-4-20250514", "Be brief.", convo, 3, 0, 0.5, 0, 0};
    cJSON *j = body_json("anthropic", &req, NULL);
    CHECK_STR(jstr(j, "model"), "claude-sonnet-4-20250514");
    CHECK_STR(jstr(j, "system"), "Be brief.");
    CHECK_INT(jget(j, "max_tokens")->valueint, 4096); /* required: a default */
    CHECK(cJSON_IsTrue(jget(j, "stream")));
    CHECK(jget(j, "stream_options") == NULL);
    CHECK(jget(j, "temperature")->valuedouble == 0.5);
    const cJSON *msgs = jget(j, "messages");
    CHECK_INT(cJSON_GetArraySize(msgs), 3); /* the system prompt is not a message */
    CHECK_STR(jstr(cJSON_GetArrayItem(msgs, 0), "role"), "user");
    CHECK_STR(jstr(cJSON_GetArrayItem(msgs, 1), "role"), "assistant");
    CHECK_STR(jstr(cJSON_GetArrayItem(msgs, 2), "content"), "Why?");
    cJSON_Delete(j);

    req.max_tokens = 123;
    req.system = NULL;
    j = body_json("anthropic", &req, NULL);
    CHECK_INT(jget(j, "max_tokens")->valueint, 123);
    CHECK(jget(j, "system") == NULL);
    cJSON_Delete(j);
}

/* True when s[0..n) is well-formed UTF-8. */
static int utf8_ok(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned c = u[i];
        size_t k = c < 0x80                 ? 1
                   : c >= 0xC2 && c <= 0xDF ? 2
                   : c >= 0xE0 && c <= 0xEF ? 3
                   : c >= 0xF0 && c <= 0xF4 ? 4
                                            : 0;
        if (!k || i + k > n)
            return 0;
        unsigned cp = k == 1 ? c : c & (0x7F >> k);
        for (size_t j = 1; j < k; j++) {
            if ((u[i + j] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (u[i + j] & 0x3F);
        }
        if ((k == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (k == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
            return 0;
        i += k;
    }
    return 1;
}

static void test_body_escaping(void) {
    static const char nul[] = "a\0b\"c";
    const chat_message m[] = {
        {"user", "quote \" backslash \\ slash / newline \n tab \t cr \r bell \x07 del \x7f",
         PROVIDER_STRLEN},
        {"assistant", nul, 5},
        {"user",
         "bad \xff|\xe2\x82x|\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|ok \xc3\xa9 \xf0\x9f\x98\x80",
         PROVIDER_STRLEN},
        {NULL, NULL, 0},
    };
    provider_request req = {"m\"odel", "sys\ntem", m, 4, 0, -1, 0, 0};
    for (int a = 0; a < 2; a++) {
        char *raw = NULL;
        cJSON *j = body_json(a ? "anthropic" : "openai", &req, &raw);
        CHECK(raw && utf8_ok(raw, strlen(raw)));
        CHECK(raw && strstr(raw, "\"a\\u0000b\\\"c\"")); /* NUL kept, escaped */
        CHECK(raw && strstr(raw, "bell \\u0007 del \x7f"));
        CHECK_STR(jstr(j, "model"), "m\"odel");
        const cJSON *msgs = jget(j, "messages");
        int off = a ? 0 : 1; /* the OpenAI dialect has the system prompt first */
        CHECK_STR(jstr(cJSON_GetArrayItem(msgs, off), "content"),
                  "quote \" backslash \\ slash / newline \n tab \t cr \r bell \x07 del \x7f");
        /* One U+FFFD per maximal ill-formed subpart (Unicode §3.9). */
        CHECK_STR(jstr(cJSON_GetArrayItem(msgs, off + 2), "content"),
                  "bad \xef\xbf\xbd|\xef\xbf\xbdx|\xef\xbf\xbd\xef\xbf\xbd|"
                  "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|"
                  "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|ok \xc3\xa9 \xf0\x9f\x98\x80");
        CHECK_STR(jstr(cJSON_GetArrayItem(msgs, off + 3), "role"), "user");
        CHECK_STR(jstr(cJSON_GetArrayItem(msgs, off + 3), "content"), "");
        if (a)
            CHECK_STR(jstr(j, "system"), "sys\ntem");
        else
            CHECK_STR(jstr(cJSON_GetArrayItem(msgs, 0), "content"), "sys\ntem");
        free(raw);
        cJSON_Delete(j);
    }

    /* Every byte value, in every position relative to a multi-byte sequence. */
    char all[512];
    for (int i = 0; i < 256; i++) {
        all[2 * i] = (char)i;
        all[2 * i + 1] = (char)(255 - i);
    }
    const chat_message one = {"user", all, sizeof all};
    provider_request r2 = {"m", NULL, &one, 1, 0, -1, 0, 0};
    size_t len;
    char *body = provider_build_body(provider_find("openrouter"), &r2, &len);
    CHECK(body && utf8_ok(body, len));
    cJSON *j = cJSON_ParseWithLength(body, len);
    CHECK(j != NULL);
    cJSON_Delete(j);
    free(body);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); /* CPU time: steadier on a busy machine */
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_body_large(void) {
    static const char pat[] = "Lorem ipsum dolor sit amet, \xc3\xa9l\xc3\xa8ve \"quoted\"\n";
    size_t n = (10u << 20) / (sizeof pat - 1) * (sizeof pat - 1); /* whole patterns */
    char *big = malloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = pat[i % (sizeof pat - 1)];
    const chat_message m = {"user", big, n};
    provider_request req = {"m", "s", &m, 1, 100, 1, 0, 0};
    double t0 = now_s();
    size_t len;
    char *body = provider_build_body(provider_find("anthropic"), &req, &len);
    double t = now_s() - t0;
    CHECK(body != NULL);
    printf("  provider_build_body: 10 MB document in %.1f ms\n", t * 1e3);
    cJSON *j = cJSON_ParseWithLength(body, len);
    const cJSON *c = jget(cJSON_GetArrayItem(jget(j, "messages"), 0), "content");
    CHECK(cJSON_IsString(c) && strlen(c->valuestring) == n);
    CHECK(c && c->valuestring && memcmp(c->valuestring, big, n) == 0);
    cJSON_Delete(j);
    free(body);
    free(big);
}

/* ---- streams: the OpenAI dialect ------------------------------------------------------- */

#define OR_HEAD                                                                                    \
    "{\"id\":\"gen-1\",\"provider\":\"OpenAI\",\"model\":\"openai/gpt-4o\",\"object\":"            \
    "\"chat.completion.chunk\",\"created\":1731000000,"

static void test_openrouter_stream(void) {
    const char *t = decode(
        OA, ": OPENROUTER PROCESSING\n\n: OPENROUTER PROCESSING\n\n"
            "data: " OR_HEAD "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
            "\"content\":\"\"},\"finish_reason\":null,\"native_finish_reason\":null,"
            "\"logprobs\":null}]}\n\n"
            "data: " OR_HEAD "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
            "\"content\":\"Hello\"},\"finish_reason\":null,\"native_finish_reason\":null,"
            "\"logprobs\":null}]}\n\n"
            ": OPENROUTER PROCESSING\n\n"
            "data: " OR_HEAD "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
            "\"content\":\" world\\n\\\"caf\\u00e9\\\" \\ud83d\\ude00\"},\"finish_reason\":null,"
            "\"native_finish_reason\":null,\"logprobs\":null}]}\n\n"
            "data: " OR_HEAD "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
            "\"content\":\"\"},\"finish_reason\":\"stop\",\"native_finish_reason\":\"stop\","
            "\"logprobs\":null}]}\n\n"
            "data: " OR_HEAD "\"choices\":[],\"usage\":{\"prompt_tokens\":12,"
            "\"completion_tokens\":3,\"total_tokens\":15,\"cost\":0.0000675,\"is_byok\":false,"
            "\"prompt_tokens_details\":{\"cached_tokens\":4,\"cache_write_tokens\":0},"
            "\"cost_details\":{\"upstream_inference_cost\":null},"
            "\"completion_tokens_details\":{\"reasoning_tokens\":1}}}\n\n"
            "data: [DONE]\n\n");
    CHECK_STR(t, "M(openai/gpt-4o) T(Hello) T( world\\n\"caf\xc3\xa9\" \xf0\x9f\x98\x80) F(stop) "
                 "U(12,3,$6.75e-05,4,1) END");
    CHECK_INT(g_ended, 1);
    CHECK_INT(g_ignored, 0);
    CHECK_INT(g_slow, 1); /* only the usage chunk needed cJSON */

    /* The usage in a chunk whose choice has content "" and a finish_reason; cost null. */
    t = decode(OA, "data: " OR_HEAD "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},"
                   "\"finish_reason\":null}]}\n\n"
                   "data: " OR_HEAD "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
                   "\"content\":\"\"},\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":"
                   "7,\"completion_tokens\":2,\"total_tokens\":9,\"cost\":null}}\n\n"
                   "data: [DONE]\n\n");
    CHECK_STR(t, "M(openai/gpt-4o) T(Hi) F(length) U(7,2,-,-1,-1) END");
}

static void test_openrouter_midstream_error(void) {
    const char *t =
        decode(OA, "data: " OR_HEAD "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Par\"},"
                   "\"finish_reason\":null}]}\n\n"
                   "data: {\"id\":\"gen-abc\",\"object\":\"chat.completion.chunk\",\"model\":"
                   "\"openai/gpt-4o\",\"provider\":\"OpenAI\",\"error\":{\"code\":429,\"message\":"
                   "\"Rate limit exceeded\",\"metadata\":{\"error_type\":\"rate_limit_exceeded\"}},"
                   "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"},\"finish_reason\":"
                   "\"error\"}]}\n\n"
                   "data: [DONE]\n\n");
    /* The error comes last of its chunk: what the chunk also says (finish, usage) is read
     * before the error ends the answer. */
    CHECK_STR(t, "M(openai/gpt-4o) T(Par) F(error) E(rate_limit_exceeded,429,Rate limit exceeded) "
                 "END");

    /* OpenRouter, as recorded: the error beside the usage of what was spent, then [DONE]. */
    t = decode(OA, "data: {\"id\":\"gen-abc\",\"object\":\"chat.completion.chunk\",\"model\":"
                   "\"x/y\",\"error\":{\"code\":400,\"message\":\"Token limit reached\"},"
                   "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"},\"finish_reason\":"
                   "\"error\"}],\"usage\":{\"prompt_tokens\":900,\"completion_tokens\":40,"
                   "\"total_tokens\":940,\"cost\":0.0033}}\n\n"
                   "data: [DONE]\n\n");
    CHECK_STR(t, "M(x/y) F(error) U(900,40,$0.0033,-1,-1) E(400,400,Token limit reached) END");

    /* The code as a string. */
    t = decode(OA, "data: {\"id\":\"gen-abc\",\"object\":\"chat.completion.chunk\",\"model\":"
                   "\"x/y\",\"error\":{\"code\":\"server_error\",\"message\":\"Internal error\"},"
                   "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"},\"finish_reason\":"
                   "\"error\"}]}\n\n");
    CHECK_STR(t, "M(x/y) F(error) E(server_error,0,Internal error)");
    CHECK_INT(g_ended, 0);

    /* An upstream error with the provider's own words in metadata.raw. */
    t = decode(OA, "data: {\"error\":{\"code\":502,\"message\":\"Provider returned error\","
                   "\"metadata\":{\"provider_name\":\"Anthropic\",\"raw\":\"{\\\"type\\\":"
                   "\\\"error\\\",\\\"error\\\":{\\\"type\\\":\\\"overloaded_error\\\","
                   "\\\"message\\\":\\\"Overloaded\\\"}}\"}}}\n\n");
    CHECK_STR(t, "E(502,502,Provider returned error \xe2\x80\x94 Anthropic: Overloaded)");
}

static void test_openai_stream(void) {
    const char *t = decode(
        OA, "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,"
            "\"model\":\"gpt-4o-2024-08-06\",\"system_fingerprint\":\"fp_1\",\"choices\":[{"
            "\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null},"
            "\"logprobs\":null,\"finish_reason\":null}],\"usage\":null,\"obfuscation\":\"x1\"}"
            "\n\n"
            "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,"
            "\"model\":\"gpt-4o-2024-08-06\",\"system_fingerprint\":\"fp_1\",\"choices\":[{"
            "\"index\":0,\"delta\":{\"content\":\"Yes.\"},\"logprobs\":null,\"finish_reason\":"
            "null}],\"usage\":null,\"obfuscation\":\"abc\"}\n\n"
            "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,"
            "\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,\"delta\":{},"
            "\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":null}\n\n"
            "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,"
            "\"model\":\"gpt-4o-2024-08-06\",\"choices\":[],\"usage\":{\"prompt_tokens\":100,"
            "\"completion_tokens\":20,\"total_tokens\":120,\"prompt_tokens_details\":{"
            "\"cached_tokens\":64,\"audio_tokens\":0},\"completion_tokens_details\":{"
            "\"reasoning_tokens\":8}}}\n\n"
            "data: [DONE]\n\n");
    CHECK_STR(t, "M(gpt-4o-2024-08-06) T(Yes.) F(stop) U(100,20,-,64,8) END");
    CHECK_INT(g_slow, 1);
}

static void test_mistral_stream(void) {
    const char *t = decode(
        OA, "data: {\"id\":\"a\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":"
            "\"magistral-medium-latest\",\"choices\":[{\"index\":0,\"delta\":{\"role\":"
            "\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":[{\"type\":\"text\","
            "\"text\":\"Let me think\"}]}]},\"finish_reason\":null}]}\n\n"
            "data: {\"id\":\"a\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":"
            "\"magistral-medium-latest\",\"choices\":[{\"index\":0,\"delta\":{\"content\":[{"
            "\"type\":\"text\",\"text\":\"Bon\"},{\"type\":\"text\",\"text\":\"jour\"}]},"
            "\"finish_reason\":null}]}\n\n"
            "data: {\"id\":\"a\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":"
            "\"magistral-medium-latest\",\"choices\":[{\"index\":0,\"delta\":{\"content\":"
            "\" !\"},\"finish_reason\":null}]}\n\n"
            "data: {\"id\":\"a\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":"
            "\"magistral-medium-latest\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"},"
            "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":10,\"total_tokens\":14,"
            "\"completion_tokens\":4}}\n\n"
            "data: [DONE]\n\n");
    CHECK_STR(t, "M(magistral-medium-latest) T(Bonjour) T( !) F(stop) U(10,4,-,-1,-1) END");
}

static void test_ollama_stream(void) {
    const char *t = decode(
        OA, "data: {\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"created\":1,"
            "\"model\":\"qwen3:8b\",\"system_fingerprint\":\"fp_ollama\",\"choices\":[{\"index\":"
            "0,\"delta\":{\"role\":\"assistant\",\"content\":\"\",\"reasoning\":\"Hmm, \"},"
            "\"finish_reason\":null}]}\n\n"
            "data: {\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"created\":1,"
            "\"model\":\"qwen3:8b\",\"system_fingerprint\":\"fp_ollama\",\"choices\":[{\"index\":"
            "0,\"delta\":{\"role\":\"assistant\",\"content\":\"Sure\"},\"finish_reason\":null}]}"
            "\n\n"
            "data: {\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"created\":1,"
            "\"model\":\"qwen3:8b\",\"system_fingerprint\":\"fp_ollama\",\"choices\":[{\"index\":"
            "0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":\"stop\"}]}"
            "\n\n"
            "data: {\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"created\":1,"
            "\"model\":\"qwen3:8b\",\"system_fingerprint\":\"fp_ollama\",\"choices\":[],"
            "\"usage\":{\"prompt_tokens\":30,\"completion_tokens\":5,\"total_tokens\":35}}\n\n"
            "data: [DONE]\n\n");
    CHECK_STR(t, "M(qwen3:8b) T(Sure) F(stop) U(30,5,-,-1,-1) END");
}

static void test_llamacpp_stream(void) {
    /* content null first; [DONE] with no blank line before EOF. */
    const char *t = decode(
        OA, "data: {\"choices\":[{\"finish_reason\":null,\"index\":0,\"delta\":{\"role\":"
            "\"assistant\",\"content\":null}}],\"created\":1,\"id\":\"chatcmpl-x\",\"model\":"
            "\"gpt-3.5-turbo\",\"system_fingerprint\":\"b5000\",\"object\":"
            "\"chat.completion.chunk\"}\n\n"
            "data: {\"choices\":[{\"finish_reason\":null,\"index\":0,\"delta\":{\"content\":"
            "\"Hi\"}}],\"created\":1,\"id\":\"chatcmpl-x\",\"model\":\"gpt-3.5-turbo\","
            "\"object\":\"chat.completion.chunk\"}\n\n"
            "data: {\"choices\":[{\"finish_reason\":\"stop\",\"index\":0,\"delta\":{}}],"
            "\"created\":1,\"id\":\"chatcmpl-x\",\"model\":\"gpt-3.5-turbo\",\"object\":"
            "\"chat.completion.chunk\",\"usage\":{\"completion_tokens\":1,\"prompt_tokens\":9,"
            "\"total_tokens\":10},\"timings\":{\"predicted_ms\":1.5}}\n\n"
            "data: [DONE]");
    CHECK_STR(t, "M(gpt-3.5-turbo) T(Hi) F(stop) U(9,1,-,-1,-1) END");
    CHECK_INT(g_ended, 1);

    /* A last chunk and [DONE] with no blank lines at all before EOF. */
    t = decode(OA, "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"
                   "data: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n"
                   "data: [DONE]\n");
    CHECK_STR(t, "T(a) T(b) END");
    CHECK_INT(g_ended, 1);

    /* Cut off mid-chunk: not ended, the fragment counted. */
    t = decode(OA, "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"
                   "data: {\"choices\":[{\"delta\":{\"cont");
    CHECK_STR(t, "T(a)");
    CHECK_INT(g_ended, 0);
    CHECK_INT(g_ignored, 1);

    /* Older servers: a non-standard `error:` line. */
    t = decode(OA, "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n"
                   "error: {\"code\":500,\"message\":\"context shift is disabled\",\"type\":"
                   "\"server_error\"}\n\n");
    CHECK_STR(t, "T(x) E(server_error,500,context shift is disabled)");
    /* Newer ones: data with an error object. */
    t = decode(OA, "data: {\"error\":{\"code\":400,\"message\":\"the request exceeds the "
                   "available context size\",\"type\":\"exceed_context_size_error\"}}\n\n");
    CHECK_STR(t, "E(exceed_context_size_error,400,the request exceeds the available context "
                 "size)");
    t = decode(OA, "error: not json at all\n\n");
    CHECK_STR(t, "E(-,0,not json at all)");
    t = decode(OA, "retry-after: 10\nfoo: bar\n\n"); /* other fields mean nothing */
    CHECK_STR(t, "");
}

static void test_vllm_errors(void) {
    const char *t = decode(OA, "data: {\"error\":{\"object\":\"error\",\"message\":\"This model's "
                               "maximum context length is 4096 tokens.\",\"type\":"
                               "\"BadRequestError\",\"param\":null,\"code\":400}}\n\n");
    CHECK_STR(t, "E(BadRequestError,400,This model's maximum context length is 4096 tokens.)");
    /* Flat, as older vLLM and Mistral send it. */
    t = decode(OA, "data: {\"object\":\"error\",\"message\":\"Too long\",\"type\":"
                   "\"invalid_request_error\",\"param\":null,\"code\":\"3051\"}\n\n");
    CHECK_STR(t, "E(invalid_request_error,3051,Too long)");
    /* `event: error`, JSON or not. */
    t = decode(OA, "event: error\ndata: {\"error\":{\"message\":\"boom\",\"type\":\"x\"}}\n\n"
                   "event: error\ndata: {\"message\":\"flat\",\"code\":503}\n\n"
                   "event: error\ndata: plain\ndata: words\n\n");
    CHECK_STR(t, "E(x,0,boom) E(503,503,flat) E(-,0,plain words)");
    /* Falsy error values are not errors. */
    t = decode(OA, "data: {\"error\":null,\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"
                   "data: {\"error\":false,\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\n"
                   "data: {\"error\":0,\"choices\":[{\"delta\":{\"content\":\"c\"}}]}\n\n"
                   "data: {\"error\":\"\",\"choices\":[{\"delta\":{\"content\":\"d\"}}]}\n\n"
                   "data: {\"error\":\"oops\"}\n\n"
                   "data: {\"error\":true,\"message\":\"top\"}\n\n");
    CHECK_STR(t, "T(a) T(b) T(c) T(d) E(-,0,oops) E(-,0,top)");
}

static void test_not_answer_text(void) {
    const char *t = decode(
        OA, "data: {\"model\":\"m\",\"choices\":[{\"delta\":{\"reasoning\":\"secret\","
            "\"reasoning_details\":[{\"type\":\"reasoning.text\",\"text\":\"more\"}]}}]}\n\n"
            "data: {\"model\":\"m\",\"choices\":[{\"delta\":{\"refusal\":\"no\"}}]}\n\n"
            "data: {\"model\":\"m\",\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,"
            "\"function\":{\"arguments\":\"{}\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\n"
            "data: {\"model\":\"m\",\"choices\":[{\"delta\":{\"content\":null}}]}\n\n"
            "data: {\"model\":\"m\",\"choices\":[{\"delta\":{\"content\":7}}]}\n\n"
            "data: {\"model\":\"m\",\"choices\":[{\"delta\":{\"content\":\"ok\"}},{\"delta\":{"
            "\"content\":\"second choice\"}}]}\n\n");
    CHECK_STR(t, "M(m) F(tool_calls) T(ok)");
    CHECK_INT(g_ignored, 0);
}

static void test_model_changes(void) {
    const char *t = decode(OA, "data: {\"model\":\"a\",\"choices\":[]}\n\n"
                               "data: {\"model\":\"a\",\"choices\":[]}\n\n"
                               "data: {\"model\":\"b\",\"choices\":[]}\n\n"
                               "data: {\"model\":\"\",\"choices\":[]}\n\n"
                               "data: {\"model\":\"b\",\"choices\":[]}\n\n"
                               "data: {\"model\":\"a\\u00e9\",\"choices\":[]}\n\n"
                               "data: {\"model\":\"a\xc3\xa9\",\"choices\":[]}\n\n");
    CHECK_STR(t, "M(a) M(b) M(a\xc3\xa9)");
}

static void test_ignored(void) {
    const char *t = decode(OA, "data: not json\n\n"
                               "data: {\"id\":\"x\",\"object\":\"thing\"}\n\n"
                               "data: [1,2]\n\n"
                               "data: \n\n"
                               "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]} trailing\n\n"
                               "data: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\n"
                               "data: [DONE]\n\n"
                               "data: {\"choices\":[{\"delta\":{\"content\":\"late\"}}]}\n\n");
    CHECK_STR(t, "T(b) END");
    CHECK_INT(g_ignored, 6);
    /* Anthropic events in the wrong dialect are not understood either. */
    decode(OA, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{}}\n\n");
    CHECK_INT(g_ignored, 1);
}

/* Inputs near the edge of what the fast path accepts: each must decode the same both ways. */
static void test_fast_equals_cjson(void) {
    static const char *const chunks[] = {
        "{\"choices\":[{\"delta\":{\"content\":\"a\"}}],\"choices\":[{\"delta\":{\"content\":"
        "\"b\"}}]}",
        "{\"model\":\"a\",\"model\":\"b\"}",
        "{\"choices\":[{\"delta\":{\"content\":\"a\",\"content\":\"b\"}}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"a\"},\"delta\":{\"content\":\"b\"}}]}",
        "{\"choices\":[{\"finish_reason\":\"a\",\"finish_reason\":\"b\"}]}",
        "{\"ch\\u006fices\":[{\"delta\":{\"content\":\"esc key\"}}]}",
        "{\"choices\":[{\"delta\":{\"c\\u006fntent\":\"esc key\"}}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"x\\u0000y\"}}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"lone \\ud800 high\"}}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"lone \\udc00 low\"}}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"pair \\uD83D\\uDE00 upper\"}}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"bad \\x escape\"}}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"raw \x01 control\"}}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"tab\tinside\"}}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"bytes \xff\xfe kept\"}}]}",
        "{\"choices\":[{\"index\":01,\"delta\":{\"content\":\"lenient number\"}}]}",
        "{\"choices\":[{\"index\":-0.5e+3,\"delta\":{\"content\":\"number\"}}]}",
        "{\"choices\":[{\"index\":1.,\"delta\":{\"content\":\"bad number\"}}]}",
        "{\"choices\":[{\"index\":"
        "123456789012345678901234567890123456789012345678901234567890123456789,\"delta\":{"
        "\"content\":\"long number\"}}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"x\"},\"x\":tru}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"x\"},\"x\":[1,]}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"x\"},\"x\":{\"a\":1,}}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"x\"}},]}",
        "{\"choices\":[{\"delta\":{\"content\":\"x\"}}],}",
        "\xef\xbb\xbf{\"choices\":[{\"delta\":{\"content\":\"bom\"}}]}",
        " \t\r\n{\"choices\":[{\"delta\":{\"content\":\"ws\"}}]} \r\n",
        "\x01{\"choices\":[{\"delta\":{\"content\":\"odd ws\"}}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\x01",
        "{\"choices\":[null,{\"delta\":{\"content\":\"second\"}}]}",
        "{\"choices\":{\"delta\":{\"content\":\"not an array\"}}}",
        "{\"choices\":[{\"delta\":[\"not an object\"]}]}",
        "{\"choices\":[{\"delta\":{\"content\":[]}}]}",
        "{\"choices\":[{\"delta\":{\"content\":[{\"type\":\"text\",\"text\":\"p\"},7,{\"text\":"
        "\"untyped\"}]}}]}",
        "{\"choices\":[{\"finish_reason\":7}]}",
        "{\"choices\":[{\"finish_reason\":\"\"}]}",
        "{\"choices\":[],\"usage\":{}}",
        "{\"choices\":[],\"usage\":{\"prompt_tokens\":-5,\"completion_tokens\":1e300,\"cost\":"
        "1e999}}",
        "{\"choices\":[],\"usage\":[1]}",
        "{\"usage\":null}",
        "{\"object\":\"error\"}",
        "{\"object\":\"err\\u006fr\",\"message\":\"escaped flat\"}",
        "{\"object\":\"chat.completion.chunk\"}",
        "{\"model\":7}",
        "{\"model\":\"m\\u0000x\"}",
        "{\"error\":{}}",
        "{\"error\":[]}",
        "{\"error\":{\"message\":{\"detail\":[{\"loc\":[\"body\",\"x\"],\"msg\":\"bad\"}]}}}",
        "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":[[[[[[[[[[[[]]]]]]]]]]]]}}}},\"model\":\"deep\"}",
        "{}",
        "{",
        "",
        "null",
        "\"string\"",
        "{\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\0{\"junk\":1}",
    };
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        size_t len = strlen(chunks[i]);
        if (i == sizeof chunks / sizeof chunks[0] - 1)
            len += 11; /* the one with a NUL inside */
        decode_event(OA, "message", chunks[i], len);
        decode_event(AN, "content_block_delta", chunks[i], len);
    }
    /* A few answers worth pinning down. */
    const char *t = decode_event(OA, "message", chunks[0], strlen(chunks[0]));
    CHECK_STR(t, "T(a)"); /* the first of duplicate keys, as cJSON does */
    t = decode_event(OA, "message", chunks[7], strlen(chunks[7]));
    CHECK_STR(t, "T(x)"); /* a cJSON string ends at U+0000 */
    t = decode_event(OA, "message", chunks[8], strlen(chunks[8]));
    CHECK_STR(t, ""); /* cJSON refuses lone surrogates: the chunk is dropped */
    CHECK_INT(g_ignored, 1);
    t = decode_event(OA, "message", chunks[10], strlen(chunks[10]));
    CHECK_STR(t, "T(pair \xf0\x9f\x98\x80 upper)");
    t = decode_event(OA, "message", chunks[14], strlen(chunks[14]));
    CHECK_STR(t, "T(bytes \xff\xfe kept)"); /* the delivery layer repairs UTF-8 */
    t = decode_event(OA, "message", chunks[32], strlen(chunks[32]));
    CHECK_STR(t, "T(p)");
    t = decode_event(OA, "message", chunks[36], strlen(chunks[36]));
    CHECK(strstr(t, "U(-1,") == t); /* negative counts are not counts; 1e999 is no cost */
    CHECK(strstr(t, ",-,-1,-1)") != NULL);
    t = decode_event(OA, "message", chunks[40], strlen(chunks[40]));
    CHECK_STR(t, "E(-,0,escaped flat)");
}

/* Deterministic noise made of JSON-ish pieces: both paths must always agree. */
static void test_noise(void) {
    static const char *const pieces[] = {
        "{",
        "}",
        "[",
        "]",
        ":",
        ",",
        "\"",
        " ",
        "\\",
        "\\u00e9",
        "\\ud83d",
        "\\ude00",
        "\\n",
        "null",
        "true",
        "false",
        "0",
        "-1.5e3",
        "\"choices\"",
        "\"delta\"",
        "\"content\"",
        "\"model\"",
        "\"error\"",
        "\"usage\"",
        "\"object\"",
        "\"finish_reason\"",
        "\"type\"",
        "\"text\"",
        "\"text_delta\"",
        "\"content_block_delta\"",
        "\"error\"",
        "\"x\"",
        "\x01",
        "\xc3\xa9",
        "\"\"",
        "\t",
    };
    uint32_t seed = 12345;
    buf s = {0};
    for (int iter = 0; iter < 4000 && !check_test_failed; iter++) {
        buf_clear(&s);
        /* Half the time, start from a valid chunk so the fast path gets deep. */
        if (iter & 1)
            buf_append_str(&s, "{\"model\":\"m\",\"choices\":[{\"delta\":{\"content\":");
        int n = 1 + (int)(seed % 24);
        for (int i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            buf_append_str(&s, pieces[(seed >> 16) % (sizeof pieces / sizeof pieces[0])]);
        }
        if (iter & 1)
            buf_append_str(&s, iter & 2 ? "}}]}" : "\"}}]}");
        decode_event(OA, "message", s.data, s.len);
        decode_event(AN, iter & 4 ? "message" : "content_block_delta", s.data, s.len);
    }
    buf_free(&s);
}

static void test_huge_and_deep(void) {
    /* 100,000 levels: the fast path stops at its depth, cJSON at 1000; nothing overflows. */
    size_t depth = 100000;
    buf s = {0};
    buf_append_str(&s, "{\"choices\":[{\"delta\":{\"content\":\"x\",\"deep\":");
    for (size_t i = 0; i < depth; i++)
        buf_append_byte(&s, '[');
    for (size_t i = 0; i < depth; i++)
        buf_append_byte(&s, ']');
    buf_append_str(&s, "}}]}");
    const char *t = decode_event(OA, "message", s.data, s.len);
    CHECK_STR(t, "");
    CHECK_INT(g_ignored, 1);
    decode_event(AN, "content_block_delta", s.data, s.len);
    CHECK_INT(g_ignored, 1);
    buf_clear(&s);
    for (size_t i = 0; i < depth; i++)
        buf_append_str(&s, "{\"a\":");
    decode_event(OA, "message", s.data, s.len);
    CHECK_INT(g_ignored, 1);
    /* Just under cJSON's limit: still understood, by cJSON. */
    buf_clear(&s);
    buf_append_str(&s, "{\"model\":\"deep\",\"x\":");
    for (size_t i = 0; i < 900; i++)
        buf_append_byte(&s, '[');
    for (size_t i = 0; i < 900; i++)
        buf_append_byte(&s, ']');
    buf_append_byte(&s, '}');
    t = decode_event(OA, "message", s.data, s.len);
    CHECK_STR(t, "M(deep)");

    /* 20 MB of content in one event. */
    size_t n = 20u << 20;
    buf_clear(&s);
    buf_append_str(&s, "{\"choices\":[{\"delta\":{\"content\":\"");
    buf_reserve(&s, n + 16);
    memset(s.data + s.len, 'a', n);
    s.len += n;
    buf_append_str(&s, "\\n\"}}]}");
    rec r = {{0}, 0, NULL};
    provider_decoder *d = provider_decoder_new(OA, on_event, &r);
    provider_decoder_event(d, "message", 7, s.data, s.len);
    CHECK_INT(r.out.len, 2 + n + 2 + 1); /* T( + text + \n shown as 2 bytes + ) */
    CHECK_INT(provider_decoder_slow(d), 0);
    provider_decoder_free(d);
    buf_free(&r.out);
    buf_free(&s);
}

/* ---- streams: Anthropic ---------------------------------------------------------------- */

static void test_anthropic_stream(void) {
    const char *t = decode(
        AN, "event: message_start\n"
            "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\","
            "\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-20250514\","
            "\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":25,"
            "\"cache_creation_input_tokens\":100,\"cache_read_input_tokens\":1000,"
            "\"output_tokens\":1}}}\n\n"
            "event: ping\ndata: {\"type\": \"ping\"}\n\n"
            "event: content_block_start\n"
            "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":"
            "\"thinking\",\"thinking\":\"\"}}\n\n"
            "event: content_block_delta\n"
            "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
            "\"thinking_delta\",\"thinking\":\"Let me see\"}}\n\n"
            "event: content_block_delta\n"
            "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
            "\"signature_delta\",\"signature\":\"EqQB\"}}\n\n"
            "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
            "event: content_block_start\n"
            "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":"
            "\"text\",\"text\":\"\"}}\n\n"
            "event: content_block_delta\n"
            "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
            "\"text_delta\",\"text\":\"Hello\"}}\n\n"
            "event: future_event\ndata: {\"type\":\"future_event\",\"x\":1}\n\n"
            "event: ping\ndata: {\"type\": \"ping\"}\n\n"
            "event: content_block_delta\n"
            "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
            "\"text_delta\",\"text\":\", \\\"w\\u00f6rld\\\"\\n\"}}\n\n"
            "event: content_block_delta\n"
            "data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":"
            "\"input_json_delta\",\"partial_json\":\"{\\\"a\"}}\n\n"
            "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
            "event: message_delta\n"
            "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\","
            "\"stop_sequence\":null},\"usage\":{\"output_tokens\":15}}\n\n"
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
            "event: ping\ndata: {\"type\": \"ping\"}\n\n");
    CHECK_STR(t, "M(claude-sonnet-4-20250514) U(1125,-1,-,1000,-1) T(Hello) "
                 "T(, \"w\xc3\xb6rld\"\\n) F(end_turn) U(-1,15,-,-1,-1) END");
    CHECK_INT(g_ended, 1);
    CHECK_INT(g_ignored, 2); /* future_event, and the ping after the end */
    CHECK_INT(g_slow, 10);   /* everything but the five content_block_deltas and the late ping */

    /* Cumulative usage with the input repeated (newer API versions). */
    t = decode(AN, "event: message_delta\n"
                   "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\"},"
                   "\"usage\":{\"input_tokens\":10,\"cache_read_input_tokens\":5,"
                   "\"output_tokens\":4096}}\n\n");
    CHECK_STR(t, "F(max_tokens) U(15,4096,-,5,-1)");
    CHECK_INT(g_ended, 0);
}

static void test_anthropic_errors(void) {
    const char *t = decode(
        AN, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":"
            "\"claude-x\",\"usage\":{\"input_tokens\":3,\"output_tokens\":0}}}\n\n"
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
            "\"delta\":{\"type\":\"text_delta\",\"text\":\"Par\"}}\n\n"
            "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
            "\"message\":\"Overloaded\"}}\n\n");
    CHECK_STR(t, "M(claude-x) U(3,-1,-,-1,-1) T(Par) E(overloaded_error,0,Overloaded)");
    CHECK_INT(g_ended, 0);
    /* "type":"error" in data under another (or no) event name. */
    t = decode(AN, "data: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":"
                   "\"Internal server error\"}}\n\n"
                   "event: content_block_delta\ndata: {\"type\":\"error\",\"error\":{\"type\":"
                   "\"rate_limit_error\",\"message\":\"slow down\"}}\n\n"
                   "event: error\ndata: upstream connect error\n\n");
    CHECK_STR(t, "E(api_error,0,Internal server error) E(rate_limit_error,0,slow down) "
                 "E(-,0,upstream connect error)");
}

static void test_anthropic_without_event_lines(void) {
    /* No `event:` lines: the data's "type" names each event. */
    const char *t = decode(
        AN, "data: {\"type\":\"message_start\",\"message\":{\"model\":\"claude-y\",\"usage\":{"
            "\"input_tokens\":4,\"output_tokens\":1}}}\n\n"
            "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
            "\"text_delta\",\"text\":\"A\"}}\n\n"
            "data: {\"delta\":{\"text\":\"B\",\"type\":\"text_delta\"},\"index\":0,\"type\":"
            "\"content_block_delta\"}\n\n"
            "data: {\"index\":0}\n\n"
            "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"stop_sequence\"},"
            "\"usage\":{\"output_tokens\":2}}\n\n"
            "data: {\"type\":\"message_stop\"}");
    CHECK_STR(t, "M(claude-y) U(4,-1,-,-1,-1) T(A) T(B) F(stop_sequence) U(-1,2,-,-1,-1) END");
    CHECK_INT(g_ignored, 1);
    CHECK_INT(g_ended, 1);
    /* A "text" block may start with text. */
    t = decode(AN, "event: content_block_start\ndata: {\"type\":\"content_block_start\","
                   "\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"Start\"}}\n\n"
                   "data: not json\n\n");
    CHECK_STR(t, "T(Start)");
    CHECK_INT(g_ignored, 1);
}

/* ---- errors before streaming ------------------------------------------------------------ */

static char *g_kind, *g_msg;

static int perr(const char *body, const char *ct) {
    free(g_kind);
    free(g_msg);
    return provider_parse_error(body, body ? strlen(body) : 0, ct, &g_kind, &g_msg);
}

#define KIND_IS(k) CHECK((k) ? g_kind &&strcmp(g_kind, (k) ? (k) : "") == 0 : g_kind == NULL)

static void test_parse_error_json(void) {
    CHECK_INT(perr("{\"error\":{\"code\":400,\"message\":\"Invalid model specified\","
                   "\"metadata\":{}}}",
                   "application/json"),
              0);
    KIND_IS("400");
    CHECK_STR(g_msg, "Invalid model specified");

    perr("{\n    \"error\": {\n        \"message\": \"Incorrect API key provided: sk-abc***xyz. "
         "You can find your API key at https://platform.openai.com/account/api-keys.\",\n"
         "        \"type\": \"invalid_request_error\",\n        \"param\": null,\n"
         "        \"code\": \"invalid_api_key\"\n    }\n}\n",
         "application/json; charset=utf-8");
    KIND_IS("invalid_api_key");
    CHECK_STR(g_msg, "Incorrect API key provided: sk-abc***xyz. You can find your API key at "
                     "https://platform.openai.com/account/api-keys.");

    perr("{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":"
         "\"Overloaded\"},\"request_id\":\"req_011\"}",
         NULL);
    KIND_IS("overloaded_error");
    CHECK_STR(g_msg, "Overloaded");

    perr("{\"object\":\"error\",\"message\":\"Invalid model: mistral-huge\",\"type\":"
         "\"invalid_model\",\"param\":null,\"code\":\"1500\"}",
         "application/json");
    KIND_IS("invalid_model");
    CHECK_STR(g_msg, "Invalid model: mistral-huge");

    perr("{\"object\":\"error\",\"message\":{\"detail\":[{\"type\":\"missing\",\"loc\":["
         "\"body\",\"model\"],\"msg\":\"Field required\",\"input\":{}},{\"type\":"
         "\"extra_forbidden\",\"loc\":[\"body\",\"foo\"],\"msg\":\"Extra inputs are not "
         "permitted\",\"input\":1}]},\"type\":\"invalid_request_error\",\"param\":null,"
         "\"code\":null}",
         "application/json");
    KIND_IS("invalid_request_error");
    CHECK_STR(g_msg, "body.model: Field required (+1 more)");

    perr("{\"object\":\"error\",\"message\":\"This model's maximum context length is 4096 "
         "tokens.\",\"type\":\"BadRequestError\",\"param\":null,\"code\":400}",
         NULL);
    KIND_IS("BadRequestError");
    CHECK_STR(g_msg, "This model's maximum context length is 4096 tokens.");

    perr("{\"error\":\"model \\\"llama9\\\" not found, try pulling it first\"}", NULL);
    KIND_IS(NULL);
    CHECK_STR(g_msg, "model \"llama9\" not found, try pulling it first");

    perr("{\"error\":{\"message\":\"model 'x' not found\",\"type\":\"api_error\",\"param\":"
         "null,\"code\":null}}",
         NULL);
    KIND_IS("api_error");
    CHECK_STR(g_msg, "model 'x' not found");

    perr("{\"detail\":[{\"loc\":[\"body\",\"messages\",0,\"content\"],\"msg\":\"field "
         "required\",\"type\":\"value_error.missing\"}]}",
         NULL);
    CHECK_STR(g_msg, "body.messages.0.content: field required");
    perr("{\"detail\":\"Not Found\"}", NULL);
    CHECK_STR(g_msg, "Not Found");

    perr("[{\"error\":{\"code\":400,\"message\":\"API key not valid.\",\"status\":"
         "\"INVALID_ARGUMENT\"}}]",
         NULL);
    KIND_IS("400");
    CHECK_STR(g_msg, "API key not valid.");

    /* OpenRouter moderation: the reasons and a short flagged input. */
    perr("{\"error\":{\"code\":403,\"message\":\"Input flagged\",\"metadata\":{\"reasons\":["
         "\"violence\",\"harassment\"],\"flagged_input\":\"a very long passage of the "
         "document that the moderation found questionable, repeated again and again and again "
         "and again and again until it is far too long\",\"provider_name\":\"OpenAI\","
         "\"model_slug\":\"openai/gpt-4o\"}}}",
         NULL);
    KIND_IS("403");
    CHECK_STR(g_msg, "Input flagged (reasons: violence, harassment) (flagged input: \"a very "
                     "long passage of the document that the moderation found questionable, "
                     "repeated again and ag\xe2\x80\xa6\")");

    /* JSON that is no error we know: compact, not its first line. */
    perr("{\n  \"status\": \"down\",\n  \"retry\": true\n}", "application/json");
    KIND_IS(NULL);
    CHECK_STR(g_msg, "{\"status\":\"down\",\"retry\":true}");
}

static void test_parse_error_text(void) {
    perr("<html>\r\n<head><title>\r\n  502 Bad   Gateway &amp; more\r\n</title></head>\r\n"
         "<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare"
         "</center>\r\n</body>\r\n</html>\r\n",
         "text/html");
    KIND_IS(NULL);
    CHECK_STR(g_msg, "502 Bad Gateway & more");
    perr("<!DOCTYPE html><html><body><h1>Service <b>Unavailable</b></h1></body></html>", NULL);
    CHECK_STR(g_msg, "Service Unavailable");
    perr("<html><body><p>Just\n text</p></body></html>", "text/html");
    CHECK_STR(g_msg, "Just text");

    perr("\n\nupstream connect error or disconnect/reset before headers\r\nreset reason: "
         "overflow\n",
         "text/plain");
    CHECK_STR(g_msg, "upstream connect error or disconnect/reset before headers");
    /* Plain text that is not JSON even though it starts like it. */
    perr("{oops", "text/plain");
    CHECK_STR(g_msg, "{oops");

    /* A long line: at most 300 bytes, cut on a character boundary, marked. */
    buf b = {0};
    buf_append_str(&b, "x");
    for (int i = 0; i < 400; i++)
        buf_append_str(&b, "\xc3\xa9");
    perr(b.data, NULL);
    CHECK(g_msg && strlen(g_msg) <= 300 && strlen(g_msg) >= 290);
    CHECK(g_msg && utf8_ok(g_msg, strlen(g_msg)));
    CHECK(g_msg && strcmp(g_msg + strlen(g_msg) - 3, "\xe2\x80\xa6") == 0);
    buf_free(&b);
    /* Invalid UTF-8 and control bytes never reach the user. */
    perr("bad \xff\xfe bytes\x01here", NULL);
    CHECK_STR(g_msg, "bad \xef\xbf\xbd\xef\xbf\xbd bytes here");

    CHECK_INT(perr("", NULL), 0);
    CHECK(g_kind == NULL && g_msg == NULL);
    CHECK_INT(perr(" \r\n\t ", "text/plain"), 0);
    CHECK(g_kind == NULL && g_msg == NULL);
    CHECK_INT(perr(NULL, NULL), 0);
    CHECK(g_kind == NULL && g_msg == NULL);
}

static void test_parse_error_masks_secrets(void) {
    secret_add("sk-or-v1-SECRETSECRETSECRET");
    perr("{\"error\":{\"message\":\"Key sk-or-v1-SECRETSECRETSECRET is disabled\",\"code\":"
         "401}}",
         NULL);
    CHECK_STR(g_msg, "Key *************************** is disabled");
    perr("denied for sk-or-v1-SECRETSECRETSECRET", "text/plain");
    CHECK(g_msg && !strstr(g_msg, "SECRET"));
    const char *t = decode(OA, "data: {\"error\":{\"message\":\"bad key "
                               "sk-or-v1-SECRETSECRETSECRET\",\"code\":401}}\n\n");
    CHECK(!strstr(t, "SECRET"));
    secret_clear();
    free(g_kind);
    free(g_msg);
    g_kind = g_msg = NULL;
}

/* ---- model lists and key information ---------------------------------------------------- */

static void test_models(void) {
    provider_model *m = NULL;
    size_t n = 0;
    const char *or_list =
        "{\"data\":[{\"id\":\"anthropic/claude-sonnet-4\",\"canonical_slug\":\"x\",\"name\":"
        "\"Anthropic: Claude Sonnet 4\",\"created\":1,\"context_length\":200000,\"pricing\":{"
        "\"prompt\":\"0.000003\",\"completion\":\"0.000015\",\"request\":\"0\",\"image\":"
        "\"0.0048\"},\"top_provider\":{\"context_length\":200000}},"
        "{\"id\":\"openrouter/auto\",\"name\":\"Auto Router\",\"context_length\":2000000,"
        "\"pricing\":{\"prompt\":\"-1\",\"completion\":\"-1\"}},"
        "{\"id\":\"meta-llama/llama-3.3-8b-instruct:free\",\"name\":\"Free\",\"pricing\":{"
        "\"prompt\":\"0\",\"completion\":\"0\"},\"top_provider\":{\"context_length\":128000}},"
        "{\"name\":\"no id: skipped\"},"
        "{\"id\":\"tiny\",\"pricing\":{\"prompt\":\"0.0000000375\",\"completion\":1.5e-7}}]}";
    CHECK_INT(provider_parse_models(or_list, strlen(or_list), &m, &n), 0);
    CHECK_INT(n, 4); /* the entry without an id is skipped */
    if (n == 4) {
        CHECK_STR(m[0].id, "anthropic/claude-sonnet-4");
        CHECK_STR(m[0].name, "Anthropic: Claude Sonnet 4");
        CHECK_INT(m[0].context_length, 200000);
        CHECK(m[0].prompt_usd_per_mtok == 3.0);
        CHECK(m[0].completion_usd_per_mtok == 15.0);
        CHECK(m[1].prompt_usd_per_mtok < 0 && m[1].completion_usd_per_mtok < 0); /* variable */
        CHECK(m[2].prompt_usd_per_mtok == 0 && m[2].completion_usd_per_mtok == 0);
        CHECK_INT(m[2].context_length, 128000);
        CHECK_STR(m[3].id, "tiny");
    }
    provider_models_free(m, n);
    const char *tiny = "{\"data\":[{\"id\":\"tiny\",\"pricing\":{\"prompt\":\"0.0000000375\","
                       "\"completion\":1.5e-7}}]}";
    CHECK_INT(provider_parse_models(tiny, strlen(tiny), &m, &n), 0);
    CHECK(n == 1 && fabs(m[0].prompt_usd_per_mtok - 0.0375) < 1e-12 &&
          fabs(m[0].completion_usd_per_mtok - 0.15) < 1e-12 && m[0].name == NULL &&
          m[0].context_length == -1);
    provider_models_free(m, n);

    const char *openai = "{\"object\":\"list\",\"data\":[{\"id\":\"gpt-4o\",\"object\":\"model\","
                         "\"created\":1715367049,\"owned_by\":\"system\"},{\"id\":\"o3\","
                         "\"object\":\"model\",\"created\":1,\"owned_by\":\"system\"}]}";
    CHECK_INT(provider_parse_models(openai, strlen(openai), &m, &n), 0);
    CHECK(n == 2 && strcmp(m[1].id, "o3") == 0 && m[0].name == NULL && m[0].context_length == -1 &&
          m[0].prompt_usd_per_mtok < 0);
    provider_models_free(m, n);

    const char *mistral = "{\"object\":\"list\",\"data\":[{\"id\":\"mistral-large-latest\","
                          "\"object\":\"model\",\"name\":\"mistral-large-2411\","
                          "\"max_context_length\":131072,\"capabilities\":{}}]}";
    CHECK_INT(provider_parse_models(mistral, strlen(mistral), &m, &n), 0);
    CHECK(n == 1 && m[0].context_length == 131072 && strcmp(m[0].name, "mistral-large-2411") == 0);
    provider_models_free(m, n);

    const char *vllm = "{\"object\":\"list\",\"data\":[{\"id\":\"Qwen/Qwen3-8B\",\"object\":"
                       "\"model\",\"max_model_len\":32768}]}";
    CHECK_INT(provider_parse_models(vllm, strlen(vllm), &m, &n), 0);
    CHECK(n == 1 && m[0].context_length == 32768);
    provider_models_free(m, n);

    const char *anthropic = "{\"data\":[{\"type\":\"model\",\"id\":\"claude-sonnet-4-20250514\","
                            "\"display_name\":\"Claude Sonnet 4\",\"created_at\":"
                            "\"2025-05-22T00:00:00Z\"}],\"has_more\":false,\"first_id\":\"a\","
                            "\"last_id\":\"b\"}";
    CHECK_INT(provider_parse_models(anthropic, strlen(anthropic), &m, &n), 0);
    CHECK(n == 1 && strcmp(m[0].name, "Claude Sonnet 4") == 0);
    provider_models_free(m, n);

    const char *ollama = "{\"models\":[{\"name\":\"llama3.2:latest\",\"model\":"
                         "\"llama3.2:latest\",\"size\":2019393189,\"details\":{}}]}";
    CHECK_INT(provider_parse_models(ollama, strlen(ollama), &m, &n), 0);
    CHECK(n == 1 && strcmp(m[0].id, "llama3.2:latest") == 0);
    provider_models_free(m, n);

    CHECK_INT(provider_parse_models("{\"data\":[]}", 11, &m, &n), 0);
    CHECK(m == NULL && n == 0);
    CHECK_INT(provider_parse_models("{\"data\":{}}", 11, &m, &n), -2);
    CHECK_INT(provider_parse_models("<html>", 6, &m, &n), -2);
    CHECK(m == NULL && n == 0);
    provider_models_free(NULL, 0);
}

static void test_key_info(void) {
    provider_key_info k;
    const char *body = "{\"data\":{\"label\":\"sk-or-v1-0e6...850\",\"limit\":null,"
                       "\"limit_remaining\":null,\"limit_reset\":null,\"include_byok_in_limit\":"
                       "false,\"usage\":0.25,\"usage_daily\":0.01,\"usage_weekly\":0.1,"
                       "\"usage_monthly\":0.2,\"byok_usage\":0,\"is_free_tier\":false,"
                       "\"is_provisioning_key\":false}}";
    CHECK_INT(provider_parse_key_info(body, strlen(body), &k), 0);
    CHECK_STR(k.label, "sk-or-v1-0e6...850");
    CHECK(isnan(k.limit) && isnan(k.limit_remaining));
    CHECK(k.usage == 0.25 && k.usage_monthly == 0.2);
    CHECK_INT(k.is_free_tier, 0);
    provider_key_info_free(&k);
    CHECK(k.label == NULL);

    body = "{\"data\":{\"label\":\"free\",\"limit\":10,\"limit_remaining\":9.5,\"usage\":0.5,"
           "\"is_free_tier\":true}}";
    CHECK_INT(provider_parse_key_info(body, strlen(body), &k), 0);
    CHECK(k.limit == 10 && k.limit_remaining == 9.5 && isnan(k.usage_monthly));
    CHECK_INT(k.is_free_tier, 1);
    provider_key_info_free(&k);

    CHECK_INT(provider_parse_key_info("{\"error\":{\"code\":401}}", 22, &k), -2);
    CHECK(k.label == NULL && isnan(k.usage));
    CHECK_INT(provider_parse_key_info("nope", 4, &k), -2);
    provider_key_info_free(&k);
    provider_key_info_free(NULL);
}

/* ---- the micro-benchmark ----------------------------------------------------------------- */

static void count_event(void *ud, const provider_event *ev) {
    *(size_t *)ud += ev->len;
}

static void bench_one(const char *what, provider_dialect dialect, const char *type,
                      const char *chunk, int fast) {
    size_t bytes = 0, n = 200000, len = strlen(chunk);
    provider_decoder *d = provider_decoder_new(dialect, count_event, &bytes);
    provider_decoder_set_fast(d, fast);
    double t0 = now_s();
    for (size_t i = 0; i < n; i++)
        provider_decoder_event(d, type, strlen(type), chunk, len);
    double t = now_s() - t0;
    printf("  %-34s %3zu-byte chunk: %6.0f ns/chunk (%s)\n", what, len, t / (double)n * 1e9,
           fast ? "fast path" : "cJSON");
    CHECK(bytes > 0);
    CHECK_INT(provider_decoder_slow(d), fast ? 0 : n);
    provider_decoder_free(d);
}

static void test_benchmark(void) {
    const char *or_chunk =
        "{\"id\":\"gen-1731000000-AbCdEfGhIjKlMnOpQrSt\",\"provider\":\"OpenAI\",\"model\":"
        "\"openai/gpt-4o\",\"object\":\"chat.completion.chunk\",\"created\":1731000000,"
        "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\" the quick "
        "brown\"},\"finish_reason\":null,\"native_finish_reason\":null,\"logprobs\":null}]}";
    const char *an_chunk = "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
                           "\"text_delta\",\"text\":\" the quick brown\"}}";
    bench_one("OpenRouter delta", OA, "message", or_chunk, 1);
    bench_one("OpenRouter delta", OA, "message", or_chunk, 0);
    bench_one("Anthropic text_delta", AN, "content_block_delta", an_chunk, 1);
    bench_one("Anthropic text_delta", AN, "content_block_delta", an_chunk, 0);
}

int main(void) {
    RUN(test_registry);
    RUN(test_urls);
    RUN(test_headers);
    RUN(test_body_openai);
    RUN(test_body_privacy);
    RUN(test_body_anthropic);
    RUN(test_body_escaping);
    RUN(test_body_large);
    RUN(test_openrouter_stream);
    RUN(test_openrouter_midstream_error);
    RUN(test_openai_stream);
    RUN(test_mistral_stream);
    RUN(test_ollama_stream);
    RUN(test_llamacpp_stream);
    RUN(test_vllm_errors);
    RUN(test_not_answer_text);
    RUN(test_model_changes);
    RUN(test_ignored);
    RUN(test_fast_equals_cjson);
    RUN(test_noise);
    RUN(test_huge_and_deep);
    RUN(test_anthropic_stream);
    RUN(test_anthropic_errors);
    RUN(test_anthropic_without_event_lines);
    RUN(test_parse_error_json);
    RUN(test_parse_error_text);
    RUN(test_parse_error_masks_secrets);
    RUN(test_models);
    RUN(test_key_info);
    RUN(test_benchmark);
    free(g_kind);
    free(g_msg);
    buf_free(&g_out);
    return check_report("provider");
}
