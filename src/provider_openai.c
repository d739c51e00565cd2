/* provider_openai: the OpenAI-compatible chat completions dialect (OpenRouter, OpenAI,
 * Mistral, Scaleway, Ollama, llama.cpp, vLLM, …).  See include/ami/provider.h.
 *
 * A data event is read in two steps: extract the few fields that matter into oa_fields,
 * then emit from them.  Two extractors fill oa_fields: oa_fast(), a scanner that handles
 * the chunks that make up nearly every stream (no allocation), and oa_slow(), cJSON.
 * oa_fast() returns 0 (so oa_slow() runs) for anything outside the strict subset it is sure
 * to read exactly as cJSON does, and for every chunk that needs more than strings: an
 * error, a usage object, content as an array of parts.  Since both fill the same struct and
 * one function emits, the events cannot depend on which extractor ran.
 *
 * Fields that matter, and what they mean:
 *   model                          string → MODEL (once per change)
 *   choices[0].delta.content       string → TEXT; array → its {"type":"text"} parts' text
 *                                  (Mistral), "thinking" parts skipped
 *   choices[0].finish_reason       string → FINISH
 *   error                          truthy → ERROR (OpenRouter mid-stream, vLLM, llama.cpp)
 *   object == "error"              flat error (older vLLM, Mistral) → ERROR
 *   usage                          object → USAGE, with or without choices
 * reasoning, reasoning_details, refusal and tool_calls sit next to content in the delta
 * and are never read.  A document with none of model/choices/error/usage is not
 * understood (counted as ignored).
 */
#include "ami/provider.h"

#include "provider_internal.h"

#include <math.h>
#include <string.h>

/* ---- the request body ------------------------------------------------------------------ */

static int put_message(buf *b, const char *role, const char *content, size_t len, int first) {
    int rc = 0;
    rc |= buf_append_str(b, first ? "{\"role\":" : ",{\"role\":");
    rc |= provider__json_string(b, role, strlen(role));
    rc |= buf_append_str(b, ",\"content\":");
    rc |= provider__json_string(b, content ? content : "", content ? len : 0);
    rc |= buf_append_byte(b, '}');
    return rc ? -1 : 0;
}

int provider__openai_body(const provider_def *def, const provider_request *req, buf *b) {
    int rc = 0, first = 1;
    rc |= buf_append_str(b, "{\"model\":");
    rc |= provider__json_string(b, req->model, strlen(req->model));
    rc |= buf_append_str(b, ",\"messages\":[");
    if (req->system && *req->system) {
        rc |= put_message(b, "system", req->system, strlen(req->system), 1);
        first = 0;
    }
    for (size_t i = 0; i < req->n_messages && !rc; i++) {
        const chat_message *m = &req->messages[i];
        rc |=
            put_message(b, m->role ? m->role : "user", m->content, provider__content_len(m), first);
        first = 0;
    }
    rc |= buf_append_str(b, "],\"stream\":true");
    if (def->include_usage)
        rc |= buf_append_str(b, ",\"stream_options\":{\"include_usage\":true}");
    if (req->max_tokens > 0)
        rc |= buf_printf(b, ",\"%s\":%ld",
                         def->max_tokens_field ? def->max_tokens_field : "max_tokens",
                         req->max_tokens);
    if (req->temperature >= 0 && isfinite(req->temperature)) {
        rc |= buf_append_str(b, ",\"temperature\":");
        rc |= provider__json_double(b, req->temperature);
    }
    /* OpenRouter only (the one provider with attribution): others reject unknown fields. */
    if (def->attribution && (req->deny_data_collection || req->zdr)) {
        rc |= buf_append_str(b, ",\"provider\":{");
        if (req->deny_data_collection)
            rc |= buf_append_str(b, "\"data_collection\":\"deny\"");
        if (req->zdr)
            rc |= buf_append_str(b, req->deny_data_collection ? ",\"zdr\":true" : "\"zdr\":true");
        rc |= buf_append_byte(b, '}');
    }
    rc |= buf_append_byte(b, '}');
    return rc ? -1 : 0;
}

