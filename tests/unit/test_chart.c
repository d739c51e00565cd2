/* Tests for the charts (src/chart*.c): the exact characters of each text chart at fixed data,
 * the number formats of both locales, widths, the highlight spans, and the SVG (escaped and
 * well-formed, by a small XML checker written here).
 *
 * Every text chart made here goes through check_text(), which checks the properties all of
 * them must have: well-formed UTF-8, each line within the width, no trailing space, and
 * spans inside one line, on code point boundaries, non-empty, holding what their group says
 * (block characters for a bar, no space at either end of a label or value).
 */
#include "ami/buf.h"
#include "ami/chart.h"
#include "ami/utf8.h"
#include "check.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NNBSP "\xE2\x80\xAF"
#define NBSP  "\xC2\xA0"

/* ---- a small XML well-formedness checker ------------------------------------------------ */

/* Enough XML 1.0 for what chart.c writes: elements, attributes in double or single quotes
 * (unique per element), text, the five entities and character references; no comment, PI,
 * CDATA or DOCTYPE (chart.c writes none, so any is an error).  Characters must be well-
 * formed UTF-8 and XML Chars. */
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

static void test_xml_checker(void) {
    /* The checker itself must reject what it is there to catch. */
    const char *good = "<a x=\"1\" y='&amp;'><b/>t&lt;&#233;&#xE9;<c>é</c></a>\n";
    CHECK(xml_well_formed(good, strlen(good)));
    const char *bad[] = {
        "<a>",
        "<a></b>",
        "<a x=\"1\" x=\"2\"/>",
        "<a>&</a>",
        "<a>&bogus;</a>",
        "<a x=1/>",
        "<a><b></a></b>",
        "<a/><b/>",
        "<a>\x01</a>",
        "<a>\xff</a>",
        "<a x=\"<\"/>",
        "<a>></a>",
        "<a>\xEF\xBF\xBF</a>",
        "<a x=\"1\"y=\"2\"/>",
        "text",
        "",
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++)
        CHECK(!xml_well_formed(bad[k], strlen(bad[k])));
}

/* ---- checks shared by every text chart -------------------------------------------------- */

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
static int check_text(const chart_text *t, size_t width) {
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
        if (end > i && s[end - 1] == ' ')
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
    return 1;
}

/* The text of span k. */
static int span_is(const chart_text *t, size_t k, size_t line, const char *group,
                   const char *text) {
    if (k >= t->n_spans)
        return 0;
    const chart_span *sp = &t->spans[k];
    return sp->line == line && strcmp(sp->group, group) == 0 && sp->len == strlen(text) &&
           memcmp(t->text.data + sp->pos, text, sp->len) == 0;
}

static chart_opts opts(int width, chart_locale l, chart_unit u) {
    chart_opts o;
    chart_opts_default(&o);
    o.width = width;
    o.locale = l;
    o.unit = u;
    return o;
}

static const char *fmt(int (*f)(chart_locale, double, buf *), chart_locale l, double v) {
    static buf b;
    buf_clear(&b);
    if (f(l, v, &b) != 0)
        return "(error)";
    return b.data ? b.data : "";
}

/* ---- numbers ---------------------------------------------------------------------------- */

static void test_money(void) {
    CHECK_STR(fmt(chart_format_money, CHART_EN, 0), "$0.00");
    CHECK_STR(fmt(chart_format_money, CHART_EN, 1234.56), "$1,234.56");
    CHECK_STR(fmt(chart_format_money, CHART_EN, 5), "$5.00");
    CHECK_STR(fmt(chart_format_money, CHART_EN, 0.004542), "$0.0045");
    CHECK_STR(fmt(chart_format_money, CHART_EN, 0.01), "$0.01");
    CHECK_STR(fmt(chart_format_money, CHART_EN, 999.999), "$1,000.00");
    CHECK_STR(fmt(chart_format_money, CHART_EN, 1e9), "$1,000,000,000.00");
    CHECK_STR(fmt(chart_format_money, CHART_EN, 123456789012.34), "$123,456,789,012.34");
    CHECK_STR(fmt(chart_format_money, CHART_EN, -3.5), "-$3.50");
    CHECK_STR(fmt(chart_format_money, CHART_EN, -0.001), "-$0.0010");
    CHECK_STR(fmt(chart_format_money, CHART_EN, 1e15), "$1.00e15");
    CHECK_STR(fmt(chart_format_money, CHART_EN, 1.234e18), "$1.23e18");
    CHECK_STR(fmt(chart_format_money, CHART_EN, 9.999e20), "$1.00e21");
    CHECK_STR(fmt(chart_format_money, CHART_EN, 1e308), "$1.00e308");
    CHECK_STR(fmt(chart_format_money, CHART_EN, NAN), "?");
    CHECK_STR(fmt(chart_format_money, CHART_EN, INFINITY), "?");
    CHECK_STR(fmt(chart_format_money, CHART_FR, 1234.56), "1" NNBSP "234,56" NBSP "$");
    CHECK_STR(fmt(chart_format_money, CHART_FR, 0.5), "0,50" NBSP "$");
    CHECK_STR(fmt(chart_format_money, CHART_FR, 1e9),
              "1" NNBSP "000" NNBSP "000" NNBSP "000,00" NBSP "$");
    CHECK_STR(fmt(chart_format_money, CHART_FR, -12), "-12,00" NBSP "$");
    CHECK_STR(fmt(chart_format_money, CHART_FR, 0.0045), "0,0045" NBSP "$");
    CHECK_STR(fmt(chart_format_money, CHART_FR, 2.5e16), "2,50e16" NBSP "$");
}

