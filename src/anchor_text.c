/* anchor_text: the texts the quote matcher reads (see src/anchor.c): UTF-8 units (a
 * well-formed sequence, or one byte), the normalized text of tier 2 with its map back to the
 * document, the document and its index (anchor_doc_new: its bytes, its normalized text, its
 * line starts, the byte counts the exact searches use), and a quote stripped of its quotation
 * marks and cut at its elisions.  What the normalization folds is listed in ami/anchor.h.
 */
#include "ami/anchor.h"

#include "anchor_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- UTF-8 -------------------------------------------------------------------------------- */

/* Length of the well-formed sequence (Unicode Table 3-7) at s[0..n), or 0 when s[0] does not
 * begin one.  *cp receives the code point. */
static size_t u8_seq(const uchar *s, size_t n, uint32_t *cp) {
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c < 0xC2 || c > 0xF4)
        return 0;
    if (c < 0xE0) {
        if (n < 2 || (s[1] & 0xC0) != 0x80)
            return 0;
        *cp = ((uint32_t)(c & 0x1F) << 6) | (s[1] & 0x3F);
        return 2;
    }
    unsigned lo = 0x80, hi = 0xBF;
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    if (n < 2 || s[1] < lo || s[1] > hi)
        return 0;
    if (c < 0xF0) {
        if (n < 3 || (s[2] & 0xC0) != 0x80)
            return 0;
        *cp = ((uint32_t)(c & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
        return 3;
    }
    if (n < 4 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
        return 0;
    *cp = ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
          ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
    return 4;
}

/* Bytes of the unit at s: a well-formed sequence, or one byte. */
size_t anchor__unit_len(const uchar *s, size_t n) {
    uint32_t cp;
    size_t k = u8_seq(s, n, &cp);
    return k ? k : 1;
}

/* Start of the unit that ends at b (a < b, b on a unit boundary). */
static size_t unit_before(const uchar *s, size_t a, size_t b) {
    for (size_t k = 1; k <= 4 && k <= b - a; k++) {
        uint32_t cp;
        if (u8_seq(s + b - k, k, &cp) == k)
            return b - k;
        if ((s[b - k] & 0xC0) != 0x80)
            break; /* a non-continuation byte: no longer sequence can end at b */
    }
    return b - 1;
}

/* True when p does not cut a well-formed sequence of s[0..n). */
int anchor__on_boundary(const uchar *s, size_t n, size_t p) {
    if (p == 0 || p >= n || (s[p] & 0xC0) != 0x80)
        return 1;
    for (size_t k = 1; k <= 3 && k <= p; k++) {
        uchar c = s[p - k];
        if ((c & 0xC0) == 0x80)
            continue;
        uint32_t cp;
        return u8_seq(s + p - k, n - (p - k), &cp) <= k;
    }
    return 1;
}

/* ---- normalization -------------------------------------------------------------------- */

enum { K_OTHER, K_WS, K_IGN, K_OPEN, K_CLOSE, K_PUNCT, K_APOS, K_DQUOTE, K_DASH, K_ELLIPSIS };

static int classify(uint32_t cp) {
    switch (cp) {
    case 0x09:
    case 0x0A:
    case 0x0B:
    case 0x0C:
    case 0x0D:
    case 0x20:
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
        return K_WS;
    case '*':
    case '_':
    case '`':
    case 0xAD:
    case 0x200B:
    case 0x200C:
    case 0x200D:
    case 0x2060:
    case 0xFEFF:
        return K_IGN;
    case ':':
    case ';':
    case '!':
    case '?':
        return K_PUNCT;
    case 0xAB:
    case 0x2039:
        return K_OPEN;
    case 0xBB:
    case 0x203A:
        return K_CLOSE;
    case 0x2018:
    case 0x2019:
    case 0x201A:
    case 0x201B:
    case 0x02BC:
    case 0x2032:
        return K_APOS;
    case 0x201C:
    case 0x201D:
    case 0x201E:
    case 0x201F:
    case 0x2033:
        return K_DQUOTE;
    case 0x2010:
    case 0x2011:
    case 0x2012:
    case 0x2013:
    case 0x2014:
    case 0x2015:
    case 0x2212:
        return K_DASH;
    case 0x2026:
        return K_ELLIPSIS;
    default:
        if (cp >= 0x2000 && cp <= 0x200A)
            return K_WS;
        return K_OTHER;
    }
}

/* Case fold of a code point below U+0800 (the fold never changes the encoded length). */
static uint32_t fold(uint32_t cp) {
    if (cp >= 'A' && cp <= 'Z')
        return cp + 32;
    if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7)
        return cp + 0x20;
    if (cp == 0x178)
        return 0xFF;
    if ((cp >= 0x100 && cp <= 0x12F) || (cp >= 0x132 && cp <= 0x137) ||
        (cp >= 0x14A && cp <= 0x177))
        return cp | 1;
    if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E))
        return (cp & 1) ? cp + 1 : cp;
    return cp;
}

