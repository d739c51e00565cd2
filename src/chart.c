/* chart: text and SVG charts of usage.  See include/ami/chart.h.
 *
 * Every chart goes the same way: the labels, names and formatted values are first cleaned
 * (utf8_filter, then the characters that would break a line, reorder it or break XML become
 * U+FFFD) into one pool, with their display widths; the layout is computed from the widths;
 * then the lines (or the SVG elements) are written, each drawn piece recording its span.
 * This file holds everything up to the writing, which is src/chart_text.c's (the lines) and
 * src/chart_svg.c's (the SVG elements); src/chart_internal.h is what they share.
 *
 * Why it is shaped like this:
 *   - Widths are decided once, from the cleaned strings, so what is measured is what is
 *     written: a line can only exceed the width if the arithmetic below is wrong, which the
 *     fuzzer checks.
 *   - Numbers are built from integers (llround, then digits), never with printf's %f, whose
 *     decimal point depends on setlocale(): the CLI may run under a French locale, and an
 *     SVG coordinate "12,5" would not parse.
 *   - The SVG layout counts in tenths of a pixel, in integers, for the same reason.
 */
#include "chart_internal.h"

#include "ami/utf8.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NBSP  "\xC2\xA0"     /* U+00A0 no-break space */
#define NNBSP "\xE2\x80\xAF" /* U+202F narrow no-break space */

void chart_opts_default(chart_opts *o) {
    memset(o, 0, sizeof *o);
    o->width = CHART_DEFAULT_WIDTH;
    o->locale = CHART_EN;
    o->unit = CHART_MONEY;
    o->mode = CHART_SPLIT;
}

/* ---- code points and widths ------------------------------------------------------------- */

/* Decodes one code point at s (len >= 1 bytes).  Returns the bytes used; an ill-formed byte
 * gives *cp = U+FFFD and 1. */
static size_t decode(const unsigned char *s, size_t len, uint32_t *cp) {
    unsigned c = s[0];
    size_t need;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        need = 2, v = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3, v = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4, v = c & 0x07, min = 0x10000;
    } else {
        *cp = 0xFFFD;
        return 1;
    }
    if (len < need) {
        *cp = 0xFFFD;
        return 1;
    }
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *cp = 0xFFFD;
            return 1;
        }
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
        *cp = 0xFFFD;
        return 1;
    }
    *cp = v;
    return need;
}

typedef struct range {
    uint32_t lo, hi;
} range;

/* Zero width: combining marks (the common blocks), zero-width spaces and joiners, the bidi
 * marks, variation selectors, the BOM. */
static const range zero_width[] = {
    {0x0300, 0x036F},   {0x0483, 0x0489},   {0x0591, 0x05BD}, {0x05BF, 0x05BF}, {0x05C1, 0x05C2},
    {0x05C4, 0x05C5},   {0x05C7, 0x05C7},   {0x0610, 0x061A}, {0x064B, 0x065F}, {0x0670, 0x0670},
    {0x06D6, 0x06DC},   {0x06DF, 0x06E4},   {0x06E7, 0x06E8}, {0x06EA, 0x06ED}, {0x0900, 0x0902},
    {0x093A, 0x093A},   {0x093C, 0x093C},   {0x0941, 0x0948}, {0x094D, 0x094D}, {0x0951, 0x0957},
    {0x0E31, 0x0E31},   {0x0E34, 0x0E3A},   {0x0E47, 0x0E4E}, {0x1AB0, 0x1AFF}, {0x1DC0, 0x1DFF},
    {0x200B, 0x200F},   {0x202A, 0x202E},   {0x2060, 0x2064}, {0x2066, 0x206F}, {0x20D0, 0x20FF},
    {0x302A, 0x302D},   {0x3099, 0x309A},   {0xFE00, 0xFE0F}, {0xFE20, 0xFE2F}, {0xFEFF, 0xFEFF},
    {0x1F3FB, 0x1F3FF}, {0xE0000, 0xE0FFF},
};

