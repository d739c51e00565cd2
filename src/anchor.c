/* anchor: find a note's quoted words in the document.  See include/ami/anchor.h.
 *
 * What anchor_doc_new() builds, once per document:
 *   doc    a copy of the bytes (tier 1 searches it; ranges index it);
 *   norm   the normalized text (tier 2 and 3 search it), never longer than doc;
 *   map    for each byte of norm, the offset in doc of the character it comes from: a range
 *          [a, b) of norm maps back to [map[a], end of the character at map[b - 1]);
 *   lines  the offset where each line starts (after every LF);
 *   hist   byte counts of doc and of norm: the search looks for the quote's rarest byte.
 *
 * How one quote is searched (anchor_find):
 *
 *     strip ─► empty? ─────────────────────────────────────────────► unanchored (empty)
 *       │
 *       ├─ fewer than 3 code points ─► exactly one occurrence in the passage? ─► exact / ambiguous
 *       │
 *       ├─ tier 1 in the passage ─► tier 2 in the passage ─► tiers 1 and 2 around it, widening
 *       │   (4 KiB, 8 KiB, … on each side; the first round that finds one ends the search)
 *       │
 *       ├─ an elision inside? ─► parts in order (exact, then fuzzy) ─► found / unanchored
 *       │
 *       └─ tier 3: Myers over passage ± 2 KiB ─► Myers over the whole document ─► found / not
 *
 * The exact searches (finder_*) look for the quote's rarest byte with memchr and compare from
 * there.  On ordinary text that skips most of the document at memchr speed; on a hostile one
 * (a document of "aaaa…" and a quote "aaa…ab") the comparisons would cost O(n m), so after
 * comparing about twice as many bytes as the region holds the finder switches to
 * Knuth–Morris–Pratt for the rest: linear in every case.
 *
 * Tier 3 is Myers' bit-parallel approximate string matching (G. Myers, "A fast bit-vector
 * algorithm for approximate string matching based on dynamic programming", JACM 1999), in
 * the block form of H. Hyyrö (2003) as used by edlib: the quote is the pattern, one 64-bit
 * word per 64 bytes; the document is scanned once and gives, for each end position, the
 * smallest edit distance of the quote to a substring ending there.  The start of the best
 * window is found by running the same algorithm backwards from its end, anchored there.
 */
#include "ami/anchor.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NONE SIZE_MAX

typedef unsigned char uchar;

