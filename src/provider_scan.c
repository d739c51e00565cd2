/* provider_scan: the fast JSON scanner the dialects read their common chunks with, and the
 * decoding of the strings it finds.  Its steps are declared in src/provider_internal.h.
 *
 * Why a hand-written scanner next to cJSON: the host must spend at most about 1 µs per
 * delta, and cJSON allocates a node and a string per field (a typical OpenRouter chunk has
 * about twenty), which alone costs more.  The scanner reads the strict-JSON subset that
 * real chunks use, allocates nothing, and gives up ("falls back") on anything else: a
 * non-strict token, a control byte, \u0000, a lone surrogate, a duplicate key that
 * matters, deep nesting, an error or a usage object.  cJSON then reads the event, so cJSON
 * defines the meaning of every input and the scanner only has to agree with it on the
 * subset it accepts (tests/fuzz/fuzz_provider_*.c check exactly that).
 */
#include "ami/provider.h"

#include "ami/utf8.h"
#include "provider_internal.h"

#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* The scanner's innermost helpers must be inlined into its loops: they run for every byte
 * of every chunk. */
#if defined(__GNUC__)
#define HOT_INLINE static inline __attribute__((always_inline))
#else
#define HOT_INLINE static inline
#endif

/* ---- the fast scanner ------------------------------------------------------------------ */

/* 1 for the bytes that end a run inside a string: '"', '\\', and the control bytes that
 * strict JSON forbids raw (NUL among them, so the terminator stops every run). */
static const unsigned char str_stop[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x00 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x10 */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x20: '"' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x30 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x40 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, /* 0x50: '\\' */
};                                                  /* 0x60-0xff: 0 */

/* JSON's four whitespace bytes (cJSON skips every byte up to 0x20: the others are left to
 * it by not being accepted here). */
static const unsigned char ws_tab[256] = {[' '] = 1, ['\t'] = 1, ['\n'] = 1, ['\r'] = 1};

HOT_INLINE void js_ws(provider_js *s) {
    const unsigned char *p = (const unsigned char *)s->p;
    while (ws_tab[*p])
        p++;
    s->p = (const char *)p;
}

void provider__js_ws(provider_js *s) {
    js_ws(s);
}

static int hex4(const char *p, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i]; /* stops at the first non-hex byte, so never reads past the NUL */
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            return 0;
        v = v * 16 + d;
    }
    *out = v;
    return 1;
}

/* Marks (high bit set) the bytes of v that are '"', '\\' or below 0x20.  Bit tricks from
 * "Bit Twiddling Hacks" (haszero / hasless): a borrow can only mark bytes above a marked
 * one, so the lowest mark is always exact, and the mask is zero only when no byte
 * qualifies. */
static uint64_t swar_stops(uint64_t v) {
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    uint64_t q = v ^ (ones * '"'), b = v ^ (ones * '\\');
    return (((q - ones) & ~q) | ((b - ones) & ~b) | ((v - ones * 0x20) & ~v)) & highs;
}

/* scan_run() for the last bytes of the text, or without SSE2: 8 bytes at a time, then
 * byte by byte.  Out of line, because its constants would otherwise cost every string a
 * round of register saves. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static const unsigned char *
scan_tail(const unsigned char *p, const unsigned char *end) {
    while (end - p >= 8) {
        uint64_t v, m;
        memcpy(&v, p, 8);
        if ((m = swar_stops(v)) != 0) {
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            p += __builtin_ctzll(m) / 8; /* the first byte to look at */
#endif
            break;
        }
        p += 8;
    }
    while (!str_stop[*p])
        p++;
    return p;
}

/* Moves p to the first byte that ends a run: '"', '\\' or a control byte.  Wide steps only
 * while they lie inside the text (never past its end); the byte loop then finishes,
 * stopping at the terminating NUL at the latest. */
HOT_INLINE const unsigned char *scan_run(const unsigned char *p, const unsigned char *end) {
#if defined(__SSE2__) && defined(__GNUC__)
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
    const __m128i ctl = _mm_set1_epi8(0x1f);
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        /* max(v, 0x1f) == 0x1f exactly for the bytes <= 0x1f (unsigned) */
        __m128i hit =
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                         _mm_cmpeq_epi8(_mm_max_epu8(v, ctl), ctl));
        int m = _mm_movemask_epi8(hit);
        if (m)
            return p + __builtin_ctz((unsigned)m);
        p += 16;
    }