/* ---- reading a chunk ------------------------------------------------------------------- */

typedef struct oa_fields {
    int understood;
    provider_jstr model;   /* set when "model" is a string */
    provider_jstr content; /* set when choices[0].delta.content is a string */
    provider_jstr finish;  /* set when choices[0].finish_reason is a string */
    const cJSON *parts;    /* choices[0].delta.content when an array (cJSON only) */
    const cJSON *error;    /* the error value when there is an error (cJSON only) */
    const cJSON *root;
    const cJSON *usage; /* the usage object (cJSON only) */
} oa_fields;

/* Keys the fast path must see at most once (cJSON would take the first of duplicates;
 * rather than mimic that, the fast path leaves such documents to cJSON). */
enum {
    K_MODEL = 1,
    K_CHOICES = 2,
    K_ERROR = 4,
    K_USAGE = 8,
    K_OBJECT = 16,
    K_DELTA = 32,
    K_FINISH = 64,
    K_CONTENT = 128
};

/* The K_* bit of a member key at each level the fast path reads, 0 for other keys. */
static unsigned top_key(const provider_jstr *k) {
    switch (k->n) {
    case 5:
        return PROVIDER_JSTR_IS(k, "model")   ? K_MODEL
               : PROVIDER_JSTR_IS(k, "error") ? K_ERROR
               : PROVIDER_JSTR_IS(k, "usage") ? K_USAGE
                                              : 0;
    case 6:
        return PROVIDER_JSTR_IS(k, "object") ? K_OBJECT : 0;
    case 7:
        return PROVIDER_JSTR_IS(k, "choices") ? K_CHOICES : 0;
    default:
        return 0;
    }
}

static unsigned choice_key(const provider_jstr *k) {
    return PROVIDER_JSTR_IS(k, "delta")           ? K_DELTA
           : PROVIDER_JSTR_IS(k, "finish_reason") ? K_FINISH
                                                  : 0;
}

/* Marks bit as seen; 0 when it was seen already. */
static int once(unsigned *seen, unsigned bit) {
    if (*seen & bit)
        return 0;
    *seen |= bit;
    return 1;
}

static int oa_fast_delta(provider_js *s, oa_fields *f) {
    provider_jstr k;
    unsigned seen = 0;
    int n = 0, r;
    s->p++; /* '{' */
    while ((r = provider__js_member(s, &k, &n)) == 1) {
        if (k.esc) /* cJSON compares decoded keys: leave escaped ones to it */
            return 0;
        if (PROVIDER_JSTR_IS(&k, "content")) {
            if (!once(&seen, K_CONTENT))
                return 0;
            if (*s->p == '"') {
                if (!provider__js_string(s, &f->content))
                    return 0;
                continue;
            }
            if (*s->p == '[') /* content parts: cJSON's job */
                return 0;
        }
        if (!provider__js_skip(s))
            return 0;
    }
    return r == 0;
}

static int oa_fast_choice(provider_js *s, oa_fields *f) {
    provider_jstr k;
    unsigned seen = 0, bit;
    int n = 0, r;
    s->p++; /* '{' */
    while ((r = provider__js_member(s, &k, &n)) == 1) {
        if (k.esc || ((bit = choice_key(&k)) && !once(&seen, bit)))
            return 0;
        if (bit == K_DELTA && *s->p == '{') {
            if (!oa_fast_delta(s, f))
                return 0;
        } else if (bit == K_FINISH && *s->p == '"') {
            if (!provider__js_string(s, &f->finish))
                return 0;
        } else if (!provider__js_skip(s)) {
            return 0;
        }
    }
    return r == 0;
}

