/* provider: the decoder object, the events it emits, and the error mapping the two dialects
 * and the error bodies share (one clean line of text, an error value described as kind,
 * message and code).  See include/ami/provider.h.  The rest of the module:
 *   provider_request.c    what goes out: the registry, URLs, headers, request bodies
 *   provider_openai.c     the OpenAI-compatible dialect (its body and its events)
 *   provider_anthropic.c  Anthropic's Messages API (its body and its events)
 *   provider_scan.c       the fast JSON scanner the dialects read common chunks with
 *   provider_reply.c      whole reply bodies: errors before streaming, model lists, key info
 * and src/provider_internal.h, what these files share.
 *
 * The decoder is a two-state machine; everything else is per event:
 *
 *     [STREAMING] ── [DONE] (OpenAI) / message_stop (Anthropic) ── emits END ──► [ENDED]
 *        │   ▲                                                                     │
 *        └───┘ any other event: MODEL, TEXT, ERROR, FINISH, USAGE or nothing       │
 *                                                          every later event: ─────┘
 *                                                          ignored, counted
 *
 * An ERROR does not end the stream: the provider may still send [DONE] (OpenRouter does),
 * and whether the answer failed is the consumer's decision.  eof() feeds the data the SSE
 * parser still held, then changes nothing: provider_decoder_ended() tells a proper end from
 * a cut connection.
 */
#include "ami/provider.h"

#include "ami/log.h"
#include "provider_internal.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- one clean line of text ------------------------------------------------------------ */

/* Appends s[0..n) to out as part of one line of text for a person: control bytes (line
 * ends and tabs too) become spaces, runs of spaces shrink to one, leading spaces go, and
 * ill-formed UTF-8 becomes U+FFFD.  Stops once out holds limit bytes, so a 20 MB message
 * costs no more than a short one.  0 or -1 (out of memory). */
int provider__clean_append(buf *out, const char *s, size_t n, size_t limit) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n && out->len < limit) {
        unsigned char c = u[i];
        if (c < 0x20 || c == ' ' || c == 0x7f) {
            if (out->len > 0 && out->data[out->len - 1] != ' ' && buf_append_byte(out, ' ') != 0)
                return -1;
            i++;
            continue;
        }
        size_t bad = 0, k = provider__u8_seq(u + i, n - i, &bad);
        if (k) {
            if (buf_append(out, s + i, k) != 0)
                return -1;
            i += k;
        } else {
            if (buf_append(out, "\xEF\xBF\xBD", 3) != 0)
                return -1;
            i += bad;
        }
    }
    return 0;
}

int provider__clean_append_str(buf *out, const char *s, size_t limit) {
    return provider__clean_append(out, s, strlen(s), limit);
}

/* Trims trailing spaces, masks registered secrets, and cuts to cap bytes on a character
 * boundary, ending with "…" when something was cut. */
void provider__clean_finish(buf *out, size_t cap) {
    while (out->len > 0 && out->data[out->len - 1] == ' ')
        out->len--;
    if (out->data)
        out->data[out->len] = 0;
    if (!out->data)
        return;
    secret_redact(out->data);
    if (out->len <= cap)
        return;
    size_t cut = cap - 3; /* cap >= 3 everywhere */
    while (cut > 0 && ((unsigned char)out->data[cut] & 0xC0) == 0x80)
        cut--;
    while (cut > 0 && out->data[cut - 1] == ' ')
        cut--;
    out->len = cut;
    buf_append(out, "\xE2\x80\xA6", 3); /* cannot fail: it fits where bytes were cut */
}

/* ---- JSON reading helpers -------------------------------------------------------------- */

cJSON *provider__parse(const char *data, size_t len) {
    /* len + 1 takes the terminating NUL in: with require_null_terminated, cJSON insists
     * that only whitespace follows the document up to a NUL inside the given length. */
    return cJSON_ParseWithLengthOpts(data, len + 1, NULL, 1);
}

long provider__count(const cJSON *item) {
    if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble) || item->valuedouble < 0)
        return -1;
    if (item->valuedouble >= (double)LONG_MAX)
        return LONG_MAX;
    return (long)item->valuedouble;
}

const cJSON *provider__get(const cJSON *obj, const char *key) {
    return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
}