/* The ASCII classes, for the fast path (the same as classify() gives). */
static const uchar ascii_kind[128] = {
    ['\t'] = K_WS,   ['\n'] = K_WS,   ['\v'] = K_WS,   ['\f'] = K_WS, ['\r'] = K_WS,
    [' '] = K_WS,    ['*'] = K_IGN,   ['_'] = K_IGN,   ['`'] = K_IGN, [':'] = K_PUNCT,
    [';'] = K_PUNCT, ['!'] = K_PUNCT, ['?'] = K_PUNCT,
};

typedef struct nstate {
    uchar *out;
    uint32_t *m32;
    size_t *m64;
    size_t len;
    size_t ppos;  /* where the pending run of white space began */
    int pending;  /* a run of white space waits for the next character */
    int suppress; /* after « or ‹: white space is dropped */
} nstate;

static void put(nstate *st, uchar c, size_t pos) {
    st->out[st->len] = c;
    if (st->m32)
        st->m32[st->len] = (uint32_t)pos;
    if (st->m64)
        st->m64[st->len] = pos;
    st->len++;
}

/* Before a visible character: the pending space, unless dropped (or at the very start). */
static void flush_space(nstate *st, int drop) {
    if (st->pending && !drop && st->len)
        put(st, ' ', st->ppos);
    st->pending = 0;
    st->suppress = 0;
}

size_t anchor__normalize(const uchar *s, size_t n, uchar *out, uint32_t *m32, size_t *m64) {
    nstate st = {out, m32, m64, 0, 0, 0, 0};
    size_t i = 0;
    while (i < n) {
        uchar c = s[i];
        if (c < 0x80) {
            switch (ascii_kind[c]) {
            case K_WS:
                if (!st.suppress && !st.pending) {
                    st.pending = 1;
                    st.ppos = i;
                }
                break;
            case K_IGN:
                break;
            case K_PUNCT:
                flush_space(&st, 1);
                put(&st, c, i);
                break;
            default:
                flush_space(&st, 0);
                put(&st, (c >= 'A' && c <= 'Z') ? (uchar)(c + 32) : c, i);
                break;
            }
            i++;
            continue;
        }
        uint32_t cp;
        size_t k = u8_seq(s + i, n - i, &cp);
        if (k == 0) {
            flush_space(&st, 0);
            put(&st, c, i);
            i++;
            continue;
        }
        switch (classify(cp)) {
        case K_WS:
            if (!st.suppress && !st.pending) {
                st.pending = 1;
                st.ppos = i;
            }
            break;
        case K_IGN:
            break;
        case K_OPEN:
            flush_space(&st, 0);
            put(&st, '"', i);
            st.suppress = 1;
            break;
        case K_CLOSE:
            flush_space(&st, 1);
            put(&st, '"', i);
            break;
        case K_APOS:
            flush_space(&st, 0);
            put(&st, '\'', i);
            break;
        case K_DQUOTE:
            flush_space(&st, 0);
            put(&st, '"', i);
            break;
        case K_DASH:
            flush_space(&st, 0);
            put(&st, '-', i);
            break;
        case K_ELLIPSIS:
            flush_space(&st, 0);
            put(&st, '.', i);
            put(&st, '.', i);
            put(&st, '.', i);
            break;
        default:
            flush_space(&st, 0);
            if (k == 2) {
                uint32_t f = fold(cp);
                put(&st, (uchar)(0xC0 | (f >> 6)), i);
                put(&st, (uchar)(0x80 | (f & 0x3F)), i);
            } else {
                for (size_t j = 0; j < k; j++)
                    put(&st, s[i + j], i);
            }
            break;
        }
        i += k;
    }
    return st.len;
}