static int oa_fast_choices(provider_js *s, oa_fields *f) {
    int n = 0, r;
    s->p++; /* '[' */
    while ((r = provider__js_elem(s, &n)) == 1) {
        if (n == 1 && *s->p == '{') {
            if (!oa_fast_choice(s, f))
                return 0;
        } else if (!provider__js_skip(s)) {
            return 0;
        }
    }
    return r == 0;
}

/* The fast extractor: 1 when f is filled, 0 to leave the chunk to cJSON. */
static int oa_fast(const char *data, size_t len, oa_fields *f) {
    provider_js s = {data, data + len};
    provider_jstr k;
    unsigned seen = 0, bit;
    int n = 0, r;
    memset(f, 0, sizeof *f);
    provider__js_ws(&s);
    if (*s.p != '{')
        return 0;
    s.p++;
    while ((r = provider__js_member(&s, &k, &n)) == 1) {
        if (k.esc || ((bit = top_key(&k)) && !once(&seen, bit)))
            return 0;
        switch (bit) {
        case K_MODEL:
            if (*s.p == '"') {
                if (!provider__js_string(&s, &f->model))
                    return 0;
                continue;
            }
            break;
        case K_CHOICES:
            if (*s.p == '[') {
                if (!oa_fast_choices(&s, f))
                    return 0;
                continue;
            }
            break;
        case K_ERROR: /* null or false: no error; anything else is cJSON's */
            if (*s.p != 'n' && *s.p != 'f')
                return 0;
            break;
        case K_USAGE: /* null (OpenAI sends it in every chunk); an object is cJSON's */
            if (*s.p != 'n')
                return 0;
            break;
        case K_OBJECT:
            if (*s.p == '"') {
                provider_jstr v;
                if (!provider__js_string(&s, &v) || v.esc || PROVIDER_JSTR_IS(&v, "error"))
                    return 0;
                continue;
            }
            break;
        default:
            break;
        }
        if (!provider__js_skip(&s))
            return 0;
    }
    if (r < 0 || !provider__js_done(&s))
        return 0;
    f->understood = (seen & (K_MODEL | K_CHOICES | K_ERROR | K_USAGE)) != 0;
    return 1;
}

static int truthy(const cJSON *v) {
    if (!v || cJSON_IsNull(v) || cJSON_IsFalse(v))
        return 0;
    if (cJSON_IsNumber(v))
        return v->valuedouble != 0;
    if (cJSON_IsString(v))
        return v->valuestring && v->valuestring[0];
    return 1; /* true, objects and arrays (even empty ones, as in JavaScript) */
}

/* The cJSON extractor: 1 when f is filled, 0 when the document is not understood. */
static int oa_slow(const cJSON *root, oa_fields *f) {
    memset(f, 0, sizeof *f);
    if (!cJSON_IsObject(root))
        return 0;
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(root, "error");
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(root, "usage");
    const cJSON *object = cJSON_GetObjectItemCaseSensitive(root, "object");
    int flat_error = cJSON_IsString(object) && strcmp(object->valuestring, "error") == 0;
    f->understood = model || choices || error || usage || flat_error;
    if (!f->understood)
        return 0;
    f->model = provider__jstr_cjson(model);
    const cJSON *choice = cJSON_IsArray(choices) ? choices->child : NULL;
    if (cJSON_IsObject(choice)) {
        const cJSON *delta = cJSON_GetObjectItemCaseSensitive(choice, "delta");
        if (cJSON_IsObject(delta)) {
            const cJSON *content = cJSON_GetObjectItemCaseSensitive(delta, "content");
            if (cJSON_IsArray(content))
                f->parts = content;
            else
                f->content = provider__jstr_cjson(content);
        }
        f->finish = provider__jstr_cjson(cJSON_GetObjectItemCaseSensitive(choice, "finish_reason"));
    }
    if (truthy(error))
        f->error = error;
    else if (flat_error)
        f->error = root;
    f->root = root;
    if (cJSON_IsObject(usage))
        f->usage = usage;
    return 1;
}

