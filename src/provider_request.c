/* provider_request: what goes out to a provider: the registry of built-in providers, URLs,
 * the request headers and the JSON body of a streaming request, whose fields each dialect
 * writes (provider_openai.c, provider_anthropic.c).  See include/ami/provider.h.
 */
#include "ami/provider.h"

#include "ami/log.h"
#include "provider_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the registry --------------------------------------------------------------------- */

static const provider_def registry[] = {
    {"openrouter", PROVIDER_OPENAI, "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY", 1, 0, 1,
     NULL},
    {"openai", PROVIDER_OPENAI, "https://api.openai.com/v1", "OPENAI_API_KEY", 1, 1, 0,
     "max_completion_tokens"},
    {"mistral", PROVIDER_OPENAI, "https://api.mistral.ai/v1", "MISTRAL_API_KEY", 1, 0, 0, NULL},
    {"scaleway", PROVIDER_OPENAI, "https://api.scaleway.ai/v1", "SCW_SECRET_KEY", 1, 1, 0, NULL},
    {"ollama", PROVIDER_OPENAI, "http://127.0.0.1:11434/v1", NULL, 0, 1, 0, NULL},
    {"openai-compatible", PROVIDER_OPENAI, NULL, NULL, 0, 1, 0, NULL},
    {"anthropic", PROVIDER_ANTHROPIC, "https://api.anthropic.com/v1", "ANTHROPIC_API_KEY", 1, 0, 0,
     NULL},
};

#define N_REGISTRY (sizeof registry / sizeof registry[0])

const provider_def *provider_find(const char *name) {
    if (!name)
        return NULL;
    for (size_t i = 0; i < N_REGISTRY; i++)
        if (strcmp(registry[i].name, name) == 0)
            return &registry[i];
    return NULL;
}

const provider_def *provider_list(size_t *count) {
    if (count)
        *count = N_REGISTRY;
    return registry;
}

/* ---- URLs ------------------------------------------------------------------------------ */

char *provider_url(const char *base_url, const char *path) {
    if (!base_url || !path || !*base_url)
        return NULL;
    size_t bl = strlen(base_url);
    while (bl > 0 && base_url[bl - 1] == '/')
        bl--;
    while (*path == '/')
        path++;
    buf b = {0};
    if (buf_append(&b, base_url, bl) != 0 || buf_append_byte(&b, '/') != 0 ||
        buf_append_str(&b, path) != 0) {
        buf_free(&b);
        return NULL;
    }
    return buf_steal(&b);
}

char *provider_endpoint(const provider_def *def, const char *base_url) {
    if (!def)
        return NULL;
    const char *base = base_url ? base_url : def->base_url;
    return provider_url(base, def->dialect == PROVIDER_ANTHROPIC ? "messages" : "chat/completions");
}

/* ---- headers --------------------------------------------------------------------------- */

/* Header values must not carry CR or LF (they would start a new header: injection) nor
 * other control bytes (RFC 9110 field values allow only HTAB among them). */
static int header_value_ok(const char *v) {
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            return 0;
    return 1;
}

static void wipe(char *s) {
    volatile char *p = s;
    while (*p)
        *p++ = 0;
}

void provider_headers_free(char **headers) {
    if (!headers)
        return;
    for (char **h = headers; *h; h++) {
        wipe(*h);
        free(*h);
    }
    free(headers);
}

#define MAX_HEADERS 8

/* Adds "name: value" at h[*n]; 0 or -1. */
static int header_add(char **h, size_t *n, const char *name, const char *prefix,
                      const char *value) {
    buf b = {0};
    if (buf_append_str(&b, name) != 0 || buf_append_str(&b, ": ") != 0 ||
        buf_append_str(&b, prefix) != 0 || buf_append_str(&b, value) != 0) {
        if (b.data)
            wipe(b.data);
        buf_free(&b);
        return -1;
    }
    h[(*n)++] = buf_steal(&b);
    return 0;
}

