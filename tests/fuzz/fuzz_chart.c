/* libFuzzer target for the charts (src/chart*.c): random values, labels, names, widths,
 * locales, units and modes.  Checks, aborting on failure:
 *   - every text chart is well-formed UTF-8 ending in LF, each line at most the (clamped)
 *     width in display cells, no trailing space (bars and gauge), the expected line count;
 *   - every span lies in one line, on code point boundaries, in order, non-empty, and holds
 *     what its group says (block characters for bars and gauges);
 *   - every SVG is well-formed XML (a checker written here, as in tests/unit/test_chart.c);
 *   - the same call twice gives the same bytes.
 *
 * Input layout:
 *   byte 0   width (0 = default; small ones are raised to CHART_MIN_WIDTH)
 *   byte 1   bit 0 French, bits 1-2 unit, bit 3 stacked, bit 4 the caller's formatter (it
 *            echoes bytes of the input, so its output needs the clean-up)
 *   byte 2   labels (0..31), byte 3 series (0..8), byte 4 gauge spent, byte 5 budget
 *   then     one byte per value (labels × series): < 20 a special value (0, -1, NaN, ±inf,
 *            1e9, 1e308, subnormals, ...), else a multiple of 13.7
 *   the rest labels then series names, separated by NUL bytes (any bytes inside)
 *
 * Build and run (from the repository root):
 *   make build/fuzz/fuzz_chart
 *   cp -r tests/fuzz/corpus/chart /tmp/corpus_chart && build/fuzz/fuzz_chart \
 *     -max_total_time=120 /tmp/corpus_chart
 */
#include "ami/buf.h"
#include "ami/chart.h"
#include "ami/utf8.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- XML well-formedness (the same checker as the unit test) ---------------------------- */

typedef struct xml {
    const char *s;
    size_t n, i;
    int depth;
} xml;

static int xml_char_ok(const char *s, size_t n) {
    if (!utf8_valid(s, n))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            return 0;
        if (c == 0xEF && i + 2 < n && (unsigned char)s[i + 1] == 0xBF &&
            ((unsigned char)s[i + 2] == 0xBE || (unsigned char)s[i + 2] == 0xBF))
            return 0; /* U+FFFE, U+FFFF */
    }
    return 1;
}

static int xml_name_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}

