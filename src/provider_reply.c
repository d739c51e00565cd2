/* provider_reply: what a provider says outside a stream, in a whole reply body: an error
 * (HTTP status >= 400) as JSON in any of the providers' shapes, as an HTML page or as plain
 * text; a model list; OpenRouter's key information.  See include/ami/provider.h.  The error
 * values themselves are described as inside a stream (provider.c).
 */
#include "ami/provider.h"

#include "provider_internal.h"

#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- numbers as providers write them ------------------------------------------- */

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
            rc |= provider__clean_append(out, " ", 1, limit);
            continue;
        }
        if (*s == '&') {
            size_t i;
            for (i = 0; i < sizeof ents / sizeof ents[0]; i++)
                if (ci_prefix(s, end, ents[i].name))
                    break;
            if (i < sizeof ents / sizeof ents[0]) {
                rc |= provider__clean_append_str(out, ents[i].text, limit);
                s += strlen(ents[i].name);
                continue;
            }
        }
        const char *stop = s + 1;
        while (stop < end && *stop != '<' && *stop != '&')
            stop++;
        rc |= provider__clean_append(out, s, (size_t)(stop - s), limit);
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
    return html_text(out, gt + 1, stop ? stop : end,
                     PROVIDER_TEXT_MESSAGE_CAP + PROVIDER_CLEAN_SLACK);
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
        rc = html_text(msg, body ? body : s, cut, PROVIDER_TEXT_MESSAGE_CAP + PROVIDER_CLEAN_SLACK);
    }
    provider__clean_finish(msg, PROVIDER_TEXT_MESSAGE_CAP);
    return rc;
}

static int text_message(buf *msg, const char *s, const char *end) {
    while (s < end && provider__is_space(*s))
        s++;
    const char *eol = s;
    while (eol < end && *eol != '\n' && *eol != '\r')
        eol++;
    int rc = provider__clean_append(msg, s, (size_t)(eol - s),
                                    PROVIDER_TEXT_MESSAGE_CAP + PROVIDER_CLEAN_SLACK);
    provider__clean_finish(msg, PROVIDER_TEXT_MESSAGE_CAP);
    return rc;
}

/* The error inside a JSON error body, or NULL when the document says none. */
static const cJSON *json_error_value(const cJSON *root) {
    if (cJSON_IsArray(root)) /* Google's OpenAI-compatible API: [{"error":{…}}] */
        root = root->child;
    if (!cJSON_IsObject(root))
        return NULL;
    const cJSON *e = provider__get(root, "error");
    if (cJSON_IsObject(e) || (cJSON_IsString(e) && e->valuestring[0]))
        return e;
    if (provider__get(root, "message") || provider__get(root, "detail"))
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
    provider__trim(&s, &end);
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
            rc = provider__error_describe(err, cJSON_IsArray(root) ? root->child : root, &k, &m,
                                          &code, PROVIDER_JSON_MESSAGE_CAP);
            done = 1;
        } else if (root) {
            /* JSON without a recognisable error: compact, so a pretty-printed body does not
             * come out as "{". */
            char *json = cJSON_PrintUnformatted(root);
            rc = json ? provider__clean_append_str(&m, json,
                                                   PROVIDER_TEXT_MESSAGE_CAP + PROVIDER_CLEAN_SLACK)
                      : -1;
            provider__clean_finish(&m, PROVIDER_TEXT_MESSAGE_CAP);
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
        double x = number_or_string(provider__get(m, keys[i]));
        if (!isnan(x) && x > 0)
            return x >= (double)LONG_MAX ? LONG_MAX : (long)x;
    }
    double x = number_or_string(provider__get(provider__get(m, "top_provider"), "context_length"));
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
    if (!list && cJSON_IsArray(provider__get(root, "data")))
        list = provider__get(root, "data");
    if (!list && cJSON_IsArray(provider__get(root, "models"))) /* Ollama's native /api/tags */
        list = provider__get(root, "models");
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
        const char *id = provider__get_str(e, "id");
        if (!id || !*id)
            id = provider__get_str(e, "model"); /* Ollama's native list */
        if (!id || !*id)
            continue;
        const char *name = provider__get_str(e, "name");
        if (!name || !*name)
            name = provider__get_str(e, "display_name");
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
        const cJSON *pricing = provider__get(e, "pricing");
        x->prompt_usd_per_mtok = per_mtok(provider__get(pricing, "prompt"));
        x->completion_usd_per_mtok = per_mtok(provider__get(pricing, "completion"));
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
    const cJSON *data = provider__get(root, "data");
    if (!cJSON_IsObject(data)) {
        cJSON_Delete(root);
        return -2;
    }
    int rc = 0;
    const char *label = provider__get_str(data, "label");
    if (label && !(out->label = dup_str(label)))
        rc = -1;
    out->limit = number_or_string(provider__get(data, "limit"));
    out->limit_remaining = number_or_string(provider__get(data, "limit_remaining"));
    out->usage = number_or_string(provider__get(data, "usage"));
    out->usage_monthly = number_or_string(provider__get(data, "usage_monthly"));
    out->is_free_tier = cJSON_IsTrue(provider__get(data, "is_free_tier"));
    cJSON_Delete(root);
    return rc;
}