size_t anchor_normalize(const char *s, size_t n, char *out, size_t *map) {
    if (!s || !out || n == 0)
        return 0;
    return anchor__normalize((const uchar *)s, n, (uchar *)out, NULL, map);
}

/* ---- stripping and elision -------------------------------------------------------------- */

static int strip_unit(uint32_t cp) {
    switch (classify(cp)) {
    case K_WS:
    case K_IGN:
    case K_OPEN:
    case K_CLOSE:
    case K_APOS:
    case K_DQUOTE:
    case K_ELLIPSIS:
        return 1;
    default:
        return cp == '"' || cp == '\'';
    }
}

/* Length of an ellipsis marker at s[0..n): "…", three or more dots, or either in [ ] or ( ).
 * 0 when there is none. */
static size_t ellipsis_at(const uchar *s, size_t n) {
    size_t k = 0;
    if (n >= 3 && s[0] == 0xE2 && s[1] == 0x80 && s[2] == 0xA6)
        return 3;
    while (k < n && s[k] == '.')
        k++;
    if (k >= 3)
        return k;
    if (n >= 2 && (s[0] == '[' || s[0] == '(')) {
        uchar close = s[0] == '[' ? ']' : ')';
        size_t e = ellipsis_at(s + 1, n - 1);
        if (e && 1 + e < n && s[1 + e] == close)
            return e + 2;
    }
    return 0;
}

/* Length of an ellipsis marker that ends at s[n] (exclusive), 0 when none. */
static size_t ellipsis_before(const uchar *s, size_t n) {
    if (n >= 3 && s[n - 3] == 0xE2 && s[n - 2] == 0x80 && s[n - 1] == 0xA6)
        return 3;
    size_t k = 0;
    while (k < n && s[n - 1 - k] == '.')
        k++;
    if (k >= 3)
        return k;
    if (n >= 2 && (s[n - 1] == ']' || s[n - 1] == ')')) {
        uchar open = s[n - 1] == ']' ? '[' : '(';
        size_t e = ellipsis_before(s, n - 1);
        if (e && e + 1 < n && s[n - 2 - e] == open)
            return e + 2;
    }
    return 0;
}

static void strip_range(const uchar *q, size_t *pa, size_t *pb) {
    size_t a = *pa, b = *pb;
    for (;;) {
        size_t a0 = a, b0 = b;
        while (a < b) {
            uint32_t cp;
            size_t k = u8_seq(q + a, b - a, &cp);
            if (k && strip_unit(cp)) {
                a += k;
                continue;
            }
            size_t e = ellipsis_at(q + a, b - a);
            if (!e)
                break;
            a += e;
        }
        while (a < b) {
            size_t u = unit_before(q, a, b);
            uint32_t cp;
            if (u8_seq(q + u, b - u, &cp) == b - u && strip_unit(cp)) {
                b = u;
                continue;
            }
            size_t e = ellipsis_before(q + a, b - a);
            if (!e)
                break;
            b -= e;
        }
        if (a == a0 && b == b0)
            break;
    }
    *pa = a;
    *pb = b;
}

size_t anchor__count_units(const uchar *s, size_t n) {
    size_t units = 0;
    for (size_t i = 0; i < n; units++)
        i += anchor__unit_len(s + i, n - i);
    return units;
}

