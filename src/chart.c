/* chart: text and SVG charts of usage.  See include/ami/chart.h.
 *
 * Every chart goes the same way: the labels, names and formatted values are first cleaned
 * (utf8_filter, then the characters that would break a line, reorder it or break XML become
 * U+FFFD) into one pool, with their display widths; the layout is computed from the widths;
 * then the lines (or the SVG elements) are written, each drawn piece recording its span.
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
#include "ami/chart.h"

#include "ami/utf8.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NBSP       "\xC2\xA0"     /* U+00A0 no-break space */
#define NNBSP      "\xE2\x80\xAF" /* U+202F narrow no-break space */
#define ELLIPSIS   "\xE2\x80\xA6"
#define FULL_BLOCK "\xE2\x96\x88"

static const char *const bar_groups[CHART_MAX_SERIES] = {
    "AmiChartBar",  "AmiChartBar2", "AmiChartBar3", "AmiChartBar4",
    "AmiChartBar5", "AmiChartBar6", "AmiChartBar7", "AmiChartBar8",
};

/* Default fills (Tableau 10), overridden by any CSS rule on .ami-s1 … .ami-s8. */
static const char *const svg_fills[CHART_MAX_SERIES] = {
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#9c755f",
};

/* Stacked text fills, one per series: readable without colour. */
static const char *const stack_fills[CHART_MAX_STACKED_TEXT] = {
    "\xE2\x96\x88", /* █ */
    "\xE2\x96\x93", /* ▓ */
    "\xE2\x96\x92", /* ▒ */
    "\xE2\x96\x91", /* ░ */
};

/* Left blocks by eighths: index 1 = ▏ (U+258F) … 7 = ▉ (U+2589); all three bytes long. */
static const char *const eighth_blocks[8] = {
    "",
    "\xE2\x96\x8F",
    "\xE2\x96\x8E",
    "\xE2\x96\x8D",
    "\xE2\x96\x8C",
    "\xE2\x96\x8B",
    "\xE2\x96\x8A",
    "\xE2\x96\x89",
};

static const char css[] =
    ".ami-chart{font-family:ui-monospace,Menlo,Consolas,\"DejaVu Sans Mono\",monospace;"
    "font-size:12px}\n"
    ".ami-label,.ami-value,.ami-legend{fill:#333}\n"
    ".ami-heading{fill:#111;font-weight:bold}\n"
    ".ami-s1{fill:#4e79a7}.ami-s2{fill:#f28e2b}.ami-s3{fill:#e15759}.ami-s4{fill:#76b7b2}\n"
    ".ami-s5{fill:#59a14f}.ami-s6{fill:#edc948}.ami-s7{fill:#b07aa1}.ami-s8{fill:#9c755f}\n"
    ".ami-track{fill:#e6e6e6}.ami-gauge{fill:#59a14f}.ami-gauge.ami-over{fill:#e15759}\n"
    "@media (prefers-color-scheme:dark){.ami-label,.ami-value,.ami-legend{fill:#ccc}"
    ".ami-heading{fill:#eee}.ami-track{fill:#444}}\n";

const char *chart_svg_css(void) {
    return css;
}

void chart_opts_default(chart_opts *o) {
    memset(o, 0, sizeof *o);
    o->width = CHART_DEFAULT_WIDTH;
    o->locale = CHART_EN;
    o->unit = CHART_MONEY;
    o->mode = CHART_SPLIT;
}

