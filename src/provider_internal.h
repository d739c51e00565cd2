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