struct anchor_doc {
    uchar *doc;
    size_t len;
    uchar *norm;
    uint32_t *map;
    size_t nlen;
    size_t *starts; /* line starts: 0 and the offset after every LF */
    size_t nstarts;
    long nlines;
    size_t hist_raw[256];
    size_t hist_norm[256];
};

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
static size_t unit_len(const uchar *s, size_t n) {
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
static int on_boundary(const uchar *s, size_t n, size_t p) {
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

static size_t normalize(const uchar *s, size_t n, uchar *out, uint32_t *m32, size_t *m64) {
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
    return normalize((const uchar *)s, n, (uchar *)out, NULL, map);
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

static size_t count_units(const uchar *s, size_t n) {
    size_t units = 0;
    for (size_t i = 0; i < n; units++)
        i += unit_len(s + i, n - i);
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
    return b > a ? count_units((const uchar *)quote + a, b - a) : 0;
}

typedef struct part {
    const uchar *s; /* raw bytes, stripped */
    size_t n;
    uchar *nq; /* normalized */
    size_t nn;
} part;

/* Cuts q[0..n) at its elisions into at most ANCHOR_MAX_PARTS stripped, non-empty parts.
 * Returns how many. */
static size_t split_parts(const uchar *q, size_t n, part *parts) {
    size_t np = 0, from = 0, i = 0;
    while (i < n) {
        size_t e = np + 1 < ANCHOR_MAX_PARTS ? ellipsis_at(q + i, n - i) : 0;
        if (!e) {
            i += unit_len(q + i, n - i);
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

    d->nlen = normalize(d->doc, len, d->norm, d->map, NULL);
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
static size_t norm_index(const anchor_doc *d, size_t off) {
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

/* ---- exact search ----------------------------------------------------------------------- */

/* A haystack: the document's bytes (tier 1) or its normalized text (tier 2). */
typedef struct hay {
    const anchor_doc *d;
    const uchar *s;
    size_t len;
    const size_t *hist;
    int norm;
} hay;

static hay hay_raw(const anchor_doc *d) {
    hay h = {d, d->doc, d->len, d->hist_raw, 0};
    return h;
}

static hay hay_norm(const anchor_doc *d) {
    hay h = {d, d->norm, d->nlen, d->hist_norm, 1};
    return h;
}

/* Is [s, s + m) of h a whole number of units?  (Raw: on UTF-8 boundaries.  Normalized: the
 * first and last bytes begin and end characters of the document, so "..." never matches the
 * end of a "…".) */
static int whole(const hay *h, size_t s, size_t m) {
    if (!h->norm)
        return on_boundary(h->s, h->len, s) && on_boundary(h->s, h->len, s + m);
    const uint32_t *map = h->d->map;
    return (s == 0 || map[s] != map[s - 1]) && (s + m >= h->len || map[s + m] != map[s + m - 1]);
}

/* The original range of an occurrence [s, s + m) of h. */
static void orig_range(const hay *h, size_t s, size_t m, size_t *os, size_t *oe) {
    if (!h->norm) {
        *os = s;
        *oe = s + m;
        return;
    }
    const anchor_doc *d = h->d;
    size_t last = d->map[s + m - 1];
    *os = d->map[s];
    *oe = last + unit_len(d->doc + last, d->len - last);
}

typedef struct finder {
    const uchar *h;
    size_t hi;
    const uchar *p;
    size_t m, ri;
    size_t pos;    /* rare-byte mode: next start; KMP mode: next text byte */
    size_t budget; /* bytes the rare-byte mode may still compare */
    size_t *fail;
    size_t q;
    int kmp;
} finder;

/* Index of the byte of p that is rarest in the haystack. */
static size_t rarest(const hay *h, const uchar *p, size_t m) {
    size_t best = 0;
    for (size_t i = 1; i < m; i++)
        if (h->hist[p[i]] < h->hist[p[best]])
            best = i;
    return best;
}

static void finder_init(finder *f, const uchar *h, size_t lo, size_t hi, const uchar *p, size_t m,
                        size_t ri) {
    f->h = h;
    f->hi = hi;
    f->p = p;
    f->m = m;
    f->ri = ri;
    f->pos = lo;
    f->budget = 2 * (hi > lo ? hi - lo : 0) + 4 * m + 64;
    f->fail = NULL;
    f->q = 0;
    f->kmp = 0;
}

static void finder_done(finder *f) {
    free(f->fail);
    f->fail = NULL;
}

static int start_kmp(finder *f) {
    size_t m = f->m;
    f->fail = malloc(m * sizeof *f->fail);
    if (!f->fail)
        return 0;
    f->fail[0] = 0;
    for (size_t i = 1, k = 0; i < m; i++) {
        while (k > 0 && f->p[i] != f->p[k])
            k = f->fail[k - 1];
        if (f->p[i] == f->p[k])
            k++;
        f->fail[i] = k;
    }
    f->kmp = 1;
    f->q = 0;
    return 1;
}

/* The next start s (ascending) with h[s, s + m) == p inside [lo, hi), or NONE. */
static size_t finder_next(finder *f) {
    const size_t m = f->m;
    if (m == 0 || f->hi < m)
        return NONE;
    if (!f->kmp) {
        while (f->pos + m <= f->hi) {
            const uchar *q = memchr(f->h + f->pos + f->ri, f->p[f->ri], f->hi - m - f->pos + 1);
            if (!q) {
                f->pos = f->hi;
                return NONE;
            }
            size_t s = (size_t)(q - f->h) - f->ri, k = 0;
            while (k < m && f->h[s + k] == f->p[k])
                k++;
            f->pos = s + 1;
            if (k == m)
                return s;
            if (k + 1 < f->budget) {
                f->budget -= k + 1;
            } else if (start_kmp(f)) {
                break; /* KMP goes on from text byte s + 1 */
            } else {
                f->budget = NONE; /* no memory for the table: stay in this mode */
            }
        }
        if (!f->kmp)
            return NONE;
    }
    for (size_t i = f->pos; i < f->hi; i++) {
        while (f->q > 0 && f->h[i] != f->p[f->q])
            f->q = f->fail[f->q - 1];
        if (f->h[i] == f->p[f->q])
            f->q++;
        if (f->q == m) {
            f->q = f->fail[m - 1];
            f->pos = i + 1;
            return i + 1 - m;
        }
    }
    f->pos = f->hi;
    return NONE;
}

/* Occurrences of p lying inside h[lo, hi) that are whole (see whole()): the first one in
 * *first (NONE when none), the last in *last (may be NULL), and their number up to limit. */
static size_t scan(const hay *h, const uchar *p, size_t m, size_t lo, size_t hi, size_t limit,
                   size_t *first, size_t *last) {
    *first = NONE;
    if (last)
        *last = NONE;
    if (hi > h->len)
        hi = h->len;
    if (m == 0 || lo >= hi || hi - lo < m)
        return 0;
    finder f;
    finder_init(&f, h->s, lo, hi, p, m, rarest(h, p, m));
    size_t count = 0, s;
    while (count < limit && (s = finder_next(&f)) != NONE) {
        if (!whole(h, s, m))
            continue;
        if (*first == NONE)
            *first = s;
        if (last)
            *last = s;
        count++;
    }
    finder_done(&f);
    return count;
}

/* ---- matching context ----------------------------------------------------------------- */

typedef struct ctx {
    const anchor_doc *d;
    int has_passage;
    size_t ops, ope; /* the passage in the document */
    size_t nps, npe; /* the passage in the normalized text */
} ctx;

/* A found range. */
typedef struct match {
    int found;
    anchor_tier tier;
    size_t s, e; /* in the document */
    size_t dist; /* edit distance (tier 3) */
    size_t m;    /* normalized length, for the similarity */
    size_t away; /* bytes between the range and the passage */
    int repeated;
} match;

static size_t gap(size_t a, size_t b, size_t t0, size_t t1) {
    if (b <= t0)
        return t0 - b;
    if (a >= t1)
        return a - t1;
    return 0;
}

static void set_match(const ctx *c, match *mt, const hay *h, size_t s, size_t m) {
    mt->found = 1;
    mt->tier = h->norm ? ANCHOR_TIER_NORMALIZED : ANCHOR_TIER_BYTES;
    orig_range(h, s, m, &mt->s, &mt->e);
    mt->dist = 0;
    mt->away = c->has_passage ? gap(mt->s, mt->e, c->ops, c->ope) : 0;
}

/* The passage of h, widened so that any occurrence overlapping it lies inside. */
static void passage_text(const ctx *c, const hay *h, size_t m, size_t *lo, size_t *hi) {
    size_t ps = h->norm ? c->nps : c->ops, pe = h->norm ? c->npe : c->ope;
    *lo = ps >= m ? ps - m + 1 : 0;
    *hi = m - 1 < h->len - pe ? pe + m - 1 : h->len;
}

/* First occurrence overlapping the passage (or, without one, in the whole text). */
static void in_passage(const ctx *c, const hay *h, const uchar *p, size_t m, match *mt) {
    size_t lo = 0, hi = h->len, first;
    if (c->has_passage)
        passage_text(c, h, m, &lo, &hi);
    size_t n = scan(h, p, m, lo, hi, 2, &first, NULL);
    if (n) {
        set_match(c, mt, h, first, m);
        mt->repeated = n > 1;
    }
}

/* The occurrence nearest to the passage, outside it: rounds of doubling width on each side;
 * the first round that finds anything decides. */
static void around_passage(const ctx *c, const hay *h, const uchar *p, size_t m, match *mt) {
    size_t ps = h->norm ? c->nps : c->ops, pe = h->norm ? c->npe : c->ope, len = h->len;
    if (m > len)
        return;
    size_t dprev = 0, d = 4096;
    for (;;) {
        /* Before: starts s with s + m <= ps and ps - (s + m) in [dprev, d). */
        size_t bs = NONE, as = NONE, first, last;
        int before_left = 0, after_left = 0;
        if (ps >= m + dprev) {
            size_t shi = ps - m - dprev; /* the highest start */
            size_t slo = ps >= m + d - 1 ? ps - m - d + 1 : 0;
            if (scan(h, p, m, slo, shi + m, NONE, &first, &last))
                bs = last;
            before_left = slo > 0;
        }
        /* After: starts s >= pe with s - pe in [dprev, d). */
        if (pe + dprev + m <= len) {
            size_t slo = pe + dprev, shi = pe + d - 1;
            if (shi > len - m)
                shi = len - m;
            if (scan(h, p, m, slo, shi + m, 1, &first, NULL))
                as = first;
            after_left = shi < len - m;
        }
        if (bs != NONE || as != NONE) {
            match b = {0}, a = {0};
            if (bs != NONE)
                set_match(c, &b, h, bs, m);
            if (as != NONE)
                set_match(c, &a, h, as, m);
            *mt = (bs != NONE && (as == NONE || b.away <= a.away)) ? b : a;
            mt->repeated = bs != NONE && as != NONE;
            return;
        }
        if (!before_left && !after_left)
            return;
        dprev = d;
        d = d <= len ? 2 * d : len + 1;
    }
}

/* ---- approximate search (Myers) --------------------------------------------------------- */

typedef struct myers {
    size_t m, w;
    uint64_t last; /* the bit of row m in the last word */
    uint64_t *peq; /* 256 × w */
    uint64_t *pv, *mv;
    long *score; /* banded scan: the score at the bottom row of each word */
    size_t y;    /* banded scan: the last word computed (Ukkonen's cut-off) */
} myers;

static int myers_init(myers *M, const uchar *p, size_t m, int reversed) {
    M->m = m;
    M->w = (m + 63) / 64;
    M->last = (uint64_t)1 << ((m - 1) % 64);
    M->peq = calloc(256 * M->w + 3 * M->w, sizeof *M->peq);
    if (!M->peq)
        return 0;
    M->pv = M->peq + 256 * M->w;
    M->mv = M->pv + M->w;
    M->score = (long *)(void *)(M->mv + M->w); /* a long fits in a uint64_t slot */
    M->y = 0;
    for (size_t i = 0; i < m; i++) {
        uchar ch = reversed ? p[m - 1 - i] : p[i];
        M->peq[(size_t)ch * M->w + i / 64] |= (uint64_t)1 << (i % 64);
    }
    return 1;
}

/* Rows of word b (64, or what is left for the last one). */
static size_t myers_rows(const myers *M, size_t b) {
    return b + 1 == M->w ? M->m - 64 * b : 64;
}

/* The first column (D[i][0] = i); with k, the words a banded scan starts with. */
static void myers_reset(myers *M, size_t k) {
    for (size_t b = 0; b < M->w; b++) {
        M->pv[b] = ~(uint64_t)0;
        M->mv[b] = 0;
        M->score[b] = (long)(64 * b + myers_rows(M, b));
    }
    M->y = (k + 1 + 63) / 64;
    M->y = (M->y < M->w ? M->y : M->w) - 1;
}

/* Word b of the column for a text byte whose match bits there are eq, with hin (-1, 0, +1)
 * entering at its top; returns the change at its bottom row (row m for the last word). */
static int myers_block(myers *M, size_t b, uint64_t eq, int hin) {
    uint64_t pv = M->pv[b], mv = M->mv[b];
    uint64_t xv = eq | mv;
    if (hin < 0)
        eq |= 1;
    uint64_t xh = (((eq & pv) + pv) ^ pv) | eq;
    uint64_t ph = mv | ~(xh | pv);
    uint64_t mh = pv & xh;
    uint64_t bit = b + 1 == M->w ? M->last : (uint64_t)1 << 63;
    int hout = (ph & bit) ? 1 : (mh & bit) ? -1 : 0;
    ph <<= 1;
    mh <<= 1;
    if (hin < 0)
        mh |= 1;
    else if (hin > 0)
        ph |= 1;
    M->pv[b] = mh | ~(xv | ph);
    M->mv[b] = ph & xv;
    return hout;
}

/* One text byte, every word: returns the change of the score at row m.  global: the
 * alignment starts at the first text byte (a +1 enters the top row), else anywhere (0). */
static int myers_step(myers *M, uchar ch, int global) {
    const uint64_t *eqs = M->peq + (size_t)ch * M->w;
    int hin = global;
    for (size_t b = 0; b < M->w; b++)
        hin = myers_block(M, b, eqs[b], hin);
    return hin;
}

/* One text byte of a semi-global scan with Ukkonen's cut-off (as in Myers 1999, section 5,
 * and edlib): only words 0..y are computed, y grows by one when the bottom of word y could
 * still be within k, and shrinks while a word's bottom score is k + its rows or more (then
 * none of its cells is below k).  Returns the score at row m, or k + 1 when the last word
 * is not computed (the score is then above k). */
static size_t myers_band_step(myers *M, uchar ch, size_t k) {
    const uint64_t *eqs = M->peq + (size_t)ch * M->w;
    long *score = M->score, lk = (long)k;
    size_t y = M->y;
    int hin = 0;
    for (size_t b = 0; b <= y; b++) {
        hin = myers_block(M, b, eqs[b], hin);
        score[b] += hin;
    }
    if (y + 1 < M->w && score[y] - hin <= lk && ((eqs[y + 1] & 1) || hin < 0)) {
        y++;
        M->pv[y] = ~(uint64_t)0;
        M->mv[y] = 0;
        score[y] = score[y - 1] - hin + (long)myers_rows(M, y) + myers_block(M, y, eqs[y], hin);
    } else {
        while (y > 0 && score[y] >= lk + (long)myers_rows(M, y))
            y--;
    }
    M->y = y;
    return y + 1 == M->w && score[y] <= lk ? (size_t)score[y] : k + 1;
}

/* Runs the forward (semi-global) scan over t[j..hi) until the score drops to k or below:
 * returns that index (the score after its byte is in *score), or hi.  The hot loop of tier
 * 3: a quote of up to 64 bytes keeps its two bit vectors in registers. */
static size_t myers_run(myers *M, const uchar *t, size_t j, size_t hi, size_t k, size_t *score) {
    size_t sc = *score;
    if (M->w == 1) {
        const uint64_t *peq = M->peq, last = M->last;
        uint64_t pv = M->pv[0], mv = M->mv[0];
        for (; j < hi; j++) {
            uint64_t eq = peq[t[j]];
            uint64_t xv = eq | mv;
            uint64_t xh = (((eq & pv) + pv) ^ pv) | eq;
            uint64_t ph = mv | ~(xh | pv);
            uint64_t mh = pv & xh;
            sc += (ph & last) != 0;
            sc -= (mh & last) != 0;
            ph <<= 1;
            mh <<= 1;
            pv = mh | ~(xv | ph);
            mv = ph & xv;
            if (sc <= k)
                break;
        }
        M->pv[0] = pv;
        M->mv[0] = mv;
    } else {
        for (; j < hi; j++) {
            sc = myers_band_step(M, t[j], k);
            if (sc <= k)
                break;
        }
    }
    *score = sc;
    return j;
}

/* One step of Myers' recurrence for a one-word pattern, without the score (peq in scope). */
#define MYERS1(pv, mv, ch)                                                                         \
    do {                                                                                           \
        uint64_t eq_ = peq[ch], xv_ = eq_ | (mv);                                                  \
        uint64_t xh_ = (((eq_ & (pv)) + (pv)) ^ (pv)) | eq_;                                       \
        uint64_t ph_ = ((mv) | ~(xh_ | (pv))) << 1, mh_ = ((pv)&xh_) << 1;                         \
        (pv) = mh_ | ~(xv_ | ph_);                                                                 \
        (mv) = ph_ & xv_;                                                                          \
    } while (0)

static unsigned popcount64(uint64_t x) {
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
    return (unsigned)((x * 0x0101010101010101ULL) >> 56);
}

/* The score at row m of a semi-global column: D[0] is 0, so D[m] is the sum of the vertical
 * deltas, +1 for each bit of pv and -1 for each bit of mv in rows 1..m. */
static long col_score(uint64_t pv, uint64_t mv, uint64_t rows) {
    return (long)popcount64(pv & rows) - (long)popcount64(mv & rows);
}

/* Spans of end indices [a, b] where a fuzzy hit may be (myers_hits finds them, the exact
 * pass looks only there).  Past SPANS_MAX (memory is bounded) or when out of memory, they
 * become one span from the first to the last: slower, never wrong. */
#define SPANS_MAX 65536
typedef struct hit_span {
    size_t a, b;
} hit_span;
typedef struct spans {
    hit_span *v;
    size_t n, cap;
    size_t min, max;
    int whole; /* one span [min, max] */
} spans;

static void note_hits(spans *S, size_t a, size_t b) {
    if (S->min == NONE || a < S->min)
        S->min = a;
    if (S->max == NONE || b > S->max)
        S->max = b;
    if (S->whole)
        return;
    if (S->n && S->v[S->n - 1].b + 1 >= a && S->v[S->n - 1].a <= a) {
        if (b > S->v[S->n - 1].b)
            S->v[S->n - 1].b = b;
        return;
    }
    if (S->n == S->cap) {
        size_t cap = S->cap ? 2 * S->cap : 64;
        hit_span *v = cap <= SPANS_MAX ? realloc(S->v, cap * sizeof *v) : NULL;
        if (!v) {
            S->whole = 1;
            return;
        }
        S->v = v;
        S->cap = cap;
    }
    S->v[S->n].a = a;
    S->v[S->n].b = b;
    S->n++;
}

static int cmp_span(const void *x, const void *y) {
    const hit_span *a = x, *b = y;
    return (a->a > b->a) - (a->a < b->a);
}

/* Sorts and merges the spans; spans closer than join are joined (a rescan costs a warm-up of
 * m + k bytes, so nearer spans are cheaper as one). */
static void spans_finish(spans *S, size_t join) {
    if (S->whole || S->min == NONE) {
        S->n = 0;
        if (S->min != NONE && (S->v || (S->v = malloc(sizeof *S->v)))) {
            S->v[0].a = S->min;
            S->v[0].b = S->max;
            S->n = 1;
        }
        return;
    }
    qsort(S->v, S->n, sizeof *S->v, cmp_span);
    size_t w = 0;
    for (size_t i = 1; i < S->n; i++) {
        if (S->v[i].a <= S->v[w].b + join) {
            if (S->v[i].b > S->v[w].b)
                S->v[w].b = S->v[i].b;
        } else {
            S->v[++w] = S->v[i];
        }
    }
    S->n = w + 1;
}

#define CHECK_EVERY 8

/* Where the score may reach k or less in t[lo, hi) for a quote of one word (m <= 64): adds to
 * S spans that hold every end index where it does (they may be a little wider, never
 * narrower; an end index may be past hi - 1).  Two tricks make this the fastest loop of the module:
 *   - the text is cut into four pieces scanned in the same loop, so that their independent
 *     dependency chains overlap in the processor (Myers' recurrence is one long chain: about
 *     3.5 ns a byte alone).  Each piece starts m + k bytes early: a window with at most k
 *     edits is at most m + k bytes long, so from there on its score is the one of a single
 *     scan from lo;
 *   - the score is not kept up to date: it is read from the bit vectors (col_score) every
 *     CHECK_EVERY bytes.  It changes by at most 1 a byte, so a score above k + CHECK_EVERY
 *     rules out a hit in the next CHECK_EVERY bytes; otherwise they are marked. */
static void myers_hits(const myers *M, const uchar *t, size_t lo, size_t hi, size_t k, spans *S) {
    const uint64_t *peq = M->peq;
    const uint64_t rows = M->m == 64 ? ~(uint64_t)0 : (((uint64_t)1 << M->m) - 1);
    const long lk = (long)k, ahead = (long)k + CHECK_EVERY;
    size_t warm = M->m + k, piece = (hi - lo + 3) / 4;
    size_t beg[4], end[4], pos[4];
    uint64_t pv[4], mv[4];
    size_t common = NONE;
    for (int i = 0; i < 4; i++) {
        beg[i] = lo + (size_t)i * piece < hi ? lo + (size_t)i * piece : hi;
        end[i] = beg[i] + piece < hi ? beg[i] + piece : hi;
        pos[i] = beg[i] > lo + warm ? beg[i] - warm : lo;
        pv[i] = ~(uint64_t)0;
        mv[i] = 0;
        if (end[i] - pos[i] < common)
            common = end[i] - pos[i];
        /* The first CHECK_EVERY bytes: the score starts at m. */
        if ((long)M->m <= ahead && pos[i] + CHECK_EVERY > beg[i] && beg[i] < end[i])
            note_hits(S, beg[i], pos[i] + CHECK_EVERY);
    }
    common -= common % CHECK_EVERY;
    uint64_t pv0 = pv[0], pv1 = pv[1], pv2 = pv[2], pv3 = pv[3];
    uint64_t mv0 = mv[0], mv1 = mv[1], mv2 = mv[2], mv3 = mv[3];
    const uchar *t0 = t + pos[0], *t1 = t + pos[1], *t2 = t + pos[2], *t3 = t + pos[3];
    for (size_t n = 0; n < common; n += CHECK_EVERY) {
        for (size_t r = n; r < n + CHECK_EVERY; r++) {
            MYERS1(pv0, mv0, t0[r]);
            MYERS1(pv1, mv1, t1[r]);
            MYERS1(pv2, mv2, t2[r]);
            MYERS1(pv3, mv3, t3[r]);
        }
        long s0 = col_score(pv0, mv0, rows), s1 = col_score(pv1, mv1, rows);
        long s2 = col_score(pv2, mv2, rows), s3 = col_score(pv3, mv3, rows);
        if ((s0 <= ahead) | (s1 <= ahead) | (s2 <= ahead) | (s3 <= ahead)) {
            long sc[4] = {s0, s1, s2, s3};
            for (int i = 0; i < 4; i++) {
                /* The byte just read is pos + n + CHECK_EVERY - 1: a hit is possible there
                 * (score <= k) and in the next CHECK_EVERY bytes. */
                size_t j = pos[i] + n + CHECK_EVERY - 1;
                if (sc[i] <= ahead && j + CHECK_EVERY >= beg[i])
                    note_hits(S, j > beg[i] ? j : beg[i], j + CHECK_EVERY);
            }
        }
    }
    pv[0] = pv0, pv[1] = pv1, pv[2] = pv2, pv[3] = pv3;
    mv[0] = mv0, mv[1] = mv1, mv[2] = mv2, mv[3] = mv3;
    /* The rest of each piece, alone, checked at every byte. */
    for (int i = 0; i < 4; i++) {
        for (size_t j = pos[i] + common; j < end[i]; j++) {
            MYERS1(pv[i], mv[i], t[j]);
            if (j >= beg[i] && col_score(pv[i], mv[i], rows) <= lk)
                note_hits(S, j, j);
        }
    }
}

typedef struct best_window {
    size_t score, gap, end; /* the best so far (score NONE: none) */
    int in_run;             /* the last end index looked at extends the best window */
} best_window;

/* The exact pass over the end indices [a, b] of norm, starting m + k bytes before a (or at
 * lo): for each end with a score of k or less, keeps the best (see fuzzy_window). */
static void scan_span(myers *M, const uchar *t, size_t lo, size_t a, size_t b, size_t k, size_t t0,
                      size_t t1, best_window *B) {
    size_t m = M->m, from = a > lo + m + k ? a - m - k : lo, score = m;
    if (a > b)
        return;
    myers_reset(M, k);
    B->in_run = 0;
    for (size_t j = from; j <= b; j++) {
        size_t at = myers_run(M, t, j, b + 1, k, &score);
        if (at != j)
            B->in_run = 0; /* ends above k in between */
        j = at;
        if (j > b)
            break;
        if (j < a) /* warming up: not an end of this span */
            continue;
        size_t end = j + 1, g = gap(end > m ? end - m : 0, end, t0, t1);
        if (score < B->score || (score == B->score && g < B->gap)) {
            B->score = score;
            B->gap = g;
            B->end = end;
            B->in_run = 1;
        } else if (score == B->score && B->in_run && end == B->end + 1) {
            B->end = end; /* the same window, one byte longer: keep the longest */
        } else {
            B->in_run = 0;
        }
    }
}

/* The best window of norm[lo, hi) for the normalized quote q (m bytes) with at most k edits:
 * the smallest distance, then the smallest gap to [t0, t1), then the first.  Sets *ws, *we
 * (normalized offsets) and *dist; returns 0 none, 1 found, -1 out of memory. */
static int fuzzy_window(const anchor_doc *d, const uchar *q, size_t m, size_t k, size_t lo,
                        size_t hi, size_t t0, size_t t1, size_t *ws, size_t *we, size_t *dist) {
    if (hi > d->nlen)
        hi = d->nlen;
    if (lo >= hi || m == 0)
        return 0;
    myers M;
    if (!myers_init(&M, q, m, 0))
        return -1;
    const uchar *t = d->norm;
    best_window B = {NONE, NONE, NONE, 0};
    if (M.w == 1 && hi - lo > 4 * (m + k) + 256) {
        /* Find where hits may be with the fast scan, then look closely only there. */
        spans S = {NULL, 0, 0, NONE, NONE, 0};
        myers_hits(&M, t, lo, hi, k, &S);
        spans_finish(&S, 2 * (m + k));
        for (size_t i = 0; i < S.n; i++)
            scan_span(&M, t, lo, S.v[i].a, S.v[i].b < hi ? S.v[i].b : hi - 1, k, t0, t1, &B);
        int lost = S.min != NONE && S.n == 0; /* out of memory for even one span */
        free(S.v);
        if (lost) {
            free(M.peq);
            return -1;
        }
    } else {
        scan_span(&M, t, lo, lo, hi - 1, k, t0, t1, &B);
    }
    free(M.peq);
    if (B.score == NONE)
        return 0;
    size_t best = B.score, best_end = B.end;

    /* The start: the same quote reversed, aligned from the end backwards. */
    if (!myers_init(&M, q, m, 1))
        return -1;
    myers_reset(&M, m);
    size_t floor_ = best_end > m + best + lo ? best_end - m - best : lo;
    size_t sc = m, bsc = NONE, bt = 0;
    for (size_t j = best_end; j > floor_; j--) {
        sc = (size_t)((long long)sc + myers_step(&M, t[j - 1], 1));
        size_t len = best_end - (j - 1);
        size_t off = len > m ? len - m : m - len, boff = bt > m ? bt - m : m - bt;
        if (sc < bsc || (sc == bsc && off < boff)) {
            bsc = sc;
            bt = len;
        }
    }
    free(M.peq);
    *ws = best_end - bt;
    *we = best_end;
    *dist = best;
    return 1;
}

static int word_byte(uchar c) {
    return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z');
}

/* Moves a window edge that falls inside a word to the nearer end of that word, by at most
 * SNAP bytes, so that a fuzzy range covers whole words.  e is the edge (a boundary between
 * norm[e - 1] and norm[e]); returns the new edge. */
#define SNAP 24
static size_t snap(const anchor_doc *d, size_t e, size_t lo, size_t hi) {
    const uchar *t = d->norm;
    if (e <= lo || e >= hi || !word_byte(t[e - 1]) || !word_byte(t[e]))
        return e;
    size_t back = e, fwd = e;
    while (back > lo && e - back < SNAP && word_byte(t[back - 1]))
        back--;
    while (fwd < hi && fwd - e < SNAP && word_byte(t[fwd]))
        fwd++;
    int back_ok = back == lo || !word_byte(t[back - 1]);
    int fwd_ok = fwd == hi || !word_byte(t[fwd]);
    if (back_ok && (!fwd_ok || e - back <= fwd - e))
        return back;
    return fwd_ok ? fwd : e;
}

/* Turns a window of norm into a document range on whole characters, without the spaces at
 * its edges, its edges moved to word boundaries (see snap()).  Returns 0 when nothing is
 * left. */
static int window_range(const anchor_doc *d, size_t a, size_t b, size_t *os, size_t *oe) {
    size_t a2 = snap(d, a, 0, d->nlen), b2 = snap(d, b, 0, d->nlen);
    if (a2 < b2) {
        a = a2;
        b = b2;
    }
    while (a < b && d->norm[a] == ' ')
        a++;
    while (b > a && d->norm[b - 1] == ' ')
        b--;
    if (a >= b)
        return 0;
    while (a > 0 && d->map[a] == d->map[a - 1])
        a--;
    while (b < d->nlen && d->map[b] == d->map[b - 1])
        b++;
    size_t last = d->map[b - 1];
    *os = d->map[a];
    *oe = last + unit_len(d->doc + last, d->len - last);
    return 1;
}

static size_t fuzzy_k(size_t m) {
    return m * 15 / 100; /* 100 d <= 15 m */
}

static int fuzzy_ok(const uchar *nq, size_t nn) {
    return nn <= ANCHOR_FUZZY_MAX && count_units(nq, nn) >= ANCHOR_FUZZY_MIN;
}

/* Tier 3 in norm[lo, hi), preferring windows near [t0, t1) (normalized offsets). */
static int fuzzy_in(const ctx *c, const uchar *nq, size_t nn, size_t lo, size_t hi, size_t t0,
                    size_t t1, match *mt) {
    size_t ws, we, dist;
    int rc = fuzzy_window(c->d, nq, nn, fuzzy_k(nn), lo, hi, t0, t1, &ws, &we, &dist);
    if (rc <= 0)
        return rc;
    size_t os, oe;
    if (!window_range(c->d, ws, we, &os, &oe))
        return 0;
    mt->found = 1;
    mt->tier = ANCHOR_TIER_FUZZY;
    mt->s = os;
    mt->e = oe;
    mt->dist = dist;
    mt->m = nn;
    mt->away = c->has_passage ? gap(os, oe, c->ops, c->ope) : 0;
    return 1;
}

/* ---- one quote (or one part) ---------------------------------------------------------- */

/* Tiers 1 and 2 by the passage rule. */
static void find_exact(const ctx *c, const part *pt, match *mt) {
    hay raw = hay_raw(c->d), nrm = hay_norm(c->d);
    memset(mt, 0, sizeof *mt);
    in_passage(c, &raw, pt->s, pt->n, mt);
    if (!mt->found)
        in_passage(c, &nrm, pt->nq, pt->nn, mt);
    if (!mt->found && c->has_passage) {
        match a = {0}, b = {0};
        around_passage(c, &raw, pt->s, pt->n, &a);
        around_passage(c, &nrm, pt->nq, pt->nn, &b);
        if (a.found && (!b.found || a.away <= b.away))
            *mt = a;
        else if (b.found)
            *mt = b;
    }
    mt->m = pt->nn;
}

/* All tiers for a quote of ANCHOR_SHORT code points or more.  Returns 0 or -1 (memory). */
static int find_one(const ctx *c, const part *pt, int fuzzy, match *mt) {
    find_exact(c, pt, mt);
    if (mt->found || !fuzzy || !fuzzy_ok(pt->nq, pt->nn))
        return 0;
    const anchor_doc *d = c->d;
    if (c->has_passage) {
        size_t lo = norm_index(d, c->ops > ANCHOR_SURROUNDINGS ? c->ops - ANCHOR_SURROUNDINGS : 0);
        size_t hi = norm_index(d, c->ope + ANCHOR_SURROUNDINGS);
        int rc = fuzzy_in(c, pt->nq, pt->nn, lo, hi, c->nps, c->npe, mt);
        if (rc)
            return rc < 0 ? -1 : 0;
    }
    int rc = fuzzy_in(c, pt->nq, pt->nn, 0, d->nlen, c->nps, c->npe, mt);
    return rc < 0 ? -1 : 0;
}

/* A short quote: exactly one occurrence in the passage. */
static void find_short(const ctx *c, const part *pt, match *mt, anchor_reason *why) {
    hay raw = hay_raw(c->d), nrm = hay_norm(c->d);
    size_t lo = 0, hi = raw.len, first;
    memset(mt, 0, sizeof *mt);
    mt->m = pt->nn;
    if (c->has_passage)
        passage_text(c, &raw, pt->n, &lo, &hi);
    size_t n = scan(&raw, pt->s, pt->n, lo, hi, 2, &first, NULL);
    if (n == 1) {
        set_match(c, mt, &raw, first, pt->n);
        return;
    }
    if (n == 0) {
        lo = 0;
        hi = nrm.len;
        if (c->has_passage)
            passage_text(c, &nrm, pt->nn, &lo, &hi);
        n = scan(&nrm, pt->nq, pt->nn, lo, hi, 2, &first, NULL);
        if (n == 1) {
            set_match(c, mt, &nrm, first, pt->nn);
            return;
        }
    }
    *why = n ? ANCHOR_AMBIGUOUS : ANCHOR_NOT_FOUND;
}

/* ---- elision ---------------------------------------------------------------------------- */

/* A part inside the document window [lo, hi): with last == 0 the first occurrence, which must
 * start at most ANCHOR_ELISION_GAP bytes after lo; with last == 1 the last one, which must end
 * at most ANCHOR_ELISION_GAP bytes before hi.  Tier 1, else 2, else (fuzzy) 3.  Returns 0, or
 * -1 when out of memory. */
static int find_in_window(const ctx *c, const part *pt, size_t lo, size_t hi, int last, int fuzzy,
                          match *mt) {
    const anchor_doc *d = c->d;
    hay raw = hay_raw(d), nrm = hay_norm(d);
    memset(mt, 0, sizeof *mt);
    mt->m = pt->nn;
    if (hi > d->len)
        hi = d->len;
    if (lo >= hi)
        return 0;
    /* The exact tiers look only where the part may be: starting within the gap after lo, or
     * ending within the gap before hi. */
    size_t elo = lo, ehi = hi;
    if (!last && hi - lo > ANCHOR_ELISION_GAP)
        ehi = lo + ANCHOR_ELISION_GAP;
    if (last && hi - lo > ANCHOR_ELISION_GAP)
        elo = hi - ANCHOR_ELISION_GAP;
    size_t first, lst;
    for (int t = 0; t < 2 && !mt->found; t++) {
        const hay *h = t ? &nrm : &raw;
        const uchar *p = t ? pt->nq : pt->s;
        size_t m = t ? pt->nn : pt->n;
        size_t a, b;
        if (!last) { /* starts in [lo, ehi] */
            a = t ? norm_index(d, lo) : lo;
            b = (t ? norm_index(d, ehi) : ehi) + m;
            size_t cap = t ? norm_index(d, hi) : hi;
            b = b < cap ? b : cap;
        } else { /* ends in [elo, hi] */
            b = t ? norm_index(d, hi) : hi;
            size_t e = t ? norm_index(d, elo) : elo, floor_ = t ? norm_index(d, lo) : lo;
            a = e > floor_ + m ? e - m : floor_;
        }
        if (scan(h, p, m, a, b, last ? NONE : 1, &first, &lst))
            set_match(c, mt, h, last ? lst : first, m);
    }
    if (!mt->found && fuzzy && fuzzy_ok(pt->nq, pt->nn)) {
        size_t a = norm_index(d, lo), b = norm_index(d, hi), at = last ? b : a;
        if (fuzzy_in(c, pt->nq, pt->nn, a, b, at, at, mt) < 0)
            return -1;
    }
    if (mt->found &&
        ((!last && mt->s > lo + ANCHOR_ELISION_GAP) || (last && mt->e + ANCHOR_ELISION_GAP < hi)))
        mt->found = 0;
    return 0;
}

static size_t window_span(const part *pt) {
    return ANCHOR_ELISION_GAP + 2 * pt->n + 16;
}

/* Parts 1.. after a first part found at [s, e): each in the window after the one before.
 * Fills *mt with the whole range.  Returns 1 found, 0 not, -1 memory. */
static int chain(const ctx *c, const part *parts, size_t np, const match *head, int fuzzy,
                 match *mt) {
    *mt = *head;
    for (size_t i = 1; i < np; i++) {
        match nx;
        if (find_in_window(c, &parts[i], mt->e, mt->e + window_span(&parts[i]), 0, fuzzy, &nx))
            return -1;
        if (!nx.found)
            return 0;
        mt->e = nx.e;
        mt->dist += nx.dist;
        mt->m += nx.m;
        if (nx.tier > mt->tier)
            mt->tier = nx.tier;
    }
    mt->away = c->has_passage ? gap(mt->s, mt->e, c->ops, c->ope) : 0;
    return 1;
}

static int better(const match *a, const match *b) {
    if (!b->found)
        return 1;
    if (a->away != b->away)
        return a->away < b->away;
    return a->s < b->s;
}

static int find_elided(const ctx *c, const part *parts, size_t np, match *best) {
    const anchor_doc *d = c->d;
    memset(best, 0, sizeof *best);
    /* Every exact occurrence of the first part, both tiers. */
    for (int t = 0; t < 2; t++) {
        hay h = t ? hay_norm(d) : hay_raw(d);
        const uchar *p = t ? parts[0].nq : parts[0].s;
        size_t m = t ? parts[0].nn : parts[0].n;
        if (m == 0 || m > h.len)
            continue;
        finder f;
        finder_init(&f, h.s, 0, h.len, p, m, rarest(&h, p, m));
        size_t s, tried = 0;
        while (tried < ANCHOR_ELISION_HEADS && (s = finder_next(&f)) != NONE) {
            if (!whole(&h, s, m))
                continue;
            tried++;
            match head = {0}, mt;
            set_match(c, &head, &h, s, m);
            head.m = parts[0].nn;
            int rc = chain(c, parts, np, &head, 0, &mt);
            if (rc < 0) {
                finder_done(&f);
                return -1;
            }
            /* Heads that lead to the same end: the last (tightest) one is the match. */
            if (rc && (best->found && mt.e == best->e ? mt.s > best->s : better(&mt, best)))
                *best = mt;
        }
        finder_done(&f);
    }
    if (best->found)
        return 0;

    /* Then the first and last parts, fuzzy allowed: first part first, then last part first. */
    const part *p0 = &parts[0], *pl = &parts[np - 1];
    part two[2] = {*p0, *pl};
    match h, mt;
    if (count_units(p0->s, p0->n) >= ANCHOR_SHORT) {
        if (find_one(c, p0, 1, &h))
            return -1;
        if (h.found) {
            h.m = p0->nn;
            int rc = chain(c, two, 2, &h, 1, &mt);
            if (rc < 0)
                return -1;
            if (rc) {
                *best = mt;
                return 0;
            }
        }
    }
    if (count_units(pl->s, pl->n) >= ANCHOR_SHORT) {
        match tl;
        if (find_one(c, pl, 1, &tl))
            return -1;
        if (tl.found) {
            size_t span = window_span(p0), lo = tl.s > span ? tl.s - span : 0;
            if (find_in_window(c, p0, lo, tl.s, 1, 1, &h))
                return -1;
            if (h.found) {
                best->found = 1;
                best->s = h.s;
                best->e = tl.e;
                best->tier = h.tier > tl.tier ? h.tier : tl.tier;
                best->dist = h.dist + tl.dist;
                best->m = p0->nn + pl->nn;
                best->away = c->has_passage ? gap(best->s, best->e, c->ops, c->ope) : 0;
            }
        }
    }
    return 0;
}

/* ---- anchor_find -------------------------------------------------------------------------- */

/* Normalizes each part into one scratch block.  Returns the block (caller frees) or NULL. */
static uchar *normalize_parts(part *parts, size_t np) {
    size_t total = 0;
    for (size_t i = 0; i < np; i++)
        total += parts[i].n;
    uchar *block = malloc(total ? total : 1);
    if (!block)
        return NULL;
    uchar *at = block;
    for (size_t i = 0; i < np; i++) {
        parts[i].nq = at;
        parts[i].nn = normalize(parts[i].s, parts[i].n, at, NULL, NULL);
        at += parts[i].nn;
    }
    return block;
}

static void set_passage(ctx *c, long first, long last) {
    const anchor_doc *d = c->d;
    c->has_passage = 0;
    if (first < 1 || first > d->nlines)
        return;
    if (last < first)
        last = first;
    if (last > d->nlines)
        last = d->nlines;
    c->has_passage = 1;
    c->ops = d->starts[first - 1];
    c->ope = (size_t)last < d->nstarts ? d->starts[last] : d->len;
    c->nps = norm_index(d, c->ops);
    c->npe = norm_index(d, c->ope);
}

static void fill(const ctx *c, const match *mt, anchor_result *out) {
    out->tier = mt->tier;
    out->status = mt->tier == ANCHOR_TIER_FUZZY ? ANCHOR_APPROXIMATE : ANCHOR_EXACT;
    out->reason = ANCHOR_FOUND;
    out->start = mt->s;
    out->end = mt->e;
    out->distance = mt->dist;
    out->similarity = mt->m ? 1.0 - (double)mt->dist / (double)mt->m : 1.0;
    if (mt->repeated)
        out->flags |= ANCHOR_F_REPEATED;
    if (c->has_passage && mt->s < c->ope && mt->e > c->ops)
        out->flags |= ANCHOR_F_IN_PASSAGE;
}

int anchor_find(const anchor_doc *d, long first_line, long last_line, const char *quote,
                size_t qlen, anchor_result *out) {
    if (out) {
        memset(out, 0, sizeof *out);
        out->reason = ANCHOR_NOT_FOUND;
    }
    if (!d || !out || (!quote && qlen))
        return ANCHOR_EINVAL;
    ctx c = {d, 0, 0, 0, 0, 0};
    set_passage(&c, first_line, last_line);

    const uchar *q = (const uchar *)quote;
    size_t so, sl;
    size_t units = anchor_strip_quote(quote, qlen, &so, &sl);
    if (so != 0 || sl != qlen)
        out->flags |= ANCHOR_F_STRIPPED;
    if (sl == 0) {
        out->reason = ANCHOR_EMPTY;
        return ANCHOR_OK;
    }
    part parts[ANCHOR_MAX_PARTS + 1];
    parts[0].s = q + so;
    parts[0].n = sl;
    size_t np = split_parts(q + so, sl, parts + 1);
    uchar *block = normalize_parts(parts, np + 1);
    if (!block)
        return ANCHOR_ENOMEM;
    int rc = 0;
    match mt = {0};
    if (parts[0].nn == 0) {
        out->reason = ANCHOR_EMPTY;
    } else if (units < ANCHOR_SHORT) {
        out->flags |= ANCHOR_F_SHORT;
        find_short(&c, &parts[0], &mt, &out->reason);
    } else {
        rc = find_one(&c, &parts[0], np < 2, &mt);
        if (!rc && !mt.found && np >= 2) {
            rc = find_elided(&c, parts + 1, np, &mt);
            if (mt.found)
                out->flags |= ANCHOR_F_ELISION;
        }
    }
    free(block);
    if (rc < 0) {
        unsigned keep = out->flags & ANCHOR_F_STRIPPED;
        memset(out, 0, sizeof *out);
        out->flags = keep;
        out->reason = ANCHOR_NOT_FOUND;
        return ANCHOR_ENOMEM;
    }
    if (mt.found)
        fill(&c, &mt, out);
    return ANCHOR_OK;
}

const char *anchor_status_name(anchor_status s) {
    switch (s) {
    case ANCHOR_EXACT:
        return "exact";
    case ANCHOR_APPROXIMATE:
        return "approximate";
    default:
        return "unanchored";
    }
}

const char *anchor_tier_name(anchor_tier t) {
    switch (t) {
    case ANCHOR_TIER_BYTES:
        return "bytes";
    case ANCHOR_TIER_NORMALIZED:
        return "normalized";
    case ANCHOR_TIER_FUZZY:
        return "fuzzy";
    default:
        return "none";
    }
}

const char *anchor_reason_name(anchor_reason r) {
    switch (r) {
    case ANCHOR_FOUND:
        return "found";
    case ANCHOR_EMPTY:
        return "empty";
    case ANCHOR_AMBIGUOUS:
        return "ambiguous";
    default:
        return "not found";
    }
}
