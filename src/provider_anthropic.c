/* provider_anthropic: Anthropic's Messages API.  See include/ami/provider.h.
 *
 * A stream is a sequence of named events (the name also repeated as the data's "type"):
 *
 *     message_start ─► ( content_block_start ─► content_block_delta* ─► content_block_stop )*
 *                   ─► message_delta ─► message_stop
 *
 * with ping anywhere, and possibly event types added later (ignored, as Anthropic asks).
 * What each one becomes:
 *   message_start        message.model → MODEL; message.usage → USAGE (prompt = input +
 *                        cache writes + cache reads; output so far)
 *   content_block_start  a "text" block's initial text → TEXT (normally "")
 *   content_block_delta  text_delta → TEXT; thinking_delta, signature_delta and
 *                        input_json_delta are not answer text
 *   message_delta        delta.stop_reason → FINISH; usage → USAGE (output_tokens is the
 *                        running total, not an increment)
 *   message_stop         END (there is no [DONE])
 *   error                ERROR (`event: error` is handled by the caller; a data "type" of
 *                        "error" under another event name here)
 * The event name comes from the SSE event type; when the stream gave none ("message"),
 * from the data's "type", so data without its `event:` line still decodes.
 *
 * content_block_delta is nearly every event of a stream, so a scanner reads it without
 * cJSON (an_fast); it leaves everything else, and anything unusual, to cJSON, which then
 * defines the meaning (see provider_scan.c).
 */
#include "ami/provider.h"

#include "provider_internal.h"

#include <limits.h>
#include <math.h>
#include <string.h>

/* ---- the request body ------------------------------------------------------------------ */

int provider__anthropic_body(const provider_def *def, const provider_request *req, buf *b) {
    (void)def;
    int rc = 0;
    long max_tokens = req->max_tokens > 0 ? req->max_tokens : PROVIDER_ANTHROPIC_MAX_TOKENS;
    rc |= buf_append_str(b, "{\"model\":");
    rc |= provider__json_string(b, req->model, strlen(req->model));
    rc |= buf_printf(b, ",\"max_tokens\":%ld,\"stream\":true", max_tokens);
    if (req->system && *req->system) {
        rc |= buf_append_str(b, ",\"system\":");
        rc |= provider__json_string(b, req->system, strlen(req->system));
    }
    if (req->temperature >= 0 && isfinite(req->temperature)) {
        rc |= buf_append_str(b, ",\"temperature\":");
        rc |= provider__json_double(b, req->temperature);
    }
    rc |= buf_append_str(b, ",\"messages\":[");
    for (size_t i = 0; i < req->n_messages && !rc; i++) {
        const chat_message *m = &req->messages[i];
        const char *role = m->role ? m->role : "user";
        rc |= buf_append_str(b, i ? ",{\"role\":" : "{\"role\":");
        rc |= provider__json_string(b, role, strlen(role));
        rc |= buf_append_str(b, ",\"content\":");
        rc |= provider__json_string(b, m->content ? m->content : "", provider__content_len(m));
        rc |= buf_append_byte(b, '}');
    }
    rc |= buf_append_str(b, "]}");
    return rc ? -1 : 0;
}

/* ---- reading events -------------------------------------------------------------------- */

static int name_is(const char *name, size_t n, const char *lit) {
    size_t l = strlen(lit);
    return n == l && memcmp(name, lit, l) == 0;
}

/* Reads a content_block_delta's "delta" object: its "type" and "text" strings.  Duplicate
 * or escaped keys are cJSON's business. */
static int an_fast_delta(provider_js *s, provider_jstr *dtype, provider_jstr *dtext) {
    provider_jstr k;
    int n = 0, r;
    s->p++; /* '{' */
    while ((r = provider__js_member(s, &k, &n)) == 1) {
        if (k.esc)
            return 0;
        provider_jstr *slot = PROVIDER_JSTR_IS(&k, "type")   ? dtype
                              : PROVIDER_JSTR_IS(&k, "text") ? dtext
                                                             : NULL;
        if (slot) {
            if (slot->p) /* seen before */
                return 0;
            slot->p = s->p; /* marks it seen even when it is not a string */
            if (*s->p == '"') {
                if (!provider__js_string(s, slot))
                    return 0;
                continue;
            }
        }
        if (!provider__js_skip(s))
            return 0;
    }
    return r == 0;
}