/* Two cells: East Asian Wide and Fullwidth (the blocks of EastAsianWidth.txt that matter:
 * Hangul, CJK, kana, fullwidth forms, and the emoji with default emoji presentation). */
static const range wide[] = {
    {0x1100, 0x115F},   {0x231A, 0x231B},   {0x2329, 0x232A},   {0x23E9, 0x23EC},
    {0x23F0, 0x23F0},   {0x23F3, 0x23F3},   {0x25FD, 0x25FE},   {0x2614, 0x2615},
    {0x2648, 0x2653},   {0x267F, 0x267F},   {0x2693, 0x2693},   {0x26A1, 0x26A1},
    {0x26AA, 0x26AB},   {0x26BD, 0x26BE},   {0x26C4, 0x26C5},   {0x26CE, 0x26CE},
    {0x26D4, 0x26D4},   {0x26EA, 0x26EA},   {0x26F2, 0x26F3},   {0x26F5, 0x26F5},
    {0x26FA, 0x26FA},   {0x26FD, 0x26FD},   {0x2705, 0x2705},   {0x270A, 0x270B},
    {0x2728, 0x2728},   {0x274C, 0x274C},   {0x274E, 0x274E},   {0x2753, 0x2755},
    {0x2757, 0x2757},   {0x2795, 0x2797},   {0x27B0, 0x27B0},   {0x27BF, 0x27BF},
    {0x2B1B, 0x2B1C},   {0x2B50, 0x2B50},   {0x2B55, 0x2B55},   {0x2E80, 0x3029},
    {0x302E, 0x303E},   {0x3041, 0x3096},   {0x309B, 0x33FF},   {0x3400, 0x4DBF},
    {0x4E00, 0x9FFF},   {0xA000, 0xA4CF},   {0xA960, 0xA97F},   {0xAC00, 0xD7A3},
    {0xF900, 0xFAFF},   {0xFE10, 0xFE19},   {0xFE30, 0xFE6F},   {0xFF00, 0xFF60},
    {0xFFE0, 0xFFE6},   {0x16FE0, 0x16FE4}, {0x17000, 0x18CFF}, {0x1AFF0, 0x1B2FF},
    {0x1F004, 0x1F004}, {0x1F0CF, 0x1F0CF}, {0x1F18E, 0x1F18E}, {0x1F191, 0x1F19A},
    {0x1F200, 0x1F251}, {0x1F300, 0x1F320}, {0x1F32D, 0x1F335}, {0x1F337, 0x1F37C},
    {0x1F37E, 0x1F393}, {0x1F3A0, 0x1F3CA}, {0x1F3CF, 0x1F3D3}, {0x1F3E0, 0x1F3F0},
    {0x1F3F4, 0x1F3F4}, {0x1F3F8, 0x1F3FA}, {0x1F400, 0x1F43E}, {0x1F440, 0x1F440},
    {0x1F442, 0x1F4FC}, {0x1F4FF, 0x1F53D}, {0x1F54B, 0x1F54E}, {0x1F550, 0x1F567},
    {0x1F57A, 0x1F57A}, {0x1F595, 0x1F596}, {0x1F5A4, 0x1F5A4}, {0x1F5FB, 0x1F64F},
    {0x1F680, 0x1F6C5}, {0x1F6CC, 0x1F6CC}, {0x1F6D0, 0x1F6D2}, {0x1F6D5, 0x1F6D7},
    {0x1F6DC, 0x1F6DF}, {0x1F6EB, 0x1F6EC}, {0x1F6F4, 0x1F6FC}, {0x1F7E0, 0x1F7EB},
    {0x1F7F0, 0x1F7F0}, {0x1F90C, 0x1F93A}, {0x1F93C, 0x1F945}, {0x1F947, 0x1F9FF},
    {0x1FA70, 0x1FAFF}, {0x20000, 0x2FFFD}, {0x30000, 0x3FFFD},
};

static int in_ranges(uint32_t cp, const range *r, size_t n) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < r[mid].lo)
            hi = mid;
        else if (cp > r[mid].hi)
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