#endif
    return scan_tail(p, end);
}

/* The rest of a string from its first escape (or control byte) on.  Kept apart from
 * provider__js_string() so that the common case, a string without escapes, stays a small
 * function. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static int
js_string_escaped(provider_js *s, provider_jstr *out, const unsigned char *start,
                  const unsigned char *p) {
    const unsigned char *end = (const unsigned char *)s->end;
    while (*p != '"') {
        if (*p != '\\')
            return 0; /* a raw control byte: cJSON accepts it, strict JSON does not */
        switch (p[1]) {
        case '"':
        case '\\':
        case '/':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
            p += 2;
            break;
        case 'u': {
            unsigned cp, lo;
            /* \u0000 would end a cJSON string early; lone surrogates make cJSON fail:
             * both are cJSON's call. */
            if (!hex4((const char *)p + 2, &cp) || cp == 0 || (cp >= 0xDC00 && cp <= 0xDFFF))
                return 0;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (p[6] != '\\' || p[7] != 'u' || !hex4((const char *)p + 8, &lo) || lo < 0xDC00 ||
                    lo > 0xDFFF)
                    return 0;
                p += 12;
            } else {
                p += 6;
            }
            break;
        }
        default:
            return 0;
        }
        p = scan_run(p, end);
    }
    out->p = (const char *)start;
    out->n = (size_t)(p - start);
    out->esc = 1;
    out->set = 1;
    s->p = (const char *)p + 1;
    return 1;
}

int provider__js_string(provider_js *s, provider_jstr *out) {
    const unsigned char *p = (const unsigned char *)s->p;
    if (*p != '"')
        return 0;
    const unsigned char *start = p + 1;
    p = scan_run(start, (const unsigned char *)s->end);
    if (*p != '"')
        return js_string_escaped(s, out, start, p);
    out->p = (const char *)start;
    out->n = (size_t)(p - start);
    out->esc = 0;
    out->set = 1;
    s->p = (const char *)p + 1;
    return 1;
}

static int is_digit(char c) {
    return c >= '0' && c <= '9';
}

/* cJSON reads at most 63 bytes of a number, so longer ones are left to it. */
#define JS_MAX_NUMBER 32

static int js_number(provider_js *s) {
    const char *p = s->p, *start = p;
    if (*p == '-')
        p++;
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (is_digit(*p))
            p++;
    } else {
        return 0;
    }
    if (*p == '.') {
        if (!is_digit(*++p))
            return 0;
        while (is_digit(*p))
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!is_digit(*p))
            return 0;
        while (is_digit(*p))
            p++;
    }
    if (p - start > JS_MAX_NUMBER)
        return 0;
    s->p = p;
    return 1;
}

static int js_literal(provider_js *s, const char *lit) {
    size_t i = 0;
    for (; lit[i]; i++) /* stops at the first difference, so never reads past the NUL */
        if (s->p[i] != lit[i])
            return 0;
    s->p += i;
    return 1;
}

static int js_key_colon(provider_js *s) {
    provider_jstr k;
    js_ws(s);
    if (!provider__js_string(s, &k))
        return 0;
    js_ws(s);
    if (*s->p != ':')
        return 0;
    s->p++;
    return 1;
}

/* Nesting the scanner follows; deeper documents go to cJSON (which stops at 1000). */
#define JS_MAX_DEPTH 64

static int js_skip_nested(provider_js *s);

int provider__js_skip(provider_js *s) {
    /* Most skipped values are scalars ("id", "created", "logprobs":null…): no loop. */
    js_ws(s);
    switch (*s->p) {
    case '"': {
        provider_jstr v;
        return provider__js_string(s, &v);
    }
    case 't':
        return js_literal(s, "true");
    case 'f':
        return js_literal(s, "false");
    case 'n':
        return js_literal(s, "null");
    case '{':
    case '[':
        return js_skip_nested(s);
    default:
        return js_number(s);
    }
}