size_t anchor_strip_quote(const char *quote, size_t qlen, size_t *off, size_t *len) {
    size_t a = 0, b = quote ? qlen : 0;
    if (b)
        strip_range((const uchar *)quote, &a, &b);
    if (off)
        *off = a;
    if (len)
        *len = b - a;
    return b > a ? anchor__count_units((const uchar *)quote + a, b - a) : 0;
}

/* Cuts q[0..n) at its elisions into at most ANCHOR_MAX_PARTS stripped, non-empty parts.
 * Returns how many. */
size_t anchor__split_parts(const uchar *q, size_t n, part *parts) {
    size_t np = 0, from = 0, i = 0;
    while (i < n) {
        size_t e = np + 1 < ANCHOR_MAX_PARTS ? ellipsis_at(q + i, n - i) : 0;
        if (!e) {
            i += anchor__unit_len(q + i, n - i);
            continue;
        }
        size_t a = from, b = i;
        strip_range(q, &a, &b);
        if (b > a) {
            parts[np].s = q + a;
            parts[np].n = b - a;
            np++;
        }
        i += e;
        from = i;
    }
    size_t a = from, b = n;
    strip_range(q, &a, &b);
    if (b > a) {
        parts[np].s = q + a;
        parts[np].n = b - a;
        np++;
    }
    return np;
}

/* ---- the document --------------------------------------------------------------------- */

anchor_doc *anchor_doc_new(const char *doc, size_t len) {
    if ((!doc && len) || len > ANCHOR_DOC_MAX)
        return NULL;
    anchor_doc *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->len = len;
    d->doc = malloc(len + 1);
    d->norm = malloc(len ? len : 1);
    d->map = malloc((len ? len : 1) * sizeof *d->map);
    if (!d->doc || !d->norm || !d->map)
        goto err;
    if (len)
        memcpy(d->doc, doc, len);
    d->doc[len] = 0;

    size_t lf = 0;
    for (const uchar *p = d->doc, *end = d->doc + len; (p = memchr(p, '\n', (size_t)(end - p)));
         p++)
        lf++;
    d->nstarts = lf + 1;
    d->starts = malloc(d->nstarts * sizeof *d->starts);
    if (!d->starts)
        goto err;
    d->starts[0] = 0;
    size_t k = 1;
    for (size_t i = 0; i < len; i++) {
        uchar c = d->doc[i];
        d->hist_raw[c]++;
        if (c == '\n')
            d->starts[k++] = i + 1;
    }
    d->nlines = (long)(len == 0 ? 0 : (d->doc[len - 1] == '\n' ? lf : lf + 1));

    d->nlen = anchor__normalize(d->doc, len, d->norm, d->map, NULL);
    for (size_t i = 0; i < d->nlen; i++)
        d->hist_norm[d->norm[i]]++;
    return d;
err:
    anchor_doc_free(d);
    return NULL;
}

void anchor_doc_free(anchor_doc *d) {
    if (!d)
        return;
    free(d->doc);
    free(d->norm);
    free(d->map);
    free(d->starts);
    free(d);
}

size_t anchor_doc_length(const anchor_doc *d) {
    return d ? d->len : 0;
}

long anchor_doc_lines(const anchor_doc *d) {
    return d ? d->nlines : 0;
}

int anchor_doc_position(const anchor_doc *d, size_t off, long *line, long *col) {
    if (!d)
        return ANCHOR_EINVAL;
    int rc = ANCHOR_OK;
    if (off > d->len) {
        off = d->len;
        rc = ANCHOR_EINVAL;
    }
    size_t lo = 0, hi = d->nstarts; /* the last start <= off */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (d->starts[mid] <= off)
            lo = mid;
        else
            hi = mid;
    }
    if (line)
        *line = (long)lo;
    if (col)
        *col = (long)(off - d->starts[lo]);
    return rc;
}

/* First index of norm whose map is >= off (nlen when none). */
size_t anchor__norm_index(const anchor_doc *d, size_t off) {
    size_t lo = 0, hi = d->nlen;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (d->map[mid] < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}