static size_t cp_width(uint32_t cp) {
    if (cp < 0x300)
        return 1;
    if (in_ranges(cp, zero_width, sizeof zero_width / sizeof *zero_width))
        return 0;
    if (in_ranges(cp, wide, sizeof wide / sizeof *wide))
        return 2;
    return 1;
}

size_t chart_display_width(const char *s, size_t len) {
    const unsigned char *p = (const unsigned char *)s;
    size_t w = 0, i = 0;
    while (i < len) {
        if (p[i] < 0x80) {
            w++;
            i++;
            continue;
        }
        uint32_t cp;
        i += decode(p + i, len - i, &cp);
        w += cp_width(cp);
    }
    return w;
}

/* Characters a label may not carry into a chart (see chart.h). */
static int forbidden(uint32_t cp) {
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 ||
           (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xFFFE ||
           cp == 0xFFFF;
}

/* Length of the longest prefix of s[0 .. len) that is at most cells wide; *w gets its width. */
size_t chart_prefix_cells(const char *s, size_t len, size_t cells, size_t *w) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, width = 0;
    while (i < len) {
        uint32_t cp;
        size_t k = decode(p + i, len - i, &cp);
        size_t cw = cp_width(cp);
        if (width + cw > cells)
            break;
        width += cw;
        i += k;
    }
    *w = width; /* zero-width characters after the last one kept were kept with it */
    return i;
}

/* ---- the pool of cleaned strings -------------------------------------------------------- */

void chart_ctx_init(chart_ctx *c, const chart_opts *o) {
    memset(c, 0, sizeof *c);
    if (!o) {
        chart_opts_default(&c->defaults);
        o = &c->defaults;
    }
    c->o = o;
    int w = o->width ? o->width : CHART_DEFAULT_WIDTH;
    if (w < CHART_MIN_WIDTH)
        w = CHART_MIN_WIDTH;
    if (w > CHART_MAX_WIDTH)
        w = CHART_MAX_WIDTH;
    c->width = (size_t)w;
}

void chart_ctx_free(chart_ctx *c) {
    buf_free(&c->pool);
    buf_free(&c->scratch);
    buf_free(&c->fmt);
}

const char *chart_str_at(const chart_ctx *c, const chart_str *s) {
    return c->pool.data ? c->pool.data + s->off : "";
}

/* Appends s[0 .. len) to out, cleaned (see chart.h), at most CHART_MAX_LABEL_BYTES read. */
int chart_clean_append(buf *scratch, const char *s, size_t len, buf *out) {
    if (!s)
        return 0;
    len = utf8_cut(s, len, CHART_MAX_LABEL_BYTES);
    utf8_state st = {{0}, 0};
    buf_clear(scratch);
    if (utf8_filter(&st, s, len, scratch) || utf8_finish(&st, scratch))
        return CHART_ENOMEM;
    if (scratch->len == 0)
        return 0; /* scratch->data may still be NULL */
    const unsigned char *p = (const unsigned char *)scratch->data;
    size_t n = scratch->len, i = 0, run = 0;
    if (buf_reserve(out, n) != 0)
        return CHART_ENOMEM;
    while (i < n) {
        uint32_t cp;
        size_t k = decode(p + i, n - i, &cp);
        if (forbidden(cp)) {
            if (buf_append(out, p + run, i - run) || buf_append(out, "\xEF\xBF\xBD", 3))
                return CHART_ENOMEM;
            run = i + k;
        }
        i += k;
    }
    return buf_append(out, p + run, n - run) ? CHART_ENOMEM : 0;
}

/* Drops the leading and trailing spaces of out (so no line ends with one, and padding stays
 * ours), then measures it. */
static void trim_measure(const chart_ctx *c, chart_str *out) {
    const char *p = c->pool.data ? c->pool.data : "";
    while (out->len && p[out->off] == ' ') {
        out->off++;
        out->len--;
    }
    while (out->len && p[out->off + out->len - 1] == ' ')
        out->len--;
    out->w = chart_display_width(p + out->off, out->len);
}