/* Skips an object or array, iteratively, to JS_MAX_DEPTH levels. */
static int js_skip_nested(provider_js *s) {
    uint64_t objects = 0; /* bit i: level i+1 is an object (else an array) */
    int depth = 0;
    for (;;) {
        /* At a value. */
        js_ws(s);
        char c = *s->p;
        int closed = 0; /* the value is complete */
        if (c == '{' || c == '[') {
            if (depth == JS_MAX_DEPTH)
                return 0;
            int obj = c == '{';
            objects = objects << 1 | (uint64_t)obj;
            depth++;
            s->p++;
            js_ws(s);
            if (*s->p == (obj ? '}' : ']')) {
                s->p++;
                objects >>= 1;
                depth--;
                closed = 1;
            } else if (obj && !js_key_colon(s)) {
                return 0;
            }
        } else if (c == '"') {
            provider_jstr v;
            if (!provider__js_string(s, &v))
                return 0;
            closed = 1;
        } else if (c == '-' || is_digit(c)) {
            if (!js_number(s))
                return 0;
            closed = 1;
        } else if (c == 't' || c == 'f' || c == 'n') {
            if (!js_literal(s, c == 't' ? "true" : c == 'f' ? "false" : "null"))
                return 0;
            closed = 1;
        } else {
            return 0;
        }
        /* After a complete value: close containers, or move to the next member. */
        while (closed) {
            if (depth == 0)
                return 1;
            js_ws(s);
            int obj = (int)(objects & 1);
            if (*s->p == ',') {
                s->p++;
                if (obj && !js_key_colon(s))
                    return 0;
                closed = 0;
            } else if (*s->p == (obj ? '}' : ']')) {
                s->p++;
                objects >>= 1;
                depth--;
            } else {
                return 0;
            }
        }
    }
}

/* The way to a container's next item: 0 when close comes (consumed: the container is
 * closed), 1 when the item may start (after a comma unless it is the first), -1 otherwise. */
HOT_INLINE int js_next(provider_js *s, char close, int count) {
    js_ws(s);
    if (*s->p == close) {
        s->p++;
        return 0;
    }
    if (count > 0) {
        if (*s->p != ',')
            return -1;
        s->p++;
        js_ws(s);
    }
    return 1;
}

int provider__js_member(provider_js *s, provider_jstr *key, int *count) {
    int next = js_next(s, '}', *count);
    if (next != 1)
        return next;
    if (!provider__js_string(s, key))
        return -1;
    js_ws(s);
    if (*s->p != ':')
        return -1;
    s->p++;
    js_ws(s);
    (*count)++;
    return 1;
}

int provider__js_elem(provider_js *s, int *count) {
    int next = js_next(s, ']', *count);
    if (next == 1)
        (*count)++;
    return next;
}

int provider__js_done(provider_js *s) {
    js_ws(s);
    return s->p == s->end;
}

provider_jstr provider__jstr_cjson(const cJSON *item) {
    provider_jstr s = {0};
    if (cJSON_IsString(item) && item->valuestring) {
        s.p = item->valuestring;
        s.n = strlen(item->valuestring); /* cJSON strings end at the first NUL */
        s.set = 1;
    }
    return s;
}

static int put_utf8(buf *b, unsigned cp) {
    char u[4];
    return buf_append(b, u, utf8_encode(cp, u));
}

/* Decodes a string the scanner validated (so every escape is well-formed). */
static int jstr_decode(buf *out, const char *p, size_t n) {
    const char *end = p + n;
    buf_clear(out);
    if (buf_reserve(out, n) != 0)
        return -1;
    while (p < end) {
        const char *bs = memchr(p, '\\', (size_t)(end - p));
        if (!bs)
            return buf_append(out, p, (size_t)(end - p));
        if (buf_append(out, p, (size_t)(bs - p)) != 0)
            return -1;
        char c = bs[1], r;
        if (c == 'u') {
            unsigned cp, lo;
            hex4(bs + 2, &cp);
            p = bs + 6;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                hex4(bs + 8, &lo);
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                p = bs + 12;
            }
            if (put_utf8(out, cp) != 0)
                return -1;
            continue;
        }
        switch (c) {
        case 'b':
            r = '\b';
            break;
        case 'f':
            r = '\f';
            break;
        case 'n':
            r = '\n';
            break;
        case 'r':
            r = '\r';
            break;
        case 't':
            r = '\t';
            break;
        default: /* '"', '\\', '/' */
            r = c;
        }
        if (buf_append_byte(out, r) != 0)
            return -1;
        p = bs + 2;
    }
    return 0;
}

const char *provider__jstr_text(provider_decoder *d, const provider_jstr *s, size_t *len) {
    if (!s->esc) {
        *len = s->n;
        return s->p;
    }
    if (jstr_decode(&d->scratch, s->p, s->n) != 0) {
        *len = 0;
        return NULL;
    }
    *len = d->scratch.len;
    return d->scratch.data;
}