static int xml_name_char(char c) {
    return xml_name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

static size_t xml_name(xml *x) {
    size_t at = x->i;
    if (x->i >= x->n || !xml_name_start(x->s[x->i]))
        return 0;
    while (x->i < x->n && xml_name_char(x->s[x->i]))
        x->i++;
    return x->i - at;
}

static void xml_space(xml *x) {
    while (x->i < x->n && strchr(" \t\r\n", x->s[x->i]) && x->s[x->i])
        x->i++;
}

/* At '&': a known entity or a character reference. */
static int xml_ref(xml *x) {
    static const char *const ents[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
    for (size_t k = 0; k < 5; k++) {
        size_t l = strlen(ents[k]);
        if (x->n - x->i >= l && memcmp(x->s + x->i, ents[k], l) == 0) {
            x->i += l;
            return 1;
        }
    }
    if (x->n - x->i < 4 || x->s[x->i + 1] != '#')
        return 0;
    size_t j = x->i + 2, digits = 0;
    int hex = x->s[j] == 'x';
    j += (size_t)hex;
    while (j < x->n && ((x->s[j] >= '0' && x->s[j] <= '9') ||
                        (hex && strchr("abcdefABCDEF", x->s[j]) && x->s[j]))) {
        j++;
        digits++;
    }
    if (!digits || j >= x->n || x->s[j] != ';')
        return 0;
    x->i = j + 1;
    return 1;
}

static int xml_element(xml *x);

static int xml_content(xml *x) {
    while (x->i < x->n) {
        char c = x->s[x->i];
        if (c == '<') {
            if (x->i + 1 < x->n && x->s[x->i + 1] == '/')
                return 1;
            if (!xml_element(x))
                return 0;
        } else if (c == '&') {
            if (!xml_ref(x))
                return 0;
        } else if (c == '>') {
            return 0; /* legal in XML, but chart.c escapes it: a raw one means a bug */
        } else {
            x->i++;
        }
    }
    return 0; /* ran out inside an element */
}

static int xml_element(xml *x) {
    if (++x->depth > 64 || x->i >= x->n || x->s[x->i] != '<')
        return 0;
    x->i++;
    size_t name_at = x->i, name_len = xml_name(x);
    if (!name_len)
        return 0;
    size_t attr_at[32], attr_len[32], n_attr = 0;
    for (;;) {
        size_t before = x->i;
        xml_space(x);
        if (x->i >= x->n)
            return 0;
        if (x->s[x->i] == '/' || x->s[x->i] == '>')
            break;
        if (x->i == before)
            return 0; /* attributes need a space before them */
        size_t a_at = x->i, a_len = xml_name(x);
        if (!a_len || n_attr == 32)
            return 0;
        for (size_t k = 0; k < n_attr; k++)
            if (attr_len[k] == a_len && memcmp(x->s + attr_at[k], x->s + a_at, a_len) == 0)
                return 0; /* duplicate attribute */
        attr_at[n_attr] = a_at;
        attr_len[n_attr++] = a_len;
        xml_space(x);
        if (x->i >= x->n || x->s[x->i] != '=')
            return 0;
        x->i++;
        xml_space(x);
        if (x->i >= x->n || (x->s[x->i] != '"' && x->s[x->i] != '\''))
            return 0;
        char q = x->s[x->i++];
        while (x->i < x->n && x->s[x->i] != q) {
            if (x->s[x->i] == '<')
                return 0;
            if (x->s[x->i] == '&') {
                if (!xml_ref(x))
                    return 0;
            } else {
                x->i++;
            }
        }
        if (x->i >= x->n)
            return 0;
        x->i++;
    }
    if (x->s[x->i] == '/') {
        if (x->i + 1 >= x->n || x->s[x->i + 1] != '>')
            return 0;
        x->i += 2;
        x->depth--;
        return 1;
    }
    x->i++;
    if (!xml_content(x))
        return 0;
    x->i += 2; /* "</" */
    size_t end_at = x->i, end_len = xml_name(x);
    if (end_len != name_len || memcmp(x->s + end_at, x->s + name_at, name_len) != 0)
        return 0;
    xml_space(x);
    if (x->i >= x->n || x->s[x->i] != '>')
        return 0;
    x->i++;
    x->depth--;
    return 1;
}

/* One root element, optionally surrounded by whitespace. */
static int xml_well_formed(const char *s, size_t n) {
    if (!xml_char_ok(s, n))
        return 0;
    xml x = {s, n, 0, 0};
    xml_space(&x);
    if (!xml_element(&x))
        return 0;
    xml_space(&x);
    return x.i == n;
}

/* ---- text chart properties ------------------------------------------------------------- */

static int is_block_text(const char *s, size_t n, int spaces_ok) {
    /* U+2581..U+2589 (▁..▉), U+258A..U+258F (▊..▏), U+2588 █, U+2591..U+2593 (░▒▓). */
    for (size_t i = 0; i < n;) {
        if (spaces_ok && s[i] == ' ') {
            i++;
            continue;
        }
        if (n - i < 3 || (unsigned char)s[i] != 0xE2 || (unsigned char)s[i + 1] != 0x96)
            return 0;
        unsigned char c = (unsigned char)s[i + 2];
        if (!((c >= 0x81 && c <= 0x8F) || (c >= 0x91 && c <= 0x93)))
            return 0;
        i += 3;
    }
    return 1;
}

static int is_boundary(const char *s, size_t len, size_t at) {
    return at == 0 || at == len || ((unsigned char)s[at] & 0xC0) != 0x80;
}

/* The properties of any text chart, for a given (already clamped) width. */
/* The properties of any text chart, for a given (already clamped) width; *n_lines gets the
 * number of lines.  trailing_ok: a sparkline may end with spaces (zeros at the end). */
static int check_text(const chart_text *t, size_t width, int trailing_ok, size_t *n_lines) {
    const char *s = t->text.data;
    size_t n = t->text.len;
    if (!s || s[n] || !utf8_valid(s, n))
        return 0;
    if (n && s[n - 1] != '\n')
        return 0;
    size_t starts[4096], lines = 0;
    for (size_t i = 0; i < n;) {
        if (lines == 4096)
            return 0;
        starts[lines++] = i;
        const char *nl = memchr(s + i, '\n', n - i);
        size_t end = (size_t)(nl - s);
        if (chart_display_width(s + i, end - i) > width)
            return 0;
        if (!trailing_ok && end > i && s[end - 1] == ' ')
            return 0; /* trailing space */
        i = end + 1;
    }
    for (size_t k = 0; k < t->n_spans; k++) {
        const chart_span *sp = &t->spans[k];
        if (sp->len == 0 || sp->line >= lines || sp->pos != starts[sp->line] + sp->col ||
            sp->pos + sp->len > n || memchr(s + sp->pos, '\n', sp->len) || !sp->group)
            return 0;
        if (!is_boundary(s, n, sp->pos) || !is_boundary(s, n, sp->pos + sp->len))
            return 0;
        if (k && (sp->pos < t->spans[k - 1].pos + t->spans[k - 1].len))
            return 0; /* in order, never overlapping */
        const char *g = sp->group;
        if (strncmp(g, "AmiChartBar", 11) == 0 || strncmp(g, "AmiChartGauge", 13) == 0) {
            if (!is_block_text(s + sp->pos, sp->len, 1))
                return 0;
        } else if (strcmp(g, "AmiChartLabel") == 0 || strcmp(g, "AmiChartValue") == 0 ||
                   strcmp(g, "AmiChartTitle") == 0 || strcmp(g, "AmiChartLegend") == 0) {
            if (s[sp->pos] == ' ' || s[sp->pos + sp->len - 1] == ' ')
                return 0;
        } else {
            return 0; /* an unknown group */
        }
    }
    *n_lines = lines;
    return 1;
}

/* ---- the target ------------------------------------------------------------------------ */

static const double specials[20] = {
    0,      -1,   NAN,  INFINITY, -INFINITY, 1e9,  1e308, 5e-324, 1e-300, 0.004,
    0.0049, 0.01, 12.5, 999.6,    1e15,      -0.0, 1e12,  99.95,  1,      1.7976931348623157e308,
};

typedef struct echo {
    const char *s;
    size_t n;
} echo;

/* The caller's formatter: echoes up to 40 bytes of the input, picked by the value. */
static int echo_format(void *ud, double v, buf *out) {
    const echo *e = ud;
    if (e->n == 0)
        return buf_append_str(out, "x");
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits); /* any double, huge ones included, picks a piece */
    size_t k = (size_t)((bits >> 20) % 41);
    size_t at = (size_t)(bits % e->n);
    if (k > e->n - at)
        k = e->n - at;
    return buf_append(out, e->s + at, k);
}

static void fail(const char *what) {
    fprintf(stderr, "fuzz_chart: %s\n", what);
    abort();
}

static void same_text(const chart_text *a, const chart_text *b) {
    if (a->text.len != b->text.len || memcmp(a->text.data, b->text.data, a->text.len) ||
        a->n_spans != b->n_spans ||
        (a->n_spans && memcmp(a->spans, b->spans, a->n_spans * sizeof *a->spans)))
        fail("two runs differ");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 6)
        return 0;
    int width = data[0];
    chart_opts o;
    chart_opts_default(&o);
    o.width = width;
    o.locale = data[1] & 1 ? CHART_FR : CHART_EN;
    o.unit = (chart_unit)((data[1] >> 1) & 3);
    if (o.unit > CHART_COUNT)
        o.unit = CHART_MONEY;
    o.mode = data[1] & 8 ? CHART_STACKED : CHART_SPLIT;
    size_t nl = data[2] % 32, ns = data[3] % 9, pos = 6;
    double spent = data[4] < 20 ? specials[data[4]] : (data[4] - 20) * 0.37;
    double budget = data[5] < 20 ? specials[data[5]] : (data[5] - 19) * 0.5;

    double *values = calloc(nl * ns + 1, sizeof *values);
    const char **labels = calloc(nl + 1, sizeof *labels);
    chart_series series[8];
    if (!values || !labels)
        abort();
    for (size_t k = 0; k < nl * ns; k++) {
        uint8_t b = pos < size ? data[pos++] : 0;
        values[k] = b < 20 ? specials[b] : (b - 20) * 13.7;
    }
    /* The rest: NUL-separated strings, copied so that each is NUL-terminated. */
    size_t rest = pos < size ? size - pos : 0;
    char *text = malloc(rest + 1);
    if (!text)
        abort();
    if (rest)
        memcpy(text, data + pos, rest);
    text[rest] = 0;
    echo e = {text, rest};
    if (data[1] & 16) {
        o.format = echo_format;
        o.format_ud = &e;
    }
    char *p = text, *end = text + rest;
    for (size_t i = 0; i < nl; i++) {
        labels[i] = p < end ? p : (i % 2 ? NULL : "");
        if (p < end)
            p += strlen(p) + 1;
    }
    for (size_t s = 0; s < ns; s++) {
        series[s].name = p < end ? p : NULL;
        if (p < end)
            p += strlen(p) + 1;
        series[s].values = values + s * nl;
    }
    chart_data d = {labels, nl, series, ns};
    size_t w = width == 0                ? CHART_DEFAULT_WIDTH
               : width < CHART_MIN_WIDTH ? CHART_MIN_WIDTH
                                         : (size_t)width;

    chart_text t = {0}, again = {0};
    size_t lines;
    int rc = chart_bars(&d, &o, &t);
    int stacked_refused = o.mode == CHART_STACKED && ns > CHART_MAX_STACKED_TEXT;
    if (rc != (stacked_refused ? CHART_EINVAL : CHART_OK))
        fail("chart_bars result");
    if (!check_text(&t, w, 0, &lines))
        fail("chart_bars text");
    if (rc == CHART_OK && nl && ns) {
        size_t want = ns == 1 ? nl : o.mode == CHART_STACKED ? 0 : ns * (nl + 1) + ns - 1;
        if (want && lines != want)
            fail("chart_bars line count");
        if (o.mode == CHART_STACKED && ns > 1 && lines <= nl)
            fail("stacked: no legend");
    }
    if (chart_bars(&d, &o, &again) != rc)
        fail("chart_bars twice");
    same_text(&t, &again);

    rc = chart_spark(&d, &o, &t);
    if (rc != CHART_OK || !check_text(&t, w, 1, &lines) || lines != (nl ? ns : 0))
        fail("chart_spark");

    rc = chart_gauge(spent, budget, &o, &t);
    int budget_ok = budget > 0 && isfinite(budget);
    if (rc != (budget_ok ? CHART_OK : CHART_EINVAL) || !check_text(&t, w, 0, &lines) ||
        lines != (budget_ok ? 1u : 0u))
        fail("chart_gauge");

    buf svg = {0};
    for (int mode = 0; mode < 2; mode++) {
        o.mode = mode ? CHART_STACKED : CHART_SPLIT;
        o.title = ns ? series[0].name : NULL;
        if (chart_bars_svg(&d, &o, &svg) != CHART_OK)
            fail("chart_bars_svg result");
        if (!xml_well_formed(svg.data, svg.len))
            fail("chart_bars_svg is not well-formed");
    }
    rc = chart_gauge_svg(spent, budget, &o, &svg);
    if (rc != (budget_ok ? CHART_OK : CHART_EINVAL))
        fail("chart_gauge_svg result");
    if (rc == CHART_OK && !xml_well_formed(svg.data, svg.len))
        fail("chart_gauge_svg is not well-formed");

    buf_free(&svg);
    chart_text_free(&t);
    chart_text_free(&again);
    free(text);
    free(values);
    free(labels);
    return 0;
}