/* Cleans s (NUL-terminated, NULL is "") into the pool. */
int chart_pool_add(chart_ctx *c, const char *s, chart_str *out) {
    out->off = c->pool.len;
    int rc = chart_clean_append(&c->scratch, s, s ? strlen(s) : 0, &c->pool);
    if (rc)
        return rc;
    out->len = c->pool.len - out->off;
    trim_measure(c, out);
    return 0;
}

/* A value is unknown when not finite; a negative one counts as 0. */
int chart_known(double v) {
    return isfinite(v);
}

double chart_clamp0(double v) {
    return isfinite(v) && v > 0 ? v : 0;
}

/* a + b for a, b >= 0, saturated at DBL_MAX: a stacked total of huge values stays finite (and
 * so does every ratio computed from it). */
double chart_add_sat(double a, double b) {
    double s = a + b;
    return s > DBL_MAX ? DBL_MAX : s;
}

/* Formats v into the pool. */
int chart_pool_value(chart_ctx *c, double v, chart_str *out) {
    buf_clear(&c->fmt);
    int rc = chart_format(c->o, chart_known(v) ? chart_clamp0(v) : v, &c->fmt);
    if (rc)
        return rc;
    out->off = c->pool.len;
    if (buf_append(&c->pool, c->fmt.data ? c->fmt.data : "", c->fmt.len))
        return CHART_ENOMEM;
    out->len = c->pool.len - out->off;
    trim_measure(c, out);
    return 0;
}

/* ---- numbers ---------------------------------------------------------------------------- */