const char *provider__get_str(const cJSON *obj, const char *key) {
    const cJSON *v = provider__get(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- describing an error value --------------------------------------------------------- */

/* Renders a validation message (FastAPI / Mistral 422: {"detail":[{"loc":[…],"msg":…}]})
 * as "body.model: Field required (+1 more)"; anything else as compact JSON.  depth bounds
 * the recursion through "detail" objects. */
static int render_detail(const cJSON *v, buf *out, int depth) {
    if (cJSON_IsString(v))
        return provider__clean_append_str(out, v->valuestring,
                                          PROVIDER_JSON_MESSAGE_CAP + PROVIDER_CLEAN_SLACK);
    if (depth < 3 && cJSON_IsObject(v) && provider__get(v, "detail"))
        return render_detail(provider__get(v, "detail"), out, depth + 1);
    const cJSON *first = cJSON_IsArray(v) ? v->child : v;
    if (cJSON_IsString(first) || (cJSON_IsObject(first) && provider__get_str(first, "msg"))) {
        int rc = 0;
        const cJSON *loc = provider__get(first, "loc");
        if (cJSON_IsArray(loc) && loc->child) {
            for (const cJSON *l = loc->child; l && !rc; l = l->next) {
                if (l != loc->child)
                    rc |= buf_append_byte(out, '.');
                if (cJSON_IsString(l))
                    rc |= provider__clean_append_str(out, l->valuestring, 200);
                else if (cJSON_IsNumber(l))
                    rc |= buf_printf(out, "%.0f", l->valuedouble);
            }
            rc |= buf_append_str(out, ": ");
        }
        rc |= provider__clean_append_str(
            out, cJSON_IsString(first) ? first->valuestring : provider__get_str(first, "msg"),
            PROVIDER_JSON_MESSAGE_CAP + PROVIDER_CLEAN_SLACK);
        int more = cJSON_IsArray(v) ? cJSON_GetArraySize(v) - 1 : 0;
        if (more > 0)
            rc |= buf_printf(out, " (+%d more)", more);
        return rc ? -1 : 0;
    }
    char *json = cJSON_PrintUnformatted(v);
    if (!json)
        return -1;
    int rc =
        provider__clean_append_str(out, json, PROVIDER_JSON_MESSAGE_CAP + PROVIDER_CLEAN_SLACK);
    free(json);
    return rc;
}

/* OpenRouter's metadata.raw holds the upstream provider's error, often as JSON text. */
static int upstream_text(const char *raw, buf *out) {
    cJSON *r = cJSON_Parse(raw);
    const char *m = NULL;
    if (cJSON_IsObject(r)) {
        const cJSON *e = provider__get(r, "error");
        m = cJSON_IsString(e) ? e->valuestring : provider__get_str(e, "message");
        if (!m)
            m = provider__get_str(r, "message");
    }
    int rc = provider__clean_append_str(out, m ? m : raw, out->len + 200);
    cJSON_Delete(r);
    return rc;
}

/* Fills kind, msg (one clean line, at most cap bytes) and *code from an error value:
 * an object {message, type, code, metadata} (OpenAI, OpenRouter, Mistral, vLLM, Anthropic's
 * inner error), a string (Ollama), or anything else (then only root.message).
 *
 * The kind is metadata.error_type (OpenRouter's name for a numeric code), else code when it
 * is a non-numeric string (OpenAI's codes, "invalid_api_key", are more precise than its
 * types, "invalid_request_error"), else type, else the code as digits. */
int provider__error_describe(const cJSON *err, const cJSON *root, buf *kind, buf *msg, long *code,
                             size_t cap) {
    int rc = 0;
    const size_t limit = cap + PROVIDER_CLEAN_SLACK;
    buf_clear(kind);
    buf_clear(msg);
    *code = 0;
    if (cJSON_IsString(err)) {
        rc |= provider__clean_append_str(msg, err->valuestring, limit);
    } else if (cJSON_IsObject(err)) {
        const cJSON *m = provider__get(err, "message");
        if (cJSON_IsString(m))
            rc |= provider__clean_append_str(msg, m->valuestring, limit);
        else if (cJSON_IsObject(m) || cJSON_IsArray(m))
            rc |= render_detail(m, msg, 0);
        else if (provider__get(err, "detail"))
            rc |= render_detail(provider__get(err, "detail"), msg, 0);

        const cJSON *md = provider__get(err, "metadata");
        const cJSON *reasons = provider__get(md, "reasons");
        const char *flagged = provider__get_str(md, "flagged_input");
        const char *raw = provider__get_str(md, "raw");
        if (cJSON_IsArray(reasons) && reasons->child) {
            rc |= buf_append_str(msg, " (reasons: ");
            int shown = 0;
            for (const cJSON *r = reasons->child; r && shown < 5; r = r->next) {
                if (!cJSON_IsString(r))
                    continue;
                if (shown++)
                    rc |= buf_append_str(msg, ", ");
                rc |= provider__clean_append_str(msg, r->valuestring, msg->len + 80);
            }
            rc |= buf_append_byte(msg, ')');
        }
        if (flagged && *flagged) {
            /* Enough to recognise the passage, not to repeat the document. */
            buf f = {0};
            rc |= provider__clean_append_str(&f, flagged, 120);
            provider__clean_finish(&f, 100);
            rc |= buf_printf(msg, " (flagged input: \"%s\")", f.data ? f.data : "");
            buf_free(&f);
        }
        if (raw && *raw) {
            const char *who = provider__get_str(md, "provider_name");
            rc |= buf_append_str(msg, msg->len ? " — " : "");
            if (who && *who) {
                rc |= provider__clean_append_str(msg, who, msg->len + 60);
                rc |= buf_append_str(msg, ": ");
            }
            rc |= upstream_text(raw, msg);
        }

        const cJSON *c = provider__get(err, "code");
        const char *type = provider__get_str(err, "type");
        const char *etype = provider__get_str(md, "error_type");
        char digits[32] = "";
        const char *ccode = NULL; /* code as a non-numeric string */
        if (cJSON_IsNumber(c) && isfinite(c->valuedouble) && fabs(c->valuedouble) < 1e15) {
            *code = (long)c->valuedouble;
            snprintf(digits, sizeof digits, "%ld", *code);
        } else if (cJSON_IsString(c) && c->valuestring[0]) {
            char *end;
            long v = strtol(c->valuestring, &end, 10);
            if (*end == 0 && c->valuestring[0] >= '0' && c->valuestring[0] <= '9') {
                *code = v;
                snprintf(digits, sizeof digits, "%ld", v);
            } else {
                ccode = c->valuestring;
            }
        }
        const char *k = etype && *etype ? etype
                        : ccode         ? ccode
                        : type && *type ? type
                        : digits[0]     ? digits
                                        : NULL;
        if (k)
            rc |= provider__clean_append_str(kind, k, 200);
    }
    if (msg->len == 0 && root && root != err && provider__get_str(root, "message"))
        rc |= provider__clean_append_str(msg, provider__get_str(root, "message"), limit);
    provider__clean_finish(msg, cap);
    provider__clean_finish(kind, 200);
    return rc ? -1 : 0;
}

/* ---- the decoder ----------------------------------------------------------------------- */

provider_decoder *provider_decoder_new(provider_dialect dialect, provider_event_fn fn, void *ud) {
    if (!fn)
        return NULL;
    provider_decoder *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->dialect = dialect;
    d->fn = fn;
    d->ud = ud;
    d->fast = 1;
    return d;
}

void provider_decoder_free(provider_decoder *d) {
    if (!d)
        return;
    buf_free(&d->model);
    buf_free(&d->scratch);
    buf_free(&d->kind);
    buf_free(&d->message);
    free(d);
}

void provider_decoder_set_fast(provider_decoder *d, int enabled) {
    if (d)
        d->fast = enabled != 0;
}

int provider_decoder_ended(const provider_decoder *d) {
    return d ? d->ended : 0;
}

size_t provider_decoder_ignored(const provider_decoder *d) {
    return d ? d->ignored : 0;
}

size_t provider_decoder_slow(const provider_decoder *d) {
    return d ? d->slow : 0;
}

void provider__usage_none(provider_usage *u) {
    u->prompt_tokens = u->completion_tokens = u->cached_tokens = u->reasoning_tokens = -1;
    u->cost = 0;
    u->has_cost = 0;
}

static void emit(provider_decoder *d, provider_event_type type, const char *p, size_t n) {
    provider_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = type;
    ev.text = p;
    ev.len = n;
    provider__usage_none(&ev.usage);
    d->fn(d->ud, &ev);
}

void provider__emit_text(provider_decoder *d, const char *p, size_t n) {
    if (p && n)
        emit(d, PEV_TEXT, p, n);
}

void provider__emit_model(provider_decoder *d, const char *p, size_t n) {
    if (!p || !n)
        return;
    if (d->have_model && d->model.len == n && memcmp(d->model.data, p, n) == 0)
        return;
    buf_clear(&d->model);
    /* Out of memory: still say it, and forget the last one so it is said again. */
    d->have_model = buf_append(&d->model, p, n) == 0;
    emit(d, PEV_MODEL, p, n);
}

void provider__emit_finish(provider_decoder *d, const char *p, size_t n) {
    if (p && n)
        emit(d, PEV_FINISH, p, n);
}

void provider__emit_usage(provider_decoder *d, const provider_usage *u) {
    provider_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = PEV_USAGE;
    ev.usage = *u;
    d->fn(d->ud, &ev);
}

void provider__emit_end(provider_decoder *d) {
    d->ended = 1;
    emit(d, PEV_END, NULL, 0);
}

static void emit_error(provider_decoder *d, long code) {
    provider_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = PEV_ERROR;
    provider__usage_none(&ev.usage);
    ev.error_kind = d->kind.len ? d->kind.data : NULL;
    ev.message = d->message.data ? d->message.data : "";
    ev.code = code;
    d->fn(d->ud, &ev);
}

void provider__emit_error_json(provider_decoder *d, const cJSON *err, const cJSON *root) {
    long code = 0;
    /* Out of memory leaves a partial message: still worth reporting the error. */
    provider__error_describe(err, root, &d->kind, &d->message, &code, PROVIDER_JSON_MESSAGE_CAP);
    emit_error(d, code);
}

void provider__emit_error_text(provider_decoder *d, const char *p, size_t n) {
    buf_clear(&d->kind);
    buf_clear(&d->message);
    provider__clean_append(&d->message, p, n, PROVIDER_TEXT_MESSAGE_CAP + PROVIDER_CLEAN_SLACK);
    provider__clean_finish(&d->message, PROVIDER_TEXT_MESSAGE_CAP);
    emit_error(d, 0);
}

/* An error payload: `event: error` data, or llama.cpp's `error:` field.  A JSON object is
 * either a wrapper {"error":{…}} or the error itself; anything else is the message. */
static void error_payload(provider_decoder *d, const char *data, size_t len) {
    d->slow++;
    cJSON *root = provider__parse(data, len);
    if (cJSON_IsObject(root)) {
        const cJSON *e = provider__get(root, "error");
        provider__emit_error_json(d, cJSON_IsObject(e) || cJSON_IsString(e) ? e : root, root);
    } else if (cJSON_IsString(root)) {
        provider__emit_error_json(d, root, NULL);
    } else {
        provider__emit_error_text(d, data, len);
    }
    cJSON_Delete(root);
}

static int is_type(const char *type, size_t type_len, const char *lit) {
    size_t n = strlen(lit);
    return type_len == n && memcmp(type, lit, n) == 0;
}

/* Past this, the scratch buffer is released after each event instead of kept. */
#define SCRATCH_KEEP ((size_t)1 << 20)

void provider_decoder_event(provider_decoder *d, const char *type, size_t type_len,
                            const char *data, size_t len) {
    if (!d)
        return;
    if (!data) {
        data = "";
        len = 0;
    }
    if (!type || type_len == 0) {
        type = "message";
        type_len = 7;
    }
    if (d->ended) {
        d->ignored++;
        return;
    }
    if (is_type(type, type_len, "error"))
        error_payload(d, data, len);
    else if (d->dialect == PROVIDER_ANTHROPIC)
        provider__anthropic_event(d, type, type_len, data, len);
    else
        provider__openai_event(d, type, type_len, data, len);
    if (d->scratch.cap > SCRATCH_KEEP)
        buf_free(&d->scratch);
    if (d->message.cap > SCRATCH_KEEP)
        buf_free(&d->message);
}

void provider_decoder_field(provider_decoder *d, const char *name, size_t name_len,
                            const char *value, size_t len) {
    if (!d || !name || !is_type(name, name_len, "error") || d->ended)
        return;
    error_payload(d, value ? value : "", value ? len : 0);
}

int provider__is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

void provider__trim(const char **s, const char **end) {
    while (*s < *end && provider__is_space(**s))
        (*s)++;
    while (*end > *s && provider__is_space((*end)[-1]))
        (*end)--;
}

/* Feeds s[0..n) as one "message" event; the copy gives it its terminating NUL. */
static void feed_copy(provider_decoder *d, const char *s, size_t n) {
    char *copy = malloc(n + 1);
    if (!copy)
        return;
    memcpy(copy, s, n);
    copy[n] = 0;
    provider_decoder_event(d, "message", 7, copy, n);
    free(copy);
}

void provider_decoder_eof(provider_decoder *d, const char *pending, size_t len) {
    if (!d || !pending)
        return;
    const char *s = pending, *e = pending + len;
    provider__trim(&s, &e);
    if (s == e)
        return;
    /* Several data lines with "[DONE]" last: the lines before it were a chunk. */
    const char *nl = e;
    while (nl > s && nl[-1] != '\n')
        nl--;
    if (d->dialect == PROVIDER_OPENAI && nl > s && e - nl == 6 && memcmp(nl, "[DONE]", 6) == 0) {
        feed_copy(d, s, (size_t)(nl - 1 - s));
        provider_decoder_event(d, "message", 7, "[DONE]", 6);
        return;
    }
    feed_copy(d, s, (size_t)(e - s));
}