void chart_text_free(chart_text *t) {
    if (!t)
        return;
    buf_free(&t->text);
    free(t->spans);
    memset(t, 0, sizeof *t);
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

/* ---- the pool of cleaned strings -------------------------------------------------------- */

typedef struct str {
    size_t off, len; /* in ctx.pool */
    size_t w;        /* display width */
} str;

typedef struct ctx {
    const chart_opts *o;
    chart_opts defaults;
    size_t width;
    buf pool;
    buf scratch;
    buf fmt;
} ctx;

static void ctx_init(ctx *c, const chart_opts *o) {
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

static void ctx_free(ctx *c) {
    buf_free(&c->pool);
    buf_free(&c->scratch);
    buf_free(&c->fmt);
}

static const char *str_at(const ctx *c, const str *s) {
    return c->pool.data ? c->pool.data + s->off : "";
}

/* Appends s[0 .. len) to out, cleaned (see chart.h), at most CHART_MAX_LABEL_BYTES read. */
static int clean_append(buf *scratch, const char *s, size_t len, buf *out) {
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
static void trim_measure(const ctx *c, str *out) {
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
static int pool_add(ctx *c, const char *s, str *out) {
    out->off = c->pool.len;
    int rc = clean_append(&c->scratch, s, s ? strlen(s) : 0, &c->pool);
    if (rc)
        return rc;
    out->len = c->pool.len - out->off;
    trim_measure(c, out);
    return 0;
}

/* A value is unknown when not finite; a negative one counts as 0. */
static int known(double v) {
    return isfinite(v);
}

static double clamp0(double v) {
    return isfinite(v) && v > 0 ? v : 0;
}

/* a + b for a, b >= 0, saturated at DBL_MAX: a stacked total of huge values stays finite (and
 * so does every ratio computed from it). */
static double add_sat(double a, double b) {
    double s = a + b;
    return s > DBL_MAX ? DBL_MAX : s;
}

/* Formats v into the pool. */
static int pool_value(ctx *c, double v, str *out) {
    buf_clear(&c->fmt);
    int rc = chart_format(c->o, known(v) ? clamp0(v) : v, &c->fmt);
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
        int rc = clean_append(&scratch, tmp.data ? tmp.data : "", tmp.len, out);
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

/* ---- text writing with spans ------------------------------------------------------------ */

/* Spaces are held as `pending` and written only when something follows them on the line,
 * so no line ends with a space (a padded label before an empty bar and no value, say). */
typedef struct tw {
    chart_text *t;
    size_t line, line_start;
    size_t pending;
    int err;
} tw;

static void tw_raw(tw *w, const char *s, size_t n) {
    if (!w->err && n && buf_append(&w->t->text, s, n))
        w->err = CHART_ENOMEM;
}

static void tw_put(tw *w, const char *s, size_t n) {
    static const char sp[] = "                                ";
    if (n == 0)
        return;
    while (w->pending) {
        size_t k = w->pending < sizeof sp - 1 ? w->pending : sizeof sp - 1;
        tw_raw(w, sp, k);
        w->pending -= k;
    }
    tw_raw(w, s, n);
}

static void tw_str(tw *w, const char *s) {
    tw_put(w, s, strlen(s));
}

static void tw_spaces(tw *w, size_t n) {
    w->pending += n;
}

static void tw_nl(tw *w) {
    w->pending = 0;
    tw_raw(w, "\n", 1);
    w->line++;
    w->line_start = w->t->text.len;
}

/* Where the next visible byte will go (pending spaces included). */
static size_t tw_pos(const tw *w) {
    return w->t->text.len + w->pending;
}

/* Records a span from start to the current end of the text. */
static void tw_span(tw *w, size_t start, const char *group) {
    chart_text *t = w->t;
    if (w->err || t->text.len <= start)
        return;
    if (t->n_spans == t->spans_cap) {
        size_t cap = t->spans_cap ? 2 * t->spans_cap : 32;
        chart_span *p = realloc(t->spans, cap * sizeof *p);
        if (!p) {
            w->err = CHART_ENOMEM;
            return;
        }
        t->spans = p;
        t->spans_cap = cap;
    }
    chart_span *s = &t->spans[t->n_spans++];
    s->line = w->line;
    s->col = start - w->line_start;
    s->len = t->text.len - start;
    s->pos = start;
    s->group = group;
}

/* Length of the longest prefix of s[0 .. len) that is at most cells wide; *w gets its width. */
static size_t prefix_cells(const char *s, size_t len, size_t cells, size_t *w) {
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

/* Writes s into at most cells cells (cut with "…" when too wide); returns the width used. */
static size_t tw_fit(tw *w, const char *s, size_t len, size_t swidth, size_t cells) {
    if (swidth <= cells) {
        tw_put(w, s, len);
        return swidth;
    }
    if (cells == 0)
        return 0;
    size_t used;
    size_t n = prefix_cells(s, len, cells - 1, &used);
    tw_put(w, s, n);
    tw_str(w, ELLIPSIS);
    return used + 1;
}

static int text_begin(chart_text *out) {
    buf_clear(&out->text);
    out->n_spans = 0;
    return buf_append(&out->text, "", 0) ? CHART_ENOMEM : 0;
}

static int text_fail(chart_text *out, int rc) {
    buf_clear(&out->text);
    out->n_spans = 0;
    return rc;
}

/* ---- bars ------------------------------------------------------------------------------- */

/* Eighths of a cell for v on a scale where max fills cells cells: rounded to the nearest,
 * at least one for any v > 0. */
static size_t eighths(double v, double max, size_t cells) {
    if (!(v > 0) || !(max > 0))
        return 0;
    size_t full = cells * 8;
    double x = v / max * (double)full;
    if (isnan(x))
        return 0;
    size_t e = x >= (double)full ? full : (size_t)floor(x + 0.5);
    if (e == 0)
        e = 1;
    return e > full ? full : e;
}

static void tw_blocks(tw *w, size_t e) {
    for (size_t i = 0; i < e / 8; i++)
        tw_str(w, FULL_BLOCK);
    tw_str(w, eighth_blocks[e % 8]);
}

static int check_data(const chart_data *d) {
    if (!d || (d->n_labels && !d->labels) || (d->n_series && !d->series))
        return CHART_EINVAL;
    if (d->n_labels > CHART_MAX_LABELS || d->n_series > CHART_MAX_SERIES)
        return CHART_ETOOBIG;
    for (size_t s = 0; s < d->n_series; s++)
        if (d->n_labels && !d->series[s].values)
            return CHART_EINVAL;
    return CHART_OK;
}

/* What a bar chart lays out: cleaned labels and names, formatted values, the columns. */
typedef struct layout {
    size_t n, ns;
    int stacked;
    str *labels; /* n */
    str *names;  /* ns */
    str *values; /* ns × n (split), or n row totals (stacked) */
    double max;  /* the scale: largest value, or largest row total */
    size_t lw;   /* label column (0: no labels at all) */
    size_t vw;   /* value column */
    size_t barw; /* bar column */
} layout;

static void layout_free(layout *L) {
    free(L->labels);
    free(L->names);
    free(L->values);
}

static double row_total(const chart_data *d, size_t i, int *any) {
    double t = 0;
    *any = 0;
    for (size_t s = 0; s < d->n_series; s++) {
        double v = d->series[s].values[i];
        if (known(v)) {
            t = add_sat(t, clamp0(v));
            *any = 1;
        }
    }
    return t;
}

/* Cleans and formats everything, and finds the scale and the widest label and value. */
static int layout_prepare(ctx *c, const chart_data *d, layout *L) {
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
        if ((rc = pool_add(c, d->labels[i], &L->labels[i])))
            return rc;
        if (L->labels[i].w > maxlw)
            maxlw = L->labels[i].w;
    }
    for (size_t s = 0; s < L->ns; s++)
        if ((rc = pool_add(c, d->series[s].name, &L->names[s])))
            return rc;
    L->max = 0;
    if (L->stacked) {
        for (size_t i = 0; i < L->n; i++) {
            int any;
            double t = row_total(d, i, &any);
            if ((rc = pool_value(c, any ? t : NAN, &L->values[i])))
                return rc;
            if (t > L->max)
                L->max = t;
        }
    } else {
        for (size_t s = 0; s < L->ns; s++) {
            for (size_t i = 0; i < L->n; i++) {
                double v = d->series[s].values[i];
                if ((rc = pool_value(c, v, &L->values[s * L->n + i])))
                    return rc;
                if (known(v) && clamp0(v) > L->max)
                    L->max = clamp0(v);
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

static void put_label(tw *w, const ctx *c, const layout *L, size_t i) {
    if (L->lw == 0)
        return;
    size_t at = tw_pos(w);
    size_t used = tw_fit(w, str_at(c, &L->labels[i]), L->labels[i].len, L->labels[i].w, L->lw);
    tw_span(w, at, "AmiChartLabel");
    tw_spaces(w, L->lw - used + 1);
}

/* " value", cut to vw cells; nothing for an empty value (no trailing space). */
static void put_value(tw *w, const ctx *c, size_t vw, const str *v) {
    if (v->len == 0)
        return;
    tw_put(w, " ", 1);
    size_t at = tw_pos(w);
    tw_fit(w, str_at(c, v), v->len, v->w, vw);
    tw_span(w, at, "AmiChartValue");
}

/* Whole cells per stacked segment: cumulative rounding (no drift), at least one cell for any
 * segment > 0, never more than barw in all.  cells[] gets ns entries. */
static void stack_cells(const chart_data *d, size_t i, double max, size_t barw, size_t *cells) {
    size_t ns = d->n_series, total = 0, prev = 0;
    double cum = 0;
    for (size_t s = 0; s < ns; s++) {
        double v = d->series[s].values[i];
        v = known(v) ? clamp0(v) : 0;
        cum = add_sat(cum, v);
        size_t edge = 0;
        if (max > 0) {
            double x = cum / max * (double)barw;
            edge = isnan(x) ? 0 : x >= (double)barw ? barw : (size_t)floor(x + 0.5);
        }
        if (edge < prev)
            edge = prev;
        cells[s] = edge - prev;
        prev = edge;
        if (v > 0 && cells[s] == 0)
            cells[s] = 1;
        total += cells[s];
    }
    while (total > barw) {
        size_t big = 0;
        for (size_t s = 1; s < ns; s++)
            if (cells[s] > cells[big])
                big = s;
        if (cells[big] <= 1)
            break; /* cannot happen: ns <= CHART_MAX_STACKED_TEXT < barw */
        cells[big]--;
        total--;
    }
}

static void legend_text(tw *w, const ctx *c, const layout *L) {
    size_t W = c->width, x = 0;
    for (size_t s = 0; s < L->ns; s++) {
        const str *nm = &L->names[s];
        size_t item = 2 + (nm->w < W - 2 ? nm->w : W - 2);
        if (x && x + 2 + item > W) {
            tw_nl(w);
            x = 0;
        }
        if (x) {
            tw_spaces(w, 2);
            x += 2;
        }
        size_t at = tw_pos(w);
        tw_str(w, stack_fills[s]);
        tw_span(w, at, bar_groups[s]);
        x += 1;
        if (nm->len) {
            tw_put(w, " ", 1);
            at = tw_pos(w);
            x += 1 + tw_fit(w, str_at(c, nm), nm->len, nm->w, W - 2);
            tw_span(w, at, "AmiChartLegend");
        }
    }
    tw_nl(w);
}

int chart_bars(const chart_data *d, const chart_opts *o, chart_text *out) {
    if (!out)
        return CHART_EINVAL;
    int rc = text_begin(out);
    if (rc)
        return rc;
    if ((rc = check_data(d)))
        return text_fail(out, rc);
    if (o && o->mode == CHART_STACKED && d->n_series > CHART_MAX_STACKED_TEXT)
        return text_fail(out, CHART_EINVAL); /* refused even with no labels to draw */
    if (d->n_labels == 0 || d->n_series == 0)
        return CHART_OK;
    ctx c;
    ctx_init(&c, o);
    layout L;
    rc = layout_prepare(&c, d, &L);
    tw w = {out, 0, 0, 0, rc};
    if (!rc && L.stacked) {
        size_t cells[CHART_MAX_STACKED_TEXT];
        legend_text(&w, &c, &L);
        for (size_t i = 0; i < L.n; i++) {
            put_label(&w, &c, &L, i);
            stack_cells(d, i, L.max, L.barw, cells);
            for (size_t s = 0; s < L.ns; s++) {
                size_t at = tw_pos(&w);
                for (size_t k = 0; k < cells[s]; k++)
                    tw_str(&w, stack_fills[s]);
                tw_span(&w, at, bar_groups[s]);
            }
            put_value(&w, &c, L.vw, &L.values[i]);
            tw_nl(&w);
        }
    } else if (!rc) {
        for (size_t s = 0; s < L.ns; s++) {
            if (L.ns > 1) {
                if (s > 0)
                    tw_nl(&w);
                size_t at = tw_pos(&w);
                tw_fit(&w, str_at(&c, &L.names[s]), L.names[s].len, L.names[s].w, c.width);
                tw_span(&w, at, "AmiChartTitle");
                tw_nl(&w);
            }
            for (size_t i = 0; i < L.n; i++) {
                put_label(&w, &c, &L, i);
                double v = d->series[s].values[i];
                size_t at = tw_pos(&w);
                tw_blocks(&w, known(v) ? eighths(clamp0(v), L.max, L.barw) : 0);
                tw_span(&w, at, bar_groups[s]);
                put_value(&w, &c, L.vw, &L.values[s * L.n + i]);
                tw_nl(&w);
            }
        }
    }
    rc = w.err;
    layout_free(&L);
    ctx_free(&c);
    return rc ? text_fail(out, rc) : CHART_OK;
}

/* ---- gauge ------------------------------------------------------------------------------ */

/* The caption "42% of $5.00" into the pool. */
static int gauge_caption(ctx *c, double spent, double budget, str *out) {
    int fr = c->o->locale == CHART_FR;
    buf_clear(&c->fmt);
    double ratio = known(spent) ? clamp0(spent) / budget : NAN;
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

#define GAUGE_MIN_BAR 4

int chart_gauge(double spent, double budget, const chart_opts *o, chart_text *out) {
    if (!out)
        return CHART_EINVAL;
    int rc = text_begin(out);
    if (rc)
        return rc;
    if (!(budget > 0) || !isfinite(budget))
        return text_fail(out, CHART_EINVAL);
    ctx c;
    ctx_init(&c, o);
    str cap;
    rc = gauge_caption(&c, spent, budget, &cap);
    tw w = {out, 0, 0, 0, rc};
    if (!rc) {
        size_t W = c.width;
        size_t barw = W - 3 > cap.w + GAUGE_MIN_BAR ? W - 3 - cap.w : GAUGE_MIN_BAR;
        double ratio = known(spent) ? clamp0(spent) / budget : 0;
        int over = ratio > 1;
        size_t e = eighths(ratio > 1 ? 1 : ratio, 1, barw);
        tw_put(&w, "[", 1);
        size_t at = tw_pos(&w);
        tw_blocks(&w, e);
        tw_span(&w, at, over ? "AmiChartGaugeOver" : "AmiChartGauge");
        tw_spaces(&w, barw - (e + 7) / 8);
        tw_put(&w, "] ", 2);
        at = tw_pos(&w);
        tw_fit(&w, str_at(&c, &cap), cap.len, cap.w, W - 3 - barw);
        tw_span(&w, at, "AmiChartValue");
        tw_nl(&w);
    }
    rc = w.err;
    ctx_free(&c);
    return rc ? text_fail(out, rc) : CHART_OK;
}

/* ---- sparklines ------------------------------------------------------------------------- */

int chart_spark(const chart_data *d, const chart_opts *o, chart_text *out) {
    if (!out)
        return CHART_EINVAL;
    int rc = text_begin(out);
    if (rc)
        return rc;
    if ((rc = check_data(d)))
        return text_fail(out, rc);
    if (d->n_labels == 0 || d->n_series == 0)
        return CHART_OK;
    ctx c;
    ctx_init(&c, o);
    size_t n = d->n_labels, ns = d->n_series, W = c.width;
    str names[CHART_MAX_SERIES], last[CHART_MAX_SERIES];
    size_t nw = 0, vw = 0;
    for (size_t s = 0; s < ns && !rc; s++) {
        rc = pool_add(&c, d->series[s].name, &names[s]);
        if (!rc)
            rc = pool_value(&c, d->series[s].values[n - 1], &last[s]);
        if (!rc && names[s].w > nw)
            nw = names[s].w;
        if (!rc && last[s].w > vw)
            vw = last[s].w;
    }
    tw w = {out, 0, 0, 0, rc};
    if (!rc) {
        nw = nw < W / 4 ? nw : W / 4;
        vw = vw < W / 3 ? vw : W / 3;
        size_t avail = W - vw - 1 - (nw ? nw + 1 : 0);
        size_t npts = n < avail ? n : avail, first = n - npts;
        for (size_t s = 0; s < ns; s++) {
            const double *v = d->series[s].values;
            if (nw) {
                size_t at = tw_pos(&w);
                size_t used = tw_fit(&w, str_at(&c, &names[s]), names[s].len, names[s].w, nw);
                tw_span(&w, at, "AmiChartLabel");
                tw_spaces(&w, nw - used + 1);
            }
            double max = 0;
            for (size_t i = first; i < n; i++)
                if (known(v[i]) && clamp0(v[i]) > max)
                    max = clamp0(v[i]);
            size_t at = tw_pos(&w);
            for (size_t i = first; i < n; i++) {
                double x = known(v[i]) ? clamp0(v[i]) : 0;
                if (!(x > 0) || !(max > 0)) {
                    tw_put(&w, " ", 1);
                    continue;
                }
                double f = x / max * 8;
                size_t level = f >= 8 ? 8 : (size_t)floor(f + 0.5);
                if (level < 1)
                    level = 1;
                char g[3] = {'\xE2', '\x96', (char)(0x80 + level)}; /* U+2581 + level - 1 */
                tw_put(&w, g, 3);
            }
            tw_span(&w, at, bar_groups[s]);
            put_value(&w, &c, vw, &last[s]);
            tw_nl(&w);
        }
    }
    rc = w.err;
    ctx_free(&c);
    return rc ? text_fail(out, rc) : CHART_OK;
}

/* ---- SVG -------------------------------------------------------------------------------- */

/* Geometry in tenths of a pixel. */
#define T_CELL        72 /* one cell of 12 px monospace: 0.6 em */
#define T_PAD         80
#define T_GAP         60
#define T_ROW         220
#define T_BAR         140
#define T_BAR_Y       40  /* top of a bar below the top of its row */
#define T_TEXT_Y      150 /* text baseline below the top of a row (or a legend line) */
#define T_LEGEND      200 /* a legend line or a heading */
#define SVG_CELLS_MAX 24  /* label and value columns, in cells */

typedef struct sw {
    buf *b;
    int err;
} sw;

static void sw_str(sw *s, const char *t) {
    if (!s->err && buf_append_str(s->b, t))
        s->err = CHART_ENOMEM;
}

/* A length in tenths: "12" or "12.5". */
static void sw_num(sw *s, long t) {
    if (s->err)
        return;
    if (t < 0) {
        sw_str(s, "-");
        t = -t;
    }
    if (buf_printf(s->b, "%ld", t / 10) || (t % 10 && buf_printf(s->b, ".%ld", t % 10)))
        s->err = CHART_ENOMEM;
}

/* Escaped text (the input was cleaned: no control character can reach here). */
static void sw_text(sw *s, const char *t, size_t n) {
    size_t run = 0;
    for (size_t i = 0; i < n && !s->err; i++) {
        const char *e = NULL;
        switch (t[i]) {
        case '&':
            e = "&amp;";
            break;
        case '<':
            e = "&lt;";
            break;
        case '>':
            e = "&gt;";
            break;
        case '"':
            e = "&quot;";
            break;
        case '\'':
            e = "&apos;";
            break;
        default:
            continue;
        }
        if (buf_append(s->b, t + run, i - run))
            s->err = CHART_ENOMEM;
        sw_str(s, e);
        run = i + 1;
    }
    if (!s->err && buf_append(s->b, t + run, n - run))
        s->err = CHART_ENOMEM;
}

/* Escaped text cut to cells cells with "…". */
static void sw_fit(sw *s, const char *t, size_t n, size_t w, size_t cells) {
    if (w <= cells) {
        sw_text(s, t, n);
        return;
    }
    size_t used;
    size_t k = prefix_cells(t, n, cells ? cells - 1 : 0, &used);
    sw_text(s, t, k);
    sw_str(s, ELLIPSIS);
}

static void svg_open(sw *s, const ctx *c, long height, const char *default_title) {
    sw_str(s, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"ami-chart\" viewBox=\"0 0 ");
    sw_num(s, CHART_SVG_WIDTH * 10);
    sw_str(s, " ");
    sw_num(s, height);
    sw_str(s, "\" width=\"");
    sw_num(s, CHART_SVG_WIDTH * 10);
    sw_str(s, "\" height=\"");
    sw_num(s, height);
    sw_str(s, "\" role=\"img\" font-family=\"monospace\" font-size=\"12\"><title>");
    const char *t = c->o->title ? c->o->title : default_title;
    buf tmp = {0}, scratch = {0};
    if (clean_append(&scratch, t, strlen(t), &tmp))
        s->err = CHART_ENOMEM;
    else
        sw_text(s, tmp.data ? tmp.data : "", tmp.len);
    buf_free(&tmp);
    buf_free(&scratch);
    sw_str(s, "</title>\n");
}

/* <text class=… x=… y=… [text-anchor=end]>escaped, cut to cells</text> */
static void svg_label(sw *s, const char *cls, long x, long y, int end, const ctx *c, const str *t,
                      size_t cells) {
    sw_str(s, "<text class=\"");
    sw_str(s, cls);
    sw_str(s, "\" x=\"");
    sw_num(s, x);
    sw_str(s, "\" y=\"");
    sw_num(s, y);
    if (strcmp(cls, "ami-heading") == 0)
        sw_str(s, "\" font-weight=\"bold");
    sw_str(s, end ? "\" text-anchor=\"end\">" : "\">");
    sw_fit(s, str_at(c, t), t->len, t->w, cells);
    sw_str(s, "</text>\n");
}

/* <rect class="ami-bar ami-sK" …><title>label[, name]: value</title></rect> */
static void svg_bar(sw *s, size_t series, long x, long y, long w, long h, const ctx *c,
                    const str *label, const str *name, const str *value) {
    sw_str(s, "<rect class=\"ami-bar ami-s");
    if (!s->err && buf_printf(s->b, "%zu", series + 1))
        s->err = CHART_ENOMEM;
    sw_str(s, "\" x=\"");
    sw_num(s, x);
    sw_str(s, "\" y=\"");
    sw_num(s, y);
    sw_str(s, "\" width=\"");
    sw_num(s, w);
    sw_str(s, "\" height=\"");
    sw_num(s, h);
    sw_str(s, "\" fill=\"");
    sw_str(s, svg_fills[series]);
    sw_str(s, "\"><title>");
    sw_text(s, str_at(c, label), label->len);
    if (name && name->len) {
        sw_str(s, ", ");
        sw_text(s, str_at(c, name), name->len);
    }
    sw_str(s, ": ");
    sw_text(s, str_at(c, value), value->len);
    sw_str(s, "</title></rect>\n");
}

/* Legend rows for a stacked SVG from y; returns the height used. */
static long svg_legend(sw *s, const ctx *c, const layout *L, long y, int draw) {
    long x = T_PAD, right = CHART_SVG_WIDTH * 10 - T_PAD, h = T_LEGEND;
    for (size_t k = 0; k < L->ns; k++) {
        size_t cells = L->names[k].w < 30 ? L->names[k].w : 30;
        long item = 140 + (long)cells * T_CELL;
        if (x > T_PAD && x + item > right) {
            x = T_PAD;
            y += T_LEGEND;
            h += T_LEGEND;
        }
        if (draw) {
            sw_str(s, "<rect class=\"ami-s");
            if (!s->err && buf_printf(s->b, "%zu", k + 1))
                s->err = CHART_ENOMEM;
            sw_str(s, "\" x=\"");
            sw_num(s, x);
            sw_str(s, "\" y=\"");
            sw_num(s, y + 60);
            sw_str(s, "\" width=\"10\" height=\"10\" fill=\"");
            sw_str(s, svg_fills[k]);
            sw_str(s, "\"/>\n");
            svg_label(s, "ami-legend", x + 140, y + T_TEXT_Y, 0, c, &L->names[k], 30);
        }
        x += item + 160;
    }
    return h;
}

/* Bar lengths in tenths: v of max over full, at least 1 px when v > 0. */
static long bar_len(double v, double max, long full) {
    if (!(v > 0) || !(max > 0))
        return 0;
    double x = v / max * (double)full;
    if (isnan(x))
        return 0;
    long t = x >= (double)full ? full : (long)floor(x + 0.5);
    return t < 10 ? 10 : t;
}

int chart_bars_svg(const chart_data *d, const chart_opts *o, buf *out) {
    if (!out)
        return CHART_EINVAL;
    buf_clear(out);
    int rc = check_data(d);
    if (rc)
        return rc;
    ctx c;
    ctx_init(&c, o);
    const char *def = c.o->locale == CHART_FR ? "Graphique de consommation" : "Usage chart";
    layout L;
    memset(&L, 0, sizeof L);
    if (d->n_labels && d->n_series)
        rc = layout_prepare(&c, d, &L);
    sw s = {out, rc};
    if (!rc) {
        /* Columns: labels right-aligned before the bars, values after them. */
        size_t lc = 0, vc = 0;
        for (size_t i = 0; i < L.n; i++)
            lc = L.labels[i].w > lc ? L.labels[i].w : lc;
        size_t nv = L.stacked ? L.n : L.n * L.ns;
        for (size_t k = 0; k < nv; k++)
            vc = L.values[k].w > vc ? L.values[k].w : vc;
        lc = lc < SVG_CELLS_MAX ? lc : SVG_CELLS_MAX;
        vc = vc < SVG_CELLS_MAX ? vc : SVG_CELLS_MAX;
        long label_end = T_PAD + (long)lc * T_CELL;
        long x0 = lc ? label_end + T_GAP : T_PAD;
        long full = CHART_SVG_WIDTH * 10 - T_PAD - x0 - (long)vc * T_CELL - T_GAP;

        long height = 2 * T_PAD;
        if (L.n && L.stacked)
            height += svg_legend(&s, &c, &L, 0, 0) + (long)L.n * T_ROW;
        else if (L.n)
            height += (long)L.ns * (long)L.n * T_ROW + (L.ns > 1 ? (long)L.ns * T_LEGEND : 0);
        svg_open(&s, &c, height, def);

        long y = T_PAD;
        if (L.n && L.stacked) {
            y += svg_legend(&s, &c, &L, y, 1);
            for (size_t i = 0; i < L.n; i++, y += T_ROW) {
                svg_label(&s, "ami-label", label_end, y + T_TEXT_Y, 1, &c, &L.labels[i],
                          SVG_CELLS_MAX);
                long x = x0;
                double cum = 0;
                for (size_t k = 0; k < L.ns && !s.err; k++) {
                    double v = d->series[k].values[i];
                    if (!known(v) || !(clamp0(v) > 0))
                        continue;
                    cum = add_sat(cum, clamp0(v));
                    long edge = x0 + bar_len(cum, L.max, full);
                    if (edge < x + 10)
                        edge = x + 10;
                    str val;
                    if ((s.err = pool_value(&c, v, &val)))
                        break;
                    svg_bar(&s, k, x, y + T_BAR_Y, edge - x, T_BAR, &c, &L.labels[i], &L.names[k],
                            &val);
                    x = edge;
                }
                svg_label(&s, "ami-value", x + 40, y + T_TEXT_Y, 0, &c, &L.values[i],
                          SVG_CELLS_MAX);
            }
        } else if (L.n) {
            for (size_t k = 0; k < L.ns; k++) {
                if (L.ns > 1) {
                    svg_label(&s, "ami-heading", T_PAD, y + T_TEXT_Y, 0, &c, &L.names[k], 80);
                    y += T_LEGEND;
                }
                for (size_t i = 0; i < L.n; i++, y += T_ROW) {
                    const str *val = &L.values[k * L.n + i];
                    double v = d->series[k].values[i];
                    long len = known(v) ? bar_len(clamp0(v), L.max, full) : 0;
                    svg_label(&s, "ami-label", label_end, y + T_TEXT_Y, 1, &c, &L.labels[i],
                              SVG_CELLS_MAX);
                    if (len)
                        svg_bar(&s, k, x0, y + T_BAR_Y, len, T_BAR, &c, &L.labels[i],
                                L.ns > 1 ? &L.names[k] : NULL, val);
                    svg_label(&s, "ami-value", x0 + len + 40, y + T_TEXT_Y, 0, &c, val,
                              SVG_CELLS_MAX);
                }
            }
        }
        sw_str(&s, "</svg>\n");
    }
    rc = s.err;
    layout_free(&L);
    ctx_free(&c);
    if (rc)
        buf_clear(out);
    return rc;
}

int chart_gauge_svg(double spent, double budget, const chart_opts *o, buf *out) {
    if (!out)
        return CHART_EINVAL;
    buf_clear(out);
    if (!(budget > 0) || !isfinite(budget))
        return CHART_EINVAL;
    ctx c;
    ctx_init(&c, o);
    str cap;
    int rc = gauge_caption(&c, spent, budget, &cap);
    sw s = {out, rc};
    if (!rc) {
        size_t cc = cap.w < 40 ? cap.w : 40;
        long track = CHART_SVG_WIDTH * 10 - 2 * T_PAD - T_GAP - (long)cc * T_CELL;
        double ratio = known(spent) ? clamp0(spent) / budget : 0;
        int over = ratio > 1;
        long len = bar_len(ratio > 1 ? 1 : ratio, 1, track);
        svg_open(&s, &c, 2 * T_PAD + 160, c.o->locale == CHART_FR ? "Budget" : "Budget gauge");
        sw_str(&s, "<rect class=\"ami-track\" x=\"");
        sw_num(&s, T_PAD);
        sw_str(&s, "\" y=\"");
        sw_num(&s, T_PAD);
        sw_str(&s, "\" width=\"");
        sw_num(&s, track);
        sw_str(&s, "\" height=\"16\" rx=\"3\" fill=\"#e6e6e6\"/>\n");
        if (len) {
            sw_str(&s, over ? "<rect class=\"ami-gauge ami-over\" x=\""
                            : "<rect class=\"ami-gauge\" x=\"");
            sw_num(&s, T_PAD);
            sw_str(&s, "\" y=\"");
            sw_num(&s, T_PAD);
            sw_str(&s, "\" width=\"");
            sw_num(&s, len);
            sw_str(&s, "\" height=\"16\" rx=\"3\" fill=\"");
            sw_str(&s, over ? "#e15759" : "#59a14f");
            sw_str(&s, "\"/>\n");
        }
        svg_label(&s, "ami-value", T_PAD + track + T_GAP, T_PAD + 120, 0, &c, &cap, 40);
        sw_str(&s, "</svg>\n");
    }
    rc = s.err;
    ctx_free(&c);
    if (rc)
        buf_clear(out);
    return rc;
}
