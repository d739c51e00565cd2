/* The provider module's insides, shared by its own files (src/provider*.c); not for other
 * modules. */
#ifndef AMI_PROVIDER_INTERNAL_H
#define AMI_PROVIDER_INTERNAL_H

#include "ami/buf.h"
#include "ami/provider.h"

#include <cJSON.h>
#include <string.h>

struct provider_decoder {
    provider_dialect dialect;
    provider_event_fn fn;
    void *ud;
    buf model;      /* the last model id emitted */
    int have_model; /* a MODEL event was emitted */
    buf scratch;    /* decoded strings handed to the callback */
    buf kind;       /* ERROR: kind and message */
    buf message;
    size_t ignored;
    size_t slow; /* events read with cJSON */
    int ended;
    int fast;
};

/* A JSON string found by the fast scanner: p[0..n) is either the decoded value itself
 * (esc == 0) or the escaped text between the quotes, to be decoded (esc == 1).  Validated
 * while scanning, so decoding cannot fail. */
typedef struct provider_jstr {
    const char *p;
    size_t n;
    int esc;
    int set; /* the value was a string */
} provider_jstr;

/* The fast scanner's cursor.  The text ends with a NUL (data[len] == 0) which no rule
 * accepts, so the scanner needs no bounds checks inside tokens. */
typedef struct provider_js {
    const char *p;
    const char *end;
} provider_js;

/* Fast-scanner steps.  Each returns 1 on success, 0 when the input is outside the strict
 * subset the fast path handles (the caller then falls back to cJSON); member/elem return
 * 1 (positioned at a value), 0 (container closed) or -1 (fall back). */
void provider__js_ws(provider_js *s);
int provider__js_string(provider_js *s, provider_jstr *out);
int provider__js_skip(provider_js *s);
int provider__js_member(provider_js *s, provider_jstr *key, int *count);
int provider__js_elem(provider_js *s, int *count);
int provider__js_done(provider_js *s);
/* True when the scanned string k is, without escapes, the literal lit.  A macro so that the
 * length is a constant and memcmp is inlined: keys are compared on every chunk. */
#define PROVIDER_JSTR_IS(k, lit)                                                                   \
    ((k)->set && !(k)->esc && (k)->n == sizeof(lit) - 1 &&                                         \
     memcmp((k)->p, lit, sizeof(lit) - 1) == 0)
/* Decoded bytes of a fast-path string: p itself, or decoded into d->scratch. */
const char *provider__jstr_text(provider_decoder *d, const provider_jstr *s, size_t *len);
provider_jstr provider__jstr_cjson(const cJSON *item);

/* Parses data[0..len) (data[len] == 0) as one JSON document, cJSON's way. */
cJSON *provider__parse(const char *data, size_t len);
/* The token counts of a usage field: a finite number >= 0, else -1. */
long provider__count(const cJSON *item);

/* Emitting, shared by both dialects (they keep the decoder's invariants: one MODEL per
 * change, nothing after END, empty text never sent). */
void provider__emit_text(provider_decoder *d, const char *p, size_t n);
void provider__emit_model(provider_decoder *d, const char *p, size_t n);
void provider__emit_finish(provider_decoder *d, const char *p, size_t n);
void provider__emit_usage(provider_decoder *d, const provider_usage *u);
void provider__emit_end(provider_decoder *d);
/* ERROR from a JSON error value (object, string, …); root is the document it came from. */
void provider__emit_error_json(provider_decoder *d, const cJSON *err, const cJSON *root);
/* ERROR from non-JSON text. */
void provider__emit_error_text(provider_decoder *d, const char *p, size_t n);
void provider__usage_none(provider_usage *u);

/* The member key of obj (NULL when obj is no object or has none), and the text of a string
 * member (NULL when it is none). */
const cJSON *provider__get(const cJSON *obj, const char *key);
const char *provider__get_str(const cJSON *obj, const char *key);
/* JSON's white space: ' ', '\t', '\n', '\r'; trim moves *s past it and *end before it. */
int provider__is_space(char c);
void provider__trim(const char **s, const char **end);

/* Error messages, from JSON (at most PROVIDER_JSON_MESSAGE_CAP bytes) and from text, HTML
 * or not (PROVIDER_TEXT_MESSAGE_CAP bytes). */
#define PROVIDER_JSON_MESSAGE_CAP 1000
#define PROVIDER_TEXT_MESSAGE_CAP 300
/* Room kept past a cap while cleaning, so that a secret crossing the cap is still whole
 * when it is masked (masking comes before cutting). */
#define PROVIDER_CLEAN_SLACK 4096
/* One clean line of text for a person (src/provider.c says how): appending, up to limit
 * bytes (0 or -1, out of memory), then trimming, masking secrets and cutting to cap. */
int provider__clean_append(buf *out, const char *s, size_t n, size_t limit);
int provider__clean_append_str(buf *out, const char *s, size_t limit);
void provider__clean_finish(buf *out, size_t cap);
/* The kind, message and numeric code of an error value, in a stream or in an error body
 * (src/provider.c says how).  0 or -1 (out of memory: what was written stays). */
int provider__error_describe(const cJSON *err, const cJSON *root, buf *kind, buf *msg, long *code,
                             size_t cap);

/* JSON writing for the bodies: a string literal (escaped, invalid UTF-8 → U+FFFD) and a
 * number.  0 or -1 (out of memory). */
int provider__json_string(buf *b, const char *s, size_t len);
int provider__json_double(buf *b, double v);
size_t provider__content_len(const chat_message *m);
/* Length (1-4) of the well-formed UTF-8 sequence at s[0..n), or 0 when it is ill-formed;
 * *bad then receives the length of its maximal ill-formed prefix (at least 1), which is
 * what one U+FFFD replaces (Unicode §3.9, "substitution of maximal subparts").  Also what
 * the clean lines of error messages are checked with. */
size_t provider__u8_seq(const unsigned char *s, size_t n, size_t *bad);

/* The dialects. */
int provider__openai_body(const provider_def *def, const provider_request *req, buf *b);
int provider__anthropic_body(const provider_def *def, const provider_request *req, buf *b);
void provider__openai_event(provider_decoder *d, const char *type, size_t type_len,
                            const char *data, size_t len);
void provider__anthropic_event(provider_decoder *d, const char *type, size_t type_len,
                               const char *data, size_t len);

#endif