/* Appends the decimal digits of n with sep between groups of three. */
static int put_grouped(buf *out, uint64_t n, const char *sep) {
    char d[24];
    int k = 0;
    do {
        d[k++] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    for (int i = k - 1; i >= 0; i--) {
        if (buf_append_byte(out, d[i]))
            return CHART_ENOMEM;
        if (i > 0 && i % 3 == 0 && buf_append_str(out, sep))
            return CHART_ENOMEM;
    }
    return 0;
}

/* Appends the frac decimals of f (0 <= f < 10^digits), zero-padded. */
static int put_frac(buf *out, uint64_t f, int digits) {
    char d[24];
    for (int i = digits - 1; i >= 0; i--) {
        d[i] = (char)('0' + f % 10);
        f /= 10;
    }
    return buf_append(out, d, (size_t)digits) ? CHART_ENOMEM : 0;
}

/* a >= 1e15 (finite): "1.23e15" with the locale's decimal mark. */
static int put_sci(buf *out, double a, const char *dec) {
    int e = (int)floor(log10(a));
    double m = a / pow(10, e);
    uint64_t h = (uint64_t)llround(m * 100);
    if (h >= 1000) {
        e++;
        h = (uint64_t)llround(a / pow(10, e) * 100);
        if (h >= 1000)
            h = 999;
    }
    if (h < 100)
        h = 100;
    if (put_grouped(out, h / 100, "") || buf_append_str(out, dec) || put_frac(out, h % 100, 2))
        return CHART_ENOMEM;
    return buf_printf(out, "e%d", e) ? CHART_ENOMEM : 0;
}

#define SCI_FROM 1e15

int chart_format_money(chart_locale l, double v, buf *out) {
    if (!isfinite(v))
        return buf_append_str(out, "?") ? CHART_ENOMEM : 0;
    int fr = l == CHART_FR;
    double a = fabs(v);
    int digits = a > 0 && a < 0.01 ? 4 : 2;
    uint64_t scale = digits == 4 ? 10000 : 100;
    uint64_t q = a < SCI_FROM ? (uint64_t)llround(a * (double)scale) : 0;
    if (v < 0 && (q > 0 || a >= SCI_FROM) && buf_append_byte(out, '-'))
        return CHART_ENOMEM;
    if (!fr && buf_append_byte(out, '$'))
        return CHART_ENOMEM;
    int rc;
    if (a >= SCI_FROM)
        rc = put_sci(out, a, fr ? "," : ".");
    else if (put_grouped(out, q / scale, fr ? NNBSP : ",") || buf_append_str(out, fr ? "," : "."))
        rc = CHART_ENOMEM;
    else
        rc = put_frac(out, q % scale, digits);
    if (rc)
        return rc;
    return fr && buf_append_str(out, NBSP "$") ? CHART_ENOMEM : 0;
}

int chart_format_tokens(chart_locale l, double v, buf *out) {
    if (!isfinite(v))
        return buf_append_str(out, "?") ? CHART_ENOMEM : 0;
    int fr = l == CHART_FR;
    double a = fabs(v);
    if (v < 0 && a >= 0.5 && buf_append_byte(out, '-'))
        return CHART_ENOMEM;
    if (a < 999.5)
        return put_grouped(out, (uint64_t)llround(a), "");
    static const char units[] = "kMGT";
    double unit = 1e3;
    for (int u = 0; u < 4; u++, unit *= 1e3) {
        double x = a / unit;
        int rc;
        if (x < 99.95) {
            uint64_t t = (uint64_t)llround(x * 10);
            rc = put_grouped(out, t / 10, "") || buf_append_str(out, fr ? "," : ".") ||
                 put_frac(out, t % 10, 1);
        } else if (x < 999.5) {
            rc = put_grouped(out, (uint64_t)llround(x), "");
        } else {
            continue;
        }
        if (rc || (fr && buf_append_str(out, NBSP)) || buf_append_byte(out, units[u]))
            return CHART_ENOMEM;
        return 0;
    }
    return put_sci(out, a, fr ? "," : ".");
}

int chart_format_count(chart_locale l, double v, buf *out) {
    if (!isfinite(v))
        return buf_append_str(out, "?") ? CHART_ENOMEM : 0;
    int fr = l == CHART_FR;
    double a = fabs(v);
    if (v < 0 && a >= 0.5 && buf_append_byte(out, '-'))
        return CHART_ENOMEM;
    if (a >= SCI_FROM)
        return put_sci(out, a, fr ? "," : ".");
    return put_grouped(out, (uint64_t)llround(a), fr ? NNBSP : ",");
}

int chart_format_percent(chart_locale l, double ratio, buf *out) {
    int fr = l == CHART_FR;
    const char *sign = fr ? NNBSP "%" : "%";
    if (!isfinite(ratio))
        return buf_append_str(out, "?") || buf_append_str(out, sign) ? CHART_ENOMEM : 0;
    double pct = ratio * 100;
    if (ratio > 0 && pct < 0.5)
        return buf_append_str(out, "<1") || buf_append_str(out, sign) ? CHART_ENOMEM : 0;
    int rc = chart_format_count(l, pct, out);
    if (rc)
        return rc;
    return buf_append_str(out, sign) ? CHART_ENOMEM : 0;
}

int chart_format(const chart_opts *o, double v, buf *out) {
    chart_opts d;
    if (!o) {
        chart_opts_default(&d);
        o = &d;
    }
    if (!isfinite(v))
        return buf_append_str(out, "?") ? CHART_ENOMEM : 0;
    if (o->format) {
        buf tmp = {0};
        if (o->format(o->format_ud, v, &tmp)) {
            buf_free(&tmp);
            return CHART_EFORMAT;
        }
        buf scratch = {0};
        int rc = chart_clean_append(&scratch, tmp.data ? tmp.data : "", tmp.len, out);
        buf_free(&scratch);
        buf_free(&tmp);
        return rc;
    }
    switch (o->unit) {
    case CHART_TOKENS:
        return chart_format_tokens(o->locale, v, out);
    case CHART_COUNT:
        return chart_format_count(o->locale, v, out);
    case CHART_MONEY:
    default:
        return chart_format_money(o->locale, v, out);
    }
}

/* ---- the bar charts' layout ------------------------------------------------------------- */

int chart_check_data(const chart_data *d) {
    if (!d || (d->n_labels && !d->labels) || (d->n_series && !d->series))
        return CHART_EINVAL;
    if (d->n_labels > CHART_MAX_LABELS || d->n_series > CHART_MAX_SERIES)
        return CHART_ETOOBIG;
    for (size_t s = 0; s < d->n_series; s++)
        if (d->n_labels && !d->series[s].values)
            return CHART_EINVAL;
    return CHART_OK;
}

void chart_layout_free(chart_layout *L) {
    free(L->labels);
    free(L->names);
    free(L->values);
}

static double row_total(const chart_data *d, size_t i, int *any) {
    double t = 0;
    *any = 0;
    for (size_t s = 0; s < d->n_series; s++) {
        double v = d->series[s].values[i];
        if (chart_known(v)) {
            t = chart_add_sat(t, chart_clamp0(v));
            *any = 1;
        }
    }
    return t;
}

/* Cleans and formats everything, and finds the scale and the widest label and value. */
int chart_layout_prepare(chart_ctx *c, const chart_data *d, chart_layout *L) {
    memset(L, 0, sizeof *L);
    L->n = d->n_labels;
    L->ns = d->n_series;
    L->stacked = c->o->mode == CHART_STACKED && L->ns > 1;
    size_t nv = L->stacked ? L->n : L->n * L->ns;
    L->labels = malloc((L->n ? L->n : 1) * sizeof *L->labels);
    L->names = malloc((L->ns ? L->ns : 1) * sizeof *L->names);
    L->values = malloc((nv ? nv : 1) * sizeof *L->values);
    if (!L->labels || !L->names || !L->values)
        return CHART_ENOMEM;
    int rc;
    size_t maxlw = 0, maxvw = 0;
    for (size_t i = 0; i < L->n; i++) {
        if ((rc = chart_pool_add(c, d->labels[i], &L->labels[i])))
            return rc;
        if (L->labels[i].w > maxlw)
            maxlw = L->labels[i].w;
    }
    for (size_t s = 0; s < L->ns; s++)
        if ((rc = chart_pool_add(c, d->series[s].name, &L->names[s])))
            return rc;
    L->max = 0;
    if (L->stacked) {
        for (size_t i = 0; i < L->n; i++) {
            int any;
            double t = row_total(d, i, &any);
            if ((rc = chart_pool_value(c, any ? t : NAN, &L->values[i])))
                return rc;
            if (t > L->max)
                L->max = t;
        }
    } else {
        for (size_t s = 0; s < L->ns; s++) {
            for (size_t i = 0; i < L->n; i++) {
                double v = d->series[s].values[i];
                if ((rc = chart_pool_value(c, v, &L->values[s * L->n + i])))
                    return rc;
                if (chart_known(v) && chart_clamp0(v) > L->max)
                    L->max = chart_clamp0(v);
            }
        }
    }
    for (size_t k = 0; k < nv; k++)
        if (L->values[k].w > maxvw)
            maxvw = L->values[k].w;
    size_t W = c->width;
    L->vw = maxvw < W / 3 ? maxvw : W / 3;
    size_t rest = W - L->vw - 2;
    L->lw = maxlw < rest / 2 ? maxlw : rest / 2;
    if (L->lw == 0)
        rest++; /* no label column, no space after it */
    L->barw = rest - L->lw;
    return 0;
}

/* ---- the gauge's caption ---------------------------------------------------------------- */

/* The caption "42% of $5.00" into the pool. */
int chart_gauge_caption(chart_ctx *c, double spent, double budget, chart_str *out) {
    int fr = c->o->locale == CHART_FR;
    buf_clear(&c->fmt);
    double ratio = chart_known(spent) ? chart_clamp0(spent) / budget : NAN;
    int rc = chart_format_percent(c->o->locale, ratio, &c->fmt);
    if (!rc && buf_append_str(&c->fmt, fr ? " de " : " of "))
        rc = CHART_ENOMEM;
    if (!rc)
        rc = chart_format(c->o, budget, &c->fmt);
    if (rc)
        return rc;
    out->off = c->pool.len;
    if (buf_append(&c->pool, c->fmt.data, c->fmt.len))
        return CHART_ENOMEM;
    out->len = c->fmt.len;
    trim_measure(c, out);
    return 0;
}