/* Mistral's content parts: the text of the {"type":"text"} ones, in order. */
static void emit_parts(provider_decoder *d, const cJSON *parts) {
    buf_clear(&d->scratch);
    for (const cJSON *p = parts->child; p; p = p->next) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(p, "type");
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(p, "text");
        if (cJSON_IsString(type) && strcmp(type->valuestring, "text") == 0 &&
            cJSON_IsString(text) && buf_append_str(&d->scratch, text->valuestring) != 0)
            return; /* out of memory: this piece is lost, but nothing is garbled */
    }
    provider__emit_text(d, d->scratch.data, d->scratch.len);
}

static void oa_usage(const cJSON *u, provider_usage *out) {
    provider__usage_none(out);
    out->prompt_tokens = provider__count(cJSON_GetObjectItemCaseSensitive(u, "prompt_tokens"));
    out->completion_tokens =
        provider__count(cJSON_GetObjectItemCaseSensitive(u, "completion_tokens"));
    const cJSON *cost = cJSON_GetObjectItemCaseSensitive(u, "cost");
    if (cJSON_IsNumber(cost) && isfinite(cost->valuedouble)) {
        out->cost = cost->valuedouble;
        out->has_cost = 1;
    }
    const cJSON *pd = cJSON_GetObjectItemCaseSensitive(u, "prompt_tokens_details");
    if (cJSON_IsObject(pd))
        out->cached_tokens = provider__count(cJSON_GetObjectItemCaseSensitive(pd, "cached_tokens"));
    const cJSON *cd = cJSON_GetObjectItemCaseSensitive(u, "completion_tokens_details");
    if (cJSON_IsObject(cd))
        out->reasoning_tokens =
            provider__count(cJSON_GetObjectItemCaseSensitive(cd, "reasoning_tokens"));
}

static void oa_emit(provider_decoder *d, const oa_fields *f) {
    const char *p;
    size_t n;
    if (f->model.set && (p = provider__jstr_text(d, &f->model, &n)))
        provider__emit_model(d, p, n);
    if (f->content.set && (p = provider__jstr_text(d, &f->content, &n)))
        provider__emit_text(d, p, n);
    else if (f->parts)
        emit_parts(d, f->parts);
    if (f->finish.set && (p = provider__jstr_text(d, &f->finish, &n)))
        provider__emit_finish(d, p, n);
    /* Usage before an error of the same chunk: OpenRouter sends an error beside the usage of
     * what was already spent, and the error ends the answer (the usage would be lost). */
    if (f->usage) {
        provider_usage u;
        oa_usage(f->usage, &u);
        provider__emit_usage(d, &u);
    }
    if (f->error)
        provider__emit_error_json(d, f->error, f->root);
}

static int is_done(const char *data, size_t len) {
    while (len && (*data == ' ' || *data == '\t' || *data == '\r' || *data == '\n')) {
        data++;
        len--;
    }
    while (len && (data[len - 1] == ' ' || data[len - 1] == '\t' || data[len - 1] == '\r' ||
                   data[len - 1] == '\n'))
        len--;
    return len == 6 && memcmp(data, "[DONE]", 6) == 0;
}

void provider__openai_event(provider_decoder *d, const char *type, size_t type_len,
                            const char *data, size_t len) {
    (void)type; /* every type but "error" (handled by the caller) carries chunks */
    (void)type_len;
    if (is_done(data, len)) {
        provider__emit_end(d);
        return;
    }
    oa_fields f;
    if (d->fast && oa_fast(data, len, &f)) {
        if (f.understood)
            oa_emit(d, &f);
        else
            d->ignored++;
        return;
    }
    d->slow++;
    cJSON *root = provider__parse(data, len);
    if (oa_slow(root, &f))
        oa_emit(d, &f);
    else
        d->ignored++;
    cJSON_Delete(root);
}