/* The fast path for content_block_delta: 1 when the event was handled, 0 to use cJSON. */
static int an_fast(provider_decoder *d, const char *type, size_t type_len, const char *data,
                   size_t len) {
    provider_js s = {data, data + len};
    provider_jstr k, t = {0}, dtype = {0}, dtext = {0};
    int n = 0, r, seen_delta = 0, delta_obj = 0;
    provider__js_ws(&s);
    if (*s.p != '{')
        return 0;
    s.p++;
    while ((r = provider__js_member(&s, &k, &n)) == 1) {
        if (k.esc)
            return 0;
        if (PROVIDER_JSTR_IS(&k, "type")) {
            /* A second "type", a non-string or an escaped one: cJSON decides. */
            if (t.set || !provider__js_string(&s, &t) || t.esc)
                return 0;
            continue;
        }
        if (PROVIDER_JSTR_IS(&k, "delta")) {
            if (seen_delta++)
                return 0;
            if (*s.p == '{') {
                delta_obj = 1;
                if (!an_fast_delta(&s, &dtype, &dtext))
                    return 0;
                continue;
            }
        }
        if (!provider__js_skip(&s))
            return 0;
    }
    /* An escaped delta type might decode to "text_delta": cJSON decodes it. */
    if (r < 0 || !provider__js_done(&s) || dtype.esc)
        return 0;
    if (PROVIDER_JSTR_IS(&t, "error"))
        return 0;
    if (name_is(type, type_len, "message")) {
        if (!PROVIDER_JSTR_IS(&t, "content_block_delta"))
            return 0;
    } else if (!name_is(type, type_len, "content_block_delta")) {
        return 0;
    }
    if (delta_obj && dtype.set && PROVIDER_JSTR_IS(&dtype, "text_delta") && dtext.set) {
        size_t tl;
        const char *text = provider__jstr_text(d, &dtext, &tl);
        if (text)
            provider__emit_text(d, text, tl);
    }
    return 1;
}

/* input + cache writes + cache reads, when input_tokens is there at all. */
static void an_usage(const cJSON *u, provider_usage *out) {
    provider__usage_none(out);
    long in = provider__count(cJSON_GetObjectItemCaseSensitive(u, "input_tokens"));
    long cw = provider__count(cJSON_GetObjectItemCaseSensitive(u, "cache_creation_input_tokens"));
    long cr = provider__count(cJSON_GetObjectItemCaseSensitive(u, "cache_read_input_tokens"));
    if (in >= 0) {
        long sum = in; /* saturating: counts come from the network */
        if (cw > 0)
            sum = sum > LONG_MAX - cw ? LONG_MAX : sum + cw;
        if (cr > 0)
            sum = sum > LONG_MAX - cr ? LONG_MAX : sum + cr;
        out->prompt_tokens = sum;
    }
    out->completion_tokens = provider__count(cJSON_GetObjectItemCaseSensitive(u, "output_tokens"));
    out->cached_tokens = cr;
}

static const char *str_of(const cJSON *obj, const char *key) {
    const cJSON *v = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void emit_cstr(provider_decoder *d, provider_event_type type, const char *s) {
    if (!s)
        return;
    if (type == PEV_TEXT)
        provider__emit_text(d, s, strlen(s));
    else if (type == PEV_MODEL)
        provider__emit_model(d, s, strlen(s));
    else
        provider__emit_finish(d, s, strlen(s));
}

void provider__anthropic_event(provider_decoder *d, const char *type, size_t type_len,
                               const char *data, size_t len) {
    if (d->fast && an_fast(d, type, type_len, data, len))
        return;
    d->slow++;
    cJSON *root = provider__parse(data, len);
    if (!cJSON_IsObject(root)) {
        d->ignored++;
        cJSON_Delete(root);
        return;
    }
    const char *t = str_of(root, "type");
    if (t && strcmp(t, "error") == 0) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
        provider__emit_error_json(d, cJSON_IsObject(e) || cJSON_IsString(e) ? e : root, root);
        cJSON_Delete(root);
        return;
    }
    const char *name = type;
    size_t nl = type_len;
    if (name_is(type, type_len, "message")) {
        name = t ? t : "";
        nl = strlen(name);
    }
    if (name_is(name, nl, "message_start")) {
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(root, "message");
        emit_cstr(d, PEV_MODEL, str_of(msg, "model"));
        const cJSON *u =
            cJSON_IsObject(msg) ? cJSON_GetObjectItemCaseSensitive(msg, "usage") : NULL;
        if (cJSON_IsObject(u)) {
            provider_usage usage;
            an_usage(u, &usage);
            /* message_start's output_tokens is a placeholder (1 or so) before any text: only
             * message_delta counts the output.  A cut answer must not claim it. */
            usage.completion_tokens = -1;
            provider__emit_usage(d, &usage);
        }
    } else if (name_is(name, nl, "content_block_start")) {
        const cJSON *cb = cJSON_GetObjectItemCaseSensitive(root, "content_block");
        const char *cbt = str_of(cb, "type");
        if (cbt && strcmp(cbt, "text") == 0)
            emit_cstr(d, PEV_TEXT, str_of(cb, "text"));
    } else if (name_is(name, nl, "content_block_delta")) {
        const cJSON *delta = cJSON_GetObjectItemCaseSensitive(root, "delta");
        const char *dt = str_of(delta, "type");
        if (dt && strcmp(dt, "text_delta") == 0)
            emit_cstr(d, PEV_TEXT, str_of(delta, "text"));
    } else if (name_is(name, nl, "message_delta")) {
        const cJSON *delta = cJSON_GetObjectItemCaseSensitive(root, "delta");
        emit_cstr(d, PEV_FINISH, str_of(delta, "stop_reason"));
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(root, "usage");
        if (cJSON_IsObject(u)) {
            provider_usage usage;
            an_usage(u, &usage);
            provider__emit_usage(d, &usage);
        }
    } else if (name_is(name, nl, "message_stop")) {
        provider__emit_end(d);
    } else if (!name_is(name, nl, "ping") && !name_is(name, nl, "content_block_stop")) {
        d->ignored++; /* unknown: ignored, as the API asks, but counted */
    }
    cJSON_Delete(root);
}