static char **headers_build(const provider_def *def, const char *key, int stream,
                            const char *app_url, const char *app_title) {
    if (!def)
        return NULL;
    if (key && !*key)
        key = NULL;
    if ((key && !header_value_ok(key)) || (app_url && !header_value_ok(app_url)) ||
        (app_title && !header_value_ok(app_title))) {
        log_warn("provider %s: a header value holds a control character; request refused",
                 def->name ? def->name : "?");
        return NULL;
    }
    char **h = calloc(MAX_HEADERS + 1, sizeof *h);
    if (!h)
        return NULL;
    size_t n = 0;
    int anthropic = def->dialect == PROVIDER_ANTHROPIC;
    int rc = 0;
    if (stream) {
        rc |= header_add(h, &n, "Content-Type", "", "application/json");
        rc |= header_add(h, &n, "Accept", "", "text/event-stream");
    }
    if (key && !rc)
        rc |= anthropic ? header_add(h, &n, "x-api-key", "", key)
                        : header_add(h, &n, "Authorization", "Bearer ", key);
    if (anthropic && !rc)
        rc |= header_add(h, &n, "anthropic-version", "", PROVIDER_ANTHROPIC_VERSION);
    if (stream && def->attribution && !rc) {
        const char *title = app_title && *app_title ? app_title : PROVIDER_APP_TITLE;
        if (app_url && *app_url)
            rc |= header_add(h, &n, "HTTP-Referer", "", app_url);
        if (!rc)
            rc |= header_add(h, &n, "X-OpenRouter-Title", "", title);
        if (!rc)
            rc |= header_add(h, &n, "X-Title", "", title);
    }
    if (rc) {
        provider_headers_free(h);
        return NULL;
    }
    return h;
}

char **provider_headers(const provider_def *def, const char *key, const char *app_url,
                        const char *app_title) {
    return headers_build(def, key, 1, app_url, app_title);
}

char **provider_auth_headers(const provider_def *def, const char *key) {
    return headers_build(def, key, 0, NULL, NULL);
}

/* ---- UTF-8 ----------------------------------------------------------------------------- */

size_t provider__u8_seq(const unsigned char *s, size_t n, size_t *bad) {
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t need;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0)
            lo = 0xA0; /* no overlong forms */
        else if (c == 0xED)
            hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F; /* nothing above U+10FFFF */
    } else {
        *bad = 1;
        return 0;
    }
    for (size_t i = 1; i <= need; i++) {
        if (i >= n || s[i] < lo || s[i] > hi) {
            *bad = i;
            return 0;
        }
        lo = 0x80;
        hi = 0xBF;
    }
    return need + 1;
}

/* ---- writing JSON ---------------------------------------------------------------------- */

int provider__json_string(buf *b, const char *s, size_t len) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    if (buf_reserve(b, len + 2) != 0 || buf_append_byte(b, '"') != 0)
        return -1;
    size_t i = 0, run = 0;
    while (i < len) {
        unsigned char c = u[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        size_t bad = 0;
        if (c >= 0x80) {
            size_t k = provider__u8_seq(u + i, len - i, &bad);
            if (k) {
                i += k;
                continue;
            }
        }
        if (buf_append(b, s + run, i - run) != 0)
            return -1;
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t el = 2;
        if (c >= 0x80) {
            if (buf_append(b, "\xEF\xBF\xBD", 3) != 0) /* U+FFFD */
                return -1;
            i += bad;
            run = i;
            continue;
        }
        switch (c) {
        case '"':
        case '\\':
            esc[1] = (char)c;
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        default: /* other control bytes, NUL included */
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            el = 6;
        }
        if (buf_append(b, esc, el) != 0)
            return -1;
        run = ++i;
    }
    if (buf_append(b, s + run, i - run) != 0 || buf_append_byte(b, '"') != 0)
        return -1;
    return 0;
}

int provider__json_double(buf *b, double v) {
    if (!isfinite(v))
        return buf_append_str(b, "null");
    /* The shortest form that reads back exactly (0.7 rather than 0.69999999999999996). */
    char tmp[64];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    /* printf follows LC_NUMERIC; JSON always uses '.'. */
    for (char *p = tmp; *p; p++)
        if (*p == ',')
            *p = '.';
    return buf_append_str(b, tmp);
}

size_t provider__content_len(const chat_message *m) {
    if (!m->content)
        return 0;
    return m->content_len == PROVIDER_STRLEN ? strlen(m->content) : m->content_len;
}

char *provider_build_body(const provider_def *def, const provider_request *req, size_t *len) {
    if (len)
        *len = 0;
    if (!def || !req || !req->model || (req->n_messages && !req->messages))
        return NULL;
    /* One reservation for the usual case (little escaping), so a 10 MB document is copied
     * about once instead of through a dozen doublings. */
    size_t total = 256 + strlen(req->model) + (req->system ? strlen(req->system) : 0);
    for (size_t i = 0; i < req->n_messages; i++)
        total += 32 + provider__content_len(&req->messages[i]);
    buf b = {0};
    if (buf_reserve(&b, total + total / 16) != 0)
        return NULL;
    int rc = def->dialect == PROVIDER_ANTHROPIC ? provider__anthropic_body(def, req, &b)
                                                : provider__openai_body(def, req, &b);
    if (rc != 0) {
        buf_free(&b);
        return NULL;
    }
    if (len)
        *len = b.len;
    return buf_steal(&b);
}