static void test_tokens(void) {
    CHECK_STR(fmt(chart_format_tokens, CHART_EN, 0), "0");
    CHECK_STR(fmt(chart_format_tokens, CHART_EN, 950), "950");
    CHECK_STR(fmt(chart_format_tokens, CHART_EN, 999.4), "999");
    CHECK_STR(fmt(chart_format_tokens, CHART_EN, 999.6), "1.0k");
    CHECK_STR(fmt(chart_format_tokens, CHART_EN, 1234), "1.2k");
    CHECK_STR(fmt(chart_format_tokens, CHART_EN, 12345), "12.3k");
    CHECK_STR(fmt(chart_format_tokens, CHART_EN, 99960), "100k");
    CHECK_STR(fmt(chart_format_tokens, CHART_EN, 123456), "123k");
    CHECK_STR(fmt(chart_format_tokens, CHART_EN, 999999), "1.0M");
    CHECK_STR(fmt(chart_format_tokens, CHART_EN, 1.5e9), "1.5G");
    CHECK_STR(fmt(chart_format_tokens, CHART_EN, 2e12), "2.0T");
    CHECK_STR(fmt(chart_format_tokens, CHART_EN, 999.6e12), "1.00e15");
    CHECK_STR(fmt(chart_format_tokens, CHART_EN, -1234), "-1.2k");
    CHECK_STR(fmt(chart_format_tokens, CHART_EN, NAN), "?");
    CHECK_STR(fmt(chart_format_tokens, CHART_FR, 1234), "1,2" NBSP "k");
    CHECK_STR(fmt(chart_format_tokens, CHART_FR, 123456), "123" NBSP "k");
    CHECK_STR(fmt(chart_format_tokens, CHART_FR, 3.25e6), "3,3" NBSP "M");
    CHECK_STR(fmt(chart_format_tokens, CHART_FR, 950), "950");
}

static void test_counts_and_percent(void) {
    CHECK_STR(fmt(chart_format_count, CHART_EN, 1234567), "1,234,567");
    CHECK_STR(fmt(chart_format_count, CHART_EN, 12.4), "12");
    CHECK_STR(fmt(chart_format_count, CHART_FR, 1234), "1" NNBSP "234");
    CHECK_STR(fmt(chart_format_count, CHART_FR, 999), "999");
    CHECK_STR(fmt(chart_format_percent, CHART_EN, 0.42), "42%");
    CHECK_STR(fmt(chart_format_percent, CHART_FR, 0.42), "42" NNBSP "%");
    CHECK_STR(fmt(chart_format_percent, CHART_EN, 0), "0%");
    CHECK_STR(fmt(chart_format_percent, CHART_EN, 0.001), "<1%");
    CHECK_STR(fmt(chart_format_percent, CHART_FR, 0.001), "<1" NNBSP "%");
    CHECK_STR(fmt(chart_format_percent, CHART_EN, 1.4), "140%");
    CHECK_STR(fmt(chart_format_percent, CHART_EN, 123.456), "12,346%");
    CHECK_STR(fmt(chart_format_percent, CHART_EN, NAN), "?%");
}

/* A caller's formatter: euros with a comma, or failure. */
static int euros(void *ud, double v, buf *out) {
    int *calls = ud;
    (*calls)++;
    return buf_printf(out, "%d\xE2\x82\xAC", (int)lround(v));
}

static int failing(void *ud, double v, buf *out) {
    (void)ud;
    (void)v;
    (void)out;
    return -1;
}

static int nasty(void *ud, double v, buf *out) {
    (void)ud;
    (void)v;
    return buf_append(out, "a\nb<\x01\xff", 7);
}

