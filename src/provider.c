/* provider: the decoder object and the error descriptions the two dialects share, error
 * bodies, model lists and key information.  See include/ami/provider.h.  What goes out (the
 * registry, URLs, headers, bodies) is in provider_request.c; the dialects themselves live in
 * provider_openai.c and provider_anthropic.c, the fast JSON scanner they read common chunks
 * with in provider_scan.c.
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
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- one clean line of text ------------------------------------------------------------ */

/* Appends s[0..n) to out as part of one line of text for a person: control bytes (line
 * ends and tabs too) become spaces, runs of spaces shrink to one, leading spaces go, and
 * ill-formed UTF-8 becomes U+FFFD.  Stops once out holds limit bytes, so a 20 MB message
 * costs no more than a short one.  0 or -1 (out of memory). */
static int clean_append(buf *out, const char *s, size_t n, size_t limit) {
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

static int clean_append_str(buf *out, const char *s, size_t limit) {
    return clean_append(out, s, strlen(s), limit);
}

/* Room kept past a cap while cleaning, so that a secret crossing the cap is still whole
 * when it is masked (masking comes before cutting). */
#define CLEAN_SLACK 4096

/* Trims trailing spaces, masks registered secrets, and cuts to cap bytes on a character
 * boundary, ending with "…" when something was cut. */
static void clean_finish(buf *out, size_t cap) {
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

static const cJSON *get(const cJSON *obj, const char *key) {
    return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
}

static const char *get_str(const cJSON *obj, const char *key) {
    const cJSON *v = get(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A locale-independent strtod for the decimal strings providers send ("0.000003"). */
static int parse_decimal(const char *s, double *out) {
    char tmp[64];
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof tmp)
        return 0;
    const char *dp = localeconv()->decimal_point;
    for (size_t i = 0; i <= n; i++)
        tmp[i] = s[i] == '.' && dp && dp[0] ? dp[0] : s[i];
    char *end;
    double v = strtod(tmp, &end);
    if (end == tmp || *end || !isfinite(v))
        return 0;
    *out = v;
    return 1;
}

/* A number given as a JSON number or as a decimal string; NAN otherwise. */
static double number_or_string(const cJSON *v) {
    double x;
    if (cJSON_IsNumber(v) && isfinite(v->valuedouble))
        return v->valuedouble;
    if (cJSON_IsString(v) && parse_decimal(v->valuestring, &x))
        return x;
    return NAN;
}

/* ---- describing an error value --------------------------------------------------------- */

#define JSON_MESSAGE_CAP 1000
#define TEXT_MESSAGE_CAP 300

/* Renders a validation message (FastAPI / Mistral 422: {"detail":[{"loc":[…],"msg":…}]})
 * as "body.model: Field required (+1 more)"; anything else as compact JSON.  depth bounds
 * the recursion through "detail" objects. */
static int render_detail(const cJSON *v, buf *out, int depth) {
    if (cJSON_IsString(v))
        return clean_append_str(out, v->valuestring, JSON_MESSAGE_CAP + CLEAN_SLACK);
    if (depth < 3 && cJSON_IsObject(v) && get(v, "detail"))
        return render_detail(get(v, "detail"), out, depth + 1);
    const cJSON *first = cJSON_IsArray(v) ? v->child : v;
    if (cJSON_IsString(first) || (cJSON_IsObject(first) && get_str(first, "msg"))) {
        int rc = 0;
        const cJSON *loc = get(first, "loc");
        if (cJSON_IsArray(loc) && loc->child) {
            for (const cJSON *l = loc->child; l && !rc; l = l->next) {
                if (l != loc->child)
                    rc |= buf_append_byte(out, '.');
                if (cJSON_IsString(l))
                    rc |= clean_append_str(out, l->valuestring, 200);
                else if (cJSON_IsNumber(l))
                    rc |= buf_printf(out, "%.0f", l->valuedouble);
            }
            rc |= buf_append_str(out, ": ");
        }
        rc |= clean_append_str(out,
                               cJSON_IsString(first) ? first->valuestring : get_str(first, "msg"),
                               JSON_MESSAGE_CAP + CLEAN_SLACK);
        int more = cJSON_IsArray(v) ? cJSON_GetArraySize(v) - 1 : 0;
        if (more > 0)
            rc |= buf_printf(out, " (+%d more)", more);
        return rc ? -1 : 0;
    }
    char *json = cJSON_PrintUnformatted(v);
    if (!json)
        return -1;
    int rc = clean_append_str(out, json, JSON_MESSAGE_CAP + CLEAN_SLACK);
    free(json);
    return rc;
}

/* OpenRouter's metadata.raw holds the upstream provider's error, often as JSON text. */
static int upstream_text(const char *raw, buf *out) {
    cJSON *r = cJSON_Parse(raw);
    const char *m = NULL;
    if (cJSON_IsObject(r)) {
        const cJSON *e = get(r, "error");
        m = cJSON_IsString(e) ? e->valuestring : get_str(e, "message");
        if (!m)
            m = get_str(r, "message");
    }
    int rc = clean_append_str(out, m ? m : raw, out->len + 200);
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
static int error_describe(const cJSON *err, const cJSON *root, buf *kind, buf *msg, long *code,
                          size_t cap) {
    int rc = 0;
    const size_t limit = cap + CLEAN_SLACK;
    buf_clear(kind);
    buf_clear(msg);
    *code = 0;
    if (cJSON_IsString(err)) {
        rc |= clean_append_str(msg, err->valuestring, limit);
    } else if (cJSON_IsObject(err)) {
        const cJSON *m = get(err, "message");
        if (cJSON_IsString(m))
            rc |= clean_append_str(msg, m->valuestring, limit);
        else if (cJSON_IsObject(m) || cJSON_IsArray(m))
            rc |= render_detail(m, msg, 0);
        else if (get(err, "detail"))
            rc |= render_detail(get(err, "detail"), msg, 0);

        const cJSON *md = get(err, "metadata");
        const cJSON *reasons = get(md, "reasons");
        const char *flagged = get_str(md, "flagged_input");
        const char *raw = get_str(md, "raw");
        if (cJSON_IsArray(reasons) && reasons->child) {
            rc |= buf_append_str(msg, " (reasons: ");
            int shown = 0;
            for (const cJSON *r = reasons->child; r && shown < 5; r = r->next) {
                if (!cJSON_IsString(r))
                    continue;
                if (shown++)
                    rc |= buf_append_str(msg, ", ");
                rc |= clean_append_str(msg, r->valuestring, msg->len + 80);
            }
            rc |= buf_append_byte(msg, ')');
        }
        if (flagged && *flagged) {
            /* Enough to recognise the passage, not to repeat the document. */
            buf f = {0};
            rc |= clean_append_str(&f, flagged, 120);
            clean_finish(&f, 100);
            rc |= buf_printf(msg, " (flagged input: \"%s\")", f.data ? f.data : "");
            buf_free(&f);
        }
        if (raw && *raw) {
            const char *who = get_str(md, "provider_name");
            rc |= buf_append_str(msg, msg->len ? " — " : "");
            if (who && *who) {
                rc |= clean_append_str(msg, who, msg->len + 60);
                rc |= buf_append_str(msg, ": ");
            }
            rc |= upstream_text(raw, msg);
        }

        const cJSON *c = get(err, "code");
        const char *type = get_str(err, "type");
        const char *etype = get_str(md, "error_type");
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
            rc |= clean_append_str(kind, k, 200);
    }
    if (msg->len == 0 && root && root != err && get_str(root, "message"))
        rc |= clean_append_str(msg, get_str(root, "message"), limit);
    clean_finish(msg, cap);
    clean_finish(kind, 200);
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
    error_describe(err, root, &d->kind, &d->message, &code, JSON_MESSAGE_CAP);
    emit_error(d, code);
}

void provider__emit_error_text(provider_decoder *d, const char *p, size_t n) {
    buf_clear(&d->kind);
    buf_clear(&d->message);
    clean_append(&d->message, p, n, TEXT_MESSAGE_CAP + CLEAN_SLACK);
    clean_finish(&d->message, TEXT_MESSAGE_CAP);
    emit_error(d, 0);
}

/* An error payload: `event: error` data, or llama.cpp's `error:` field.  A JSON object is
 * either a wrapper {"error":{…}} or the error itself; anything else is the message. */
static void error_payload(provider_decoder *d, const char *data, size_t len) {
    d->slow++;
    cJSON *root = provider__parse(data, len);
    if (cJSON_IsObject(root)) {
        const cJSON *e = get(root, "error");
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

static int is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
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
    while (s < e && is_space(*s))
        s++;
    while (e > s && is_space(e[-1]))
        e--;
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

/* ---- errors before streaming ----------------------------------------------------------- */

static int ci_prefix(const char *s, const char *end, const char *lit) {
    size_t n = strlen(lit);
    if ((size_t)(end - s) < n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != lit[i])
            return 0;
    }
    return 1;
}

static const char *ci_find(const char *s, const char *end, const char *lit) {
    for (; s < end; s++)
        if (ci_prefix(s, end, lit))
            return s;
    return NULL;
}

/* Appends HTML text s[0..n) without tags, with the common entities decoded. */
static int html_text(buf *out, const char *s, const char *end, size_t limit) {
    static const struct {
        const char *name;
        const char *text;
    } ents[] = {{"&amp;", "&"}, {"&lt;", "<"},   {"&gt;", ">"},  {"&quot;", "\""},
                {"&#39;", "'"}, {"&apos;", "'"}, {"&nbsp;", " "}};
    int rc = 0;
    while (s < end && !rc && out->len < limit) {
        if (*s == '<') {
            const char *gt = memchr(s, '>', (size_t)(end - s));
            s = gt ? gt + 1 : end;
            rc |= clean_append(out, " ", 1, limit);
            continue;
        }
        if (*s == '&') {
            size_t i;
            for (i = 0; i < sizeof ents / sizeof ents[0]; i++)
                if (ci_prefix(s, end, ents[i].name))
                    break;
            if (i < sizeof ents / sizeof ents[0]) {
                rc |= clean_append_str(out, ents[i].text, limit);
                s += strlen(ents[i].name);
                continue;
            }
        }
        const char *stop = s + 1;
        while (stop < end && *stop != '<' && *stop != '&')
            stop++;
        rc |= clean_append(out, s, (size_t)(stop - s), limit);
        s = stop;
    }
    return rc;
}

/* The text of the first <tag …>…</tag> in s[0..end), or -2 when there is none. */
static int html_element(buf *out, const char *s, const char *end, const char *open,
                        const char *close) {
    const char *t = ci_find(s, end, open);
    if (!t)
        return -2;
    const char *gt = memchr(t, '>', (size_t)(end - t));
    if (!gt)
        return -2;
    const char *stop = ci_find(gt + 1, end, close);
    return html_text(out, gt + 1, stop ? stop : end, TEXT_MESSAGE_CAP + CLEAN_SLACK);
}

static int html_message(buf *msg, const char *s, const char *end) {
    /* Scripts and styles would dominate a tag-stripped page: look at the head of the
     * document only, where error pages put their title and heading. */
    const char *cut = end - s > 65536 ? s + 65536 : end;
    int rc = html_element(msg, s, cut, "<title", "</title");
    if (rc == 0 && msg->len == 0)
        rc = -2;
    if (rc == -2)
        rc = html_element(msg, s, cut, "<h1", "</h1");
    if (rc == 0 && msg->len == 0)
        rc = -2;
    if (rc == -2) {
        const char *body = ci_find(s, cut, "<body");
        rc = html_text(msg, body ? body : s, cut, TEXT_MESSAGE_CAP + CLEAN_SLACK);
    }
    clean_finish(msg, TEXT_MESSAGE_CAP);
    return rc;
}

static int text_message(buf *msg, const char *s, const char *end) {
    while (s < end && is_space(*s))
        s++;
    const char *eol = s;
    while (eol < end && *eol != '\n' && *eol != '\r')
        eol++;
    int rc = clean_append(msg, s, (size_t)(eol - s), TEXT_MESSAGE_CAP + CLEAN_SLACK);
    clean_finish(msg, TEXT_MESSAGE_CAP);
    return rc;
}

/* The error inside a JSON error body, or NULL when the document says none. */
static const cJSON *json_error_value(const cJSON *root) {
    if (cJSON_IsArray(root)) /* Google's OpenAI-compatible API: [{"error":{…}}] */
        root = root->child;
    if (!cJSON_IsObject(root))
        return NULL;
    const cJSON *e = get(root, "error");
    if (cJSON_IsObject(e) || (cJSON_IsString(e) && e->valuestring[0]))
        return e;
    if (get(root, "message") || get(root, "detail"))
        return root; /* Mistral / vLLM flat, FastAPI */
    return NULL;
}

int provider_parse_error(const char *body, size_t len, const char *content_type, char **kind,
                         char **message) {
    *kind = NULL;
    *message = NULL;
    if (!body)
        return 0;
    const char *s = body, *end = body + len;
    while (s < end && is_space(*s))
        s++;
    while (end > s && is_space(end[-1]))
        end--;
    if (s == end)
        return 0;
    const char *ct = content_type ? content_type : "";
    buf k = {0}, m = {0};
    int rc = 0, done = 0;
    if (strstr(ct, "json") || *s == '{' || *s == '[') {
        cJSON *root = cJSON_ParseWithLength(s, (size_t)(end - s));
        const cJSON *err = json_error_value(root);
        if (err) {
            long code;
            rc = error_describe(err, cJSON_IsArray(root) ? root->child : root, &k, &m, &code,
                                JSON_MESSAGE_CAP);
            done = 1;
        } else if (root) {
            /* JSON without a recognisable error: compact, so a pretty-printed body does not
             * come out as "{". */
            char *json = cJSON_PrintUnformatted(root);
            rc = json ? clean_append_str(&m, json, TEXT_MESSAGE_CAP + CLEAN_SLACK) : -1;
            clean_finish(&m, TEXT_MESSAGE_CAP);
            free(json);
            done = 1;
        }
        cJSON_Delete(root);
    }
    if (!done) {
        if (strstr(ct, "html") || *s == '<')
            rc = html_message(&m, s, end);
        else
            rc = text_message(&m, s, end);
        if (rc == -2)
            rc = 0;
    }
    if (rc != 0) {
        buf_free(&k);
        buf_free(&m);
        return -1;
    }
    *kind = k.len ? buf_steal(&k) : NULL;
    *message = m.len ? buf_steal(&m) : NULL;
    buf_free(&k);
    buf_free(&m);
    return 0;
}

/* ---- model lists ------------------------------------------------------------------------ */

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* USD per token → USD per million tokens, rounded to a millionth of a dollar per million
 * (so "0.000003" gives 3, not 2.9999999999999996). */
static double per_mtok(const cJSON *v) {
    double x = number_or_string(v);
    if (isnan(x) || x < 0)
        return -1;
    return round(x * 1e12) / 1e6;
}

static long context_of(const cJSON *m) {
    static const char *const keys[] = {"context_length", "max_context_length", "max_model_len",
                                       "context_window"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        double x = number_or_string(get(m, keys[i]));
        if (!isnan(x) && x > 0)
            return x >= (double)LONG_MAX ? LONG_MAX : (long)x;
    }
    double x = number_or_string(get(get(m, "top_provider"), "context_length"));
    return !isnan(x) && x > 0 && x < (double)LONG_MAX ? (long)x : -1;
}

void provider_models_free(provider_model *m, size_t count) {
    if (!m)
        return;
    for (size_t i = 0; i < count; i++) {
        free(m[i].id);
        free(m[i].name);
    }
    free(m);
}

int provider_parse_models(const char *body, size_t len, provider_model **out, size_t *count) {
    *out = NULL;
    *count = 0;
    if (!body)
        return -2;
    cJSON *root = cJSON_ParseWithLength(body, len);
    const cJSON *list = cJSON_IsArray(root) ? root : NULL;
    if (!list && cJSON_IsArray(get(root, "data")))
        list = get(root, "data");
    if (!list && cJSON_IsArray(get(root, "models"))) /* Ollama's native /api/tags */
        list = get(root, "models");
    if (!list) {
        cJSON_Delete(root);
        return -2;
    }
    int size = cJSON_GetArraySize(list);
    provider_model *m = size > 0 ? calloc((size_t)size, sizeof *m) : NULL;
    if (size > 0 && !m) {
        cJSON_Delete(root);
        return -1;
    }
    size_t n = 0;
    int rc = 0;
    for (const cJSON *e = list->child; e && rc == 0; e = e->next) {
        const char *id = get_str(e, "id");
        if (!id || !*id)
            id = get_str(e, "model"); /* Ollama's native list */
        if (!id || !*id)
            continue;
        const char *name = get_str(e, "name");
        if (!name || !*name)
            name = get_str(e, "display_name");
        provider_model *x = &m[n];
        x->id = dup_str(id);
        x->name = name && *name ? dup_str(name) : NULL;
        if (!x->id || (name && *name && !x->name)) {
            free(x->id);
            free(x->name);
            rc = -1;
            break;
        }
        x->context_length = context_of(e);
        const cJSON *pricing = get(e, "pricing");
        x->prompt_usd_per_mtok = per_mtok(get(pricing, "prompt"));
        x->completion_usd_per_mtok = per_mtok(get(pricing, "completion"));
        n++;
    }
    cJSON_Delete(root);
    if (rc != 0) {
        provider_models_free(m, n);
        return rc;
    }
    if (n == 0) {
        free(m);
        m = NULL;
    }
    *out = m;
    *count = n;
    return 0;
}

/* ---- key information -------------------------------------------------------------------- */

static void key_info_reset(provider_key_info *k) {
    k->label = NULL;
    k->limit = k->limit_remaining = k->usage = k->usage_monthly = NAN;
    k->is_free_tier = 0;
}

void provider_key_info_free(provider_key_info *k) {
    if (!k)
        return;
    free(k->label);
    key_info_reset(k);
}

int provider_parse_key_info(const char *body, size_t len, provider_key_info *out) {
    key_info_reset(out);
    if (!body)
        return -2;
    cJSON *root = cJSON_ParseWithLength(body, len);
    const cJSON *data = get(root, "data");
    if (!cJSON_IsObject(data)) {
        cJSON_Delete(root);
        return -2;
    }
    int rc = 0;
    const char *label = get_str(data, "label");
    if (label && !(out->label = dup_str(label)))
        rc = -1;
    out->limit = number_or_string(get(data, "limit"));
    out->limit_remaining = number_or_string(get(data, "limit_remaining"));
    out->usage = number_or_string(get(data, "usage"));
    out->usage_monthly = number_or_string(get(data, "usage_monthly"));
    out->is_free_tier = cJSON_IsTrue(get(data, "is_free_tier"));
    cJSON_Delete(root);
    return rc;
}