static void test_custom_format(void) {
    int calls = 0;
    chart_opts o = opts(40, CHART_EN, CHART_MONEY);
    o.format = euros;
    o.format_ud = &calls;
    buf b = {0};
    CHECK_INT(chart_format(&o, 12.4, &b), 0);
    CHECK_STR(b.data, "12€");
    CHECK_INT(calls, 1);
    buf_clear(&b);
    CHECK_INT(chart_format(&o, NAN, &b), 0); /* unknown: not handed to the caller */
    CHECK_STR(b.data, "?");
    CHECK_INT(calls, 1);
    o.format = nasty;
    buf_clear(&b);
    CHECK_INT(chart_format(&o, 1, &b), 0);
    /* Cleaned: LF, 0x01, the invalid 0xFF and the NUL that ends the 7 bytes. */
    CHECK_STR(b.data, "a\xEF\xBF\xBD"
                      "b<\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    o.format = failing;
    buf_clear(&b);
    CHECK_INT(chart_format(&o, 1, &b), CHART_EFORMAT);
    buf_clear(&b);
    CHECK_INT(chart_format(NULL, 2, &b), 0);
    CHECK_STR(b.data, "$2.00");
    buf_free(&b);

    /* In a chart. */
    const char *labels[] = {"a", "b"};
    double v[] = {10, 5};
    chart_series s = {"x", v};
    chart_data d = {labels, 2, &s, 1};
    chart_text t = {0};
    o.format = euros;
    CHECK_INT(chart_bars(&d, &o, &t), CHART_OK);
    /* Value column 3, label 1, bar 40 - 3 - 2 - 1 = 34; 5 is half of it, exactly. */
    CHECK_STR(t.text.data, "a ██████████████████████████████████ 10€\n"
                           "b █████████████████ 5€\n");
    CHECK(check_text(&t, 40));
    o.format = failing;
    CHECK_INT(chart_bars(&d, &o, &t), CHART_EFORMAT);
    CHECK_STR(t.text.data, "");
    CHECK_INT(t.n_spans, 0);
    chart_text_free(&t);
}

/* ---- display width ---------------------------------------------------------------------- */

static size_t dw(const char *s) {
    return chart_display_width(s, strlen(s));
}

static void test_display_width(void) {
    CHECK_INT(dw(""), 0);
    CHECK_INT(dw("2026-11"), 7);
    CHECK_INT(dw("\xC3\xA9t\xC3\xA9"), 3);        /* été, precomposed */
    CHECK_INT(dw("e\xCC\x81t\xC3\xA9"), 3);       /* e + combining acute */
    CHECK_INT(dw("\xE6\x97\xA5\xE6\x9C\xAC"), 4); /* 日本 */
    CHECK_INT(dw("\xED\x95\x9C"), 2);             /* 한 */
    CHECK_INT(dw("\xEF\xBC\xA1"), 2);             /* Ａ fullwidth */
    CHECK_INT(dw("\xF0\x9F\x98\x80"), 2);         /* 😀 */
    CHECK_INT(dw("█▏…"), 3);                      /* ambiguous: one cell each */
    CHECK_INT(dw("a\xE2\x80\x8B"
                 "b"),
              2);                 /* zero-width space */
    CHECK_INT(dw("\xff\xfe"), 2); /* invalid bytes: one cell each */
    CHECK_INT(dw("\xE6\x97"), 2); /* a cut code point: two bytes, two cells */
    CHECK_INT(dw("1" NNBSP "234,56" NBSP "$"), 10);
}

/* ---- bars ------------------------------------------------------------------------------- */

static const char *months[] = {"2026-09", "2026-10", "2026-11", "2026-12"};

static void test_bars_golden(void) {
    double v[] = {10, 2.5, 0.01};
    chart_series s = {"total", v};
    chart_data d = {months, 3, &s, 1};
    chart_opts o = opts(40, CHART_EN, CHART_MONEY);
    chart_text t = {0};
    CHECK_INT(chart_bars(&d, &o, &t), CHART_OK);
    /* value column 6 ("$10.00"), label column 7, bar column 40 - 6 - 2 - 7 = 25. */
    CHECK_STR(t.text.data, "2026-09 █████████████████████████ $10.00\n"
                           "2026-10 ██████▎ $2.50\n"
                           "2026-11 ▏ $0.01\n");
    CHECK(check_text(&t, 40));
    CHECK_INT(t.n_spans, 9);
    CHECK(span_is(&t, 0, 0, "AmiChartLabel", "2026-09"));
    CHECK(span_is(&t, 1, 0, "AmiChartBar", "█████████████████████████"));
    CHECK(span_is(&t, 2, 0, "AmiChartValue", "$10.00"));
    CHECK(span_is(&t, 4, 1, "AmiChartBar", "██████▎"));
    CHECK(span_is(&t, 7, 2, "AmiChartBar", "▏"));
    CHECK(span_is(&t, 8, 2, "AmiChartValue", "$0.01"));
    CHECK_INT(t.spans[4].col, 8);
    CHECK_INT(t.spans[5].col, 8 + strlen("██████▎") + 1);
    CHECK_INT(t.spans[5].pos,
              strlen("2026-09 █████████████████████████ $10.00\n") + 8 + strlen("██████▎") + 1);
    chart_text_free(&t);
}

/* Each eighth, and the rounding to the nearest: on a scale where the largest value fills
 * 17 cells (136 eighths), value v is v eighths. */
static int no_value(void *ud, double v, buf *out) {
    (void)ud;
    (void)v;
    (void)out;
    return 0;
}

static void test_eighths(void) {
    const char *labels[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m"};
    double v[] = {136, 1, 2, 3, 4, 5, 6, 7, 12.5, 12.49, 0.01, 0.5, 0};
    chart_series s = {"", v};
    chart_data d = {labels, 13, &s, 1};
    chart_opts o = opts(20, CHART_EN, CHART_MONEY);
    o.format = no_value; /* no value column: 20 - 2 - label 1 = 17 cells of bar */
    chart_text t = {0};
    CHECK_INT(chart_bars(&d, &o, &t), CHART_OK);
    CHECK_STR(t.text.data, "a █████████████████\n"
                           "b ▏\n"
                           "c ▎\n"
                           "d ▍\n"
                           "e ▌\n"
                           "f ▋\n"
                           "g ▊\n"
                           "h ▉\n"
                           "i █▋\n" /* 12.5 eighths rounds up to 13 */
                           "j █▌\n" /* 12.49 down to 12 */
                           "k ▏\n"  /* tiny, still shown */
                           "l ▏\n"
                           "m\n"); /* zero: nothing, no trailing space */
    CHECK(check_text(&t, 20));
    chart_text_free(&t);
}

static void test_min_width_and_clamps(void) {
    double v[] = {10, 2.5};
    chart_series s = {"total", v};
    chart_data d = {months, 2, &s, 1};
    chart_opts o = opts(5, CHART_EN, CHART_MONEY);
    chart_text narrow = {0}, twenty = {0};
    CHECK_INT(chart_bars(&d, &o, &narrow), CHART_OK);
    o.width = CHART_MIN_WIDTH;
    CHECK_INT(chart_bars(&d, &o, &twenty), CHART_OK);
    CHECK_STR(narrow.text.data, twenty.text.data); /* below the minimum: the minimum */
    /* 20 cells: value 6 (a third is 6), label min(7, 12 / 2 = 6) cut with "…", bar 6. */
    CHECK_STR(twenty.text.data, "2026-… ██████ $10.00\n"
                                "2026-… █▌ $2.50\n");
    CHECK(check_text(&twenty, 20));
    o.width = 0; /* the default */
    CHECK_INT(chart_bars(&d, &o, &narrow), CHART_OK);
    CHECK(check_text(&narrow, 80));
    CHECK_INT(chart_display_width(narrow.text.data, strcspn(narrow.text.data, "\n")), 80);
    o.width = 100000;
    CHECK_INT(chart_bars(&d, &o, &narrow), CHART_OK);
    CHECK_INT(chart_display_width(narrow.text.data, strcspn(narrow.text.data, "\n")),
              CHART_MAX_WIDTH);
    chart_text_free(&narrow);
    chart_text_free(&twenty);
}

/* Twelve months at 80 columns: the largest bar reaches exactly column 80. */
static void test_80_columns(void) {
    const char *labels[12] = {"2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06",
                              "2026-07", "2026-08", "2026-09", "2026-10", "2026-11", "2026-12"};
    double v[12];
    for (int i = 0; i < 12; i++)
        v[i] = 1.5 * i * i;
    v[7] = 9876.54; /* the largest, and the widest value */
    chart_series s = {"cost", v};
    chart_data d = {labels, 12, &s, 1};
    chart_opts o = opts(80, CHART_EN, CHART_MONEY);
    chart_text t = {0};
    CHECK_INT(chart_bars(&d, &o, &t), CHART_OK);
    CHECK(check_text(&t, 80));
    const char *line = t.text.data;
    for (int i = 0; i < 7; i++)
        line = strchr(line, '\n') + 1;
    CHECK_INT(chart_display_width(line, strcspn(line, "\n")), 80);
    CHECK(strncmp(line, "2026-08 ████", strlen("2026-08 ████")) == 0);
    CHECK_INT(t.n_spans, 35); /* 12 labels, 12 values, 11 bars (the first value is 0) */
    CHECK(span_is(&t, 0, 0, "AmiChartLabel", "2026-01"));
    CHECK(span_is(&t, 1, 0, "AmiChartValue", "$0.00")); /* zero: no bar span */
    chart_text_free(&t);
}

static void test_bars_french(void) {
    double v[] = {1234.5, 80};
    chart_series s = {"total", v};
    chart_data d = {months, 2, &s, 1};
    chart_opts o = opts(40, CHART_FR, CHART_MONEY);
    chart_text t = {0};
    CHECK_INT(chart_bars(&d, &o, &t), CHART_OK);
    /* "1 234,50 $" is 10 cells: bar column 40 - 10 - 2 - 7 = 21. */
    CHECK_STR(t.text.data, "2026-09 █████████████████████ 1" NNBSP "234,50" NBSP "$\n"
                           "2026-10 █▍ 80,00" NBSP "$\n");
    CHECK(check_text(&t, 40));
    o.unit = CHART_TOKENS;
    double tok[] = {1234567, 4321};
    s.values = tok;
    CHECK_INT(chart_bars(&d, &o, &t), CHART_OK);
    CHECK_STR(t.text.data, "2026-09 ██████████████████████████ 1,2" NBSP "M\n"
                           "2026-10 ▏ 4,3" NBSP "k\n");
    CHECK(check_text(&t, 40));
    chart_text_free(&t);
}

static void test_labels(void) {
    /* Wide characters, a combining mark, a control character, invalid UTF-8, a bidi
     * override, NULL: all measured in cells, cleaned, aligned. */
    const char *labels[] = {"\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E", /* 日本語: 6 cells */
                            "e\xCC\x81t\xC3\xA9",                   /* été: 3 cells */
                            "a\nb",
                            "\xff"
                            "z",
                            "x\xE2\x80\xAEy",
                            NULL};
    double v[] = {8, 4, 2, 1, 1, 1};
    chart_series s = {"", v};
    chart_data d = {labels, 6, &s, 1};
    chart_opts o = opts(30, CHART_EN, CHART_COUNT);
    chart_text t = {0};
    CHECK_INT(chart_bars(&d, &o, &t), CHART_OK);
    /* Value column 1, label column 6, bar 30 - 1 - 2 - 6 = 21. */
    CHECK_STR(t.text.data, "日本語 █████████████████████ 8\n"
                           "e\xCC\x81t\xC3\xA9    ██████████▌ 4\n"
                           "a\xEF\xBF\xBD"
                           "b    █████▎ 2\n"
                           "\xEF\xBF\xBD"
                           "z     ██▋ 1\n"
                           "x\xEF\xBF\xBDy    ██▋ 1\n"
                           "       ██▋ 1\n");
    CHECK(check_text(&t, 30));
    CHECK(span_is(&t, 0, 0, "AmiChartLabel", "日本語"));
    CHECK(span_is(&t, 3, 1, "AmiChartLabel", "e\xCC\x81t\xC3\xA9"));
    /* Spaces around a label are dropped, inner ones kept. */
    const char *spaced[] = {"  2026 11  "};
    d.labels = spaced;
    d.n_labels = 1;
    CHECK_INT(chart_bars(&d, &o, &t), CHART_OK);
    CHECK_STR(t.text.data, "2026 11 ████████████████████ 8\n");
    CHECK(span_is(&t, 0, 0, "AmiChartLabel", "2026 11"));
    /* Cut in cells: a wide character that does not fit leaves its cell empty. */
    const char *wide[] = {"\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE6\x97\xA5\xE6\x9C\xAC", /* 10 */
                          "abcdefghij"};
    d.labels = wide;
    d.n_labels = 2;
    o.width = 20; /* value 1, label min(10, 17 / 2 = 8) */
    CHECK_INT(chart_bars(&d, &o, &t), CHART_OK);
    CHECK_STR(t.text.data, "日本語…  █████████ 8\n"
                           "abcdefg… ████▌ 4\n");
    CHECK(check_text(&t, 20));
    /* A combining mark right at the cut stays with its letter. */
    const char *comb[] = {"abcdefge\xCC\x81xyz"};
    d.labels = comb;
    d.n_labels = 1;
    CHECK_INT(chart_bars(&d, &o, &t), CHART_OK);
    CHECK_STR(t.text.data, "abcdefg… █████████ 8\n");
    const char *comb2[] = {"abcdefe\xCC\x81xyz"};
    d.labels = comb2;
    CHECK_INT(chart_bars(&d, &o, &t), CHART_OK);
    CHECK_STR(t.text.data, "abcdefe\xCC\x81… █████████ 8\n");
    CHECK(check_text(&t, 20));
    chart_text_free(&t);
}

static void test_values_edge_cases(void) {
    chart_opts o = opts(40, CHART_EN, CHART_MONEY);
    chart_text t = {0};
    /* All zeros: no bars, values shown. */
    double zeros[] = {0, 0};
    chart_series s = {"", zeros};
    chart_data d = {months, 2, &s, 1};
    CHECK_INT(chart_bars(&d, &o, &t), CHART_OK);
    CHECK_STR(t.text.data, "2026-09  $0.00\n2026-10  $0.00\n"); /* the empty bar between */
    CHECK(check_text(&t, 40));
    /* Negative as 0, NaN and infinity unknown, left out of the scale. */
    double odd[] = {-5, NAN, INFINITY, 3};
    s.values = odd;
    d.n_labels = 4;
    CHECK_INT(chart_bars(&d, &o, &t), CHART_OK);
    CHECK_STR(t.text.data, "2026-09  $0.00\n"
                           "2026-10  ?\n"
                           "2026-11  ?\n"
                           "2026-12 ██████████████████████████ $3.00\n");
    CHECK(check_text(&t, 40));
    /* A single month; huge values, cut to a third of the width. */
    double huge[] = {1e9};
    s.values = huge;
    d.n_labels = 1;
    CHECK_INT(chart_bars(&d, &o, &t), CHART_OK);
    CHECK_STR(t.text.data, "2026-09 ██████████████████ $1,000,000,0…\n");
    CHECK(check_text(&t, 40));
    o.width = 80;
    CHECK_INT(chart_bars(&d, &o, &t), CHART_OK);
    CHECK(strstr(t.text.data, " $1,000,000,000.00\n") != NULL);
    CHECK(check_text(&t, 80));
    /* No data at all. */
    d.n_labels = 0;
    CHECK_INT(chart_bars(&d, &o, &t), CHART_OK);
    CHECK_STR(t.text.data, "");
    CHECK_INT(t.n_spans, 0);
    d.n_labels = 1;
    d.n_series = 0;
    CHECK_INT(chart_bars(&d, &o, &t), CHART_OK);
    CHECK_STR(t.text.data, "");
    chart_text_free(&t);
}

static void test_split(void) {
    double a[] = {6, 2}, b[] = {3, NAN};
    chart_series s[] = {{"gpt-4o", a}, {"claude", b}};
    chart_data d = {months, 2, s, 2};
    chart_opts o = opts(30, CHART_EN, CHART_MONEY);
    chart_text t = {0};
    CHECK_INT(chart_bars(&d, &o, &t), CHART_OK);
    /* One scale for both blocks: value 5, label 7, bar 16 (6 → 16 cells, 3 → 8). */
    CHECK_STR(t.text.data, "gpt-4o\n"
                           "2026-09 ████████████████ $6.00\n"
                           "2026-10 █████▍ $2.00\n"
                           "\n"
                           "claude\n"
                           "2026-09 ████████ $3.00\n"
                           "2026-10  ?\n");
    CHECK(check_text(&t, 30));
    CHECK(span_is(&t, 0, 0, "AmiChartTitle", "gpt-4o"));
    CHECK(span_is(&t, 7, 4, "AmiChartTitle", "claude"));
    CHECK(span_is(&t, 9, 5, "AmiChartBar2", "████████"));
    chart_text_free(&t);
}

static void test_stacked(void) {
    double a[] = {6, 1, NAN}, b[] = {2, 0.01, NAN}, c[] = {0, 2, NAN};
    chart_series s[] = {{"gpt-4o", a}, {"claude", b}, {"other", c}};
    chart_data d = {months, 3, s, 3};
    chart_opts o = opts(30, CHART_EN, CHART_MONEY);
    o.mode = CHART_STACKED;
    chart_text t = {0};
    CHECK_INT(chart_bars(&d, &o, &t), CHART_OK);
    /* Totals 8, 3.01, ?: bar 16 cells for 8.  Row 2: 1 → 2 cells, 0.01 → 1 (forced),
     * 2 → 4 (edges at 2, 2 → 3 with the forced cell, 6). */
    CHECK_STR(t.text.data, "█ gpt-4o  ▓ claude  ▒ other\n"
                           "2026-09 ████████████▓▓▓▓ $8.00\n"
                           "2026-10 ██▓▒▒▒▒ $3.01\n"
                           "2026-11  ?\n");
    CHECK(check_text(&t, 30));
    CHECK(span_is(&t, 0, 0, "AmiChartBar", "█"));
    CHECK(span_is(&t, 1, 0, "AmiChartLegend", "gpt-4o"));
    CHECK(span_is(&t, 2, 0, "AmiChartBar2", "▓"));
    CHECK(span_is(&t, 4, 0, "AmiChartBar3", "▒"));
    CHECK(span_is(&t, 6, 1, "AmiChartLabel", "2026-09"));
    CHECK(span_is(&t, 7, 1, "AmiChartBar", "████████████"));
    CHECK(span_is(&t, 8, 1, "AmiChartBar2", "▓▓▓▓"));
    CHECK(span_is(&t, 9, 1, "AmiChartValue", "$8.00"));
    /* The legend wraps at the width. */
    chart_series longer[] = {{"a-rather-long-name", a}, {"another-long-name", b}};
    d.series = longer;
    d.n_series = 2;
    o.width = 40;
    CHECK_INT(chart_bars(&d, &o, &t), CHART_OK);
    const char *legend = "█ a-rather-long-name\n▓ another-long-name\n";
    CHECK(strncmp(t.text.data, legend, strlen(legend)) == 0);
    CHECK(check_text(&t, 40));
    /* Totals past DBL_MAX saturate: the bar is full, the total finite. */
    double huge[] = {1.7e308}, huge2[] = {1.7e308};
    chart_series big[] = {{"a", huge}, {"b", huge2}};
    d.series = big;
    d.n_labels = 1;
    CHECK_INT(chart_bars(&d, &o, &t), CHART_OK);
    CHECK(check_text(&t, 40));
    CHECK(strstr(t.text.data, " $1.80e308\n") != NULL);
    const char *row = strchr(t.text.data, '\n') + 1;
    CHECK_INT(chart_display_width(row, strcspn(row, "\n")), 40);
    CHECK(strstr(row, "█▓") != NULL); /* both segments drawn, the bar full */
    d.n_labels = 3;
    /* More series than fills: refused, even with no labels to draw. */
    chart_series five[] = {{"1", a}, {"2", a}, {"3", a}, {"4", a}, {"5", a}};
    d.series = five;
    d.n_series = 5;
    CHECK_INT(chart_bars(&d, &o, &t), CHART_EINVAL);
    CHECK_STR(t.text.data, "");
    d.n_labels = 0;
    CHECK_INT(chart_bars(&d, &o, &t), CHART_EINVAL);
    d.n_labels = 3;
    o.mode = CHART_SPLIT; /* split takes them */
    CHECK_INT(chart_bars(&d, &o, &t), CHART_OK);
    CHECK(check_text(&t, 40));
    chart_text_free(&t);
}

/* ---- gauge and sparkline ---------------------------------------------------------------- */

static void test_gauge(void) {
    chart_opts o = opts(40, CHART_EN, CHART_MONEY);
    chart_text t = {0};
    CHECK_INT(chart_gauge(2.1, 5, &o, &t), CHART_OK);
    /* Caption 12 cells, bar 40 - 3 - 12 = 25; 0.42 × 200 = 84 eighths = 10 cells + ▌. */
    CHECK_STR(t.text.data, "[██████████▌              ] 42% of $5.00\n");
    CHECK(check_text(&t, 40));
    CHECK_INT(t.n_spans, 2);
    CHECK(span_is(&t, 0, 0, "AmiChartGauge", "██████████▌"));
    CHECK(span_is(&t, 1, 0, "AmiChartValue", "42% of $5.00"));
    o.locale = CHART_FR;
    CHECK_INT(chart_gauge(2.1, 5, &o, &t), CHART_OK);
    /* Caption 14 cells, bar 23; 0.42 × 184 = 77.28 → 77 eighths = 9 cells + ▋. */
    CHECK_STR(t.text.data, "[█████████▋             ] 42" NNBSP "% de 5,00" NBSP "$\n");
    CHECK(check_text(&t, 40));
    o.locale = CHART_EN;
    CHECK_INT(chart_gauge(7, 5, &o, &t), CHART_OK);
    CHECK_STR(t.text.data, "[████████████████████████] 140% of $5.00\n");
    CHECK(span_is(&t, 0, 0, "AmiChartGaugeOver", "████████████████████████"));
    CHECK_INT(chart_gauge(0, 5, &o, &t), CHART_OK);
    CHECK_STR(t.text.data, "[                          ] 0% of $5.00\n");
    CHECK_INT(chart_gauge(0.001, 5, &o, &t), CHART_OK);
    CHECK_STR(t.text.data, "[▏                        ] <1% of $5.00\n");
    CHECK_INT(chart_gauge(NAN, 5, &o, &t), CHART_OK);
    CHECK_STR(t.text.data, "[                          ] ?% of $5.00\n");
    CHECK_INT(chart_gauge(-1, 5, &o, &t), CHART_OK);
    CHECK_STR(t.text.data, "[                          ] 0% of $5.00\n");
    CHECK_INT(chart_gauge(5, 5, &o, &t), CHART_OK);
    CHECK_STR(t.text.data, "[████████████████████████] 100% of $5.00\n");
    CHECK(span_is(&t, 0, 0, "AmiChartGauge", "████████████████████████")); /* not over */
    /* A caption wider than the line: cut, the bar keeps its minimum. */
    o.width = 20;
    CHECK_INT(chart_gauge(1e9, 1e9, &o, &t), CHART_OK);
    CHECK_STR(t.text.data, "[████] 100% of $1,0…\n");
    CHECK(check_text(&t, 20));
    CHECK_INT(chart_gauge(1, 0, &o, &t), CHART_EINVAL);
    CHECK_STR(t.text.data, "");
    CHECK_INT(chart_gauge(1, NAN, &o, &t), CHART_EINVAL);
    CHECK_INT(chart_gauge(1, -5, &o, &t), CHART_EINVAL);
    CHECK_INT(chart_gauge(1, INFINITY, &o, &t), CHART_EINVAL);
    chart_text_free(&t);
}

static void test_spark(void) {
    double in[] = {100, 200, 400, 800}, out[] = {0, 50, NAN, 25};
    chart_series s[] = {{"in", in}, {"out", out}};
    chart_data d = {months, 4, s, 2};
    chart_opts o = opts(40, CHART_EN, CHART_TOKENS);
    chart_text t = {0};
    CHECK_INT(chart_spark(&d, &o, &t), CHART_OK);
    CHECK_STR(t.text.data, "in  ▁▂▄█ 800\n"
                           "out  █ ▄ 25\n");
    CHECK(check_text(&t, 40));
    CHECK(span_is(&t, 0, 0, "AmiChartLabel", "in"));
    CHECK(span_is(&t, 1, 0, "AmiChartBar", "▁▂▄█"));
    CHECK(span_is(&t, 2, 0, "AmiChartValue", "800"));
    CHECK(span_is(&t, 4, 1, "AmiChartBar2", " █ ▄"));
    o.locale = CHART_FR;
    double big[] = {1000, 1500, 2000, 12345};
    s[0].values = big;
    d.n_series = 1;
    CHECK_INT(chart_spark(&d, &o, &t), CHART_OK);
    CHECK_STR(t.text.data, "in ▁▁▁█ 12,3" NBSP "k\n");
    /* More labels than cells: the most recent ones. */
    static const char *many[100];
    double ramp[100];
    for (int i = 0; i < 100; i++) {
        many[i] = "m";
        ramp[i] = i < 90 ? 1 : 8;
    }
    s[0].values = ramp;
    d.labels = many;
    d.n_labels = 100;
    o.width = 20;
    o.locale = CHART_EN;
    CHECK_INT(chart_spark(&d, &o, &t), CHART_OK);
    /* 20 - 1 (value "8") - 1 - 3 ("in ") = 15 points: the last 15, five 1s then ten 8s. */
    CHECK_STR(t.text.data, "in ▁▁▁▁▁██████████ 8\n");
    CHECK(check_text(&t, 20));
    d.n_labels = 0;
    CHECK_INT(chart_spark(&d, &o, &t), CHART_OK);
    CHECK_STR(t.text.data, "");
    chart_text_free(&t);
}

/* ---- SVG -------------------------------------------------------------------------------- */

static size_t count(const char *s, const char *needle) {
    size_t n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* No attribute value (between =" and ") holds c. */
static int attrs_without(const char *s, char c) {
    for (const char *p = strstr(s, "=\""); p; p = strstr(p, "=\"")) {
        const char *end = strchr(p + 2, '"');
        if (!end || memchr(p + 2, c, (size_t)(end - p - 2)))
            return 0;
        p = end + 1;
    }
    return 1;
}

static void test_svg_bars(void) {
    double v[] = {10, 2.5, 0, NAN};
    chart_series s = {"total", v};
    chart_data d = {months, 4, &s, 1};
    chart_opts o = opts(80, CHART_EN, CHART_MONEY);
    o.title = "Cost by month";
    buf b = {0};
    CHECK_INT(chart_bars_svg(&d, &o, &b), CHART_OK);
    CHECK(xml_well_formed(b.data, b.len));
    const char *root = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"ami-chart\" ";
    CHECK(strncmp(b.data, root, strlen(root)) == 0);
    CHECK(strstr(b.data, "viewBox=\"0 0 640 ") != NULL);
    CHECK(strstr(b.data, "role=\"img\"") != NULL);
    CHECK(strstr(b.data, "><title>Cost by month</title>") != NULL); /* the first child */
    CHECK_INT(count(b.data, "<rect class=\"ami-bar ami-s1\""), 2);  /* 0 and NaN: no bar */
    CHECK_INT(count(b.data, "class=\"ami-label\""), 4);
    CHECK_INT(count(b.data, "class=\"ami-value\""), 4);
    CHECK(strstr(b.data, ">$10.00</text>") && strstr(b.data, ">?</text>"));
    CHECK(strstr(b.data, "<title>2026-09: $10.00</title></rect>") != NULL);
    CHECK(strstr(b.data, "</svg>\n") == b.data + b.len - 7);
    CHECK(attrs_without(b.data, ','));
    /* French: numbers in French, coordinates still with a dot. */
    o.locale = CHART_FR;
    o.title = NULL;
    double fr[] = {1234.5, 0.05};
    s.values = fr;
    d.n_labels = 2;
    CHECK_INT(chart_bars_svg(&d, &o, &b), CHART_OK);
    CHECK(xml_well_formed(b.data, b.len));
    CHECK(strstr(b.data, "<title>Graphique de consommation</title>") != NULL);
    CHECK(strstr(b.data, ">1" NNBSP "234,50" NBSP "$</text>") != NULL);
    CHECK(attrs_without(b.data, ','));  /* no "12,5" coordinates */
    CHECK(strchr(b.data, ',') != NULL); /* while the text has French commas */
    buf_free(&b);
}

static void test_svg_escaping(void) {
    const char *labels[] = {"<b>&\"'", "a\x01z\xff", "\xE6\x97\xA5\xE6\x9C\xAC"};
    double v[] = {1, 2, 3};
    chart_series s = {"s&p <500>", v};
    chart_series two[] = {{"s&p <500>", v}, {"'q'", v}};
    chart_data d = {labels, 3, &s, 1};
    chart_opts o = opts(80, CHART_EN, CHART_COUNT);
    o.title = "R&D <costs> \"2026\" 'x'";
    buf b = {0};
    CHECK_INT(chart_bars_svg(&d, &o, &b), CHART_OK);
    CHECK(xml_well_formed(b.data, b.len));
    CHECK(strstr(b.data, "<title>R&amp;D &lt;costs&gt; &quot;2026&quot; &apos;x&apos;</title>"));
    CHECK(strstr(b.data, ">&lt;b&gt;&amp;&quot;&apos;</text>"));
    CHECK(strstr(b.data, ">a\xEF\xBF\xBDz\xEF\xBF\xBD</text>"));
    CHECK(strstr(b.data, ">日本</text>"));
    d.series = two;
    d.n_series = 2;
    o.mode = CHART_STACKED;
    CHECK_INT(chart_bars_svg(&d, &o, &b), CHART_OK);
    CHECK(xml_well_formed(b.data, b.len));
    CHECK(strstr(b.data, "class=\"ami-legend\"") && strstr(b.data, ">s&amp;p &lt;500&gt;</text>"));
    CHECK(strstr(b.data, "<title>&lt;b&gt;&amp;&quot;&apos;, &apos;q&apos;: 1</title>"));
    CHECK_INT(count(b.data, "<rect class=\"ami-bar ami-s2\""), 3);
    o.mode = CHART_SPLIT;
    CHECK_INT(chart_bars_svg(&d, &o, &b), CHART_OK);
    CHECK(xml_well_formed(b.data, b.len));
    CHECK_INT(count(b.data, "class=\"ami-heading\""), 2);
    buf_free(&b);
}

static void test_svg_stacked_and_gauge(void) {
    double a[12], c[12];
    const char *labels[12];
    for (int i = 0; i < 12; i++) {
        labels[i] = months[i % 4];
        a[i] = i;
        c[i] = 12 - i;
    }
    chart_series s[8];
    const char *names[8] = {"m1", "m2", "m3", "m4", "m5", "m6", "m7", "other"};
    for (int k = 0; k < 8; k++) {
        s[k].name = names[k];
        s[k].values = k % 2 ? a : c;
    }
    chart_data d = {labels, 12, s, 8};
    chart_opts o = opts(80, CHART_EN, CHART_TOKENS);
    o.mode = CHART_STACKED; /* 8 series: fine in SVG, too many for stacked text */
    buf b = {0};
    CHECK_INT(chart_bars_svg(&d, &o, &b), CHART_OK);
    CHECK(xml_well_formed(b.data, b.len));
    CHECK_INT(count(b.data, "<rect class=\"ami-s"), 8); /* the legend swatches */
    CHECK(strstr(b.data, "class=\"ami-bar ami-s8\" ") && strstr(b.data, "fill=\"#9c755f\""));
    d.n_labels = 0;
    CHECK_INT(chart_bars_svg(&d, &o, &b), CHART_OK); /* empty: a valid picture, nothing drawn */
    CHECK(xml_well_formed(b.data, b.len));
    CHECK_INT(count(b.data, "<rect"), 0);
    CHECK(strstr(b.data, "<title>Usage chart</title>") != NULL);

    o.unit = CHART_MONEY;
    CHECK_INT(chart_gauge_svg(2.1, 5, &o, &b), CHART_OK);
    CHECK(xml_well_formed(b.data, b.len));
    CHECK(strstr(b.data, "<title>Budget gauge</title>") != NULL);
    CHECK(strstr(b.data, "class=\"ami-track\"") && strstr(b.data, "class=\"ami-gauge\""));
    CHECK(strstr(b.data, ">42% of $5.00</text>") != NULL);
    CHECK_INT(chart_gauge_svg(9, 5, &o, &b), CHART_OK);
    CHECK(strstr(b.data, "class=\"ami-gauge ami-over\"") != NULL);
    CHECK_INT(chart_gauge_svg(0, 5, &o, &b), CHART_OK);
    CHECK(xml_well_formed(b.data, b.len));
    CHECK(strstr(b.data, "ami-gauge") == NULL); /* nothing spent: no fill */
    CHECK_INT(chart_gauge_svg(1, 0, &o, &b), CHART_EINVAL);
    CHECK_INT(b.len, 0);
    const char *css = chart_svg_css();
    CHECK(strstr(css, ".ami-s8") && !strstr(css, "url(") && !strstr(css, "@import"));
    buf_free(&b);
}

/* ---- arguments -------------------------------------------------------------------------- */

static void test_invalid(void) {
    chart_text t = {0};
    buf b = {0};
    double v[] = {1};
    chart_series s = {"x", v}, nulls = {"x", NULL};
    chart_data d = {months, 1, &s, 1};
    CHECK_INT(chart_bars(NULL, NULL, &t), CHART_EINVAL);
    CHECK_INT(chart_bars(&d, NULL, NULL), CHART_EINVAL);
    CHECK_INT(chart_spark(NULL, NULL, &t), CHART_EINVAL);
    CHECK_INT(chart_bars_svg(NULL, NULL, &b), CHART_EINVAL);
    CHECK_INT(chart_bars_svg(&d, NULL, NULL), CHART_EINVAL);
    chart_data no_labels = {NULL, 1, &s, 1};
    CHECK_INT(chart_bars(&no_labels, NULL, &t), CHART_EINVAL);
    chart_data no_values = {months, 1, &nulls, 1};
    CHECK_INT(chart_bars(&no_values, NULL, &t), CHART_EINVAL);
    CHECK_INT(chart_spark(&no_values, NULL, &t), CHART_EINVAL);
    chart_data too_many = {months, CHART_MAX_LABELS + 1, &s, 1};
    CHECK_INT(chart_bars(&too_many, NULL, &t), CHART_ETOOBIG);
    CHECK_INT(chart_bars_svg(&too_many, NULL, &b), CHART_ETOOBIG);
    chart_series nine[9];
    for (int k = 0; k < 9; k++)
        nine[k] = s;
    chart_data too_wide = {months, 1, nine, 9};
    CHECK_INT(chart_bars(&too_wide, NULL, &t), CHART_ETOOBIG);
    CHECK_STR(t.text.data, "");
    /* NULL options: the defaults; the output is reused call after call. */
    CHECK_INT(chart_bars(&d, NULL, &t), CHART_OK);
    CHECK(check_text(&t, 80));
    CHECK_INT(t.n_spans, 3);
    CHECK_INT(chart_bars(&d, NULL, &t), CHART_OK);
    CHECK_INT(t.n_spans, 3);
    chart_text_free(&t);
    chart_text_free(&t); /* twice is fine */
    chart_text_free(NULL);
    buf_free(&b);
}

int main(void) {
    RUN(test_xml_checker);
    RUN(test_money);
    RUN(test_tokens);
    RUN(test_counts_and_percent);
    RUN(test_custom_format);
    RUN(test_display_width);
    RUN(test_bars_golden);
    RUN(test_eighths);
    RUN(test_min_width_and_clamps);
    RUN(test_80_columns);
    RUN(test_bars_french);
    RUN(test_labels);
    RUN(test_values_edge_cases);
    RUN(test_split);
    RUN(test_stacked);
    RUN(test_gauge);
    RUN(test_spark);
    RUN(test_svg_bars);
    RUN(test_svg_escaping);
    RUN(test_svg_stacked_and_gauge);
    RUN(test_invalid);
    return check_report("chart");
}
